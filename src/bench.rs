//! `herald bench`: benchmarks measured in wall-clock time. They are commands, not tests: results
//! go to `docs/benchmarks.md` with the exact command.

use clap::Subcommand;
use herald_protocols::ping_pong::{PingPong, PingPongConfig};
use herald_sim::{Latency, Limits, SimConfig, Simulation};
use serde_json::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Subcommand, Debug)]
pub(crate) enum BenchCommand {
    /// The Byzantine generals: OM(3) with 10 generals and OM(4) with 13 through the simulator (runs
    /// and messages per second, nanoseconds per message), and SM(m)'s cost against the pure cost of
    /// verifying the signatures it checks (Ed25519, single and batched).
    Generals {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Signatures in the pure-verification measurement.
        #[arg(long, default_value_t = 1024)]
        signatures: usize,
    },
    /// The runtime: echo RPC over loopback TCP through herald-net, sequential latency (p50, p99)
    /// beside a blocking std::net echo floor measured in the same run, the legs taking turns in
    /// chunks of 500 calls (with --busy-poll-us, also Herald busy-polling and a spinning std::net
    /// floor), and the throughput of --concurrency callers.
    Rpc(crate::bench_rpc::RpcArgs),
    /// Simulator throughput: all-to-all ping-pong, every node keeping --in-flight pings outstanding
    /// to each peer (Ping → Pong → next Ping), latency uniform 1–10 ms, reliable network, counting
    /// deliveries per wall-clock second.
    Sim {
        /// Nodes.
        #[arg(long, default_value_t = 5)]
        nodes: usize,
        /// Pings outstanding per node per peer.
        #[arg(long, default_value_t = 200)]
        in_flight: u32,
        /// Deliveries to simulate.
        #[arg(long, default_value_t = 1_000_000)]
        deliveries: u64,
        /// Record the full trace in memory while running.
        #[arg(long)]
        trace_memory: bool,
        /// Model link bandwidth (1 Gbit/s per link) and packetisation; off matches the peers'
        /// workload, which has neither.
        #[arg(long)]
        bandwidth: bool,
        /// Repetitions; the best is reported, and every one is listed.
        #[arg(long, default_value_t = 3)]
        repeat: u32,
        /// Untimed runs of the same workload, each on a simulator of its own, before the timed
        /// ones: the timed runs then start on a warm process (the peers' harnesses in
        /// bench/compare take the same flag).
        #[arg(long, default_value_t = 0)]
        warmup: u32,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: &BenchCommand) -> anyhow::Result<ExitCode> {
    match *cmd {
        BenchCommand::Generals { json, signatures } => generals(json, signatures),
        BenchCommand::Rpc(ref args) => crate::bench_rpc::run(args),
        BenchCommand::Sim { nodes, in_flight, deliveries, trace_memory, bandwidth, repeat, warmup, seed, json } => {
            let mut config = SimConfig::new(nodes);
            config.link.latency = Latency::uniform(Duration::from_millis(1), Duration::from_millis(10));
            if !bandwidth {
                config.link.bandwidth_bps = None;
            }
            // The run ends at the event limit: with no timers, every event is one delivery.
            config.limits = Limits { time_max: Duration::from_secs(1 << 30), events_max: deliveries };
            let pp = PingPongConfig { in_flight, pings_max: None, retransmit: None, report: false };
            let simulation = || -> anyhow::Result<Simulation<PingPong>> {
                let pp = pp.clone();
                Ok(Simulation::new(config.clone(), move |_| PingPong::new(pp.clone(), nodes))?.recording(trace_memory))
            };
            for _ in 0..warmup {
                let run = simulation()?.run(seed);
                anyhow::ensure!(run.summary.counters.delivered == deliveries, "the workload stopped early");
            }
            let mut sim = simulation()?;
            let mut rates = Vec::new();
            let mut last = None;
            for _ in 0..repeat.max(1) {
                let started = Instant::now();
                let run = sim.run(seed);
                let wall = started.elapsed().as_secs_f64();
                anyhow::ensure!(run.summary.counters.delivered == deliveries, "the workload stopped early");
                rates.push(deliveries as f64 / wall);
                last = Some((run, wall));
            }
            let (run, wall) = last.expect("at least one repetition");
            let best = rates.iter().copied().fold(0.0, f64::max);
            let in_flight_msgs = nodes * (nodes - 1) * in_flight as usize;
            let result = json!({
                "benchmark": "sim",
                "nodes": nodes,
                "in_flight": in_flight,
                "deliveries": deliveries,
                "trace_memory": trace_memory,
                "bandwidth_modelled": bandwidth,
                "deliveries_per_sec": best,
                "warmup_runs": warmup,
                "runs_deliveries_per_sec": rates,
                "wall_s_last": wall,
                "virtual_s": run.summary.virtual_ns as f64 / 1e9,
                "trace_records": run.records.len(),
                "queue_peak_events": run.queue_peak,
                "queue_bytes_per_in_flight_message": run.queue_bytes as f64 / in_flight_msgs as f64,
                "event_bytes": herald_sim::queued_event_bytes::<herald_protocols::ping_pong::Timer>(),
                "queue_wheel_bytes": run.queue_wheel_bytes,
            });
            if json {
                outln!("{result}");
            } else {
                outln!(
                    "bench sim: {nodes} nodes, {in_flight} in flight per link, {deliveries} deliveries{}: best {:.2} M deliveries/s (runs: {})",
                    if trace_memory { ", full trace in memory" } else { "" },
                    best / 1e6,
                    rates.iter().map(|r| format!("{:.2}M", r / 1e6)).collect::<Vec<_>>().join(", ")
                );
                outln!(
                    "  event queue: peak {} events, {:.0} bytes per in-flight message ({} bytes per event, plus the wheel's {} KiB)",
                    run.queue_peak,
                    run.queue_bytes as f64 / in_flight_msgs as f64,
                    result["event_bytes"],
                    run.queue_wheel_bytes / 1024
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `f` until at least `budget` of wall time has passed (and at least `min_runs` times);
/// returns (runs, seconds).
fn timed(budget: Duration, min_runs: u64, mut f: impl FnMut(u64)) -> (u64, f64) {
    let started = Instant::now();
    let mut runs = 0;
    while runs < min_runs || started.elapsed() < budget {
        f(runs);
        runs += 1;
    }
    (runs, started.elapsed().as_secs_f64())
}

fn generals(json: bool, signatures: usize) -> anyhow::Result<ExitCode> {
    use crate::generals::{om, sm};
    use herald_protocols::byzantine::Order;
    use herald_protocols::byzantine::om::{Behaviour, Majority, OmConfig};
    use herald_protocols::byzantine::sm::{self as signing, Setup, SmConfig};
    use std::collections::BTreeSet;

    // OM through the simulator, all generals loyal (every message sent): no crypto involved.
    let mut om_rows = Vec::new();
    for (generals, m, budget) in [(10, 3, Duration::from_secs(2)), (13, 4, Duration::from_secs(4))] {
        let config = OmConfig { generals, m, order: Order::Attack, majority: Majority::StrictOrDefault };
        let instance = om::Instance { config, traitors: BTreeSet::new(), behaviour: Behaviour::Silent };
        let mut messages = 0;
        let (runs, secs) = timed(budget, 2, |seed| {
            let outcome = om::simulate(&instance, seed).expect("a valid instance");
            assert!(outcome.verdict.ic1 && outcome.verdict.ic2, "loyal OM agrees");
            messages = outcome.messages;
        });
        om_rows.push(json!({
            "algorithm": "om", "generals": generals, "m": m, "messages_per_run": messages,
            "runs_per_sec": runs as f64 / secs, "messages_per_sec": (runs * messages) as f64 / secs,
            "ns_per_message": secs * 1e9 / (runs * messages) as f64,
        }));
    }

    // Pure Ed25519 verification: `signatures` distinct messages and keys, checked one by one and
    // as one batch; and their signing, which SM's commander and each relaying lieutenant also do.
    let keys = signing::Keys::derive(7, signatures);
    let messages: Vec<Vec<u8>> = (0..signatures).map(|i| format!("order {i}").into_bytes()).collect();
    let sigs: Vec<signing::Sig> =
        (0..signatures).map(|i| keys.signing(herald_core::NodeId::from(i)).sign(&messages[i])).collect();
    let public: Vec<_> = (0..signatures).map(|i| keys.signing(herald_core::NodeId::from(i)).verifying_key()).collect();
    let (single_rounds, single_secs) = timed(Duration::from_secs(2), 1, |_| {
        for i in 0..signatures {
            assert!(signing::verify(&public[i], &messages[i], &sigs[i]));
        }
    });
    let single_ns = single_secs * 1e9 / (single_rounds as f64 * signatures as f64);
    let (sign_rounds, sign_secs) = timed(Duration::from_secs(1), 1, |_| {
        for (i, message) in messages.iter().enumerate() {
            std::hint::black_box(keys.signing(herald_core::NodeId::from(i)).sign(message));
        }
    });
    let sign_ns = sign_secs * 1e9 / (sign_rounds as f64 * signatures as f64);
    let items: Vec<_> = (0..signatures).map(|i| (&public[i], messages[i].as_slice(), sigs[i])).collect();
    let (batch_rounds, batch_secs) = timed(Duration::from_secs(2), 1, |_| assert!(signing::verify_batch(&items)));
    let batch_ns = batch_secs * 1e9 / (batch_rounds as f64 * signatures as f64);

    // SM through the simulator, all loyal, fresh keys per run outside the timing: its cost per
    // signature it verified, against the pure single-verification cost.
    let mut sm_rows = Vec::new();
    for (generals, m) in [(7, 5), (10, 3)] {
        let config = SmConfig::new(generals, m);
        let setups: Vec<Setup> =
            (0..64).map(|seed| Setup::new(config.clone(), Order::Attack, BTreeSet::new(), seed)).collect();
        let (mut verified, mut sent) = (0, 0);
        let (runs, secs) = timed(Duration::from_secs(3), 4, |run| {
            let outcome = sm::run_instance(&setups[run as usize % setups.len()], &sm::Play::Silent, run);
            assert!(outcome.verdict.ic1 && outcome.verdict.ic2, "loyal SM agrees");
            verified += outcome.signatures_verified;
            sent += outcome.messages;
        });
        let ns_per_verified = secs * 1e9 / verified as f64;
        sm_rows.push(json!({
            "algorithm": "sm", "generals": generals, "m": m, "messages_per_run": sent / runs,
            "signatures_verified_per_run": verified / runs, "runs_per_sec": runs as f64 / secs,
            "ns_per_signature_verified": ns_per_verified,
            "cost_vs_pure_verification": ns_per_verified / single_ns,
        }));
    }
    let result = json!({
        "benchmark": "generals",
        "om": om_rows,
        "ed25519": {
            "signatures": signatures,
            "verify_ns": single_ns,
            "verify_batch_ns_per_signature": batch_ns,
            "sign_ns": sign_ns,
            "sign_over_verify": sign_ns / single_ns,
        },
        "sm": sm_rows,
    });
    if json {
        outln!("{result}");
    } else {
        for r in &om_rows {
            outln!(
                "OM({}) n={}: {} messages a run, {:.1} runs/s, {:.2} M messages/s, {:.0} ns per message",
                r["m"],
                r["generals"],
                r["messages_per_run"],
                r["runs_per_sec"].as_f64().unwrap_or(0.0),
                r["messages_per_sec"].as_f64().unwrap_or(0.0) / 1e6,
                r["ns_per_message"].as_f64().unwrap_or(0.0)
            );
        }
        outln!(
            "Ed25519 over {signatures} signatures: verify {single_ns:.0} ns, batched {batch_ns:.0} ns per signature; signing {sign_ns:.0} ns ({:.2}x a verification)",
            sign_ns / single_ns
        );
        for r in &sm_rows {
            outln!(
                "SM({}) n={}: {} messages and {} signature checks a run, {:.0} ns per check = {:.2}x pure verification",
                r["m"],
                r["generals"],
                r["messages_per_run"],
                r["signatures_verified_per_run"],
                r["ns_per_signature_verified"].as_f64().unwrap_or(0.0),
                r["cost_vs_pure_verification"].as_f64().unwrap_or(0.0)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
