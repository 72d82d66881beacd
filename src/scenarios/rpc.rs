//! `herald sim rpc`: one client (node 0) calls `Increment` once on a likes server (node 1, count
//! 12,300) under `--delivery` semantics, with one `--fault` scripted on the call's first attempt.
//!
//! Message faults (F1 lose the request, F4 lose the response, F5 delay the response past the
//! deadline, F6 duplicate the request) come from [`FaultScript`], a custom adversary; F2/F3 are
//! scheduled server crashes under crash-recovery (before the request arrives; between executing
//! and replying). The scenario fixes the link latency at 5 ms so that the script's timing holds.
//! The final value is 12,300 plus the server's executions (the only method called is `Increment`,
//! and every execution is persisted with its effect).

use crate::cli::{RpcDelivery, RpcFault, SimArgs};
use herald_core::{NodeId, Rng, codec};
use herald_protocols::rpc::{
    self, Backoff, CallOutcome, ClientConfig, Delivery, LIKES_START, Likes, LikesRequest, LikesResponse, Rpc, RpcEvent,
    ServerConfig,
};
use herald_sim::adversary::{Action, Packet};
use herald_sim::{Adversary, AdversarySpec, Latency, NetworkModel, NodeModel, ScheduledCrash, SimConfig, Simulation};
use serde::Serialize;
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

const CLIENT: NodeId = NodeId(0);
const SERVER: NodeId = NodeId(1);
const LATENCY: Duration = Duration::from_millis(5);
const DEADLINE: Duration = Duration::from_millis(50);

/// A custom adversary that applies one fault to the first request or first response it sees.
#[derive(Debug, Clone)]
pub(crate) struct FaultScript {
    fault: RpcFault,
    requests: u32,
    responses: u32,
}

impl FaultScript {
    pub(crate) fn new(fault: RpcFault) -> Self {
        Self { fault, requests: 0, responses: 0 }
    }
}

impl Adversary for FaultScript {
    fn name(&self) -> &str {
        "rpc-fault-script"
    }
    fn on_packet(&mut self, p: Packet<'_>, _: &mut Rng, out: &mut Vec<Action>) {
        let Ok(msg) = codec::decode::<rpc::Msg>(p.bytes) else { return };
        let first = match msg {
            rpc::Msg::Request { .. } => {
                self.requests += 1;
                self.requests == 1
            }
            rpc::Msg::Response { .. } => {
                self.responses += 1;
                self.responses == 1
            }
        };
        if !first {
            return;
        }
        match (self.fault, msg) {
            (RpcFault::LoseFirstRequest, rpc::Msg::Request { .. })
            | (RpcFault::LoseFirstResponse, rpc::Msg::Response { .. }) => out.push(Action::Drop),
            (RpcFault::DelayFirstResponse, rpc::Msg::Response { .. }) => {
                out.push(Action::Deliver { extra: DEADLINE * 2 });
            }
            (RpcFault::DuplicateRequest, rpc::Msg::Request { .. }) => out.push(Action::Replay {
                of: p.id,
                from: p.from,
                to: p.to,
                bytes: p.bytes.to_vec(),
                delay: Duration::from_millis(1),
            }),
            _ => {}
        }
    }
}

fn delivery(d: RpcDelivery) -> Delivery {
    let backoff = Backoff::default();
    match d {
        RpcDelivery::AtMostOnce => Delivery::AtMostOnce,
        RpcDelivery::AtLeastOnce => Delivery::AtLeastOnce { attempts_max: 5, backoff },
        RpcDelivery::ExactlyOnce => Delivery::ExactlyOnce { attempts_max: 5, backoff },
    }
}

/// What one run of the likes workload showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Report {
    /// The counter at the end.
    pub(crate) final_value: u64,
    /// What the client saw, per attempt, with the virtual time in ns.
    pub(crate) client_outcomes: Vec<(u64, CallOutcome<LikesResponse>)>,
    /// The call's final outcome.
    pub(crate) outcome: Option<CallOutcome<LikesResponse>>,
    /// How many times the handler ran.
    pub(crate) server_executions: u64,
}

