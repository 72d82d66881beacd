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
        BenchCommand::Sim { nodes, in_flight, deliveries, trace_memory, bandwidth, repeat, seed, json } => {
            let mut config = SimConfig::new(nodes);
            config.link.latency = Latency::uniform(Duration::from_millis(1), Duration::from_millis(10));
            if !bandwidth {
                config.link.bandwidth_bps = None;
            }
            // The run ends at the event limit: with no timers, every event is one delivery.
            config.limits = Limits { time_max: Duration::from_secs(1 << 30), events_max: deliveries };
            let pp = PingPongConfig { in_flight, pings_max: None, retransmit: None, report: false };
            let mut sim = Simulation::new(config, move |_| PingPong::new(pp.clone(), nodes))?.recording(trace_memory);
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
                "runs_deliveries_per_sec": rates,
                "wall_s_last": wall,
                "virtual_s": run.summary.virtual_ns as f64 / 1e9,
                "trace_records": run.records.len(),
                "queue_peak_events": run.queue_peak,
                "queue_bytes_per_in_flight_message": run.queue_bytes as f64 / in_flight_msgs as f64,
                "event_bytes": herald_sim::queued_event_bytes::<herald_protocols::ping_pong::Timer>(),
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
                    "  event queue: peak {} events, {:.0} bytes per in-flight message ({} bytes per event)",
                    run.queue_peak,
                    run.queue_bytes as f64 / in_flight_msgs as f64,
                    result["event_bytes"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
