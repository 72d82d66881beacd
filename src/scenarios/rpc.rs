//! `herald sim rpc`: RPC clients call a server (node 1) under `--delivery` semantics.
//!
//! Workloads: `likes` (a counter at 12,300, non-idempotent `Increment`), `like-set` (the idempotent
//! set of likers), `like-race` (the f/g race of lecture §1.2: client 0 likes and its ack is lost,
//! client 2 reads and unlikes, client 0 retries; `--lww` adds timestamps and tombstones) and
//! `payments` (the lecture's `processPayment`, marshalled as JSON m₁/m₂).
//!
//! Faults: with `--fault` one fault is scripted on the first request or response. Message faults
//! (F1 lose the request, F4 lose the response, F5 delay the response past the deadline, F6
//! duplicate the request) come from [`FaultScript`], a custom adversary; F2/F3 are scheduled server
//! crashes under crash-recovery (before the request arrives; between executing and replying). A
//! scripted fault fixes the link latency at 5 ms so that the script's timing holds. Without
//! `--fault` the configured system model applies (loss, duplication, crashes, partitions ...).
//!
//! Every run is judged by the delivery semantics' promises, per call: an `Ok` answer means the
//! handler ran; with exactly-once the handler ran at most once, and exactly once for an `Ok`.
//! Availability is measured as the lecture defines it: the share of calls answered successfully
//! within the SLO's latency (`--slo-latency`, `--slo-ratio`), with p50/p99 latency.
//! The final value is read from the server's own reports of its executions.

