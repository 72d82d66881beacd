//! Every system model's guarantee, checked over at least 1,000 seeds: the model oracles on every
//! recorded run, plus the tests' own observations where a guarantee is about what nodes see.

mod common;

use common::*;
use herald_core::trace::{CutMode, DropReason};
use herald_core::{Context, Durable, NodeId};
use herald_sim::record::RecordKind;
use herald_sim::{
    Latency, NetworkModel, NodeModel, Partition, Pauses, ScheduledCrash, SimConfig, Simulation,
    TimingModel, Window,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SEEDS: std::ops::Range<u64> = 0..1000;

// =============================================================================================
// Reliable links
// =============================================================================================

/// For each (receiver, sender) link, whether the sender's sequence numbers arrived out of order.
fn reordered(outputs: &[herald_sim::Observed<Got>]) -> bool {
    let mut last: BTreeMap<(NodeId, NodeId), u32> = BTreeMap::new();
    let mut out_of_order = false;
    for o in outputs {
        if let Some(prev) = last.insert((o.node, o.value.from), o.value.seq) {
            out_of_order |= o.value.seq < prev;
        }
    }
    out_of_order
}

#[test]
fn reliable_delivers_exactly_once_and_fifo_keeps_send_order() {
    const TICKS: u32 = 6;
    const NODES: usize = 4;
    for fifo in [false, true] {
        let results = all_ok(sweep2(SEEDS, |seed| {
            let mut cfg = small(NODES);
            cfg.model.network = NetworkModel::Reliable { fifo };
            cfg.limits.time_max = ms(100);
            let mut sim = Simulation::new(cfg, |_| Chatter::new(TICKS, ms(3)))
                .unwrap()
                .recording(true);
            let run = sim.run(seed);
            check_models(&run)?;
            // The nodes' own view: every note reached every peer exactly once.
            let mut seen = BTreeSet::new();
            for o in &run.outputs {
                ensure(o.value.from.0 == o.value.origin, || {
                    format!("seed {seed}: note claims another origin")
                })?;
                ensure(seen.insert((o.node, o.value.origin, o.value.seq)), || {
                    format!(
                        "seed {seed}: {} got note {}/{} twice",
                        o.node, o.value.origin, o.value.seq
                    )
                })?;
            }
            let expected = (NODES * (NODES - 1)) as u64 * u64::from(TICKS);
            let c = &run.summary.counters;
            ensure(
                seen.len() as u64 == expected
                    && c.sent == expected
                    && c.delivered == expected
                    && c.dropped == 0,
                || {
                    format!(
                        "seed {seed}: {} distinct deliveries, counters {c:?}",
                        seen.len()
                    )
                },
            )?;
            let out_of_order = reordered(&run.outputs);
            ensure(!(fifo && out_of_order), || {
                format!("seed {seed}: a FIFO link delivered out of send order")
            })?;
            Ok(out_of_order)
        }));
        let reorderings = results.iter().filter(|r| **r).count();
        if fifo {
            assert_eq!(reorderings, 0);
        } else {
            assert!(
                reorderings > 100,
                "a non-FIFO reliable network should reorder often, did in {reorderings} runs"
            );
        }
    }
}

// =============================================================================================
// Fair-loss links
// =============================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum RMsg {
    Data { seq: u32 },
    Ack { seq: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct Retry;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum ROut {
    /// First copy of `seq` from `from`.
    Delivered { from: NodeId, seq: u32 },
    /// A further copy (retransmission or network duplicate).
    Copy { from: NodeId, seq: u32 },
    /// The sender learnt that `peer` has `seq`.
    Acked { peer: NodeId, seq: u32 },
}

/// Node 0 sends `count` messages to every peer and retransmits each until it is acked; receivers ack
/// every copy and deduplicate.
#[derive(Debug)]
struct Retransmitter {
    count: u32,
    rto: Duration,
    unacked: BTreeSet<(NodeId, u32)>,
    delivered: BTreeSet<(NodeId, u32)>,
}

impl herald_core::Node for Retransmitter {
    type Msg = RMsg;
    type Timer = Retry;
    type Output = ROut;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() != NodeId(0) {
            return;
        }
        for &peer in ctx.peers() {
            for seq in 0..self.count {
                self.unacked.insert((peer, seq));
                ctx.send(peer, RMsg::Data { seq });
            }
        }
        ctx.set_timer(Retry, self.rto);
    }

    fn on_message(&mut self, from: NodeId, msg: RMsg, ctx: &mut Context<'_, Self>) {
        match msg {
            RMsg::Data { seq } => {
                ctx.send(from, RMsg::Ack { seq });
                if self.delivered.insert((from, seq)) {
                    ctx.output(ROut::Delivered { from, seq });
                } else {
                    ctx.output(ROut::Copy { from, seq });
                }
            }
            RMsg::Ack { seq } => {
                if self.unacked.remove(&(from, seq)) {
                    ctx.output(ROut::Acked { peer: from, seq });
                }
            }
        }
    }

    fn on_timer(&mut self, _: Retry, ctx: &mut Context<'_, Self>) {
        for &(peer, seq) in &self.unacked {
            ctx.send(peer, RMsg::Data { seq });
        }
        if !self.unacked.is_empty() {
            ctx.set_timer(Retry, self.rto);
        }
    }
}

#[test]
fn fair_loss_creates_nothing_and_retransmission_eventually_succeeds() {
    const COUNT: u32 = 4;
    const NODES: usize = 3;
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(NODES);
        cfg.model.network = NetworkModel::FairLoss {
            loss: 0.5,
            duplicate: 0.2,
            duplicates_max: 2,
            reorder: seed % 2 == 0,
        };
        cfg.limits.time_max = Duration::from_secs(5);
        let node = |_| Retransmitter {
            count: COUNT,
            rto: ms(25),
            unacked: BTreeSet::new(),
            delivered: BTreeSet::new(),
        };
        let mut sim = Simulation::new(cfg, node).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let mut acked = BTreeSet::new();
        let mut delivered = BTreeSet::new();
        let mut copies = 0u64;
        for o in &run.outputs {
            match o.value {
                ROut::Acked { peer, seq } => ensure(acked.insert((peer, seq)), || {
                    format!("seed {seed}: acked twice")
                })?,
                ROut::Delivered { from, seq } => {
                    ensure(from == NodeId(0) && seq < COUNT, || {
                        format!("seed {seed}: created message {seq} from {from}")
                    })?;
                    ensure(delivered.insert((o.node, seq)), || {
                        format!("seed {seed}: delivered twice")
                    })?;
                }
                ROut::Copy { .. } => copies += 1,
            }
        }
        let expected = (NODES - 1) * COUNT as usize;
        ensure(
            acked.len() == expected && delivered.len() == expected,
            || {
                format!(
                    "seed {seed}: only {} of {expected} acked and {} delivered by the end",
                    acked.len(),
                    delivered.len()
                )
            },
        )?;
        Ok((run.summary.counters.clone(), copies))
    }));
    let lost: u64 = results.iter().map(|(c, _)| c.dropped_loss).sum();
    let duplicated: u64 = results.iter().map(|(c, _)| c.duplicated).sum();
    let copies: u64 = results.iter().map(|(_, n)| n).sum();
    assert!(lost > 1000, "loss 0.5 must lose messages: {lost}");
    assert!(
        duplicated > 100,
        "duplication 0.2 must duplicate messages: {duplicated}"
    );
    assert!(
        copies > duplicated / 2,
        "receivers must see extra copies: {copies}"
    );
}

