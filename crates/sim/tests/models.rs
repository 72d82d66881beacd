//! Every system model's guarantee, checked over at least 1,000 seeds: the model oracles on every
//! recorded run, plus the tests' own observations where a guarantee is about what nodes see.
//!
//! Runs are kept tiny (3–5 nodes, a few dozen messages, tens of virtual milliseconds) so that the
//! whole file stays fast in a debug build.

mod common;

use common::*;
use herald_core::trace::{CutMode, DropReason};
use herald_core::{Context, Durable, NodeId};
use herald_sim::record::RecordKind;
use herald_sim::{
    Latency, NetworkModel, NodeModel, Partition, Pauses, ScheduledCrash, SimConfig, Simulation, TimingModel, Window,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SEEDS: std::ops::Range<u64> = 0..1000;

// =============================================================================================
// Reliable links
// =============================================================================================

/// Whether some (receiver, sender) link handed over the sender's notes out of send order.
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

/// One reliable run of 3 chatting nodes: every note reaches every peer exactly once (the oracles,
/// and the nodes' own observations); returns whether some link reordered.
fn reliable_run(seed: u64, fifo: bool) -> Result<bool, String> {
    const TICKS: u32 = 5;
    const NODES: usize = 3;
    let mut cfg = small(NODES);
    cfg.model.network = NetworkModel::Reliable { fifo };
    cfg.limits.time_max = ms(60);
    let mut sim = Simulation::new(cfg, |_| Chatter::new(TICKS, ms(3))).unwrap().recording(true);
    let run = sim.run(seed);
    check_models(&run)?;
    let mut seen = BTreeSet::new();
    for o in &run.outputs {
        ensure(o.value.from.0 == o.value.origin, || format!("seed {seed}: a note claims another origin"))?;
        ensure(seen.insert((o.node, o.value.origin, o.value.seq)), || {
            format!("seed {seed}: {} got note {}/{} twice", o.node, o.value.origin, o.value.seq)
        })?;
    }
    let expected = (NODES * (NODES - 1)) as u64 * u64::from(TICKS);
    let c = &run.summary.counters;
    ensure(seen.len() as u64 == expected && c.sent == expected && c.delivered == expected && c.dropped == 0, || {
        format!("seed {seed}: {} distinct deliveries of {expected}, counters {c:?}", seen.len())
    })?;
    let out_of_order = reordered(&run.outputs);
    ensure(!(fifo && out_of_order), || format!("seed {seed}: a FIFO link delivered out of send order"))?;
    Ok(out_of_order)
}

#[test]
fn reliable_fifo_delivers_exactly_once_in_send_order() {
    let reorderings = all_ok(sweep2(SEEDS, |seed| reliable_run(seed, true)));
    assert!(reorderings.iter().all(|r| !r));
}

#[test]
fn reliable_without_fifo_delivers_exactly_once_and_does_reorder() {
    let reorderings = all_ok(sweep2(0..250, |seed| reliable_run(seed, false)));
    let n = reorderings.iter().filter(|r| **r).count();
    assert!(n > 50, "a non-FIFO reliable network reorders: only {n} of 250 runs did");
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

/// Node 0 sends `count` messages to every peer and retransmits each until it is acked; receivers
/// ack every copy and deduplicate.
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
    const COUNT: u32 = 3;
    const NODES: usize = 3;
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(NODES);
        // Half the runs keep per-link order (which adds the FIFO oracle).
        cfg.model.network =
            NetworkModel::FairLoss { loss: 0.5, duplicate: 0.2, duplicates_max: 2, reorder: seed % 2 == 0 };
        cfg.limits.time_max = Duration::from_secs(5);
        let node =
            |_| Retransmitter { count: COUNT, rto: ms(25), unacked: BTreeSet::new(), delivered: BTreeSet::new() };
        let mut sim = Simulation::new(cfg, node).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let mut acked = BTreeSet::new();
        let mut delivered = BTreeSet::new();
        let mut copies = 0u64;
        for o in &run.outputs {
            match o.value {
                ROut::Acked { peer, seq } => ensure(acked.insert((peer, seq)), || format!("seed {seed}: acked twice"))?,
                ROut::Delivered { from, seq } => {
                    ensure(from == NodeId(0) && seq < COUNT, || {
                        format!("seed {seed}: {} got message {seq} from {from}, never sent", o.node)
                    })?;
                    ensure(delivered.insert((o.node, seq)), || format!("seed {seed}: delivered twice"))?;
                }
                ROut::Copy { .. } => copies += 1,
            }
        }
        // Retransmission got every message through, and every ack back, well before the end.
        let expected = (NODES - 1) * COUNT as usize;
        ensure(acked.len() == expected && delivered.len() == expected, || {
            format!(
                "seed {seed}: only {} of {expected} acked and {} delivered by the end",
                acked.len(),
                delivered.len()
            )
        })?;
        ensure(run.summary.virtual_ns < ns(Duration::from_secs(5)), || {
            format!("seed {seed}: the sender was still retransmitting when the run ended")
        })?;
        Ok((run.summary.counters.clone(), copies))
    }));
    let lost: u64 = results.iter().map(|(c, _)| c.dropped_loss).sum();
    let duplicated: u64 = results.iter().map(|(c, _)| c.duplicated).sum();
    let copies: u64 = results.iter().map(|(_, n)| n).sum();
    let retransmitted: u64 = results.iter().filter(|(c, _)| c.sent > 2 * 6).count() as u64;
    assert!(lost > 1000, "loss 0.5 must lose messages: {lost}");
    assert!(duplicated > 100, "duplication 0.2 must duplicate messages: {duplicated}");
    assert!(copies > 100, "receivers must be handed extra copies: {copies}");
    assert!(retransmitted > 900, "most runs need retransmissions: {retransmitted}");
}