use super::{Failures, Sweep};
use crate::cli::{RpcDelivery, RpcFault, RpcWorkload, SimArgs};
use crate::report::{self, Outcome};
use herald_core::{NodeId, Rng, codec};
use herald_protocols::rpc::payments::{PaymentRequest, Payments};
use herald_protocols::rpc::{
    self, Backoff, CallOutcome, ClientConfig, Delivery, Format, LIKES_START, LikeSet, LikeSetRequest, Likes,
    LikesRequest, LikesResponse, RequestId, Rpc, RpcEvent, ServerConfig, Service,
};
use herald_sim::adversary::{Action, Packet};
use herald_sim::availability::{self, RequestSample, Slo, SloReport};
use herald_sim::oracle::{self, Oracle};
use herald_sim::{
    Adversary, AdversarySpec, Latency, NetworkModel, NodeModel, Run, ScheduledCrash, SimConfig, Simulation,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

/// The first client.
pub(crate) const CLIENT: NodeId = NodeId(0);
/// The server.
pub(crate) const SERVER: NodeId = NodeId(1);
/// The race's second client.
pub(crate) const CLIENT_2: NodeId = NodeId(2);
const SCRIPT_LATENCY: Duration = Duration::from_millis(5);
const SERVICE_TIME: Duration = Duration::from_millis(1);
/// The user who likes and unlikes in the race: not one of the 12,300 initial likers.
const RACE_USER: u64 = LIKES_START;

/// A custom adversary that applies one fault to the first request or first response it sees.
#[derive(Debug, Clone)]
pub(crate) struct FaultScript {
    fault: RpcFault,
    delay: Duration,
    requests: u32,
    responses: u32,
}

impl FaultScript {
    /// Applies `fault`; a delayed response arrives `delay` late.
    pub(crate) fn new(fault: RpcFault, delay: Duration) -> Self {
        Self { fault, delay, requests: 0, responses: 0 }
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
                out.push(Action::Deliver { extra: self.delay });
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

/// What the scenario is asked to do.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub(crate) workload: RpcWorkload,
    pub(crate) delivery: RpcDelivery,
    pub(crate) fault: RpcFault,
    pub(crate) calls: u64,
    pub(crate) interval: Duration,
    pub(crate) deadline: Duration,
    pub(crate) lww: bool,
    pub(crate) slo: Slo,
}

impl Spec {
    /// One `workload` call under `delivery` with `fault`, the defaults of the CLI otherwise.
    pub(crate) fn new(workload: RpcWorkload, delivery: RpcDelivery, fault: RpcFault) -> Self {
        Self {
            workload,
            delivery,
            fault,
            calls: 1,
            interval: Duration::ZERO,
            deadline: Duration::from_millis(50),
            lww: false,
            slo: Slo { percentile_ratio: 0.999, latency_max: Duration::from_millis(200), window: availability::YEAR },
        }
    }

    fn of(args: &SimArgs) -> Self {
        Self {
            calls: args.calls,
            interval: args.call_interval,
            deadline: args.deadline,
            lww: args.lww,
            slo: Slo { percentile_ratio: args.slo_ratio, latency_max: args.slo_latency, window: availability::YEAR },
            ..Self::new(args.workload, args.delivery, args.fault)
        }
    }

    fn nodes(&self) -> usize {
        if self.workload == RpcWorkload::LikeRace { 3 } else { 2 }
    }

    /// The run's configuration: the node count the workload needs, and the fault script.
    fn config(&self, base: &SimConfig) -> SimConfig {
        let mut config = base.clone();
        config.nodes = self.nodes();
        if self.fault == RpcFault::None {
            return config;
        }
        config.link.latency = Latency::Constant { value: SCRIPT_LATENCY };
        config.model.network =
            NetworkModel::Arbitrary { adversary: AdversarySpec::Custom { name: "rpc-fault-script".into() } };
        let crash = match self.fault {
            RpcFault::CrashBeforeExecute => Some(Duration::from_millis(1)),
            // The request arrives (and executes) at 5 ms; the reply leaves at 6 ms.
            RpcFault::CrashAfterExecute => Some(SCRIPT_LATENCY + SERVICE_TIME / 2),
            _ => None,
        };
        if let Some(at) = crash {
            let restart = Duration::from_millis(10);
            config.model.nodes = NodeModel::CrashRecovery {
                crashes: vec![ScheduledCrash { node: SERVER, at, restart_after: Some(restart) }],
                rate_per_sec: 0.0,
                restart_min: restart,
                restart_max: restart,
            };
        }
        config
    }
}

/// One call as the client and the server saw it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Call {
    pub(crate) client: NodeId,
    pub(crate) seq: u64,
    /// The final outcome (`None`: the run ended first).
    pub(crate) outcome: Option<CallOutcome<Value>>,
    pub(crate) latency_ns: u64,
    /// Virtual time the call finished.
    pub(crate) done_at_ns: u64,
    /// How many times the server's handler ran it.
    pub(crate) executions: u64,
}

/// What one run showed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Report {
    /// The workload's value at the end: the count (likes, like-set, like-race) or the pence charged.
    pub(crate) final_value: u64,
    /// like-race: whether the raced user's like is present at the end.
    pub(crate) liked: Option<bool>,
    /// What client 0 saw, per attempt, with the virtual time in ns.
    pub(crate) client_outcomes: Vec<(u64, CallOutcome<Value>)>,
    /// Client 0's first call's final outcome.
    pub(crate) outcome: Option<CallOutcome<Value>>,
    /// How many times the handler ran, in all.
    pub(crate) server_executions: u64,
    pub(crate) calls: Vec<Call>,
    /// Broken promises of the delivery semantics.
    pub(crate) violations: Vec<String>,
}

impl Report {
    pub(crate) fn samples(&self) -> Vec<RequestSample> {
        self.calls
            .iter()
            .map(|c| RequestSample {
                issued: Duration::from_nanos(c.done_at_ns.saturating_sub(c.latency_ns)),
                latency: Duration::from_nanos(c.latency_ns),
                ok: matches!(c.outcome, Some(CallOutcome::Ok(_))),
            })
            .collect()
    }
}

/// A workload: its service, its calls per client, and how to read its final value.
trait Workload: Service<Response: Serialize> {
    fn server(spec: &Spec) -> Self;
    fn calls(spec: &Spec) -> Vec<(NodeId, Duration, Duration, Vec<Self::Request>)>;
    /// The final value, from the server's last execution (and the number of executions).
    fn final_value(last: Option<&Self::Response>, executions: u64) -> u64;
    fn liked(_last: Option<&Self::Response>) -> Option<bool> {
        None
    }
    fn format() -> Format {
        Format::Postcard
    }
}

fn client_0_calls<R>(spec: &Spec, each: impl Fn(u64) -> R) -> Vec<(NodeId, Duration, Duration, Vec<R>)> {
    vec![(CLIENT, Duration::ZERO, spec.interval, (0..spec.calls).map(each).collect())]
}