// =============================================================================================
// Crash-stop
// =============================================================================================

#[test]
fn crash_stop_nodes_run_no_handler_after_their_crash() {
    const CRASHES_MAX: usize = 2;
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(4);
        cfg.limits.time_max = ms(60);
        let random = seed % 2 == 1;
        cfg.model.nodes = if random {
            NodeModel::CrashStop {
                crashes: vec![],
                rate_per_sec: 20.0,
                crashes_max: CRASHES_MAX,
            }
        } else {
            let crash = ScheduledCrash {
                node: NodeId((seed % 4) as u32),
                at: ms(5 + seed % 13),
                restart_after: None,
            };
            NodeModel::CrashStop {
                crashes: vec![crash],
                rate_per_sec: 0.0,
                crashes_max: 0,
            }
        };
        let mut sim = Simulation::new(cfg, |_| Chatter::new(12, ms(3)))
            .unwrap()
            .recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let mut crashed_at = BTreeMap::new();
        for r in &run.records {
            match r.kind {
                RecordKind::Crash { node, recovers } => {
                    ensure(!recovers, || {
                        format!("seed {seed}: a crash-stop node was set to recover")
                    })?;
                    crashed_at.insert(node, r.t);
                }
                RecordKind::Recover { node, .. } => {
                    return Err(format!("seed {seed}: {node} recovered under crash-stop"));
                }
                _ => {}
            }
        }
        // Independently of the oracle: a crashed node reports nothing after its crash, and is not correct.
        for o in &run.outputs {
            if let Some(&t) = crashed_at.get(&o.node) {
                ensure(o.t <= t, || {
                    format!(
                        "seed {seed}: {} output at {} after crashing at {t}",
                        o.node, o.t
                    )
                })?;
            }
        }
        for node in crashed_at.keys() {
            ensure(!run.correct.contains(node), || {
                format!("seed {seed}: crashed {node} counted as correct")
            })?;
        }
        let c = &run.summary.counters;
        ensure(c.crashes == crashed_at.len() as u64, || {
            format!("seed {seed}: crash counter {} ≠ records", c.crashes)
        })?;
        if random {
            ensure(crashed_at.len() <= CRASHES_MAX, || {
                format!("seed {seed}: {} crashes > crashes_max", crashed_at.len())
            })?;
        } else {
            ensure(crashed_at.len() == 1, || {
                format!("seed {seed}: the scheduled crash did not happen")
            })?;
        }
        Ok((random, c.clone()))
    }));
    let random_crashes: u64 = results
        .iter()
        .filter(|(r, _)| *r)
        .map(|(_, c)| c.crashes)
        .sum();
    let vanished: u64 = results.iter().map(|(_, c)| c.dropped_crashed).sum();
    assert!(
        random_crashes > 300,
        "random crash rate 20/s over 60 ms should crash nodes: {random_crashes}"
    );
    assert!(
        vanished > 100,
        "messages sent to crashed nodes vanish: {vanished}"
    );
}

