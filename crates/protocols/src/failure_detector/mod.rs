//! Failure detectors (lecture §4.2): a sans-IO component any node can host, a [`Node`] that runs
//! only the detector, where each detector exists ([`validate`]), and the detector properties as
//! pure functions over observations ([`properties`]).
//!
//! # The algorithm
//!
//! Every `ping_interval` (local clock) a node sends `Ping { seq }` to every peer; a node answers
//! each ping with `Pong { seq }` at once. Per peer the detector keeps the pings not yet answered,
//! oldest first. When the oldest has gone unanswered for the peer's timeout (counted from its
//! send), the peer is *suspected* and a [`Change::Suspect`] is reported. Any message from a
//! suspected peer (a ping or a pong, even a stale one) *trusts* it again: [`Change::Trust`].
//! A pong answers its own ping only: a late reply to an old ping is not excused by a prompt reply
//! to a newer one (the detector judges each ping against its timeout).
//!
//! The three detectors differ only in the timeout:
//! - [`TimeoutDetector`]: a fixed timeout. It is complete, but accurate only if the timeout
//!   exceeds every round trip, which nothing guarantees outside synchrony.
//! - [`EventuallyPerfectDetector`]: each time a suspected peer turns out to be alive, that peer's
//!   timeout grows. **[decision]** The lecture gives only the properties; the construction is the
//!   usual Chandra–Toueg one, and the growth is [`Growth::Double`] (doubling) by default, or a fixed
//!   step with [`Growth::Step`]. Under partial synchrony the timeout stops growing once it exceeds
//!   the real round trip, so false suspicions stop after the last asynchronous window.
//! - [`PerfectDetector`]: timeout `2·delay_max + 2·step_max`, the worst-case round trip of a
//!   synchronous system. It is perfect only there, with crash-stop nodes and reliable links, and
//!   [`validate`] refuses it anywhere else.
//!
//! Inputs: [`FailureDetector::on_start`], [`FailureDetector::on_message`],
//! [`FailureDetector::on_timer`], and [`FailureDetector::heard_from`] for a host whose own messages
//! count as signs of life. Effects come back as [`Io`] values for the host to apply: sends, the
//! `Tick` and per-peer `Deadline` timers, and [`Change`] observations stamped with local time.
//! The host must route [`FdMsg`] and [`FdTimer`] values to the component; [`FdNode`] is the
//! simplest host.
//!
//! Clock drift: timeouts are measured on the local clock, so the perfect detector's guarantee
//! assumes drift-free clocks (the simulator's default).

pub mod properties;

use herald_core::{Context, Node, NodeId, Time};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// Suspect a peer when a ping of it goes unanswered for `timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeoutDetector {
    /// Time between pings.
    pub ping_interval: Duration,
    /// How long after a ping its pong may come.
    pub timeout: Duration,
}

/// How an eventually perfect detector raises a peer's timeout after a false suspicion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Growth {
    /// Double it (the default **[decision]**: few false suspicions before it fits any round trip).
    Double,
    /// Add a fixed step.
    Step(Duration),
}

/// A timeout detector whose per-peer timeout grows after each false suspicion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventuallyPerfectDetector {
    /// Time between pings.
    pub ping_interval: Duration,
    /// Every peer's timeout at the start.
    pub timeout_initial: Duration,
    /// How a timeout grows.
    pub growth: Growth,
}

/// A timeout detector whose timeout is the worst-case round trip of a synchronous system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PerfectDetector {
    /// Time between pings.
    pub ping_interval: Duration,
    /// The synchronous model's bound on one-way delay.
    pub delay_max: Duration,
    /// The synchronous model's bound on a step.
    pub step_max: Duration,
}

impl PerfectDetector {
    /// `2·delay_max + 2·step_max`: ping there, handle it, pong back, handle it.
    pub fn timeout(&self) -> Duration {
        2 * self.delay_max + 2 * self.step_max
    }
}

/// One of the three detectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Detector {
    /// Fixed timeout.
    Timeout(TimeoutDetector),
    /// Growing timeout.
    EventuallyPerfect(EventuallyPerfectDetector),
    /// Worst-case round trip.
    Perfect(PerfectDetector),
}