impl Workload for Likes {
    fn server(_: &Spec) -> Self {
        Self::default()
    }
    fn calls(spec: &Spec) -> Vec<(NodeId, Duration, Duration, Vec<LikesRequest>)> {
        client_0_calls(spec, |_| LikesRequest::Increment)
    }
    fn final_value(last: Option<&LikesResponse>, _: u64) -> u64 {
        last.map_or(LIKES_START, |&LikesResponse::Count(n)| n)
    }
}

impl Workload for LikeSet {
    fn server(spec: &Spec) -> Self {
        if spec.lww { Self::lww() } else { Self::default() }
    }
    fn calls(spec: &Spec) -> Vec<(NodeId, Duration, Duration, Vec<LikeSetRequest>)> {
        if spec.workload != RpcWorkload::LikeRace {
            return client_0_calls(spec, |i| LikeSetRequest::add(LIKES_START + i));
        }
        // f at 0 ms (its ack is what a scripted fault loses); g's client reads at 20 ms and
        // unlikes at 40 ms, before f's retry (deadline 50 ms + backoff).
        let ms = Duration::from_millis;
        vec![
            (CLIENT, Duration::ZERO, Duration::ZERO, vec![LikeSetRequest::add(RACE_USER)]),
            (
                CLIENT_2,
                ms(20),
                ms(20),
                vec![LikeSetRequest::Get { user: RACE_USER }, LikeSetRequest::remove(RACE_USER)],
            ),
        ]
    }
    fn final_value(last: Option<&Self::Response>, _: u64) -> u64 {
        last.map_or(LIKES_START, |r| r.count)
    }
    fn liked(last: Option<&Self::Response>) -> Option<bool> {
        // The race's last write concerns the raced user; its response says whether they like it.
        last.filter(|r| r.user == RACE_USER).map(|r| r.present)
    }
}

impl Workload for Payments {
    fn server(_: &Spec) -> Self {
        Self::default()
    }
    fn calls(spec: &Spec) -> Vec<(NodeId, Duration, Duration, Vec<PaymentRequest>)> {
        client_0_calls(spec, |_| PaymentRequest::lecture_example())
    }
    fn final_value(_: Option<&Self::Response>, executions: u64) -> u64 {
        executions * PaymentRequest::lecture_example().amount.minor
    }
    fn format() -> Format {
        Format::Json
    }
}

fn build<S: Workload>(spec: &Spec, base: &SimConfig) -> anyhow::Result<Simulation<Rpc<S>>> {
    let config = spec.config(base);
    let dl = delivery(spec.delivery);
    let deadline = spec.deadline;
    let calls = S::calls(spec);
    let server = S::server(spec);
    let mut sim = Simulation::new(config, move |id| match calls.iter().find(|c| c.0 == id) {
        Some((_, start, interval, reqs)) => {
            let mut cfg = ClientConfig::new(SERVER, dl, deadline);
            (cfg.start, cfg.interval, cfg.format) = (*start, *interval, S::format());
            Rpc::client(cfg, reqs.clone())
        }
        None => {
            let cfg = ServerConfig { format: S::format(), ..ServerConfig::new(dl.dedup_for::<S>(), SERVICE_TIME) };
            Rpc::server(cfg, server.clone())
        }
    })?;
    if spec.fault != RpcFault::None {
        let (fault, delay) = (spec.fault, spec.deadline * 2);
        sim = sim.with_adversary(move || Box::new(FaultScript::new(fault, delay)));
    }
    Ok(sim)
}

fn value_of<T: Serialize>(o: &CallOutcome<T>) -> CallOutcome<Value> {
    match o {
        CallOutcome::Ok(v) => CallOutcome::Ok(serde_json::to_value(v).unwrap_or(Value::Null)),
        CallOutcome::ServerError { status, message } => {
            CallOutcome::ServerError { status: *status, message: message.clone() }
        }
        CallOutcome::NoResponse => CallOutcome::NoResponse,
    }
}