pub(crate) fn simulate(base: &SimConfig, d: RpcDelivery, fault: RpcFault, seed: u64) -> anyhow::Result<Report> {
    let mut config = base.clone();
    config.nodes = 2;
    config.link.latency = Latency::Constant { value: LATENCY };
    config.model.network =
        NetworkModel::Arbitrary { adversary: AdversarySpec::Custom { name: "rpc-fault-script".into() } };
    let restart = Some(Duration::from_millis(10));
    let crash = match fault {
        RpcFault::CrashBeforeExecute => Some(Duration::from_millis(1)),
        // The request arrives (and executes) at 5 ms; the reply leaves at 6 ms.
        RpcFault::CrashAfterExecute => Some(Duration::from_micros(5_500)),
        _ => None,
    };
    if let Some(at) = crash {
        config.model.nodes = NodeModel::CrashRecovery {
            crashes: vec![ScheduledCrash { node: SERVER, at, restart_after: restart }],
            rate_per_sec: 0.0,
            restart_min: Duration::from_millis(10),
            restart_max: Duration::from_millis(10),
        };
    }
    let dl = delivery(d);
    let mut sim = Simulation::new(config, move |id| {
        if id == CLIENT {
            let cfg = ClientConfig { server: SERVER, delivery: dl, deadline: DEADLINE };
            Rpc::client(cfg, vec![LikesRequest::Increment])
        } else {
            Rpc::server(ServerConfig { dedup: dl.dedup(), service_time: Duration::from_millis(1) }, Likes::default())
        }
    })?
    .with_adversary(move || Box::new(FaultScript::new(fault)));
    let run = sim.run(seed);
    let mut report =
        Report { final_value: LIKES_START, client_outcomes: Vec::new(), outcome: None, server_executions: 0 };
    for o in &run.outputs {
        match &o.value {
            RpcEvent::Attempt { outcome, .. } => report.client_outcomes.push((o.t, outcome.clone())),
            RpcEvent::Done { outcome, .. } => report.outcome = Some(outcome.clone()),
            RpcEvent::Executed { response: LikesResponse::Count(count), .. } => {
                // The server's own count after each execution: the last one is the final value.
                report.server_executions += 1;
                report.final_value = *count;
            }
        }
    }
    Ok(report)
}

fn delivery_name(d: RpcDelivery) -> &'static str {
    match d {
        RpcDelivery::AtMostOnce => "at-most-once",
        RpcDelivery::AtLeastOnce => "at-least-once",
        RpcDelivery::ExactlyOnce => "exactly-once",
    }
}

fn fault_name(f: RpcFault) -> &'static str {
    match f {
        RpcFault::None => "none",
        RpcFault::LoseFirstRequest => "lose-first-request",
        RpcFault::LoseFirstResponse => "lose-first-response",
        RpcFault::DelayFirstResponse => "delay-first-response",
        RpcFault::DuplicateRequest => "duplicate-request",
        RpcFault::CrashBeforeExecute => "crash-before-execute",
        RpcFault::CrashAfterExecute => "crash-after-execute",
    }
}