impl Detector {
    /// Time between pings.
    pub fn ping_interval(&self) -> Duration {
        match self {
            Self::Timeout(d) => d.ping_interval,
            Self::EventuallyPerfect(d) => d.ping_interval,
            Self::Perfect(d) => d.ping_interval,
        }
    }

    /// Every peer's timeout at the start.
    pub fn timeout_initial(&self) -> Duration {
        match self {
            Self::Timeout(d) => d.timeout,
            Self::EventuallyPerfect(d) => d.timeout_initial,
            Self::Perfect(d) => d.timeout(),
        }
    }

    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::EventuallyPerfect(_) => "eventually-perfect",
            Self::Perfect(_) => "perfect",
        }
    }
}

/// The detector's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FdMsg {
    /// Are you alive?
    Ping {
        /// The sender's ping number.
        seq: u64,
    },
    /// Yes: the answer to `Ping { seq }`.
    Pong {
        /// The ping's number.
        seq: u64,
    },
}

/// The detector's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FdTimer {
    /// Time to ping every peer.
    Tick,
    /// The oldest unanswered ping of this peer may have timed out.
    Deadline(NodeId),
}

/// A change of the detector's output, reported as an observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Change {
    /// `node` is now suspected of having crashed.
    Suspect {
        /// The suspected node.
        node: NodeId,
        /// The observer's local time, ns.
        local_ns: u64,
    },
    /// `node` is trusted again: a message from it arrived while it was suspected.
    Trust {
        /// The trusted node.
        node: NodeId,
        /// The observer's local time, ns.
        local_ns: u64,
        /// The node's timeout from now on, ns (raised by the eventually perfect detector).
        timeout_ns: u64,
    },
}

impl Change {
    /// The node the change is about.
    pub fn node(&self) -> NodeId {
        match *self {
            Self::Suspect { node, .. } | Self::Trust { node, .. } => node,
        }
    }
}

/// An effect of the component, for its host to apply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Io {
    /// Send a detector message.
    Send(NodeId, FdMsg),
    /// Set a detector timer (local clock).
    SetTimer(FdTimer, Duration),
    /// Cancel a detector timer.
    CancelTimer(FdTimer),
    /// Report a change.
    Report(Change),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct Peer {
    /// Unanswered pings, oldest first: (seq, local send time).
    pending: VecDeque<(u64, Time)>,
    suspected: bool,
    timeout: Duration,
}

/// The failure detector a node hosts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FailureDetector {
    detector: Detector,
    /// Indexed by node id; this node's own entry is unused.
    peers: Vec<Peer>,
    seq: u64,
}

