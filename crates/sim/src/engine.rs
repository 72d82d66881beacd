//! The discrete-event loop. One [`Simulation`] runs a protocol under a [`SimConfig`]; each call of
//! [`Simulation::run`] is a pure function of (seed, config, fault mask).
//!
//! The loop pops the earliest event (ties in scheduling order), applies the system model to it, calls
//! the node's handler with a [`Context`] whose clock is the node's local clock, and interprets the
//! effects the handler left. It contains no protocol logic.

use crate::adversary::{self, Action, Adversary, Packet};
use crate::metrics::{Counters, LatencyRecorder, Summary};
use crate::model::{LatencyNs, NetworkModel, NodeModel, SimConfig, TimingModel};
use crate::queue::EventQueue;
use crate::record::{Payload, RecordKind, Trace};
use herald_core::time::nanos;
use herald_core::trace::{CutMode, DropReason};
use herald_core::{Context, Durable, Effect, Node, NodeId, Rng, Strategy, Time, codec};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// An observation a node reported, with when and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed<O> {
    /// Global virtual time, ns.
    pub t: u64,
    /// The reporting node.
    pub node: NodeId,
    /// The observation.
    pub value: O,
}

/// A fault the simulator injected. Every fault is a numbered *decision*: a run with a fault mask
/// applies only the decisions whose numbers are in the mask, which is how shrinking removes faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The decision number.
    pub index: u32,
    /// When, ns.
    pub t: u64,
    /// What.
    pub kind: FaultKind,
}

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Fair-loss dropped a transmission.
    Loss,
    /// Fair-loss duplicated a transmission.
    Duplicate,
    /// The adversary dropped, modified, injected or replayed.
    Adversary,
    /// A node crashed.
    Crash(NodeId),
    /// A node paused.
    Pause(NodeId),
    /// A partition started.
    Partition(u32),
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Loss => f.write_str("loss"),
            Self::Duplicate => f.write_str("duplicate"),
            Self::Adversary => f.write_str("adversary"),
            Self::Crash(n) => write!(f, "crash {n}"),
            Self::Pause(n) => write!(f, "pause {n}"),
            Self::Partition(i) => write!(f, "partition {i}"),
        }
    }
}

/// What the liveness predicate sees: the observations since faults were healed, and which nodes
/// are correct (honest and not crash-stopped).
#[derive(Debug)]
pub struct Progress<'a, O> {
    /// Observations after the heal.
    pub outputs: &'a [Observed<O>],
    /// Correct nodes.
    pub correct: &'a [NodeId],
}

/// How the liveness phase ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// No liveness phase was run.
    NotChecked,
    /// Progress was made within the bound.
    Progressed {
        /// Virtual time from the heal to progress, ns.
        after_ns: u64,
    },
    /// No progress within the bound.
    Failed {
        /// The bound, ns.
        bound_ns: u64,
    },
}

/// Everything one run produced.
pub struct Run<N: Node> {
    /// The seed.
    pub seed: u64,
    /// The configuration.
    pub config: SimConfig,
    /// Metrics.
    pub summary: Summary,
    /// Every observation, in order.
    pub outputs: Vec<Observed<N::Output>>,
    /// The in-memory trace (empty unless recording was on).
    pub records: Trace<N::Timer>,
    /// Faults applied, in order.
    pub faults: Vec<Fault>,
    /// When faults were healed, if the liveness phase ran.
    pub heal_at: Option<u64>,
    /// How the liveness phase ended.
    pub liveness: Liveness,
    /// Whether the run stopped at `limits.events_max`.
    pub truncated: bool,
    /// Each node's clock: (offset ns, drift ppm).
    pub clocks: Vec<(u64, f64)>,
    /// Correct nodes: honest and not crash-stopped at the end.
    pub correct: Vec<NodeId>,
    /// The most events ever queued at once (in-flight messages plus pending timers).
    pub queue_peak: usize,
    /// Bytes the event queue had allocated at its largest.
    pub queue_bytes: usize,
    /// Of `queue_bytes`, the wheel's fixed storage (bucket heads and occupancy bitmap), which is
    /// sized to the number of events queued: 16 KiB for a few hundred, up to 64 KiB.
    pub queue_wheel_bytes: usize,
}

impl<N: Node> fmt::Debug for Run<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run").field("seed", &self.seed).field("summary", &self.summary).finish_non_exhaustive()
    }
}