pub(crate) fn run(args: &SimArgs, config: &SimConfig) -> anyhow::Result<ExitCode> {
    let crate::cli::RpcWorkload::Likes = args.workload;
    let r = simulate(config, args.delivery, args.fault, args.seed)?;
    let attempts: Vec<_> = r.client_outcomes.iter().map(|(t, o)| json!({ "t_ns": t, "outcome": o })).collect();
    let v = json!({
        "scenario": "rpc",
        "workload": "likes",
        "delivery": delivery_name(args.delivery),
        "fault": fault_name(args.fault),
        "seed": args.seed,
        "initial_value": LIKES_START,
        "final_value": r.final_value,
        "client_outcomes": attempts,
        "outcome": r.outcome,
        "server_executions": r.server_executions,
    });
    if args.json {
        outln!("{v}");
    } else {
        outln!("herald sim rpc · likes · {} · fault {}", delivery_name(args.delivery), fault_name(args.fault));
        for (t, o) in &r.client_outcomes {
            outln!("  client attempt at {:.1} ms: {o:?}", *t as f64 / 1e6);
        }
        outln!("  final outcome   {:?}", r.outcome);
        outln!("  server executed {} time(s) · likes {} → {}", r.server_executions, LIKES_START, r.final_value);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(d: RpcDelivery, f: RpcFault) -> Report {
        simulate(&SimConfig::new(2), d, f, 1).unwrap()
    }
    const OK1: CallOutcome<LikesResponse> = CallOutcome::Ok(LikesResponse::Count(12_301));

    #[test]
    fn r1_at_least_once_with_lost_ack_counts_twice() {
        let r = sim(RpcDelivery::AtLeastOnce, RpcFault::LoseFirstResponse);
        assert_eq!(r.final_value, 12_302);
        let seen: Vec<_> = r.client_outcomes.iter().map(|(_, o)| o.clone()).collect();
        assert_eq!(seen, vec![CallOutcome::NoResponse, CallOutcome::Ok(LikesResponse::Count(12_302))]);
    }

    #[test]
    fn r2_exactly_once_dedup_counts_once() {
        let r = sim(RpcDelivery::ExactlyOnce, RpcFault::LoseFirstResponse);
        assert_eq!((r.final_value, r.server_executions), (12_301, 1));
        assert_eq!(r.outcome, Some(OK1));
    }

    #[test]
    fn r5_at_most_once_is_ambiguous() {
        let lost_request = sim(RpcDelivery::AtMostOnce, RpcFault::LoseFirstRequest);
        assert_eq!((lost_request.final_value, lost_request.outcome), (12_300, Some(CallOutcome::NoResponse)));
        let lost_ack = sim(RpcDelivery::AtMostOnce, RpcFault::LoseFirstResponse);
        assert_eq!((lost_ack.final_value, lost_ack.outcome), (12_301, Some(CallOutcome::NoResponse)));
    }

    const F1_TO_F5: [RpcFault; 5] = [
        RpcFault::LoseFirstRequest,
        RpcFault::CrashBeforeExecute,
        RpcFault::CrashAfterExecute,
        RpcFault::LoseFirstResponse,
        RpcFault::DelayFirstResponse,
    ];

    #[test]
    fn f1_to_f5_are_indistinguishable_to_the_client() {
        let reports: Vec<_> = F1_TO_F5.iter().map(|&f| sim(RpcDelivery::AtMostOnce, f)).collect();
        for r in &reports {
            assert_eq!(r.client_outcomes, reports[0].client_outcomes, "same observations at the same times");
            assert_eq!(r.outcome, Some(CallOutcome::NoResponse));
        }
        let finals: Vec<_> = reports.iter().map(|r| r.final_value).collect();
        assert_eq!(finals, vec![12_300, 12_300, 12_301, 12_301, 12_301], "only the server state differs");
    }

    #[test]
    fn exactly_once_survives_every_fault_including_crash_after_execute() {
        for f in F1_TO_F5.into_iter().chain([RpcFault::None, RpcFault::DuplicateRequest]) {
            let r = sim(RpcDelivery::ExactlyOnce, f);
            assert_eq!((r.final_value, r.outcome.clone()), (12_301, Some(OK1)), "{f:?}: {r:?}");
        }
        // Without dedup the crash-after-execute retry runs the handler again.
        assert_eq!(sim(RpcDelivery::AtLeastOnce, RpcFault::CrashAfterExecute).final_value, 12_302);
        // F6: a duplicated request runs twice without dedup, and the client still sees Ok.
        let dup = sim(RpcDelivery::AtMostOnce, RpcFault::DuplicateRequest);
        assert_eq!(dup.final_value, 12_302);
        assert!(matches!(dup.outcome, Some(CallOutcome::Ok(_))), "{dup:?}");
    }
}