impl FailureDetector {
    /// A detector for a cluster of `nodes` nodes.
    pub fn new(detector: Detector, nodes: usize) -> Self {
        let peer = Peer { timeout: detector.timeout_initial(), ..Peer::default() };
        Self { detector, peers: vec![peer; nodes], seq: 0 }
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Whether `node` is suspected now.
    pub fn suspects(&self, node: NodeId) -> bool {
        self.peers.get(node.index()).is_some_and(|p| p.suspected)
    }

    /// `node`'s current timeout.
    pub fn timeout_of(&self, node: NodeId) -> Duration {
        self.peers[node.index()].timeout
    }

    /// The same detector with node ids renamed: peer `i`'s entry becomes peer `perm[i]`'s
    /// (`perm` a permutation of `0..nodes`). For symmetry reduction in the model checker, where
    /// interchangeable nodes need be explored in one naming only.
    pub fn relabelled(&self, perm: &[NodeId]) -> Self {
        let mut peers = self.peers.clone();
        for (i, p) in self.peers.iter().enumerate() {
            peers[perm[i].index()] = p.clone();
        }
        Self { detector: self.detector, peers, seq: self.seq }
    }

    /// The run starts: ping everyone and start ticking.
    pub fn on_start(&mut self, peers: &[NodeId], now: Time, out: &mut Vec<Io>) {
        self.ping_all(peers, now, out);
    }

    /// A detector timer fired.
    pub fn on_timer(&mut self, timer: FdTimer, peers: &[NodeId], now: Time, out: &mut Vec<Io>) {
        match timer {
            FdTimer::Tick => self.ping_all(peers, now, out),
            FdTimer::Deadline(peer) => {
                let p = &mut self.peers[peer.index()];
                let mut expired = false;
                while let Some(&(_, sent)) = p.pending.front() {
                    if sent.saturating_add(p.timeout) > now {
                        break;
                    }
                    p.pending.pop_front();
                    expired = true;
                }
                if expired && !p.suspected {
                    p.suspected = true;
                    out.push(Io::Report(Change::Suspect { node: peer, local_ns: now.as_nanos() }));
                }
                self.arm(peer, now, out);
            }
        }
    }

    /// A detector message arrived.
    pub fn on_message(&mut self, from: NodeId, msg: FdMsg, now: Time, out: &mut Vec<Io>) {
        if from.index() >= self.peers.len() {
            return;
        }
        self.heard_from(from, now, out);
        match msg {
            FdMsg::Ping { seq } => out.push(Io::Send(from, FdMsg::Pong { seq })),
            FdMsg::Pong { seq } => {
                let p = &mut self.peers[from.index()];
                if let Some(i) = p.pending.iter().position(|&(s, _)| s == seq) {
                    p.pending.remove(i);
                    if i == 0 {
                        self.arm(from, now, out);
                    }
                }
            }
        }
    }

    /// Any message from `from` arrived: it is alive. A host calls this for its own messages too.
    pub fn heard_from(&mut self, from: NodeId, now: Time, out: &mut Vec<Io>) {
        let growth = match self.detector {
            Detector::EventuallyPerfect(d) => Some(d.growth),
            _ => None,
        };
        let Some(p) = self.peers.get_mut(from.index()) else { return };
        if !p.suspected {
            return;
        }
        p.suspected = false;
        // A false suspicion: the eventually perfect detector learns from it.
        match growth {
            Some(Growth::Double) => p.timeout = p.timeout.saturating_mul(2).max(Duration::from_nanos(1)),
            Some(Growth::Step(step)) => p.timeout = p.timeout.saturating_add(step),
            None => {}
        }
        let timeout_ns = herald_core::time::nanos(p.timeout);
        out.push(Io::Report(Change::Trust { node: from, local_ns: now.as_nanos(), timeout_ns }));
    }

    fn ping_all(&mut self, peers: &[NodeId], now: Time, out: &mut Vec<Io>) {
        let seq = self.seq;
        self.seq += 1;
        for &peer in peers {
            let p = &mut self.peers[peer.index()];
            p.pending.push_back((seq, now));
            out.push(Io::Send(peer, FdMsg::Ping { seq }));
            if p.pending.len() == 1 {
                self.arm(peer, now, out);
            }
        }
        out.push(Io::SetTimer(FdTimer::Tick, self.detector.ping_interval()));
    }

    /// Sets (or cancels) `peer`'s deadline for its oldest unanswered ping.
    fn arm(&self, peer: NodeId, now: Time, out: &mut Vec<Io>) {
        let p = &self.peers[peer.index()];
        match p.pending.front() {
            Some(&(_, sent)) => {
                let at = sent.saturating_add(p.timeout);
                out.push(Io::SetTimer(FdTimer::Deadline(peer), at - now));
            }
            None => out.push(Io::CancelTimer(FdTimer::Deadline(peer))),
        }
    }
}

/// A node that runs only a failure detector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FdNode {
    fd: FailureDetector,
    io: Vec<Io>,
}

impl FdNode {
    /// A node of a cluster of `nodes` nodes.
    pub fn new(detector: Detector, nodes: usize) -> Self {
        Self { fd: FailureDetector::new(detector, nodes), io: Vec::new() }
    }

    /// The hosted detector.
    pub fn detector(&self) -> &FailureDetector {
        &self.fd
    }

    /// The same node with node ids renamed by `perm` (see [`FailureDetector::relabelled`]).
    pub fn relabelled(&self, perm: &[NodeId]) -> Self {
        let id = |n: NodeId| perm[n.index()];
        let io = self
            .io
            .iter()
            .map(|io| match *io {
                Io::Send(to, msg) => Io::Send(id(to), msg),
                Io::SetTimer(FdTimer::Deadline(p), after) => Io::SetTimer(FdTimer::Deadline(id(p)), after),
                Io::CancelTimer(FdTimer::Deadline(p)) => Io::CancelTimer(FdTimer::Deadline(id(p))),
                Io::Report(Change::Suspect { node, local_ns }) => {
                    Io::Report(Change::Suspect { node: id(node), local_ns })
                }
                Io::Report(Change::Trust { node, local_ns, timeout_ns }) => {
                    Io::Report(Change::Trust { node: id(node), local_ns, timeout_ns })
                }
                ref other => other.clone(),
            })
            .collect();
        Self { fd: self.fd.relabelled(perm), io }
    }