fn report_of<S: Workload>(spec: &Spec, run: &Run<Rpc<S>>) -> Report {
    let mut calls: BTreeMap<RequestId, Call> = BTreeMap::new();
    fn call(calls: &mut BTreeMap<RequestId, Call>, client: NodeId, seq: u64) -> &mut Call {
        calls.entry(RequestId { client, seq }).or_insert(Call {
            client,
            seq,
            outcome: None,
            latency_ns: 0,
            done_at_ns: 0,
            executions: 0,
        })
    }
    let (mut client_outcomes, mut outcome, mut last, mut executions) = (Vec::new(), None, None, 0);
    for o in &run.outputs {
        match &o.value {
            RpcEvent::Attempt { outcome, .. } if o.node == CLIENT => client_outcomes.push((o.t, value_of(outcome))),
            RpcEvent::Attempt { .. } => {}
            RpcEvent::Done { seq, outcome: out, latency_ns } => {
                let call = call(&mut calls, o.node, *seq);
                (call.outcome, call.latency_ns, call.done_at_ns) = (Some(value_of(out)), *latency_ns, o.t);
                if o.node == CLIENT && outcome.is_none() {
                    outcome = Some(value_of(out));
                }
            }
            RpcEvent::Executed { id, response, .. } => {
                call(&mut calls, id.client, id.seq).executions += 1;
                executions += 1;
                last = Some(response);
            }
        }
    }
    let calls: Vec<Call> = calls.into_values().collect();
    let mut violations = Vec::new();
    for c in &calls {
        let ok = matches!(c.outcome, Some(CallOutcome::Ok(_)));
        if ok && c.executions == 0 {
            violations.push(format!("call {}/{} answered Ok but the handler never ran", c.client, c.seq));
        }
        // An idempotent handler may run several times to the effect of once; others must not.
        if spec.delivery == RpcDelivery::ExactlyOnce && !S::IDEMPOTENT && c.executions > 1 {
            violations.push(format!("exactly-once call {}/{} ran {} times", c.client, c.seq, c.executions));
        }
    }
    Report {
        final_value: S::final_value(last, executions),
        liked: if spec.workload == RpcWorkload::LikeRace { Some(S::liked(last).unwrap_or(false)) } else { None },
        client_outcomes,
        outcome,
        server_executions: executions,
        calls,
        violations,
    }
}

/// Runs `spec` once with `seed`.
pub(crate) fn simulate(base: &SimConfig, spec: &Spec, seed: u64) -> anyhow::Result<Report> {
    fn one<S: Workload>(spec: &Spec, base: &SimConfig, seed: u64) -> anyhow::Result<Report> {
        Ok(report_of(spec, &build::<S>(spec, base)?.run(seed)))
    }
    match spec.workload {
        RpcWorkload::Likes => one::<Likes>(spec, base, seed),
        RpcWorkload::LikeSet | RpcWorkload::LikeRace => one::<LikeSet>(spec, base, seed),
        RpcWorkload::Payments => one::<Payments>(spec, base, seed),
    }
}

/// Runs `spec` once with `seed`, recorded: its report and its trace as JSON Lines.
pub(crate) fn simulate_traced(
    base: &SimConfig,
    spec: &Spec,
    seed: u64,
    reproduce: String,
) -> anyhow::Result<(Report, Vec<u8>)> {
    fn one<S: Workload>(
        spec: &Spec,
        base: &SimConfig,
        seed: u64,
        reproduce: String,
    ) -> anyhow::Result<(Report, Vec<u8>)> {
        let run = build::<S>(spec, base)?.recording(true).run(seed);
        let trace = run.write_trace(Vec::new(), "rpc", Some(reproduce))?;
        Ok((report_of(spec, &run), trace))
    }
    match spec.workload {
        RpcWorkload::Likes => one::<Likes>(spec, base, seed, reproduce),
        RpcWorkload::LikeSet | RpcWorkload::LikeRace => one::<LikeSet>(spec, base, seed, reproduce),
        RpcWorkload::Payments => one::<Payments>(spec, base, seed, reproduce),
    }
}

pub(crate) fn workload_name(w: RpcWorkload) -> &'static str {
    match w {
        RpcWorkload::Likes => "likes",
        RpcWorkload::LikeSet => "like-set",
        RpcWorkload::LikeRace => "like-race",
        RpcWorkload::Payments => "payments",
    }
}

pub(crate) fn delivery_name(d: RpcDelivery) -> &'static str {
    match d {
        RpcDelivery::AtMostOnce => "at-most-once",
        RpcDelivery::AtLeastOnce => "at-least-once",
        RpcDelivery::ExactlyOnce => "exactly-once",
    }
}

pub(crate) fn fault_name(f: RpcFault) -> &'static str {
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