// =============================================================================================
// Crash-recovery
// =============================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Hi(u64);

/// A timer tagged with the incarnation that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct Beat(u32);

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum COut {
    Persisted {
        p: u64,
        volatile: u64,
    },
    Recovered {
        volatile: u64,
        durable: Option<u64>,
    },
    /// A timer set before a crash fired after it.
    StaleTimer {
        set_by: u32,
        now: u32,
    },
}

/// Keeps a volatile tick counter and a persisted counter bumped every third tick.
#[derive(Debug, Default)]
struct Counter {
    volatile: u64,
    p: u64,
    incarnation: u32,
}

const BEAT: Duration = Duration::from_millis(4);

impl herald_core::Node for Counter {
    type Msg = Hi;
    type Timer = Beat;
    type Output = COut;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.persist_value("incarnation", &0u32);
        ctx.set_timer(Beat(0), BEAT);
    }

    fn on_message(&mut self, _: NodeId, _: Hi, _: &mut Context<'_, Self>) {}

    fn on_timer(&mut self, Beat(set_by): Beat, ctx: &mut Context<'_, Self>) {
        if set_by != self.incarnation {
            ctx.output(COut::StaleTimer {
                set_by,
                now: self.incarnation,
            });
            return;
        }
        self.volatile += 1;
        let to = ctx.peers()[(self.volatile as usize) % ctx.peers().len()];
        ctx.send(to, Hi(self.volatile));
        if self.volatile % 3 == 0 {
            self.p += 1;
            ctx.persist_value("p", &self.p);
            ctx.output(COut::Persisted {
                p: self.p,
                volatile: self.volatile,
            });
        }
        ctx.set_timer(Beat(self.incarnation), BEAT);
    }

    fn on_recover(&mut self, durable: &Durable, ctx: &mut Context<'_, Self>) {
        let p: Option<u64> = durable.get_value("p").expect("p decodes");
        ctx.output(COut::Recovered {
            volatile: self.volatile,
            durable: p,
        });
        self.p = p.unwrap_or(0);
        self.incarnation = durable
            .get_value::<u32>("incarnation")
            .expect("decodes")
            .expect("persisted at start")
            + 1;
        ctx.persist_value("incarnation", &self.incarnation);
        ctx.set_timer(Beat(self.incarnation), BEAT);
    }
}