    fn apply(&mut self, ctx: &mut Context<'_, Self>) {
        for io in self.io.drain(..) {
            match io {
                Io::Send(to, msg) => ctx.send(to, msg),
                Io::SetTimer(timer, after) => ctx.set_timer(timer, after),
                Io::CancelTimer(timer) => ctx.cancel_timer(timer),
                Io::Report(change) => ctx.output(change),
            }
        }
    }
}

impl Node for FdNode {
    type Msg = FdMsg;
    type Timer = FdTimer;
    type Output = Change;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.fd.on_start(ctx.peers(), ctx.now(), &mut self.io);
        self.apply(ctx);
    }

    fn on_message(&mut self, from: NodeId, msg: FdMsg, ctx: &mut Context<'_, Self>) {
        self.fd.on_message(from, msg, ctx.now(), &mut self.io);
        self.apply(ctx);
    }

    fn on_timer(&mut self, timer: FdTimer, ctx: &mut Context<'_, Self>) {
        self.fd.on_timer(timer, ctx.peers(), ctx.now(), &mut self.io);
        self.apply(ctx);
    }

    fn invariants(&self) {
        for p in &self.fd.peers {
            assert!(p.pending.iter().zip(p.pending.iter().skip(1)).all(|(a, b)| a.0 < b.0), "pings in order");
        }
    }
}

/// The timing model's kind, as [`validate`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimingKind {
    /// Known bounds on delay and steps.
    Synchronous,
    /// Synchronous except during asynchronous windows.
    PartiallySynchronous,
    /// No bounds.
    Asynchronous,
}

/// The node model's kind, as [`validate`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Nodes never fail.
    Correct,
    /// Crashed nodes never return.
    CrashStop,
    /// Crashed nodes restart.
    CrashRecovery,
    /// Some nodes run an adversarial strategy.
    Byzantine,
}

/// The network model's kind, as [`validate`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkKind {
    /// Every message is delivered exactly once.
    Reliable,
    /// Messages may be lost and duplicated.
    FairLoss,
    /// An adversary decides.
    Arbitrary,
}

/// What [`validate`] needs to know of a system model. **[decision]** The check lives here, as a
/// pure function over plain kinds, so that the protocols crate need not depend on the simulator;
/// each driver translates its own configuration (the simulator's `SimConfig` in
/// `src/scenarios/failure_detector.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelKinds {
    /// Timing.
    pub timing: TimingKind,
    /// Nodes.
    pub nodes: NodeKind,
    /// Network.
    pub network: NetworkKind,
    /// Whether partitions are scheduled (a held message breaks the synchronous delay bound).
    pub partitions: bool,
}

/// The perfect failure detector was asked for where it does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerfectDetectorUnavailable {
    /// The offending part of the model: `timing`, `node_model`, `network` or `partitions`.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

impl fmt::Display for PerfectDetectorUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for PerfectDetectorUnavailable {}