fn availability_json(r: &SloReport, slo: &Slo) -> Value {
    json!({
        "requests": r.requests,
        "answered_within_slo": r.good,
        "ratio": r.ratio,
        "slo_ratio": slo.percentile_ratio,
        "slo_latency_ms": slo.latency_max.as_secs_f64() * 1e3,
        "meets_slo": r.meets,
        "p50_us": r.p50.as_secs_f64() * 1e6,
        "p99_us": r.p99.as_secs_f64() * 1e6,
    })
}

/// The per-run judgment as an oracle, so sweeps, traces and exit codes treat it like any other.
fn semantics_oracle<S: Workload>(spec: &Spec) -> Box<dyn Oracle<Rpc<S>>> {
    let spec = spec.clone();
    oracle::from_fn(
        match spec.delivery {
            RpcDelivery::ExactlyOnce => "rpc-exactly-once",
            _ => "rpc-ok-means-executed",
        },
        move |run: &Run<Rpc<S>>| match report_of(&spec, run).violations.first() {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        },
    )
}

pub(crate) fn run(args: &SimArgs, config: &SimConfig) -> anyhow::Result<ExitCode> {
    let spec = Spec::of(args);
    if let Err(e) = spec.slo.validate() {
        // The flag that sets each field (the window is fixed: the whole run).
        let flag = match e.field {
            "percentile_ratio" => "slo_ratio",
            "latency_max" => "slo_latency",
            other => other,
        };
        eprintln!("herald: invalid `{flag}` (Slo::{}): {}", e.field, e.message);
        return Ok(ExitCode::from(report::EXIT_USAGE));
    }
    if spec.calls == 0 {
        eprintln!("herald: invalid `calls`: must be at least 1");
        return Ok(ExitCode::from(report::EXIT_USAGE));
    }
    match spec.workload {
        RpcWorkload::Likes => drive::<Likes>(args, &spec, config),
        RpcWorkload::LikeSet | RpcWorkload::LikeRace => drive::<LikeSet>(args, &spec, config),
        RpcWorkload::Payments => drive::<Payments>(args, &spec, config),
    }
}

/// What each sweep worker keeps: its simulation and the oracles.
type Worker<S> = (Simulation<Rpc<S>>, Vec<Box<dyn Oracle<Rpc<S>>>>);

struct Judged {
    report: Report,
    outcome: Outcome,
}