#[test]
fn crash_recovery_keeps_only_durable_state() {
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(3);
        cfg.limits.time_max = ms(150);
        let crash = ScheduledCrash {
            node: NodeId((seed % 3) as u32),
            at: ms(30 + seed % 11),
            restart_after: Some(ms(10)),
        };
        cfg.model.nodes = NodeModel::CrashRecovery {
            crashes: vec![crash],
            rate_per_sec: 8.0,
            restart_min: ms(2),
            restart_max: ms(20),
        };
        let mut sim = Simulation::new(cfg, |_| Counter::default())
            .unwrap()
            .recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let mut last_persisted: BTreeMap<NodeId, u64> = BTreeMap::new();
        let mut just_recovered = BTreeSet::new();
        let (mut recoveries, mut with_state) = (0u64, 0u64);
        for o in &run.outputs {
            match o.value {
                COut::Persisted { p, volatile } => {
                    last_persisted.insert(o.node, p);
                    if just_recovered.remove(&o.node) {
                        // Three ticks after the restart: the volatile counter started again from zero.
                        ensure(volatile == 3, || {
                            format!(
                                "seed {seed}: {} volatile counter at {volatile} after recovery",
                                o.node
                            )
                        })?;
                    }
                }
                COut::Recovered { volatile, durable } => {
                    recoveries += 1;
                    ensure(volatile == 0, || {
                        format!("seed {seed}: {} kept volatile state {volatile}", o.node)
                    })?;
                    let expected = last_persisted.get(&o.node).copied();
                    ensure(durable == expected, || {
                        format!(
                            "seed {seed}: {} recovered p = {durable:?}, last persisted {expected:?}",
                            o.node
                        )
                    })?;
                    with_state += u64::from(durable.is_some());
                    just_recovered.insert(o.node);
                }
                COut::StaleTimer { set_by, now } => {
                    return Err(format!(
                        "seed {seed}: {}'s timer from incarnation {set_by} fired in {now}",
                        o.node
                    ));
                }
            }
        }
        let c = &run.summary.counters;
        ensure(
            recoveries == c.recoveries && c.crashes >= c.recoveries,
            || format!("seed {seed}: counters {c:?}"),
        )?;
        Ok((c.clone(), with_state))
    }));
    let recoveries: u64 = results.iter().map(|(c, _)| c.recoveries).sum();
    let with_state: u64 = results.iter().map(|(_, n)| n).sum();
    let lost_while_down: u64 = results.iter().map(|(c, _)| c.dropped_crashed).sum();
    assert!(
        recoveries >= 1000,
        "every seed has a scheduled crash and restart: {recoveries}"
    );
    assert!(
        with_state > 500,
        "most recoveries find persisted state: {with_state}"
    );
    assert!(
        lost_while_down > 100,
        "messages to a down node are lost: {lost_while_down}"
    );
}

// =============================================================================================
// Partitions
// =============================================================================================