// =============================================================================================
// Crash-stop
// =============================================================================================

#[test]
fn crash_stop_nodes_run_no_handler_after_their_crash() {
    const CRASHES_MAX: usize = 2;
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(4);
        cfg.limits.time_max = ms(40);
        // Odd seeds crash at random (rate 25/s per node, at most 2); even seeds crash one node at a
        // scheduled time.
        let random = seed % 2 == 1;
        cfg.model.nodes = if random {
            NodeModel::CrashStop { crashes: vec![], rate_per_sec: 25.0, crashes_max: CRASHES_MAX }
        } else {
            let crash = ScheduledCrash { node: NodeId((seed % 4) as u32), at: ms(4 + seed % 13), restart_after: None };
            NodeModel::CrashStop { crashes: vec![crash], rate_per_sec: 0.0, crashes_max: 0 }
        };
        let mut sim = Simulation::new(cfg, |_| Chatter::new(6, ms(3))).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let mut crashed_at = BTreeMap::new();
        for r in &run.records {
            match r.kind {
                RecordKind::Crash { node, recovers } => {
                    ensure(!recovers, || format!("seed {seed}: a crash-stop node was set to recover"))?;
                    crashed_at.insert(node, r.t);
                }
                RecordKind::Recover { node, .. } => {
                    return Err(format!("seed {seed}: {node} recovered under crash-stop"));
                }
                _ => {}
            }
        }
        // Independently of the oracle: a crashed node reports nothing after its crash, and is not
        // counted as correct.
        for o in &run.outputs {
            if let Some(&t) = crashed_at.get(&o.node) {
                ensure(o.t <= t, || format!("seed {seed}: {} output at {} after crashing at {t}", o.node, o.t))?;
            }
        }
        for node in crashed_at.keys() {
            ensure(!run.correct.contains(node), || format!("seed {seed}: crashed {node} counted as correct"))?;
        }
        let c = &run.summary.counters;
        ensure(c.crashes == crashed_at.len() as u64, || {
            format!("seed {seed}: crash counter {} but {} crash records", c.crashes, crashed_at.len())
        })?;
        if random {
            ensure(crashed_at.len() <= CRASHES_MAX, || {
                format!("seed {seed}: {} random crashes > crashes_max", crashed_at.len())
            })?;
        } else {
            ensure(crashed_at.len() == 1, || format!("seed {seed}: the scheduled crash did not happen"))?;
        }
        Ok((random, c.clone()))
    }));
    let random_crashes: u64 = results.iter().filter(|(r, _)| *r).map(|(_, c)| c.crashes).sum();
    let vanished: u64 = results.iter().map(|(_, c)| c.dropped_crashed).sum();
    assert!(random_crashes > 300, "a crash rate of 25/s over 40 ms crashes nodes: {random_crashes}");
    assert!(vanished > 100, "messages sent to crashed nodes vanish: {vanished}");
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

