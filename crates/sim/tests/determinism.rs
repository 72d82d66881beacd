//! A run is a pure function of (seed, configuration, fault mask): the same seed gives a
//! byte-identical trace, another seed a different one, and a sweep's per-seed results do not depend
//! on its thread count.

mod common;

use common::*;
use herald_core::NodeId;
use herald_core::trace::CutMode;
use herald_protocols::ping_pong::{PingPong, PingPongConfig};
use herald_sim::sweep::sweep;
use herald_sim::{
    ClockModel, Latency, Liveness, NetworkModel, NodeModel, Partition, Pauses, Run, SimConfig, Simulation, Summary,
    TimingModel,
};
use std::collections::BTreeSet;
use std::time::Duration;

const NODES: usize = 3;

/// Every kind of randomness at once: loss, duplication and reordering, random crashes and
/// restarts, a one-way held partition, pauses, skewed and drifting clocks, and a liveness phase.
fn busy() -> SimConfig {
    let mut cfg = small(NODES);
    cfg.limits.time_max = ms(100);
    cfg.model.network = NetworkModel::FairLoss { loss: 0.2, duplicate: 0.1, duplicates_max: 2, reorder: true };
    cfg.model.nodes =
        NodeModel::CrashRecovery { crashes: vec![], rate_per_sec: 5.0, restart_min: ms(5), restart_max: ms(20) };
    cfg.model.timing = TimingModel::Asynchronous {
        pauses: Pauses {
            rate_per_sec: 20.0,
            duration: Latency::Exponential { min: Duration::from_micros(100), mean: ms(2) },
        },
    };
    cfg.model.partitions = vec![Partition {
        start: ms(20),
        end: Some(ms(40)),
        side_a: vec![NodeId(0)],
        side_b: vec![],
        symmetric: false,
        mode: CutMode::Hold,
    }];
    cfg.clocks = ClockModel { offset_max: ms(1), drift_ppm_max: 100.0 };
    cfg.liveness_bound = Some(ms(200));
    cfg
}

fn simulation(cfg: SimConfig) -> Simulation<PingPong> {
    Simulation::new(cfg, |_| PingPong::new(PingPongConfig::default(), NODES)).unwrap().recording(true)
}

fn trace(run: &Run<PingPong>) -> Vec<u8> {
    run.write_trace(Vec::new(), "determinism", None).unwrap()
}

/// The trace without its header line (which names the seed).
fn events(trace: &[u8]) -> &[u8] {
    let newline = trace.iter().position(|&b| b == b'\n').unwrap();
    &trace[newline + 1..]
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let mut reused = simulation(busy());
    let mut seen = BTreeSet::new();
    for seed in 0..12 {
        let first = simulation(busy()).run(seed);
        assert_models(&first);
        let a = trace(&first);
        // A fresh simulation, and the same simulation value run again, agree byte for byte.
        assert_eq!(a, trace(&simulation(busy()).run(seed)), "seed {seed}: fresh rerun differs");
        reused.run(seed + 1000); // state left behind by another run must not leak
        assert_eq!(a, trace(&reused.run(seed)), "seed {seed}: rerun on a reused simulation differs");
        // Applying exactly the run's own faults through a mask changes nothing.
        let mask = first.faults.iter().map(|f| f.index).collect();
        let masked = simulation(busy()).with_fault_mask(Some(mask)).run(seed);
        assert_eq!(a, trace(&masked), "seed {seed}: the full fault mask changed the run");
        assert!(first.faults.len() > 3, "seed {seed}: the run should be full of faults");
        assert!(a.len() > 10_000, "seed {seed}: the trace should not be trivial");
        // Every seed's events differ from every other seed's.
        assert!(seen.insert(events(&a).to_vec()), "seed {seed}: same events as another seed");
    }
}

/// What a sweep reports per seed.
#[derive(Debug, PartialEq)]
struct PerSeed {
    summary: Summary,
    trace_hash: u64,
    outputs: usize,
    faults: usize,
    liveness: Liveness,
}

fn per_seed(seed: u64) -> PerSeed {
    let run = simulation(busy()).run(seed);
    PerSeed {
        summary: run.summary.clone(),
        trace_hash: fnv(&trace(&run)),
        outputs: run.outputs.len(),
        faults: run.faults.len(),
        liveness: run.liveness.clone(),
    }
}

#[test]
fn sweeps_give_the_same_per_seed_results_on_one_or_two_threads() {
    let one = sweep(0..60, 1, per_seed, |_| {});
    let two = sweep(0..60, 2, per_seed, |_| {});
    assert_eq!(one.len(), 60);
    assert!(one.iter().map(|(s, _)| *s).eq(0..60), "results come back in seed order");
    assert_eq!(one, two);
    let distinct: BTreeSet<u64> = one.iter().map(|(_, r)| r.trace_hash).collect();
    assert_eq!(distinct.len(), 60, "every seed gives its own trace");
    assert!(
        one.iter().all(|(_, r)| matches!(r.liveness, Liveness::Progressed { .. })),
        "ping-pong with retransmission recovers once faults heal"
    );
}