type Factory<T> = Box<dyn FnMut(NodeId) -> T>;
type LivenessFn<O> = Box<dyn Fn(&Progress<'_, O>) -> bool>;
type LivenessRule<'r, O> = &'r dyn Fn(&Progress<'_, O>) -> bool;
type StrategyFactory<N> = Box<dyn FnMut() -> Box<dyn Strategy<N>>>;
type AdversaryFactory = Box<dyn FnMut() -> Box<dyn Adversary>>;
type Spare<T> = (EventQueue<Event<T>>, LatencyRecorder);

/// A protocol under a system model, ready to run for any seed.
pub struct Simulation<N: Node> {
    config: SimConfig,
    factory: Factory<N>,
    strategy: Option<StrategyFactory<N>>,
    adversary: Option<AdversaryFactory>,
    liveness: Option<LivenessFn<N::Output>>,
    record: bool,
    mask: Option<BTreeSet<u32>>,
    /// The previous run's event queue and histogram, reused so that sweeps of small runs do not
    /// pay for allocation each time.
    spare: Option<Spare<N::Timer>>,
}

impl<N: Node> fmt::Debug for Simulation<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulation").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<N: Node> Simulation<N> {
    /// A simulation of the nodes `factory` builds (called once per node per run, and again for a
    /// node that restarts after a crash). Fails if the configuration is invalid.
    pub fn new(config: SimConfig, factory: impl FnMut(NodeId) -> N + 'static) -> Result<Self, crate::ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            factory: Box::new(factory),
            strategy: None,
            adversary: None,
            liveness: None,
            record: false,
            mask: None,
            spare: None,
        })
    }

    /// The Byzantine strategy the faulty nodes run (required by [`NodeModel::Byzantine`]); one
    /// value per run drives every faulty node.
    pub fn with_strategy(mut self, strategy: impl FnMut() -> Box<dyn Strategy<N>> + 'static) -> Self {
        self.strategy = Some(Box::new(strategy));
        self
    }

    /// A custom adversary for `AdversarySpec::Custom`.
    pub fn with_adversary(mut self, adversary: impl FnMut() -> Box<dyn Adversary> + 'static) -> Self {
        self.adversary = Some(Box::new(adversary));
        self
    }

    /// The progress the liveness phase requires. The default: every correct node reports at least
    /// one observation after the heal.
    pub fn with_liveness(mut self, done: impl Fn(&Progress<'_, N::Output>) -> bool + 'static) -> Self {
        self.liveness = Some(Box::new(done));
        self
    }

    /// Records the full trace in memory (needed by model oracles and trace files).
    pub fn recording(mut self, on: bool) -> Self {
        self.record = on;
        self
    }

    /// Applies only the fault decisions in `mask` (see [`Fault`]).
    pub fn with_fault_mask(mut self, mask: Option<BTreeSet<u32>>) -> Self {
        self.mask = mask;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Changes the configuration between runs (it is validated again).
    pub fn set_config(&mut self, config: SimConfig) -> Result<(), crate::ConfigError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Sets the fault mask between runs.
    pub fn set_fault_mask(&mut self, mask: Option<BTreeSet<u32>>) {
        self.mask = mask;
    }

    /// Runs once with `seed`.
    pub fn run(&mut self, seed: u64) -> Run<N> {
        let strategy = match &self.config.model.nodes {
            NodeModel::Byzantine { .. } => {
                let make =
                    self.strategy.as_mut().expect("the Byzantine node model needs a strategy: call with_strategy");
                Some(make())
            }
            _ => None,
        };
        let adversary = match &self.config.model.network {
            NetworkModel::Arbitrary { adversary: spec } => Some(adversary::stock(spec).unwrap_or_else(|| {
                let make = self.adversary.as_mut().expect("a custom adversary needs with_adversary");
                make()
            })),
            _ => None,
        };
        let liveness = self.liveness.take();
        let mut engine = Engine::new(self, seed, strategy, adversary);
        engine.run(liveness.as_deref());
        let run = engine.finish();
        self.liveness = liveness;
        run
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Up,
    /// Crashed, will restart (crash-recovery).
    Down,
    /// Crashed for good (crash-stop).
    Crashed,
}

struct Slot<N: Node> {
    node: Option<N>,
    byzantine: bool,
    status: Status,
    paused_until: u64,
    /// Messages that arrived while the node was paused, in arrival order: it takes them when it
    /// resumes (one buffer rather than re-queued events, so FIFO links stay FIFO).
    deferred: Vec<Held>,
    epoch: u32,
    timers: BTreeMap<N::Timer, u64>,
    durable: Durable,
    rng: Rng,
    offset: u64,
    drift_ppm: f64,
}

impl<N: Node> Slot<N> {
    #[inline]
    fn local(&self, t: u64) -> u64 {
        if self.drift_ppm == 0.0 {
            self.offset + t
        } else {
            let skew = (t as f64 * self.drift_ppm / 1e6) as i64;
            (self.offset as i64 + t as i64 + skew).max(0) as u64
        }
    }

    /// Global nanoseconds for a span of `local` nanoseconds on this clock.
    #[inline]
    fn global_span(&self, local: u64) -> u64 {
        if self.drift_ppm == 0.0 { local } else { (local as f64 / (1.0 + self.drift_ppm / 1e6)).ceil() as u64 }
    }
}

enum Event<T> {
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: u64,
        sent_at: u64,
        bytes: Payload,
    },
    Timer {
        node: NodeId,
        generation: u64,
        timer: T,
    },
    Crash {
        node: NodeId,
        restart_after: Option<u64>,
        random: bool,
    },
    Restart {
        node: NodeId,
        epoch: u32,
    },
    Pause {
        node: NodeId,
    },
    /// A paused node may have resumed: hand it its deferred messages.
    Resume {
        node: NodeId,
    },
    PartitionStart(u32),
    PartitionEnd(u32),
}

/// A handler call other than an arrival (see [`Engine::deliver`]).
enum Input<N: Node> {
    Start,
    Timer(N::Timer),
    Recover,
}

#[derive(Default, Clone, Copy)]
struct Link {
    free_at: u64,
    last_arrival: u64,
    busy_ns: u64,
}

struct Held {
    from: NodeId,
    to: NodeId,
    msg: u64,
    sent_at: u64,
    bytes: Payload,
}

struct Engine<'s, N: Node> {
    sim: &'s mut Simulation<N>,
    seed: u64,
    n: usize,
    now: u64,
    slots: Vec<Slot<N>>,
    peers: Vec<Vec<NodeId>>,
    strategy: Option<Box<dyn Strategy<N>>>,
    adversary: Option<Box<dyn Adversary>>,
    actions: Vec<Action>,
    queue: EventQueue<Event<N::Timer>>,
    net: Rng,
    effects: Vec<Effect<N>>,
    links: Vec<Link>,
    active_cuts: Vec<u32>,
    held: Vec<Held>,
    generation: u64,
    next_msg: u64,
    c: Counters,
    latency: LatencyRecorder,
    records: Option<Trace<N::Timer>>,
    outputs: Vec<Observed<N::Output>>,
    mask: Option<BTreeSet<u32>>,
    next_fault: u32,
    faults: Vec<Fault>,
    healed: bool,
    heal_at: Option<u64>,
    liveness: Liveness,
    truncated: bool,
    crashes_done: usize,
    // Derived from the configuration once, for the hot path.
    /// The network model may lose, duplicate or tamper with a transmission (not `Reliable`).
    unreliable: bool,
    fifo: bool,
    sync_bound: Option<u64>,
    link_latency: LatencyNs,
}