const BEAT: Duration = Duration::from_millis(5);

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
            ctx.output(COut::StaleTimer { set_by, now: self.incarnation });
            return;
        }
        self.volatile += 1;
        let to = ctx.peers()[(self.volatile as usize) % ctx.peers().len()];
        ctx.send(to, Hi(self.volatile));
        if self.volatile % 3 == 0 {
            self.p += 1;
            ctx.persist_value("p", &self.p);
            ctx.output(COut::Persisted { p: self.p, volatile: self.volatile });
        }
        ctx.set_timer(Beat(self.incarnation), BEAT);
    }

    fn on_recover(&mut self, durable: &Durable, ctx: &mut Context<'_, Self>) {
        let p: Option<u64> = durable.get_value("p").expect("p decodes");
        ctx.output(COut::Recovered { volatile: self.volatile, durable: p });
        self.p = p.unwrap_or(0);
        let before: u32 = durable.get_value("incarnation").expect("decodes").expect("persisted at start");
        self.incarnation = before + 1;
        ctx.persist_value("incarnation", &self.incarnation);
        ctx.set_timer(Beat(self.incarnation), BEAT);
    }
}

#[test]
fn crash_recovery_keeps_only_durable_state() {
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(3);
        cfg.limits.time_max = ms(90);
        // One scheduled crash per run, plus random ones.
        let crash =
            ScheduledCrash { node: NodeId((seed % 3) as u32), at: ms(25 + seed % 11), restart_after: Some(ms(8)) };
        cfg.model.nodes = NodeModel::CrashRecovery {
            crashes: vec![crash],
            rate_per_sec: 8.0,
            restart_min: ms(2),
            restart_max: ms(20),
        };
        let mut sim = Simulation::new(cfg, |_| Counter::default()).unwrap().recording(true);
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
                        // Three ticks after the restart: the volatile counter started from zero.
                        ensure(volatile == 3, || {
                            format!("seed {seed}: {} volatile counter at {volatile} after recovery", o.node)
                        })?;
                    }
                }
                COut::Recovered { volatile, durable } => {
                    recoveries += 1;
                    ensure(volatile == 0, || format!("seed {seed}: {} kept volatile state {volatile}", o.node))?;
                    // Exactly the last persisted value: nothing newer, nothing older.
                    let expected = last_persisted.get(&o.node).copied();
                    ensure(durable == expected, || {
                        format!("seed {seed}: {} recovered p = {durable:?}, last persisted {expected:?}", o.node)
                    })?;
                    with_state += u64::from(durable.is_some());
                    just_recovered.insert(o.node);
                }
                COut::StaleTimer { set_by, now } => {
                    return Err(format!(
                        "seed {seed}: {}'s timer from incarnation {set_by} fired in incarnation {now}",
                        o.node
                    ));
                }
            }
        }
        let c = &run.summary.counters;
        ensure(recoveries == c.recoveries && c.crashes >= c.recoveries, || {
            format!("seed {seed}: {recoveries} recoveries seen, counters {c:?}")
        })?;
        Ok((c.clone(), with_state))
    }));
    let recoveries: u64 = results.iter().map(|(c, _)| c.recoveries).sum();
    let with_state: u64 = results.iter().map(|(_, n)| n).sum();
    let lost_while_down: u64 = results.iter().map(|(c, _)| c.dropped_crashed).sum();
    assert!(recoveries >= 1000, "every seed has a scheduled crash and restart: {recoveries}");
    assert!(with_state > 500, "most recoveries find persisted state: {with_state}");
    assert!(lost_while_down > 100, "messages to a down node are lost: {lost_while_down}");
}

// =============================================================================================
// Partitions
// =============================================================================================

#[test]
fn partitions_cut_exactly_their_links_one_way_cuts_are_one_way_and_held_messages_arrive_after_healing() {
    // The four kinds of cut take turns over the seeds.
    let kinds = [(true, CutMode::Drop), (false, CutMode::Drop), (true, CutMode::Hold), (false, CutMode::Hold)];
    let results = all_ok(sweep2(SEEDS, |seed| {
        let (symmetric, mode) = kinds[(seed % 4) as usize];
        partition_run(seed, symmetric, mode).map(|r| (symmetric, mode, r))
    }));
    for (symmetric, mode) in kinds {
        let of_kind = results.iter().filter(|(s, m, _)| *s == symmetric && *m == mode);
        let (open, after_heal) = of_kind.fold((0, 0), |(a, b), (_, _, (o, h))| (a + o, b + h));
        if !symmetric {
            assert!(open >= 250, "the open direction of a one-way cut carries messages: {open}");
        }
        if mode == CutMode::Hold {
            assert!(after_heal >= 250, "held messages are delivered after healing: {after_heal}");
        }
    }
}

