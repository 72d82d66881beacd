//! Lecture-spec tests S4–S6: the link layers over the simulator's network and node models.

use herald_core::trace::CutMode;
use herald_core::{Node, NodeId};
use herald_protocols::links::{
    self, AuthenticatedConfig, AuthenticatedLink, Delivery, FifoLink, RetryDedupConfig, RetryDedupLink, Tally, Workload,
};
use herald_sim::sweep::sweep_with;
use herald_sim::{AdversarySpec, NetworkModel, NodeModel, Partition, ScheduledCrash, SimConfig, Simulation};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fair_loss(nodes: usize) -> SimConfig {
    let mut c = SimConfig::new(nodes);
    c.model.network = NetworkModel::FairLoss { loss: 0.5, duplicate: 0.2, duplicates_max: 2, reorder: true };
    c.limits.time_max = Duration::from_secs(3);
    c
}

/// Runs `seeds` seeds of `config` (one Simulation per worker) and tallies each run's deliveries.
fn tallies<N: Node<Output = Delivery>>(
    config: &SimConfig,
    seeds: u64,
    workload: &Workload,
    make: impl Fn(Workload) -> N + Clone + Send + Sync + 'static,
) -> Vec<Tally> {
    let nodes = config.nodes;
    sweep_with(
        0..seeds,
        2,
        || {
            let (w, make) = (workload.clone(), make.clone());
            Simulation::new(config.clone(), move |_| make(w.clone())).expect("a valid configuration")
        },
        |sim, seed| {
            let run = sim.run(seed);
            links::tally(workload, nodes, run.outputs.iter().map(|o| (o.node, &o.value)))
        },
        |_| {},
    )
    .into_iter()
    .map(|(_, t)| t)
    .collect()
}

fn retry(persist: bool) -> impl Fn(Workload) -> RetryDedupLink<Workload> + Clone + Send + Sync + 'static {
    move |w| RetryDedupLink::new(w, RetryDedupConfig { persist, ..RetryDedupConfig::default() })
}

fn authenticated(w: Workload) -> AuthenticatedLink<Workload> {
    AuthenticatedLink::new(w, AuthenticatedConfig::default())
}

fn assert_all(ts: &[Tally], check: fn(&Tally) -> Result<(), String>) {
    for (seed, t) in ts.iter().enumerate() {
        if let Err(e) = check(t) {
            panic!("seed {seed}: {e} ({t:?})");
        }
    }
}

#[test]
fn s4_retry_dedup_over_fair_loss_delivers_exactly_once() {
    let ts = tallies(&fair_loss(2), 100, &Workload::new(100), retry(true));
    assert_all(&ts, links::check_exactly_once);
    assert!(ts.iter().all(|t| t.delivered == 100));
    // Without the layer the same network loses and duplicates.
    let bare = tallies(&fair_loss(2), 10, &Workload::new(100), |w| w);
    assert!(bare.iter().all(|t| t.missing > 0 && t.duplicates_delivered > 0), "{bare:?}");
}

#[test]
fn s4_retry_dedup_completes_after_a_long_partition_heals() {
    for mode in [CutMode::Drop, CutMode::Hold] {
        let mut c = fair_loss(2);
        c.model.partitions.push(Partition {
            start: ms(20),
            end: Some(ms(20) + Duration::from_secs(1)), // 10,000 ticks of 100 µs
            side_a: vec![NodeId(0)],
            side_b: vec![NodeId(1)],
            symmetric: true,
            mode,
        });
        let ts = tallies(&c, 20, &Workload::new(50), retry(true));
        assert_all(&ts, links::check_exactly_once);
    }
}

fn crash_recovery(node: u32, at: u64) -> SimConfig {
    let mut c = fair_loss(2);
    c.model.nodes = NodeModel::CrashRecovery {
        crashes: vec![ScheduledCrash { node: NodeId(node), at: ms(at), restart_after: Some(ms(40)) }],
        rate_per_sec: 0.0,
        restart_min: ms(10),
        restart_max: ms(10),
    };
    c
}

#[test]
fn s4_receiver_restart_duplicates_without_persistence_and_not_with_it() {
    let c = crash_recovery(1, 15);
    let forgetful = tallies(&c, 20, &Workload::new(50), retry(false));
    assert!(
        forgetful.iter().any(|t| t.duplicates_delivered > 0),
        "a receiver that forgets what it delivered delivers retransmissions again: {forgetful:?}"
    );
    let durable = tallies(&c, 20, &Workload::new(50), retry(true));
    assert_all(&durable, links::check_exactly_once);
}