impl<'s, N: Node> Engine<'s, N> {
    fn new(
        sim: &'s mut Simulation<N>,
        seed: u64,
        strategy: Option<Box<dyn Strategy<N>>>,
        adversary: Option<Box<dyn Adversary>>,
    ) -> Self {
        let (queue, latency) = match sim.spare.take() {
            Some((mut queue, mut latency)) => {
                queue.reset();
                latency.reset();
                (queue, latency)
            }
            None => (EventQueue::new(), LatencyRecorder::new()),
        };
        let cfg = &sim.config;
        let n = cfg.nodes;
        // Independent streams: the network's faults, then one per node, then one per clock.
        let mut net = Rng::derive(seed, 0);
        let byzantine: BTreeSet<NodeId> = match &cfg.model.nodes {
            NodeModel::Byzantine { faulty } => faulty.iter().copied().collect(),
            _ => BTreeSet::new(),
        };
        let offset_max = nanos(cfg.clocks.offset_max);
        let drift_max = cfg.clocks.drift_ppm_max;
        let mut slots = Vec::with_capacity(n);
        for id in NodeId::range(n) {
            let is_byzantine = byzantine.contains(&id);
            let offset = if offset_max > 0 { net.between(0, offset_max) } else { 0 };
            let drift_ppm = if drift_max > 0.0 { (net.unit() * 2.0 - 1.0) * drift_max } else { 0.0 };
            slots.push(Slot {
                node: if is_byzantine { None } else { Some((sim.factory)(id)) },
                byzantine: is_byzantine,
                status: Status::Up,
                paused_until: 0,
                deferred: Vec::new(),
                epoch: 0,
                timers: BTreeMap::new(),
                durable: Durable::new(),
                rng: Rng::derive(seed, 1 + u64::from(id.0)),
                offset,
                drift_ppm,
            });
        }
        let peers = NodeId::range(n).map(|me| NodeId::range(n).filter(|&p| p != me).collect()).collect();
        let fifo = matches!(
            cfg.model.network,
            NetworkModel::Reliable { fifo: true } | NetworkModel::FairLoss { reorder: false, .. }
        );
        let sync_bound = match &cfg.model.timing {
            TimingModel::Synchronous { delay_max, .. } | TimingModel::PartiallySynchronous { delay_max, .. } => {
                Some(nanos(*delay_max))
            }
            TimingModel::Asynchronous { .. } => None,
        };
        Self {
            seed,
            n,
            now: 0,
            slots,
            peers,
            strategy,
            adversary,
            actions: Vec::new(),
            queue,
            net,
            effects: Vec::new(),
            links: vec![Link::default(); n * n],
            active_cuts: Vec::new(),
            held: Vec::new(),
            generation: 0,
            next_msg: 0,
            c: Counters::default(),
            latency,
            // A run with an event limit records about two entries per event, of 5–10 bytes each:
            // reserving 32 bytes an event up front (zeroed pages the kernel maps only as records
            // arrive) saves the copying of repeated growth on long traced runs.
            records: sim.record.then(|| match cfg.limits.events_max {
                u64::MAX => Trace::default(),
                limit => Trace::with_capacity(limit.saturating_mul(32).min(1 << 27) as usize),
            }),
            outputs: Vec::new(),
            mask: sim.mask.clone(),
            next_fault: 0,
            faults: Vec::new(),
            healed: false,
            heal_at: None,
            liveness: Liveness::NotChecked,
            truncated: false,
            crashes_done: 0,
            unreliable: !matches!(cfg.model.network, NetworkModel::Reliable { .. }),
            fifo,
            sync_bound,
            link_latency: cfg.link.latency.in_nanos(),
            sim,
        }
    }

    fn cfg(&self) -> &SimConfig {
        &self.sim.config
    }

    /// Appends a record if recording. The record is built only then: constructing (and dropping)
    /// one costs time on the hot path even when it is thrown away.
    #[inline]
    fn record(&mut self, kind: impl FnOnce() -> RecordKind<N::Timer>) {
        if let Some(r) = &mut self.records {
            r.push(self.now, kind());
        }
    }

    /// Numbers a fault decision and says whether the mask lets it happen.
    fn allow(&mut self, kind: FaultKind) -> bool {
        let index = self.next_fault;
        self.next_fault += 1;
        let ok = self.mask.as_ref().is_none_or(|m| m.contains(&index));
        if ok {
            self.faults.push(Fault { index, t: self.now, kind });
        }
        ok
    }