#[test]
fn partitions_cut_exactly_their_links_one_way_cuts_are_one_way_and_held_messages_arrive_after_healing()
 {
    for symmetric in [true, false] {
        for mode in [CutMode::Drop, CutMode::Hold] {
            let results = all_ok(sweep2(SEEDS, |seed| partition_run(seed, symmetric, mode)));
            let crossed_open: u64 = results.iter().map(|(open, _)| open).sum();
            let after_heal: u64 = results.iter().map(|(_, held)| held).sum();
            if !symmetric {
                assert!(
                    crossed_open >= 1000,
                    "the open direction of a one-way cut carries messages: {crossed_open}"
                );
            }
            if mode == CutMode::Hold {
                assert!(
                    after_heal >= 1000,
                    "held messages are delivered after healing: {after_heal}"
                );
            }
        }
    }
}

/// One partitioned run: 3 nodes, node 0 cut from {1, 2}. Returns (deliveries in the open direction
/// during the cut, held deliveries after the heal).
fn partition_run(seed: u64, symmetric: bool, mode: CutMode) -> Result<(u64, u64), String> {
    let mut cfg = small(3);
    cfg.limits.time_max = ms(150);
    // Hold mode alternates between a reliable FIFO network and fair loss; drop needs fair loss.
    cfg.model.network = if mode == CutMode::Hold && seed % 2 == 0 {
        NetworkModel::Reliable { fifo: true }
    } else {
        NetworkModel::FairLoss {
            loss: 0.1,
            duplicate: 0.1,
            duplicates_max: 1,
            reorder: seed % 4 < 2,
        }
    };
    let start = ms(15 + seed % 20);
    let end = start + ms(25 + seed % 17);
    cfg.model.partitions = vec![Partition {
        start,
        end: Some(end),
        side_a: vec![NodeId(0)],
        side_b: vec![],
        symmetric,
        mode,
    }];
    let mut sim = Simulation::new(cfg, |_| Chatter::new(25, ms(4)))
        .unwrap()
        .recording(true);
    let run = sim.run(seed);
    check_models(&run)?;
    let (start, end) = (ns(start), ns(end));
    let during = |t: u64| (start..end).contains(&t);
    let is_cut = |from: NodeId, to: NodeId| (from == NodeId(0)) || (symmetric && to == NodeId(0));
    let crosses = |from: NodeId, to: NodeId| (from == NodeId(0)) != (to == NodeId(0));
    let (mut open_during, mut held_after) = (0, 0);
    for (from, to, msg, sent_at, t) in deliveries(&run) {
        if crosses(from, to) && is_cut(from, to) {
            ensure(!during(t), || {
                format!("seed {seed}: message {msg} {from}→{to} delivered at {t} inside the cut")
            })?;
            if during(sent_at) && t >= end {
                held_after += 1;
            }
        } else if crosses(from, to) && during(sent_at) && during(t) {
            open_during += 1;
        }
    }
    let c = &run.summary.counters;
    match mode {
        CutMode::Drop => {
            ensure(c.dropped_partition > 0 && c.held == 0, || {
                format!("seed {seed}: drop mode counters {c:?}")
            })?;
            ensure(held_after == 0, || {
                format!("seed {seed}: drop mode delivered a cut message later")
            })?;
        }
        CutMode::Hold => {
            ensure(
                c.dropped_partition == 0 && c.held > 0 && held_after > 0,
                || {
                    format!(
                        "seed {seed}: hold mode delivered {held_after} held messages; counters {c:?}"
                    )
                },
            )?;
            ensure(c.in_flight_at_end == 0, || {
                format!("seed {seed}: held messages never released")
            })?;
        }
    }
    if symmetric {
        ensure(open_during == 0, || {
            format!("seed {seed}: a symmetric cut let {open_during} messages through")
        })?;
    } else {
        ensure(open_during > 0, || {
            format!("seed {seed}: nothing crossed the open direction of a one-way cut")
        })?;
    }
    Ok((open_during, held_after))
}

// =============================================================================================
// Synchronous and partially synchronous timing
// =============================================================================================

fn big_message_config(timing: TimingModel) -> SimConfig {
    let mut cfg = small(3);
    cfg.link.latency = Latency::uniform(ms(1), ms(5));
    cfg.link.bandwidth_bps = Some(1_000_000);
    cfg.link.mtu = 512;
    cfg.limits.time_max = ms(100);
    cfg.model.timing = timing;
    cfg
}