/// One partitioned run: 3 nodes, node 0 cut from {1, 2}. Returns (deliveries in the open
/// direction sent and delivered during the cut, held messages delivered after the heal).
fn partition_run(seed: u64, symmetric: bool, mode: CutMode) -> Result<(u64, u64), String> {
    let mut cfg = small(3);
    cfg.limits.time_max = ms(100);
    // Hold mode alternates between a reliable FIFO network and fair loss; drop needs fair loss.
    cfg.model.network = if mode == CutMode::Hold && seed % 8 < 4 {
        NetworkModel::Reliable { fifo: true }
    } else {
        NetworkModel::FairLoss { loss: 0.1, duplicate: 0.1, duplicates_max: 1, reorder: seed % 3 == 0 }
    };
    let start = ms(10 + seed % 10);
    let end = start + ms(20 + seed % 13);
    cfg.model.partitions =
        vec![Partition { start, end: Some(end), side_a: vec![NodeId(0)], side_b: vec![], symmetric, mode }];
    let mut sim = Simulation::new(cfg, |_| Chatter::new(10, ms(5))).unwrap().recording(true);
    let run = sim.run(seed);
    check_models(&run)?;
    let (start, end) = (ns(start), ns(end));
    let during = |t: u64| (start..end).contains(&t);
    let crosses = |from: NodeId, to: NodeId| (from == NodeId(0)) != (to == NodeId(0));
    let is_cut = |from: NodeId, to: NodeId| crosses(from, to) && (from == NodeId(0) || symmetric);
    let (mut open_during, mut held_after) = (0, 0);
    for (from, to, msg, sent_at, t) in deliveries(&run) {
        if is_cut(from, to) {
            ensure(!during(t), || format!("seed {seed}: message {msg} {from}→{to} delivered at {t} inside the cut"))?;
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
            ensure(c.dropped_partition > 0 && c.held == 0 && held_after == 0, || {
                format!("seed {seed}: drop mode delivered {held_after} cut messages later; {c:?}")
            })?;
        }
        CutMode::Hold => {
            ensure(c.dropped_partition == 0 && c.held > 0 && held_after > 0, || {
                format!("seed {seed}: hold mode delivered {held_after} held messages; counters {c:?}")
            })?;
            ensure(c.in_flight_at_end == 0, || format!("seed {seed}: held messages never released"))?;
        }
    }
    if symmetric {
        ensure(open_during == 0, || format!("seed {seed}: a symmetric cut let {open_during} messages through"))?;
    } else {
        ensure(open_during > 0, || format!("seed {seed}: nothing crossed the open direction of a one-way cut"))?;
    }
    Ok((open_during, held_after))
}

// =============================================================================================
// Synchronous and partially synchronous timing
// =============================================================================================

/// 3 nodes sending up to 1.5 KB notes over 200 kbit/s links in 256-byte packets: the links are
/// saturated.
fn saturated(timing: TimingModel) -> (SimConfig, impl FnMut(NodeId) -> Chatter + 'static) {
    let mut cfg = small(3);
    cfg.link.latency = Latency::uniform(ms(1), ms(5));
    cfg.link.bandwidth_bps = Some(200_000);
    cfg.link.mtu = 256;
    cfg.limits.time_max = ms(100);
    cfg.model.timing = timing;
    (cfg, |_| Chatter::new(5, ms(2)).padded(1500))
}

#[test]
fn synchronous_delivers_within_delay_max_even_on_saturated_links() {
    const DELAY_MAX: Duration = Duration::from_millis(10);
    let sync = TimingModel::Synchronous { delay_max: DELAY_MAX, step_max: ms(1) };
    let slowest = all_ok(sweep2(SEEDS, |seed| {
        let (cfg, node) = saturated(sync.clone());
        let mut sim = Simulation::new(cfg, node).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let mut slowest = 0;
        for (from, to, msg, sent_at, t) in deliveries(&run) {
            ensure(t - sent_at <= ns(DELAY_MAX), || format!("seed {seed}: {msg} {from}→{to} took {}ns", t - sent_at))?;
            slowest = slowest.max(t - sent_at);
        }
        let c = &run.summary.counters;
        ensure(c.delivered == c.sent && c.packets > c.sent, || format!("seed {seed}: counters {c:?}"))?;
        Ok(slowest)
    }));
    // The bound is reached: the links are the bottleneck.
    assert_eq!(slowest.iter().max(), Some(&ns(DELAY_MAX)));
    // The same links without the synchronous bound queue far beyond it: the bound is not vacuous.
    let (cfg, node) = saturated(TimingModel::Asynchronous { pauses: Pauses::none() });
    let run = Simulation::new(cfg, node).unwrap().recording(true).run(0);
    let queued = deliveries(&run).iter().map(|d| d.4 - d.3).max().unwrap();
    assert!(queued > 3 * ns(DELAY_MAX), "saturated links queue: {queued}ns");
}