    fn run(&mut self, liveness: Option<LivenessRule<'_, N::Output>>) {
        self.schedule_faults();
        for i in 0..self.n {
            if !self.slots[i].byzantine || self.strategy.is_some() {
                self.record(|| RecordKind::Start { node: NodeId::from(i) });
                self.dispatch(i, Input::Start);
            }
        }
        let time_max = nanos(self.cfg().limits.time_max);
        self.run_until(time_max, None);
        if let Some(bound) = self.cfg().liveness_bound.map(nanos) {
            if !self.truncated {
                self.now = self.now.max(time_max);
                self.heal();
                let start = self.outputs.len();
                let heal = self.now;
                let default_rule =
                    |p: &Progress<'_, N::Output>| p.correct.iter().all(|id| p.outputs.iter().any(|o| o.node == *id));
                let rule: &dyn Fn(&Progress<'_, N::Output>) -> bool = liveness.unwrap_or(&default_rule);
                let progressed = self.run_until(heal.saturating_add(bound), Some((start, rule)));
                self.liveness = match progressed {
                    Some(at) => Liveness::Progressed { after_ns: at - heal },
                    None => Liveness::Failed { bound_ns: bound },
                };
            }
        }
    }

    /// Runs events up to time `end`. With a liveness rule, stops as soon as it holds and returns
    /// when.
    fn run_until(&mut self, end: u64, liveness: Option<(usize, LivenessRule<'_, N::Output>)>) -> Option<u64> {
        let events_max = self.cfg().limits.events_max;
        let correct = self.correct_nodes();
        if let Some((start, rule)) = liveness {
            if rule(&Progress { outputs: &self.outputs[start..], correct: &correct }) {
                return Some(self.now);
            }
        }
        loop {
            if self.c.events >= events_max {
                // Truncated only if something was still due before `end`.
                if self.queue.peek_time().is_some_and(|t| t <= end) {
                    self.truncated = true;
                }
                break;
            }
            let Some((t, event)) = self.queue.pop_until(end) else { break };
            self.now = t;
            self.c.events += 1;
            let outputs_before = self.outputs.len();
            self.handle(event);
            if let Some((start, rule)) = liveness {
                if self.outputs.len() > outputs_before
                    && rule(&Progress { outputs: &self.outputs[start..], correct: &correct })
                {
                    return Some(self.now);
                }
            }
        }
        None
    }

    fn correct_nodes(&self) -> Vec<NodeId> {
        let crash_stop = matches!(self.cfg().model.nodes, NodeModel::CrashStop { .. });
        NodeId::range(self.n)
            .filter(|id| {
                let s = &self.slots[id.index()];
                !(s.byzantine || crash_stop && s.status == Status::Crashed)
            })
            .collect()
    }

    fn schedule_faults(&mut self) {
        let cfg = self.sim.config.clone();
        let time_max = nanos(cfg.limits.time_max);
        let exp = |rng: &mut Rng, rate: f64| -> u64 { ((-(1.0 - rng.unit()).ln() / rate) * 1e9) as u64 };
        match &cfg.model.nodes {
            NodeModel::CrashStop { crashes, rate_per_sec, .. }
            | NodeModel::CrashRecovery { crashes, rate_per_sec, .. } => {
                for c in crashes {
                    self.queue.push(
                        nanos(c.at),
                        Event::Crash { node: c.node, restart_after: c.restart_after.map(nanos), random: false },
                    );
                }
                if *rate_per_sec > 0.0 {
                    for id in NodeId::range(self.n) {
                        let t = exp(&mut self.net, *rate_per_sec);
                        if t < time_max {
                            self.queue.push(t, Event::Crash { node: id, restart_after: None, random: true });
                        }
                    }
                }
            }
            NodeModel::Correct | NodeModel::Byzantine { .. } => {}
        }
        let pauses = match &cfg.model.timing {
            TimingModel::Asynchronous { pauses } | TimingModel::PartiallySynchronous { pauses, .. } => {
                pauses.rate_per_sec
            }
            TimingModel::Synchronous { .. } => 0.0,
        };
        if pauses > 0.0 {
            for id in NodeId::range(self.n) {
                let t = exp(&mut self.net, pauses);
                if t < time_max {
                    self.queue.push(t, Event::Pause { node: id });
                }
            }
        }
        for (i, p) in cfg.model.partitions.iter().enumerate() {
            self.queue.push(nanos(p.start), Event::PartitionStart(i as u32));
            if let Some(end) = p.end {
                self.queue.push(nanos(end), Event::PartitionEnd(i as u32));
            }
        }
    }

    /// One event. Always inlined into the run loop, its one caller.
    #[inline(always)]
    fn handle(&mut self, event: Event<N::Timer>) {
        match event {
            Event::Deliver { from, to, msg, sent_at, bytes } => self.on_arrival(from, to, msg, sent_at, bytes),
            Event::Timer { node, generation, timer } => {
                let slot = &mut self.slots[node.index()];
                if slot.timers.get(&timer) != Some(&generation) || slot.status != Status::Up {
                    return; // replaced, cancelled, or lost in a crash
                }
                if slot.paused_until > self.now {
                    let at = slot.paused_until;
                    self.queue.push(at, Event::Timer { node, generation, timer });
                    return;
                }
                slot.timers.remove(&timer);
                self.c.timers_fired += 1;
                self.record(|| RecordKind::TimerFire { node, timer: timer.clone() });
                self.dispatch(node.index(), Input::Timer(timer));
            }
            Event::Crash { node, restart_after, random } => self.on_crash(node, restart_after, random),
            Event::Restart { node, epoch } => {
                let slot = &self.slots[node.index()];
                if slot.status == Status::Down && slot.epoch == epoch {
                    self.restart(node);
                }
            }
            Event::Pause { node } => self.on_pause(node),
            Event::Resume { node } => {
                let slot = &self.slots[node.index()];
                if slot.paused_until > self.now {
                    self.queue.push(slot.paused_until, Event::Resume { node });
                    return;
                }
                for h in std::mem::take(&mut self.slots[node.index()].deferred) {
                    self.on_arrival(h.from, h.to, h.msg, h.sent_at, h.bytes);
                }
            }
            Event::PartitionStart(id) => {
                if !self.healed && self.allow(FaultKind::Partition(id)) {
                    self.active_cuts.push(id);
                    self.record(|| RecordKind::PartitionStart { id });
                }
            }
            Event::PartitionEnd(id) => {
                if let Some(pos) = self.active_cuts.iter().position(|&c| c == id) {
                    self.active_cuts.remove(pos);
                    self.record(|| RecordKind::PartitionEnd { id });
                    self.release_held();
                }
            }
        }
    }

    #[inline(always)]
    fn on_arrival(&mut self, from: NodeId, to: NodeId, msg: u64, sent_at: u64, bytes: Payload) {
        let slot = &self.slots[to.index()];
        if slot.status != Status::Up {
            self.drop_msg(from, to, msg, DropReason::Crashed);
            return;
        }
        if slot.paused_until > self.now || !slot.deferred.is_empty() {
            // Behind the messages already waiting, even if the pause has just ended.
            if slot.deferred.is_empty() {
                self.queue.push(slot.paused_until, Event::Resume { node: to });
            }
            self.slots[to.index()].deferred.push(Held { from, to, msg, sent_at, bytes });
            return;
        }
        if !self.active_cuts.is_empty() {
            match self.cut(from, to) {
                Some(CutMode::Drop) => return self.drop_msg(from, to, msg, DropReason::Partition),
                Some(CutMode::Hold) => return self.hold(from, to, msg, sent_at, bytes),
                None => {}
            }
        }
        self.deliver(to.index(), from, msg, sent_at, &bytes);
    }

    fn drop_msg(&mut self, from: NodeId, to: NodeId, msg: u64, reason: DropReason) {
        match reason {
            DropReason::Loss => self.c.dropped_loss += 1,
            DropReason::Partition => self.c.dropped_partition += 1,
            DropReason::Crashed => self.c.dropped_crashed += 1,
            DropReason::Adversary => self.c.dropped_adversary += 1,
            DropReason::Corrupt | DropReason::InFlight => {}
        }
        if reason != DropReason::InFlight {
            self.c.dropped += 1;
        }
        self.record(|| RecordKind::Drop { from, to, msg, reason });
    }

    fn hold(&mut self, from: NodeId, to: NodeId, msg: u64, sent_at: u64, bytes: Payload) {
        self.c.held += 1;
        self.held.push(Held { from, to, msg, sent_at, bytes });
    }

    /// Re-sends every held message whose link is no longer cut.
    fn release_held(&mut self) {
        let mut held = std::mem::take(&mut self.held);
        // In send order (message ids grow with sends), so FIFO links stay FIFO: a message that met
        // the cut on arrival was held after later ones the cut stopped at their send.
        held.sort_by_key(|h| h.msg);
        for h in held {
            if self.cut(h.from, h.to).is_some() {
                self.held.push(h);
            } else {
                let at = self.arrival(h.from, h.to, h.bytes.len(), 0);
                self.queue.push(
                    at,
                    Event::Deliver { from: h.from, to: h.to, msg: h.msg, sent_at: h.sent_at, bytes: h.bytes },
                );
            }
        }
    }

    fn cut(&self, from: NodeId, to: NodeId) -> Option<CutMode> {
        let partitions = &self.cfg().model.partitions;
        self.active_cuts.iter().find_map(|&id| {
            let p = &partitions[id as usize];
            let in_a = |x: NodeId| p.side_a.contains(&x);
            let in_b = |x: NodeId| {
                if p.side_b.is_empty() { !in_a(x) } else { p.side_b.contains(&x) }
            };
            let cut = (in_a(from) && in_b(to)) || (p.symmetric && in_a(to) && in_b(from));
            cut.then_some(p.mode)
        })
    }

    fn on_crash(&mut self, node: NodeId, restart_after: Option<u64>, random: bool) {
        let i = node.index();
        if self.healed || self.slots[i].byzantine || self.slots[i].status != Status::Up {
            return;
        }
        let (recovers, restart_after) = match &self.cfg().model.nodes {
            NodeModel::CrashStop { crashes_max, .. } => {
                if random && self.crashes_done >= *crashes_max {
                    return;
                }
                (false, None)
            }
            NodeModel::CrashRecovery { restart_min, restart_max, .. } => {
                let (lo, hi) = (nanos(*restart_min), nanos(*restart_max));
                let delay = restart_after.unwrap_or_else(|| self.net.between(lo, hi));
                (true, Some(delay))
            }
            _ => return,
        };
        if !self.allow(FaultKind::Crash(node)) {
            return;
        }
        self.crashes_done += 1;
        self.c.crashes += 1;
        let slot = &mut self.slots[i];
        slot.node = None;
        slot.timers.clear();
        slot.epoch += 1;
        slot.status = if recovers { Status::Down } else { Status::Crashed };
        let epoch = slot.epoch;
        let deferred = std::mem::take(&mut slot.deferred);
        self.record(|| RecordKind::Crash { node, recovers });
        // Messages the node had received but not yet processed are lost with it.
        for h in deferred {
            self.drop_msg(h.from, h.to, h.msg, DropReason::Crashed);
        }
        if let Some(delay) = restart_after {
            self.queue.push(self.now.saturating_add(delay), Event::Restart { node, epoch });
        }
    }

    fn restart(&mut self, node: NodeId) {
        let i = node.index();
        let fresh = (self.sim.factory)(node);
        let slot = &mut self.slots[i];
        slot.node = Some(fresh);
        slot.status = Status::Up;
        slot.paused_until = 0;
        let (keys, digest) = (slot.durable.len() as u32, slot.durable.digest());
        self.c.recoveries += 1;
        self.record(|| RecordKind::Recover { node, keys, digest });
        self.dispatch(i, Input::Recover);
        // Crash-recovery nodes may crash again.
        if let NodeModel::CrashRecovery { rate_per_sec, .. } = self.cfg().model.nodes {
            if rate_per_sec > 0.0 && !self.healed {
                let gap = ((-(1.0 - self.net.unit()).ln() / rate_per_sec) * 1e9) as u64;
                let at = self.now.saturating_add(gap);
                if at < nanos(self.cfg().limits.time_max) {
                    self.queue.push(at, Event::Crash { node, restart_after: None, random: true });
                }
            }
        }
    }

    fn on_pause(&mut self, node: NodeId) {
        let i = node.index();
        if self.healed || self.slots[i].status != Status::Up {
            return;
        }
        let timing = self.cfg().model.timing.clone();
        let (pauses, window_end) = match &timing {
            TimingModel::Asynchronous { pauses } => (pauses, None),
            TimingModel::PartiallySynchronous { pauses, windows, .. } => {
                match windows.iter().find(|w| w.contains(self.now)) {
                    Some(w) => (pauses, Some(nanos(w.end))),
                    None => {
                        // Outside every window the synchronous bounds hold: try again later.
                        self.schedule_next_pause(node, pauses.rate_per_sec);
                        return;
                    }
                }
            }
            TimingModel::Synchronous { .. } => return,
        };
        let mut length = pauses.duration.sample(&mut self.net);
        if let Some(end) = window_end {
            length = length.min(end - self.now);
        }
        let rate = pauses.rate_per_sec;
        if length > 0 && self.allow(FaultKind::Pause(node)) {
            let until = self.now + length;
            self.slots[i].paused_until = until;
            if !self.slots[i].deferred.is_empty() {
                // A new pause may end before the one the deferred messages were waiting for.
                self.queue.push(until, Event::Resume { node });
            }
            self.c.pauses += 1;
            self.record(|| RecordKind::Pause { node, until });
        }
        self.schedule_next_pause(node, rate);
    }

    fn schedule_next_pause(&mut self, node: NodeId, rate: f64) {
        let gap = ((-(1.0 - self.net.unit()).ln() / rate) * 1e9) as u64;
        let at = self.now.saturating_add(gap.max(1));
        if at < nanos(self.cfg().limits.time_max) {
            self.queue.push(at, Event::Pause { node });
        }
    }

    fn heal(&mut self) {
        self.healed = true;
        self.heal_at = Some(self.now);
        self.record(|| RecordKind::Heal);
        for id in std::mem::take(&mut self.active_cuts) {
            self.record(|| RecordKind::PartitionEnd { id });
        }
        self.release_held();
        for i in 0..self.n {
            self.slots[i].paused_until = 0;
            if !self.slots[i].deferred.is_empty() {
                self.queue.push(self.now, Event::Resume { node: NodeId::from(i) });
            }
            if self.slots[i].status == Status::Down {
                self.restart(NodeId::from(i));
            }
        }
    }

    /// Hands node `i` a message that reached it: decodes it, calls the handler, and interprets its
    /// effects. The hot path of every run, kept apart from [`Engine::dispatch`] so that an arrival
    /// is not wrapped in an [`Input`] and matched out again.
    fn deliver(&mut self, i: usize, from: NodeId, msg: u64, sent_at: u64, bytes: &[u8]) {
        debug_assert!(self.effects.is_empty(), "deliver is not reentrant");
        let id = NodeId::from(i);
        let local = Time(self.slots[i].local(self.now));
        // Decoded here and handed straight to the handler, not moved whole into another value
        // first: that move loaded it in 16-byte words straight after the decoder's narrower
        // stores, which the store buffer cannot forward. (One 8-byte load of that kind is left;
        // inlining the decoder removes it and gains nothing: docs/benchmarks.md.)
        let Ok(m) = codec::decode::<N::Msg>(bytes) else {
            self.c.corrupt += 1;
            self.drop_msg(from, id, msg, DropReason::Corrupt);
            return;
        };
        self.c.delivered += 1;
        self.c.bytes_delivered += bytes.len() as u64;
        // The histogram's range covers every latency a run can produce; saturate rather than fail.
        self.latency.record((self.now - sent_at).max(1));
        if let Some(r) = &mut self.records {
            r.push_deliver(self.now, from, id, msg, sent_at);
        }
        let Slot { node, rng, .. } = &mut self.slots[i];
        let mut ctx = Context::new(id, &self.peers[i], local, rng, &mut self.effects);
        match node {
            Some(node) => {
                node.on_message(from, m, &mut ctx);
                if cfg!(debug_assertions) {
                    node.invariants();
                }
            }
            None => {
                let strategy = self.strategy.as_mut().expect("a node without a protocol value is Byzantine");
                strategy.on_message(from, m, &mut ctx);
            }
        }
        self.effects_of::<true>(i);
    }

    /// Calls one handler of node `i` other than `on_message` (see [`Engine::deliver`]) and
    /// interprets its effects. Not reentrant: interpreting an effect never calls a handler, so the
    /// effects are left in (and taken from) `self.effects` directly.
    fn dispatch(&mut self, i: usize, input: Input<N>) {
        debug_assert!(self.effects.is_empty(), "dispatch is not reentrant");
        let id = NodeId::from(i);
        let local = Time(self.slots[i].local(self.now));
        let Slot { node, rng, durable, .. } = &mut self.slots[i];
        let mut ctx = Context::new(id, &self.peers[i], local, rng, &mut self.effects);
        match node {
            Some(node) => {
                match input {
                    Input::Start => node.on_start(&mut ctx),
                    Input::Timer(timer) => node.on_timer(timer, &mut ctx),
                    Input::Recover => node.on_recover(durable, &mut ctx),
                }
                if cfg!(debug_assertions) {
                    node.invariants();
                }
            }
            None => {
                let strategy = self.strategy.as_mut().expect("a node without a protocol value is Byzantine");
                match input {
                    Input::Start | Input::Recover => strategy.on_start(&mut ctx),
                    Input::Timer(timer) => strategy.on_timer(timer, &mut ctx),
                }
            }
        }
        self.effects_of::<false>(i);
    }

    /// Interprets the effects node `i`'s handler left in `self.effects`, in order. Always inlined
    /// into its two callers, `deliver` (`HOT`) and `dispatch`, each with its own copy of the
    /// register marshaller (`codec::encode_small_at`), so that LLVM inlines it into both.
    #[inline(always)]
    fn effects_of<const HOT: bool>(&mut self, i: usize) {
        let id = NodeId::from(i);
        // In order, popped off the reversed list: cheaper than a draining iterator for the one or
        // two effects a handler usually leaves.
        self.effects.reverse();
        while let Some(last) = self.effects.last() {
            match last {
                Effect::Send { to, msg } => {
                    // Marshalled where the handler left it, read field by field: moving the effect
                    // out whole would load it in 8-byte words straight after the handler's
                    // narrower stores, which the store buffer cannot forward. Most messages fit
                    // the payload's inline buffer.
                    let to = *to;
                    let small =
                        if HOT { codec::encode_small_at::<0, _>(msg) } else { codec::encode_small_at::<1, _>(msg) };
                    match small {
                        Some((buf, len)) => {
                            self.forget_sent();
                            self.transmit(id, to, Payload::from_buf_and_len(buf, len));
                        }
                        None => {
                            let bytes = Payload::from_vec(codec::encode(msg));
                            self.forget_sent();
                            self.transmit_large(id, to, bytes);
                        }
                    }
                }
                _ => {
                    let effect = self.effects.pop().expect("an effect is left");
                    self.apply(i, effect);
                }
            }
        }
    }

    /// Removes the last effect, an [`Effect::Send`] already marshalled. A message type without
    /// drop glue is simply forgotten: the compiler then drops no field, where dropping the effect
    /// in place would first work out which kind of effect it is.
    #[inline(always)]
    fn forget_sent(&mut self) {
        if std::mem::needs_drop::<N::Msg>() {
            self.effects.truncate(self.effects.len() - 1);
        } else {
            std::mem::forget(self.effects.pop());
        }
    }

    /// One effect of node `i`'s handler other than [`Effect::Send`], which `effects_of` marshals
    /// in place. Always inlined into `effects_of`, its one caller.
    #[inline(always)]
    fn apply(&mut self, i: usize, effect: Effect<N>) {
        let id = NodeId::from(i);
        match effect {
            Effect::Send { .. } => unreachable!("effects_of marshals sends in place"),
            Effect::SendBytes { to, bytes } => self.transmit_large(id, to, Payload::from_vec(bytes)),
            Effect::SetTimer { timer, after } => {
                self.generation += 1;
                let generation = self.generation;
                let slot = &mut self.slots[i];
                let local_after = nanos(after);
                let at_local = slot.local(self.now).saturating_add(local_after);
                let at = self.now.saturating_add(slot.global_span(local_after));
                slot.timers.insert(timer.clone(), generation);
                if self.records.is_some() {
                    self.record(|| RecordKind::TimerSet { node: id, timer: timer.clone(), at: at_local });
                }
                self.queue.push(at, Event::Timer { node: id, generation, timer });
            }
            Effect::CancelTimer { timer } => {
                if self.slots[i].timers.remove(&timer).is_some() {
                    self.record(|| RecordKind::TimerCancel { node: id, timer });
                }
            }
            Effect::Persist { key, bytes } => {
                if self.records.is_some() {
                    self.record(|| RecordKind::Persist {
                        node: id,
                        key: key.as_str().into(),
                        bytes: bytes.as_slice().into(),
                    });
                }
                self.slots[i].durable.put(key, bytes);
            }
            Effect::Output(value) => {
                self.c.outputs += 1;
                let index = self.outputs.len() as u32;
                self.outputs.push(Observed { t: self.now, node: id, value });
                self.record(|| RecordKind::Output { node: id, index });
            }
        }
    }

    /// [`Engine::transmit`] out of line, for messages too long for the inline payload and for raw
    /// bytes: the common case keeps its own inlined copy.
    #[inline(never)]
    fn transmit_large(&mut self, from: NodeId, to: NodeId, bytes: Payload) {
        self.transmit(from, to, bytes);
    }

    /// One transmission from `from` to `to`: the network model decides its fate.
    #[inline(always)]
    fn transmit(&mut self, from: NodeId, to: NodeId, bytes: Payload) {
        assert!(to.index() < self.n, "{from} sent to {to}, which is not a node of this cluster");
        let msg = self.next_msg;
        self.next_msg += 1;
        self.c.sent += 1;
        self.c.bytes_sent += bytes.len() as u64;
        if let Some(r) = &mut self.records {
            r.push_send(self.now, from, to, msg, &bytes);
        }
        if self.unreliable && !self.healed {
            match self.sim.config.model.network {
                NetworkModel::Reliable { .. } => {}
                NetworkModel::FairLoss { loss, duplicate, duplicates_max, .. } => {
                    if loss > 0.0 && self.net.chance(loss) && self.allow(FaultKind::Loss) {
                        return self.drop_msg(from, to, msg, DropReason::Loss);
                    }
                    if duplicate > 0.0 && self.net.chance(duplicate) {
                        let copies = self.net.between(1, u64::from(duplicates_max));
                        for _ in 0..copies {
                            if self.allow(FaultKind::Duplicate) {
                                self.c.duplicated += 1;
                                self.record(|| RecordKind::Duplicate { from, to, msg });
                                self.route(from, to, msg, bytes.clone(), 0);
                            }
                        }
                    }
                }
                NetworkModel::Arbitrary { .. } => {
                    return self.through_adversary(from, to, msg, bytes);
                }
            }
        }
        self.route(from, to, msg, bytes, 0);
    }

    fn through_adversary(&mut self, from: NodeId, to: NodeId, msg: u64, bytes: Payload) {
        let mut actions = std::mem::take(&mut self.actions);
        let packet = Packet { id: msg, from, to, bytes: &bytes, now: Time(self.now) };
        self.adversary.as_mut().expect("arbitrary network has an adversary").on_packet(
            packet,
            &mut self.net,
            &mut actions,
        );
        let mut fate = None;
        for action in actions.drain(..) {
            match action {
                Action::Deliver { extra } if fate.is_none() => fate = Some(Some((bytes.clone(), nanos(extra)))),
                Action::Drop if fate.is_none() => {
                    fate = Some(if self.allow(FaultKind::Adversary) {
                        self.drop_msg(from, to, msg, DropReason::Adversary);
                        None
                    } else {
                        Some((bytes.clone(), 0))
                    });
                }
                Action::Modify { bytes: changed } if fate.is_none() => {
                    fate = Some(if self.allow(FaultKind::Adversary) {
                        self.c.modified += 1;
                        self.record(|| RecordKind::Modify { from, to, msg, bytes: changed.as_slice().into() });
                        Some((Payload::from_vec(changed), 0))
                    } else {
                        Some((bytes.clone(), 0))
                    });
                }
                Action::Inject { from: claimed, to, bytes, delay }
                    if to.index() < self.n && claimed.index() < self.n && self.allow(FaultKind::Adversary) =>
                {
                    let id = self.next_msg;
                    self.next_msg += 1;
                    self.c.injected += 1;
                    self.record(|| RecordKind::Inject { from: claimed, to, msg: id, bytes: bytes.as_slice().into() });
                    self.route(claimed, to, id, Payload::from_vec(bytes), nanos(delay));
                }
                Action::Replay { of, from: sender, to, bytes, delay }
                    if to.index() < self.n && sender.index() < self.n && self.allow(FaultKind::Adversary) =>
                {
                    let id = self.next_msg;
                    self.next_msg += 1;
                    self.c.replayed += 1;
                    self.record(|| RecordKind::Replay { from: sender, to, msg: id, of });
                    self.route(sender, to, id, Payload::from_vec(bytes), nanos(delay));
                }
                _ => {} // a second fate for the same transmission, or an address outside the cluster
            }
        }
        self.actions = actions;
        if let Some((bytes, extra)) = fate.unwrap_or(Some((bytes, 0))) {
            self.route(from, to, msg, bytes, extra);
        }
    }

    /// Puts a transmission on the link (or holds or drops it at an active cut).
    #[inline(always)]
    fn route(&mut self, from: NodeId, to: NodeId, msg: u64, bytes: Payload, extra: u64) {
        if !self.active_cuts.is_empty() {
            match self.cut(from, to) {
                Some(CutMode::Drop) => return self.drop_msg(from, to, msg, DropReason::Partition),
                Some(CutMode::Hold) => return self.hold(from, to, msg, self.now, bytes),
                None => {}
            }
        }
        let at = self.arrival(from, to, bytes.len(), extra);
        self.queue.push(at, Event::Deliver { from, to, msg, sent_at: self.now, bytes });
    }

    /// When a message of `len` bytes sent now arrives: serialisation onto the link (bandwidth,
    /// packets), propagation latency, `extra` delay from the adversary, the timing model's bounds
    /// (which the adversary's delay cannot break either), and FIFO order if required.
    #[inline(always)]
    fn arrival(&mut self, from: NodeId, to: NodeId, len: usize, extra: u64) -> u64 {
        let cfg = &self.sim.config;
        let mtu = cfg.link.mtu as usize;
        // Most messages fit one packet: skip the division for them.
        let packets = if len <= mtu { 1 } else { len.div_ceil(mtu) as u64 };
        let wire = len as u64 + packets * u64::from(cfg.link.packet_header);
        self.c.packets += packets;
        self.c.wire_bytes += wire;
        let link = &mut self.links[from.index() * self.n + to.index()];
        let mut depart = self.now;
        if let Some(bps) = cfg.link.bandwidth_bps {
            // The exact quotient either way; the 64-bit division (any message under 2 GB) is a
            // single instruction where the 128-bit one is a library call.
            let bits_ns = u128::from(wire) * 8 * 1_000_000_000;
            let tx = match u64::try_from(bits_ns) {
                Ok(bits_ns) => bits_ns / bps,
                Err(_) => (bits_ns / u128::from(bps)) as u64,
            };
            let start = link.free_at.max(self.now);
            link.free_at = start + tx;
            link.busy_ns += tx;
            depart = link.free_at;
        }
        let mut at = depart.saturating_add(self.link_latency.sample(&mut self.net)).saturating_add(extra);
        if let Some(bound) = self.sync_bound {
            let mut limit = self.now.saturating_add(bound);
            if let TimingModel::PartiallySynchronous { windows, async_delay, .. } = &cfg.model.timing {
                if let Some(w) = windows.iter().find(|w| w.contains(self.now)) {
                    // Inside an asynchronous window delays are unbounded, but end with the window.
                    at = at.saturating_add(async_delay.sample(&mut self.net));
                    limit = nanos(w.end).saturating_add(bound);
                }
            }
            at = at.min(limit);
        }
        let link = &mut self.links[from.index() * self.n + to.index()];
        if self.fifo {
            at = at.max(link.last_arrival);
            link.last_arrival = at;
        }
        at
    }

    fn finish(mut self) -> Run<N> {
        let (queue_peak, queue_bytes, queue_wheel_bytes) =
            (self.queue.peak(), self.queue.allocated_bytes(), self.queue.wheel_bytes());
        for (t, event) in self.queue.drain_sorted() {
            if let Event::Deliver { from, to, msg, .. } = event {
                self.c.in_flight_at_end += 1;
                if let Some(r) = &mut self.records {
                    r.push(t, RecordKind::Drop { from, to, msg, reason: DropReason::InFlight });
                }
            }
        }
        let deferred: Vec<Held> = self.slots.iter_mut().flat_map(|s| std::mem::take(&mut s.deferred)).collect();
        for h in std::mem::take(&mut self.held).into_iter().chain(deferred) {
            self.c.in_flight_at_end += 1;
            self.record(|| RecordKind::Drop { from: h.from, to: h.to, msg: h.msg, reason: DropReason::InFlight });
        }
        let secs = self.now as f64 / 1e9;
        let per_sec = |x: u64| if secs > 0.0 { x as f64 / secs } else { 0.0 };
        let link_utilisation_max = if self.now > 0 && self.cfg().link.bandwidth_bps.is_some() {
            self.links.iter().map(|l| l.busy_ns as f64 / self.now as f64).fold(0.0, f64::max)
        } else {
            0.0
        };
        let summary = Summary {
            virtual_ns: self.now,
            latency_ns: self.latency.percentiles(),
            throughput_bytes_per_sec: per_sec(self.c.bytes_delivered),
            deliveries_per_virtual_sec: per_sec(self.c.delivered),
            link_utilisation_max,
            counters: self.c.clone(),
        };
        let correct = self.correct_nodes();
        // Hand the queue and the histogram back for the next run.
        self.sim.spare = Some((self.queue, self.latency));
        Run {
            seed: self.seed,
            config: self.sim.config.clone(),
            summary,
            outputs: self.outputs,
            records: self.records.unwrap_or_default(),
            faults: self.faults,
            heal_at: self.heal_at,
            liveness: self.liveness,
            truncated: self.truncated,
            clocks: self.slots.iter().map(|s| (s.offset, s.drift_ppm)).collect(),
            correct,
            queue_peak,
            queue_bytes,
            queue_wheel_bytes,
        }
    }
}

/// Bytes one queued in-flight message occupies in the event queue (for the memory report).
pub fn queued_event_bytes<T>() -> usize {
    EventQueue::<Event<T>>::entry_size()
}
