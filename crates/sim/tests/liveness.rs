//! The liveness phase: after the safety phase every fault is healed, and the protocol must make
//! progress within `liveness_bound`. Ping-pong with retransmission recovers from a partition that
//! swallowed all of one node's pings; without retransmission it cannot, and the phase fails.

mod common;

use common::*;
use herald_core::NodeId;
use herald_core::trace::{CutMode, DropReason};
use herald_protocols::ping_pong::{PingPong, PingPongConfig, RoundTrip};
use herald_sim::record::RecordKind;
use herald_sim::{Liveness, NetworkModel, NodeModel, Partition, Run, ScheduledCrash, SimConfig, Simulation};
use std::time::Duration;

const NODES: usize = 3;
const TIME_MAX: Duration = Duration::from_millis(100);
const BOUND: Duration = Duration::from_millis(300);

/// Fair loss, and node 0 cut off (dropping) for the whole safety phase: every ping it sends and
/// every ping sent to it is lost.
fn isolated_node_0() -> SimConfig {
    let mut cfg = small(NODES);
    cfg.limits.time_max = TIME_MAX;
    cfg.liveness_bound = Some(BOUND);
    cfg.model.network = NetworkModel::FairLoss { loss: 0.5, duplicate: 0.1, duplicates_max: 1, reorder: true };
    cfg.model.partitions = vec![Partition {
        start: Duration::ZERO,
        end: Some(Duration::from_secs(1)),
        side_a: vec![NodeId(0)],
        side_b: vec![],
        symmetric: true,
        mode: CutMode::Drop,
    }];
    cfg
}

fn ping_pong(retransmit: Option<Duration>) -> impl FnMut(NodeId) -> PingPong + 'static {
    move |_| {
        let config = PingPongConfig { retransmit, ..PingPongConfig::default() };
        PingPong::new(config, NODES)
    }
}

/// Checks what every liveness run must show: the heal at the end of the safety phase, and no
/// fault after it.
fn healed_at_time_max(run: &Run<PingPong>) {
    assert_models(run);
    let heal = ns(TIME_MAX);
    assert_eq!(run.heal_at, Some(heal), "seed {}", run.seed);
    let heal_index = run.records.iter().position(|r| matches!(r.kind, RecordKind::Heal)).expect("a Heal record");
    for r in run.records.iter().skip(heal_index) {
        let faulty = matches!(
            r.kind,
            RecordKind::Drop { reason: DropReason::Loss | DropReason::Partition, .. }
                | RecordKind::Duplicate { .. }
                | RecordKind::Crash { .. }
        );
        assert!(!faulty, "seed {}: a fault after the heal: {:?}", run.seed, r.kind);
    }
}

#[test]
fn retransmission_makes_progress_once_faults_heal() {
    for seed in 0..40 {
        let mut sim = Simulation::new(isolated_node_0(), ping_pong(Some(ms(50)))).unwrap().recording(true);
        let run = sim.run(seed);
        healed_at_time_max(&run);
        // During the safety phase node 0 completed nothing.
        assert!(
            run.outputs.iter().all(|o| o.node != NodeId(0) || o.t >= ns(TIME_MAX)),
            "seed {seed}: node 0 was cut off"
        );
        match run.liveness {
            // Node 0's next retransmission (within 50 ms) gets through, plus a round trip.
            Liveness::Progressed { after_ns } => {
                assert!(after_ns <= ns(ms(50)) + 2 * ns(ms(10)), "seed {seed}: took {after_ns}ns")
            }
            other => panic!("seed {seed}: {other:?}"),
        }
        assert!(run.outputs.iter().any(|o| o.node == NodeId(0)), "seed {seed}");
    }
}

#[test]
fn a_custom_progress_rule_is_what_the_phase_waits_for() {
    let five_from_node_0 =
        |p: &herald_sim::Progress<'_, RoundTrip>| p.outputs.iter().filter(|o| o.node == NodeId(0)).count() >= 5;
    for seed in 0..20 {
        let default = Simulation::new(isolated_node_0(), ping_pong(Some(ms(50)))).unwrap().run(seed);
        let mut sim = Simulation::new(isolated_node_0(), ping_pong(Some(ms(50))))
            .unwrap()
            .with_liveness(five_from_node_0)
            .recording(true);
        let run = sim.run(seed);
        healed_at_time_max(&run);
        let (Liveness::Progressed { after_ns: first }, Liveness::Progressed { after_ns: five }) =
            (&default.liveness, &run.liveness)
        else {
            panic!("seed {seed}: {:?} / {:?}", default.liveness, run.liveness);
        };
        assert!(five > first, "seed {seed}: five round trips take longer than one");
        let after_heal = run.outputs.iter().filter(|o| o.node == NodeId(0) && o.t >= ns(TIME_MAX)).count();
        assert_eq!(after_heal, 5, "seed {seed}: the phase stops as soon as the rule holds");
        assert_eq!(run.summary.virtual_ns, ns(TIME_MAX) + five, "seed {seed}");
    }
}

#[test]
fn without_retransmission_lost_pings_are_never_recovered_and_liveness_fails() {
    for seed in 0..40 {
        let mut sim = Simulation::new(isolated_node_0(), ping_pong(None)).unwrap().recording(true);
        let run = sim.run(seed);
        healed_at_time_max(&run);
        assert_eq!(run.liveness, Liveness::Failed { bound_ns: ns(BOUND) }, "seed {seed}");
        assert!(run.outputs.iter().all(|o| o.node != NodeId(0)), "seed {seed}: node 0 never completes a ping");
        assert!(run.summary.virtual_ns <= ns(TIME_MAX) + ns(BOUND), "seed {seed}");
    }
}

#[test]
fn a_node_down_at_the_end_of_the_safety_phase_restarts_at_the_heal() {
    for seed in 0..20 {
        let mut cfg = small(NODES);
        cfg.limits.time_max = TIME_MAX;
        cfg.liveness_bound = Some(BOUND);
        cfg.model.nodes = NodeModel::CrashRecovery {
            crashes: vec![ScheduledCrash { node: NodeId(0), at: ms(60), restart_after: Some(Duration::from_secs(10)) }],
            rate_per_sec: 0.0,
            restart_min: Duration::ZERO,
            restart_max: Duration::ZERO,
        };
        let mut sim = Simulation::new(cfg, ping_pong(Some(ms(50)))).unwrap().recording(true);
        let run = sim.run(seed);
        healed_at_time_max(&run);
        let recovered = run
            .records
            .iter()
            .find(|r| matches!(r.kind, RecordKind::Recover { node, .. } if node == NodeId(0)))
            .expect("node 0 restarts at the heal");
        assert_eq!(recovered.t, ns(TIME_MAX), "seed {seed}");
        assert!(matches!(run.liveness, Liveness::Progressed { .. }), "seed {seed}: {:?}", run.liveness);
    }
}