#[test]
fn partial_synchrony_bounds_hold_outside_windows_and_break_inside() {
    const DELAY_MAX: Duration = Duration::from_millis(10);
    let windows = vec![Window { start: ms(15), end: ms(30) }, Window { start: ms(40), end: ms(45) }];
    let timing = TimingModel::PartiallySynchronous {
        delay_max: DELAY_MAX,
        step_max: ms(1),
        windows: windows.clone(),
        async_delay: Latency::Exponential { min: Duration::ZERO, mean: ms(15) },
        pauses: Pauses { rate_per_sec: 40.0, duration: Latency::uniform(ms(1), ms(15)) },
    };
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(3);
        cfg.link.latency = Latency::uniform(ms(1), ms(8));
        cfg.limits.time_max = ms(120);
        cfg.model.timing = timing.clone();
        let mut sim = Simulation::new(cfg, |_| Chatter::new(12, ms(5))).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let bound = ns(DELAY_MAX);
        let mut late = 0u64;
        for (from, to, msg, sent_at, t) in deliveries(&run) {
            // A journey that cannot overlap a window is bounded.
            let touches_window = windows.iter().any(|w| sent_at < ns(w.end) && ns(w.start) <= sent_at + bound);
            if t - sent_at > bound {
                late += 1;
                ensure(touches_window, || {
                    format!(
                        "seed {seed}: {msg} {from}→{to} sent at {sent_at}, clear of every window, took {}ns",
                        t - sent_at
                    )
                })?;
            }
        }
        for r in &run.records {
            if let RecordKind::Pause { node, until } = r.kind {
                let inside = windows.iter().any(|w| w.contains(r.t) && until <= ns(w.end));
                ensure(inside, || format!("seed {seed}: {node} paused at {} until {until}, outside a window", r.t))?;
            }
        }
        Ok((late, run.summary.counters.pauses))
    }));
    let late: u64 = results.iter().map(|(l, _)| l).sum();
    let pauses: u64 = results.iter().map(|(_, p)| p).sum();
    assert!(late > 1000, "deliveries inside asynchronous windows exceed delay_max: {late}");
    assert!(pauses > 100, "nodes pause inside windows: {pauses}");
}

// =============================================================================================
// Byzantine nodes
// =============================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Claim(u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct Report;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum BOut {
    /// An honest node heard `value` from `from`.
    Heard { from: NodeId, value: u32 },
    /// A faulty node reports how many messages the *other* faulty nodes received.
    Colluded { others_heard: u32 },
}

/// Honest: announce its id to everyone, report what it hears.
#[derive(Debug)]
struct Honest;

impl herald_core::Node for Honest {
    type Msg = Claim;
    type Timer = Report;
    type Output = BOut;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.broadcast(&Claim(ctx.id().0));
    }
    fn on_message(&mut self, from: NodeId, Claim(value): Claim, ctx: &mut Context<'_, Self>) {
        ctx.output(BOut::Heard { from, value });
    }
}

/// One value of this strategy drives every faulty node: what any of them hears goes into a shared
/// log, which each reads when it reports (collusion); they also lie (claim 1000 + what they heard)
/// and send bytes that do not decode.
#[derive(Debug, Default)]
struct Colluders {
    log: Vec<(NodeId, NodeId, u32)>,
}

impl herald_core::Strategy<Honest> for Colluders {
    fn name(&self) -> &str {
        "colluders"
    }
    fn on_start(&mut self, ctx: &mut Context<'_, Honest>) {
        ctx.set_timer(Report, ms(50));
    }
    fn on_message(&mut self, from: NodeId, Claim(value): Claim, ctx: &mut Context<'_, Honest>) {
        self.log.push((ctx.id(), from, value));
        ctx.send(from, Claim(1000 + value));
        ctx.send_bytes(from, vec![0xff; 7]);
    }
    fn on_timer(&mut self, _: Report, ctx: &mut Context<'_, Honest>) {
        let me = ctx.id();
        let others_heard = self.log.iter().filter(|(by, _, _)| *by != me).count() as u32;
        ctx.output(BOut::Colluded { others_heard });
    }
}