#[test]
fn s4_sender_restart_with_persistence_still_delivers_everything() {
    let durable = tallies(&crash_recovery(0, 5), 20, &Workload::new(50), retry(true));
    assert_all(&durable, links::check_exactly_once);
    let forgetful = tallies(&crash_recovery(0, 5), 20, &Workload::new(50), retry(false));
    assert!(forgetful.iter().any(|t| t.missing > 0), "a sender that forgets its buffer stops resending");
}

#[test]
fn s4_a_sender_that_crash_stops_loses_unacknowledged_messages() {
    let mut c = fair_loss(2);
    c.model.nodes = NodeModel::CrashStop {
        crashes: vec![ScheduledCrash { node: NodeId(0), at: ms(5), restart_after: None }],
        rate_per_sec: 0.0,
        crashes_max: 1,
    };
    let ts = tallies(&c, 20, &Workload::new(50), retry(true));
    assert_all(&ts, |t| links::check_nothing_forged(t).and(links::check_at_most_once(t)));
    assert!(ts.iter().all(|t| t.missing > 0), "expected (lecture §2.3): {ts:?}");
}

fn arbitrary(adversary: AdversarySpec) -> SimConfig {
    let mut c = SimConfig::new(3);
    c.model.network = NetworkModel::Arbitrary { adversary };
    c
}

#[test]
fn s5_authenticated_delivers_nothing_forged_or_replayed() {
    let w = Workload::new(50);
    for adversary in [
        AdversarySpec::ModifyRandomBit { ratio: 0.3 },
        AdversarySpec::SpoofAs { as_node: NodeId(0), ratio: 0.5 },
        AdversarySpec::ReplayEverything,
    ] {
        let c = arbitrary(adversary.clone());
        let ts = tallies(&c, 20, &w, authenticated);
        assert_all(&ts, |t| links::check_nothing_forged(t).and(links::check_at_most_once(t)));
        assert!(ts.iter().all(|t| t.delivered > 0), "{adversary:?}: {ts:?}");
        // The bare network lets the adversary through.
        let bare = tallies(&c, 20, &w, |w| w);
        assert!(
            bare.iter().any(|t| t.forged_delivered > 0 || t.duplicates_delivered > 0),
            "{adversary:?} without authentication: {bare:?}"
        );
    }
}

#[test]
fn s5_authentication_cannot_stop_blocking() {
    let ts = tallies(&arbitrary(AdversarySpec::DropAll), 5, &Workload::new(50), authenticated);
    assert!(ts.iter().all(|t| t.delivered == 0 && t.forged_delivered == 0 && t.missing == 100), "{ts:?}");
}

#[test]
fn s5_authenticated_under_retry_dedup_is_reliable_over_an_active_adversary() {
    // The outermost layer is the one on the wire: authentication first, retry-dedup above it.
    let c = arbitrary(AdversarySpec::ModifyRandomBit { ratio: 0.3 });
    let ts = tallies(&c, 20, &Workload::new(50), |w| {
        AuthenticatedLink::new(RetryDedupLink::new(w, RetryDedupConfig::default()), AuthenticatedConfig::default())
    });
    assert_all(&ts, links::check_exactly_once);
}

#[test]
fn s6_fifo_delivers_in_send_order_despite_reordering() {
    let mut c = SimConfig::new(3);
    c.link.latency = herald_sim::Latency::uniform(ms(1), ms(50));
    let ts = tallies(&c, 50, &Workload::new(100), FifoLink::new);
    assert_all(&ts, |t| links::check_exactly_once(t).and(links::check_in_order(t)));
    let bare = tallies(&c, 5, &Workload::new(100), |w| w);
    assert!(bare.iter().all(|t| t.out_of_order > 0), "the network does reorder: {bare:?}");
    // Over fair loss, FIFO above retry-dedup (retry-dedup is the outer type: it is on the wire).
    let ts = tallies(&fair_loss(3), 20, &Workload::new(50), |w| {
        RetryDedupLink::new(FifoLink::new(w), RetryDedupConfig::default())
    });
    assert_all(&ts, |t| links::check_exactly_once(t).and(links::check_in_order(t)));
}