#[test]
fn synchronous_delivers_within_delay_max_even_on_saturated_links() {
    const DELAY_MAX: Duration = Duration::from_millis(10);
    let sync = TimingModel::Synchronous {
        delay_max: DELAY_MAX,
        step_max: ms(1),
    };
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut sim = Simulation::new(big_message_config(sync.clone()), |_| {
            Chatter::new(8, ms(2)).padded(4000)
        })
        .unwrap()
        .recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        for (from, to, msg, sent_at, t) in deliveries(&run) {
            ensure(t - sent_at <= ns(DELAY_MAX), || {
                format!("seed {seed}: {msg} {from}→{to} took {}ns", t - sent_at)
            })?;
        }
        let c = &run.summary.counters;
        ensure(c.delivered == c.sent && c.packets > c.sent, || {
            format!("seed {seed}: counters {c:?}")
        })?;
        Ok(run.summary.latency_ns.max)
    }));
    assert!(results.iter().all(|&max| max <= ns(DELAY_MAX)));
    // The same links without the synchronous bound queue far beyond it: the bound is not vacuous.
    let asynchronous = TimingModel::Asynchronous {
        pauses: Pauses::none(),
    };
    let mut sim = Simulation::new(big_message_config(asynchronous), |_| {
        Chatter::new(8, ms(2)).padded(4000)
    })
    .unwrap();
    let slowest = sim.run(0).summary.latency_ns.max;
    assert!(
        slowest > 3 * ns(DELAY_MAX),
        "1 Mbit/s links with 2 KB messages queue: {slowest}ns"
    );
}

#[test]
fn partial_synchrony_bounds_hold_outside_windows_and_break_inside() {
    const DELAY_MAX: Duration = Duration::from_millis(10);
    let windows = vec![
        Window {
            start: ms(30),
            end: ms(60),
        },
        Window {
            start: ms(90),
            end: ms(100),
        },
    ];
    let timing = TimingModel::PartiallySynchronous {
        delay_max: DELAY_MAX,
        step_max: ms(1),
        windows: windows.clone(),
        async_delay: Latency::Exponential {
            min: Duration::ZERO,
            mean: ms(20),
        },
        pauses: Pauses {
            rate_per_sec: 30.0,
            duration: Latency::uniform(ms(1), ms(15)),
        },
    };
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(3);
        cfg.link.latency = Latency::uniform(ms(1), ms(8));
        cfg.limits.time_max = ms(300);
        cfg.model.timing = timing.clone();
        let mut sim = Simulation::new(cfg, |_| Chatter::new(30, ms(4)))
            .unwrap()
            .recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let bound = ns(DELAY_MAX);
        let mut late = 0u64;
        for (from, to, msg, sent_at, t) in deliveries(&run) {
            let touches_window = windows
                .iter()
                .any(|w| sent_at < ns(w.end) && ns(w.start) <= sent_at + bound);
            if t - sent_at > bound {
                late += 1;
                ensure(touches_window, || {
                    format!(
                        "seed {seed}: {msg} {from}→{to} sent at {sent_at} outside every window took {}ns",
                        t - sent_at
                    )
                })?;
            }
        }
        for r in &run.records {
            if let RecordKind::Pause { node, until } = r.kind {
                let inside = windows
                    .iter()
                    .any(|w| w.contains(r.t) && until <= ns(w.end));
                ensure(inside, || {
                    format!(
                        "seed {seed}: {node} paused at {} until {until}, outside a window",
                        r.t
                    )
                })?;
            }
        }
        Ok((late, run.summary.counters.pauses))
    }));
    let late: u64 = results.iter().map(|(l, _)| l).sum();
    let pauses: u64 = results.iter().map(|(_, p)| p).sum();
    assert!(
        late > 1000,
        "deliveries inside asynchronous windows exceed delay_max: {late}"
    );
    assert!(pauses > 100, "nodes pause inside windows: {pauses}");
}