/// Refuses the perfect detector unless the model is synchronous + crash-stop (or correct) +
/// reliable, without partitions (lecture §4.2). The other detectors run anywhere; what they then
/// promise is the caller's business.
pub fn validate(detector: &Detector, model: &ModelKinds) -> Result<(), PerfectDetectorUnavailable> {
    if !matches!(detector, Detector::Perfect(_)) {
        return Ok(());
    }
    let refuse = |field, message: &str| Err(PerfectDetectorUnavailable { field, message: message.to_string() });
    match model.timing {
        TimingKind::Synchronous => {}
        TimingKind::PartiallySynchronous => {
            return refuse(
                "timing",
                "the perfect failure detector exists only under synchronous timing; under partial synchrony \
                 no timeout bounds a round trip (use --detector eventually-perfect)",
            );
        }
        TimingKind::Asynchronous => {
            return refuse(
                "timing",
                "the perfect failure detector exists only under synchronous timing; under asynchronous timing \
                 timeouts mean nothing",
            );
        }
    }
    match model.nodes {
        NodeKind::Correct | NodeKind::CrashStop => {}
        NodeKind::CrashRecovery => {
            return refuse(
                "node_model",
                "the perfect failure detector exists only for crash-stop nodes; a crash-recovery node it \
                 suspected comes back",
            );
        }
        NodeKind::Byzantine => {
            return refuse(
                "node_model",
                "the perfect failure detector exists only for crash-stop nodes; Byzantine faults are not \
                 detectable by timeouts",
            );
        }
    }
    match model.network {
        NetworkKind::Reliable => {}
        NetworkKind::FairLoss => {
            return refuse(
                "network",
                "the perfect failure detector needs reliable links; under fair loss a lost ping looks like \
                 a crash",
            );
        }
        NetworkKind::Arbitrary => {
            return refuse(
                "network",
                "the perfect failure detector needs reliable links; an adversary can drop or delay any reply",
            );
        }
    }
    if model.partitions {
        return refuse("partitions", "the perfect failure detector needs every message delivered within delay_max");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perfect() -> Detector {
        Detector::Perfect(PerfectDetector {
            ping_interval: Duration::from_millis(20),
            delay_max: Duration::from_millis(10),
            step_max: Duration::from_millis(1),
        })
    }

    #[test]
    fn a_silent_peer_is_suspected_after_the_timeout_and_trusted_on_any_message() {
        let d = Detector::EventuallyPerfect(EventuallyPerfectDetector {
            ping_interval: Duration::from_millis(100),
            timeout_initial: Duration::from_millis(30),
            growth: Growth::Double,
        });
        let mut fd = FailureDetector::new(d, 2);
        let mut out = Vec::new();
        fd.on_start(&[NodeId(1)], Time::ZERO, &mut out);
        assert!(out.contains(&Io::SetTimer(FdTimer::Deadline(NodeId(1)), Duration::from_millis(30))));
        out.clear();
        fd.on_timer(FdTimer::Deadline(NodeId(1)), &[NodeId(1)], Time::from_millis(30), &mut out);
        assert!(fd.suspects(NodeId(1)));
        assert_eq!(out[0], Io::Report(Change::Suspect { node: NodeId(1), local_ns: 30_000_000 }));
        out.clear();
        fd.on_message(NodeId(1), FdMsg::Pong { seq: 0 }, Time::from_millis(40), &mut out);
        assert!(!fd.suspects(NodeId(1)));
        assert_eq!(fd.timeout_of(NodeId(1)), Duration::from_millis(60), "doubled after a false suspicion");
    }

    #[test]
    fn the_perfect_detector_exists_only_in_the_synchronous_crash_stop_reliable_model() {
        let good = ModelKinds {
            timing: TimingKind::Synchronous,
            nodes: NodeKind::CrashStop,
            network: NetworkKind::Reliable,
            partitions: false,
        };
        assert_eq!(validate(&perfect(), &good), Ok(()));
        assert_eq!(validate(&perfect(), &ModelKinds { nodes: NodeKind::Correct, ..good }), Ok(()));
        let cases = [
            (ModelKinds { timing: TimingKind::Asynchronous, ..good }, "timing"),
            (ModelKinds { timing: TimingKind::PartiallySynchronous, ..good }, "timing"),
            (ModelKinds { nodes: NodeKind::CrashRecovery, ..good }, "node_model"),
            (ModelKinds { nodes: NodeKind::Byzantine, ..good }, "node_model"),
            (ModelKinds { network: NetworkKind::FairLoss, ..good }, "network"),
            (ModelKinds { network: NetworkKind::Arbitrary, ..good }, "network"),
            (ModelKinds { partitions: true, ..good }, "partitions"),
        ];
        for (model, field) in cases {
            let err = validate(&perfect(), &model).expect_err("refused");
            assert_eq!(err.field, field);
            assert!(err.message.contains("perfect failure detector"));
        }
        let timeout = Detector::Timeout(TimeoutDetector {
            ping_interval: Duration::from_millis(1),
            timeout: Duration::from_millis(1),
        });
        assert_eq!(validate(&timeout, &cases[0].0), Ok(()));
    }
}