fn drive<S: Workload>(args: &SimArgs, spec: &Spec, config: &SimConfig) -> anyhow::Result<ExitCode> {
    let worker = || -> anyhow::Result<Worker<S>> {
        let sim = build::<S>(spec, config)?.recording(args.trace.is_some() && args.seeds.is_none());
        let mut oracles = oracle::model_oracles::<Rpc<S>>(&spec.config(config));
        oracles.push(semantics_oracle::<S>(spec));
        Ok((sim, oracles))
    };
    let Sweep { seeds: _, results, wall_ms } = super::sweep(args, worker, |(sim, oracles), seed| {
        let run = sim.run(seed);
        super::trace_single(args, &run, "rpc", seed);
        Judged { report: report_of(spec, &run), outcome: Outcome::of(&run, oracles) }
    })?;
    let samples: Vec<RequestSample> = results.iter().flat_map(|(_, j)| j.report.samples()).collect();
    let slo = availability::evaluate(&spec.slo, &samples);
    let failures = Failures::of(results.iter().map(|(seed, j)| (*seed, &j.outcome)))?;
    let mut v = json!({
        "scenario": "rpc",
        "workload": workload_name(spec.workload),
        "delivery": delivery_name(spec.delivery),
        "fault": fault_name(spec.fault),
        "seed": args.seed,
        "runs": results.len(),
        "calls_per_run": spec.calls,
        "initial_value": initial(spec),
        "violations": failures.violations,
        "liveness_failures": failures.liveness_failures,
        "availability": availability_json(&slo, &spec.slo),
        "failed_seeds": failures.failed,
        "wall_ms": wall_ms,
    });
    let first = &results[0].1.report;
    if args.seeds.is_none() {
        let attempts: Vec<_> = first.client_outcomes.iter().map(|(t, o)| json!({ "t_ns": t, "outcome": o })).collect();
        report::merge_into(
            &mut v,
            json!({
                "final_value": first.final_value,
                "liked": first.liked,
                "client_outcomes": attempts,
                "outcome": first.outcome,
                "server_executions": first.server_executions,
                "calls": first.calls,
            }),
        );
    } else {
        let finals = results.iter().map(|(_, j)| j.report.final_value);
        let executions: u64 = results.iter().map(|(_, j)| j.report.server_executions).sum();
        report::merge_into(
            &mut v,
            json!({
                "final_value_min": finals.clone().min(),
                "final_value_max": finals.max(),
                "server_executions": executions,
            }),
        );
    }
    if args.json {
        outln!("{v}");
    } else {
        let name = workload_name(spec.workload);
        outln!(
            "herald sim rpc · {name} · {} · fault {} · {} run(s) in {:.1} s",
            delivery_name(spec.delivery),
            fault_name(spec.fault),
            results.len(),
            wall_ms / 1e3
        );
        if args.seeds.is_none() {
            for (t, o) in &first.client_outcomes {
                outln!("  client attempt at {:.1} ms: {}", *t as f64 / 1e6, describe(o));
            }
            outln!("  final outcome   {}", first.outcome.as_ref().map_or("none".into(), describe));
            outln!(
                "  server executed {} time(s) · value {} → {}",
                first.server_executions,
                initial(spec),
                first.final_value
            );
            if let Some(liked) = first.liked {
                outln!("  user {RACE_USER} likes the post at the end: {liked}");
            }
        }
        outln!(
            "  availability    {}/{} calls ok within {} ({:.3}%, SLO {}%: {}) · p50 {:.2} ms · p99 {:.2} ms",
            slo.good,
            slo.requests,
            herald_core::time::human(herald_core::time::nanos(spec.slo.latency_max)),
            slo.ratio * 100.0,
            spec.slo.percentile_ratio * 100.0,
            if slo.meets { "met" } else { "missed" },
            slo.p50.as_secs_f64() * 1e3,
            slo.p99.as_secs_f64() * 1e3,
        );
        outln!("  violations      {}", failures.violations);
        failures.print()?;
    }
    Ok(failures.exit_code())
}

fn initial(spec: &Spec) -> u64 {
    if spec.workload == RpcWorkload::Payments { 0 } else { LIKES_START }
}