#[test]
fn byzantine_nodes_run_the_strategy_never_the_protocol() {
    const NODES: usize = 5;
    let faulty = [NodeId(1), NodeId(3)];
    let honest = (NODES - faulty.len()) as u32;
    all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(NODES);
        cfg.model.nodes = NodeModel::Byzantine { faulty: faulty.to_vec() };
        // Which ids the protocol's factory was asked to build.
        let built = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = built.clone();
        let factory = move |id| {
            log.borrow_mut().push(id);
            Honest
        };
        let mut sim =
            Simulation::new(cfg, factory).unwrap().with_strategy(|| Box::new(Colluders::default())).recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let built = built.borrow();
        ensure(built.iter().all(|id| !faulty.contains(id)) && built.len() == honest as usize, || {
            format!("seed {seed}: the protocol was built for {built:?}")
        })?;
        ensure(run.correct.iter().all(|id| !faulty.contains(id)), || {
            format!("seed {seed}: correct = {:?}", run.correct)
        })?;
        let (mut lies, mut reports) = (0, 0);
        for o in &run.outputs {
            match o.value {
                BOut::Heard { from, value } => {
                    ensure(!faulty.contains(&o.node), || {
                        format!("seed {seed}: honest code ran for faulty {}", o.node)
                    })?;
                    if faulty.contains(&from) {
                        lies += u32::from(value >= 1000);
                    } else {
                        ensure(value == from.0, || format!("seed {seed}: honest {from} misquoted"))?;
                    }
                }
                BOut::Colluded { others_heard } => {
                    reports += 1;
                    ensure(faulty.contains(&o.node), || {
                        format!("seed {seed}: strategy output from honest {}", o.node)
                    })?;
                    // The partner's receipts (one per honest node) are in the shared log.
                    ensure(others_heard == honest, || {
                        format!("seed {seed}: {} knows {others_heard} of its partner's receipts", o.node)
                    })?;
                }
            }
        }
        ensure(reports == faulty.len(), || format!("seed {seed}: {reports} collusion reports"))?;
        // Each honest node hears one lie from each faulty node, and drops each one's junk.
        let expected = honest * faulty.len() as u32;
        ensure(lies == expected, || format!("seed {seed}: {lies} lies heard"))?;
        ensure(run.summary.counters.corrupt == u64::from(expected), || {
            format!("seed {seed}: junk bytes not dropped as corrupt")
        })?;
        Ok(())
    }));
}

// =============================================================================================
// Arbitrary network: stock adversaries
// =============================================================================================