/// A call outcome in a few words.
pub(crate) fn describe(o: &CallOutcome<Value>) -> String {
    match o {
        CallOutcome::Ok(v) => format!("Ok({v})"),
        CallOutcome::ServerError { status, message } => format!("ServerError({status}: {message})"),
        CallOutcome::NoResponse => "NoResponse".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(d: RpcDelivery, f: RpcFault) -> Report {
        simulate(&SimConfig::new(2), &Spec::new(RpcWorkload::Likes, d, f), 1).unwrap()
    }
    fn ok(n: u64) -> Option<CallOutcome<Value>> {
        Some(CallOutcome::Ok(serde_json::to_value(LikesResponse::Count(n)).unwrap()))
    }

    #[test]
    fn r1_at_least_once_with_lost_ack_counts_twice() {
        let r = sim(RpcDelivery::AtLeastOnce, RpcFault::LoseFirstResponse);
        assert_eq!(r.final_value, 12_302);
        let seen: Vec<_> = r.client_outcomes.iter().map(|(_, o)| Some(o.clone())).collect();
        assert_eq!(seen, vec![Some(CallOutcome::NoResponse), ok(12_302)]);
    }

    #[test]
    fn r2_exactly_once_dedup_counts_once() {
        let r = sim(RpcDelivery::ExactlyOnce, RpcFault::LoseFirstResponse);
        assert_eq!((r.final_value, r.server_executions), (12_301, 1));
        assert_eq!(r.outcome, ok(12_301));
    }

    #[test]
    fn r3_an_idempotent_set_add_counts_once_with_at_least_once() {
        let spec = Spec::new(RpcWorkload::LikeSet, RpcDelivery::AtLeastOnce, RpcFault::LoseFirstResponse);
        let r = simulate(&SimConfig::new(2), &spec, 1).unwrap();
        assert_eq!(r.server_executions, 2, "the retry ran the handler again");
        assert_eq!(r.final_value, 12_301, "count = |set|");
        // Exactly-once by idempotence: no dedup table, the handler runs twice, the effect is once.
        let spec = Spec { delivery: RpcDelivery::ExactlyOnce, ..spec };
        let r = simulate(&SimConfig::new(2), &spec, 1).unwrap();
        assert_eq!((r.server_executions, r.final_value), (2, 12_301));
        assert!(r.violations.is_empty(), "{:?}", r.violations);
    }

    #[test]
    fn r4_a_retry_after_an_unlike_resurrects_the_like_unless_timestamps_and_tombstones() {
        for (lww, liked, count) in [(false, true, 12_301), (true, false, 12_300)] {
            let mut spec = Spec::new(RpcWorkload::LikeRace, RpcDelivery::AtLeastOnce, RpcFault::LoseFirstResponse);
            spec.lww = lww;
            let r = simulate(&SimConfig::new(3), &spec, 1).unwrap();
            // f ran twice (the original and the retry); g's read and unlike ran in between.
            assert_eq!(r.server_executions, 4, "{r:?}");
            assert_eq!((r.liked, r.final_value), (Some(liked), count), "lww={lww}: {r:?}");
        }
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
            assert_eq!((r.final_value, r.outcome.clone()), (12_301, ok(12_301)), "{f:?}: {r:?}");
            assert!(r.violations.is_empty(), "{r:?}");
        }
        // Without dedup the crash-after-execute retry runs the handler again.
        assert_eq!(sim(RpcDelivery::AtLeastOnce, RpcFault::CrashAfterExecute).final_value, 12_302);
        // F6: a duplicated request runs twice without dedup, and the client still sees Ok.
        let dup = sim(RpcDelivery::AtMostOnce, RpcFault::DuplicateRequest);
        assert_eq!(dup.final_value, 12_302);
        assert!(matches!(dup.outcome, Some(CallOutcome::Ok(_))), "{dup:?}");
    }

    #[test]
    fn payments_retried_without_dedup_charge_the_card_twice() {
        let spec = Spec::new(RpcWorkload::Payments, RpcDelivery::AtLeastOnce, RpcFault::LoseFirstResponse);
        assert_eq!(simulate(&SimConfig::new(2), &spec, 1).unwrap().final_value, 798, "£7.98 for a £3.99 order");
        let spec = Spec { delivery: RpcDelivery::ExactlyOnce, ..spec };
        assert_eq!(simulate(&SimConfig::new(2), &spec, 1).unwrap().final_value, 399);
    }

    #[test]
    fn availability_counts_calls_answered_within_the_slo() {
        // 20 calls, one every 10 ms; the server is down from 50 ms to 150 ms (crash-recovery):
        // at-most-once calls issued while it is down get no answer.
        let mut base = SimConfig::new(2);
        base.link.latency = Latency::Constant { value: Duration::from_millis(2) };
        base.model.nodes = NodeModel::CrashRecovery {
            crashes: vec![ScheduledCrash {
                node: SERVER,
                at: Duration::from_millis(50),
                restart_after: Some(Duration::from_millis(100)),
            }],
            rate_per_sec: 0.0,
            restart_min: Duration::from_millis(100),
            restart_max: Duration::from_millis(100),
        };
        let mut spec = Spec::new(RpcWorkload::Likes, RpcDelivery::AtMostOnce, RpcFault::None);
        (spec.calls, spec.interval) = (20, Duration::from_millis(10));
        let r = simulate(&base, &spec, 1).unwrap();
        let slo = availability::evaluate(&spec.slo, &r.samples());
        assert_eq!(slo.requests, 20);
        assert!((9..=11).contains(&(20 - slo.good)), "about ten calls fall in the outage: {slo:?}");
        assert!(!slo.meets);
        // 2 ms each way + 1 ms service, plus the packets' transmission time at 1 Gbps.
        assert!(slo.p50 >= Duration::from_millis(5) && slo.p50 < Duration::from_micros(5_010), "{slo:?}");
        // With retries that outlast the outage, every call is answered, the late ones slowly.
        spec.delivery = RpcDelivery::ExactlyOnce;
        let r = simulate(&base, &spec, 1).unwrap();
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        let slo = availability::evaluate(&spec.slo, &r.samples());
        assert_eq!(r.calls.iter().filter(|c| matches!(c.outcome, Some(CallOutcome::Ok(_)))).count(), 20);
        assert!(slo.p99 > Duration::from_millis(50), "{slo:?}");
        assert_eq!(r.final_value, LIKES_START + 20);
    }
}