#[test]
fn arbitrary_network_adversaries_are_traced_and_counted() {
    use herald_core::trace::EventKind;
    use herald_protocols::broadcast_demo::{self, BroadcastDemo};
    use herald_sim::AdversarySpec;
    const NODES: usize = 4;
    const NOTES: u32 = 6;
    let (block_start, block_end) = (ms(3), ms(8));
    let adversaries = [
        AdversarySpec::ModifyRandomBit { ratio: 0.5 },
        AdversarySpec::SpoofAs { as_node: NodeId(2), ratio: 0.5 },
        AdversarySpec::ReplayEverything,
        AdversarySpec::DropAll,
        AdversarySpec::BlockFor { start: block_start, end: Some(block_end) },
    ];
    all_ok(sweep2(SEEDS, |seed| {
        let adversary = adversaries[(seed % adversaries.len() as u64) as usize].clone();
        let mut cfg = small(NODES);
        cfg.link.latency = Latency::uniform(ms(1), ms(5));
        cfg.model.network = NetworkModel::Arbitrary { adversary: adversary.clone() };
        // Half the runs are synchronous: the adversary's delays must respect the bound too.
        if seed % 2 == 0 {
            cfg.model.timing = TimingModel::Synchronous { delay_max: ms(8), step_max: ms(1) };
        }
        let mut sim = Simulation::new(cfg, |_| BroadcastDemo::new(NOTES, ms(2))).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        // Count in the recorded trace; every tenth run, also in the written JSON Lines trace.
        let (mut modify, mut inject, mut replay, mut dropped, mut sends) = (0u64, 0u64, 0u64, 0u64, 0u64);
        for r in &run.records {
            match r.kind {
                RecordKind::Modify { .. } => modify += 1,
                RecordKind::Inject { .. } => inject += 1,
                RecordKind::Replay { .. } => replay += 1,
                RecordKind::Drop { reason: DropReason::Adversary, .. } => dropped += 1,
                RecordKind::Send { .. } => sends += 1,
                _ => {}
            }
        }
        if seed % 10 == 0 {
            let bytes = run.write_trace(Vec::new(), "adversary", None).map_err(|e| e.to_string())?;
            let (_, events) = herald_core::trace::read(&bytes[..]).map_err(|e| e.to_string())?;
            let count = |f: &dyn Fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count() as u64;
            let written = (
                count(&|k| matches!(k, EventKind::Modify { .. })),
                count(&|k| matches!(k, EventKind::Inject { .. })),
                count(&|k| matches!(k, EventKind::Replay { .. })),
                count(&|k| matches!(k, EventKind::Drop { reason: DropReason::Adversary, .. })),
                count(&|k| matches!(k, EventKind::Send { .. })),
            );
            ensure(written == (modify, inject, replay, dropped, sends), || {
                format!("seed {seed}: the written trace has {written:?}")
            })?;
        }
        let c = &run.summary.counters;
        let traced = (modify, inject, replay, dropped);
        let counted = (c.modified, c.injected, c.replayed, c.dropped_adversary);
        ensure(traced == counted, || {
            format!("seed {seed} {adversary:?}: the trace has {traced:?}, the counters {counted:?}")
        })?;
        ensure(sends == c.sent && c.sent == (NODES as u64 - 1) * u64::from(NOTES), || {
            format!("seed {seed}: {sends} sends traced, counters {c:?}")
        })?;
        let tally = broadcast_demo::tally(&run.correct, NOTES, run.outputs.iter().map(|o| (o.node, &o.value)));
        let ok = match adversary {
            AdversarySpec::ModifyRandomBit { .. } => modify > 0 && inject + replay + dropped == 0,
            AdversarySpec::SpoofAs { .. } => inject > 0 && tally.bogus > 0 && modify + replay + dropped == 0,
            AdversarySpec::ReplayEverything => replay == c.sent && tally.repeated > 0 && modify + inject + dropped == 0,
            AdversarySpec::DropAll => dropped == c.sent && c.delivered == 0 && tally.unique == 0,
            AdversarySpec::BlockFor { .. } => {
                // Exactly the transmissions sent inside the window are dropped.
                let window = ns(block_start)..ns(block_end);
                let in_window = run
                    .records
                    .iter()
                    .filter(|r| matches!(r.kind, RecordKind::Send { .. }) && window.contains(&r.t))
                    .count() as u64;
                dropped == in_window && dropped > 0 && tally.missing == dropped
            }
            AdversarySpec::Custom { .. } => unreachable!(),
        };
        ensure(ok, || format!("seed {seed} {adversary:?}: traced {traced:?}, tally {tally:?}, counters {c:?}"))
    }));
}

// =============================================================================================
// Pauses do not reorder FIFO links
// =============================================================================================

#[test]
fn fifo_links_stay_fifo_and_reliable_when_receivers_pause() {
    let results = all_ok(sweep2(SEEDS, |seed| {
        let mut cfg = small(3);
        cfg.link.latency = Latency::Constant { value: ms(2) };
        cfg.limits.time_max = ms(40);
        // Frequent pauses, often overlapping, while notes arrive every millisecond.
        cfg.model.timing = TimingModel::Asynchronous {
            pauses: Pauses { rate_per_sec: 150.0, duration: Latency::uniform(ms(1), ms(4)) },
        };
        cfg.model.network = if seed % 2 == 0 {
            NetworkModel::Reliable { fifo: true }
        } else {
            NetworkModel::FairLoss { loss: 0.1, duplicate: 0.1, duplicates_max: 1, reorder: false }
        };
        let mut sim = Simulation::new(cfg, |_| Chatter::new(12, ms(1))).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        ensure(!reordered(&run.outputs), || format!("seed {seed}: a paused receiver took notes out of order"))?;
        Ok(run.summary.counters.pauses)
    }));
    assert!(results.iter().sum::<u64>() > 2000, "receivers pause");
}
