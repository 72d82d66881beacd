//! A failure detector's accuracy under each timing model, as an [`ActorModel`] over the very
//! [`FdNode`]s `herald sim failure-detector` runs: every node pings every other each
//! `ping_interval` and suspects a peer whose oldest ping goes unanswered for its timeout.
//!
//! The network is reliable; nodes may crash (crash-stop, at most `crashes` in all); timer firings
//! are bounded (`timer_fires`) so the state space is finite. Timing:
//!
//! - [`FdTiming::Synchronous`]: every message arrives before the next timer fires
//!   ([`Timing::Synchronous`]), so a pong always beats its ping's deadline.
//! - [`FdTiming::Asynchronous`]: no bound on delay ([`Timing::UnboundedDelay`]): clocks run and
//!   timers fire in deadline order, but a ping or pong may stay in flight past any deadline.
//! - [`FdTiming::PartiallySynchronous`]: unbounded delay until a global stabilisation time (GST)
//!   the checker picks (any step, once; the nodes are not told), then every message arrives
//!   within [`DELAY_MAX`] ([`Timing::PartiallySynchronous`]), possibly taking all of it: a round
//!   trip after GST takes up to `2 · DELAY_MAX` = 20 ms.
//!
//! Properties (a node is *correct* while it has not crashed: crash-stop), each detector against
//! what it promises:
//! - the timeout detector, `strong accuracy` (always): no correct node suspects a correct node;
//! - the eventually perfect detector, `accurate once timeouts grew` (always): no correct node
//!   suspects a correct node whose timeout has already grown past its initial value. Without a
//!   stabilisation time this is the most its promise can say, and asynchrony breaks it.
//! - under partial synchrony, both detectors against the eventually perfect detector's real
//!   promise, `eventual strong accuracy`: there is a time after which no correct node is suspected
//!   by a correct node. **\[decision\]** It is stated as a safety property, checked in every state:
//!   *after GST, each correct node falsely suspects each correct peer at most
//!   [`SUSPICIONS_AFTER_GST`] time(s)* (counted from the observer's recorded `Suspect`
//!   observations at local times after GST's; the model records outputs under this timing). Why not a
//!   liveness property (`eventually` under weak fairness)? Timer firings are bounded, so every
//!   behaviour ends after finitely many steps and then stutters; every false suspicion ends with
//!   the suspected peer's next message, so "eventually no correct node is suspected" would hold
//!   at the end of every behaviour whatever the detector — the bound would decide the verdict,
//!   not the detector. The safety form does not depend on where the budget cuts a run: one false
//!   suspicion too many is a finite witness. Why once: a false suspicion after GST doubles the
//!   eventually perfect detector's timeout from [`TIMEOUT`] (15 ms, below the 20 ms round trip)
//!   to 30 ms (above it), after which a ping sent after GST is always answered in time; a ping
//!   sent before GST is answered by GST + 20 ms, and pings are [`PING_INTERVAL`] = 40 ms apart,
//!   so at most one of them expires after GST, and its suspicion doubles the timeout too. The
//!   fixed timeout stays at 15 ms < 20 ms, so every ping after GST may be falsely suspected:
//!   "eventually accurate" fails for it, and the checker finds a second false suspicion after GST.
//!
//! Nodes are interchangeable (one configuration; the detector's state, timers and observations
//! name peers by id, relabelled consistently by [`Relabel`]), so the model supports symmetry
//! reduction ([`ActorModel::symmetric_nodes`]; `herald check failure-detector --symmetry`).
//!
//! Expected: `strong accuracy` and `accurate once timeouts grew` hold under
//! [`FdTiming::Synchronous`] and fail under [`FdTiming::Asynchronous`] (no timeout is long enough
//! when delay has no bound); under [`FdTiming::PartiallySynchronous`], `eventual strong accuracy`
//! holds for the eventually perfect detector and fails for the fixed timeout.

use crate::actor::{ActorModel, ActorState, Cast, Relabel, Timing};
use crate::model::Property;
use herald_core::NodeId;
use herald_protocols::failure_detector::{
    Change, Detector, EventuallyPerfectDetector, FdMsg, FdNode, FdTimer, Growth, TimeoutDetector,
};
use std::time::Duration;

/// The failure-detector actor system.
pub type FdModel = ActorModel<FdNode>;

/// Time between pings.
pub const PING_INTERVAL: Duration = Duration::from_millis(40);
/// The fixed timeout, and the eventually perfect detector's initial one.
pub const TIMEOUT: Duration = Duration::from_millis(15);
/// Under partial synchrony: the bound on delay after GST. A round trip takes up to twice this,
/// 20 ms: more than [`TIMEOUT`], less than twice it.
pub const DELAY_MAX: Duration = Duration::from_millis(10);
/// Under partial synchrony: how many false suspicions of one correct peer by one correct node
/// `eventual strong accuracy` allows after GST (see the module documentation).
pub const SUSPICIONS_AFTER_GST: usize = 1;

/// Which detector the nodes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// [`TimeoutDetector`]: a fixed timeout.
    Timeout,
    /// [`EventuallyPerfectDetector`]: the timeout doubles after each false suspicion.
    EventuallyPerfect,
}

/// The timing model, as the command line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdTiming {
    /// Messages arrive before the next timer.
    Synchronous,
    /// Unbounded delay.
    Asynchronous,
    /// Unbounded delay until GST, then delay at most [`DELAY_MAX`].
    PartiallySynchronous,
}

/// Why a failure-detector model cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FdError {
    /// Too few or too many nodes.
    #[error("nodes: must be 2 or 3, got {0}")]
    Nodes(usize),
    /// Too many timer firings for the state space.
    #[error("timer_fires: must be 1 to 8, got {0}")]
    TimerFires(u32),
    /// Too many crashes.
    #[error("crashes: must be less than nodes = {nodes}, got {got}")]
    Crashes {
        /// Nodes.
        nodes: usize,
        /// What was asked.
        got: u8,
    },
}

/// The detector of `kind` with this model's constants.
pub fn detector(kind: Kind) -> Detector {
    match kind {
        Kind::Timeout => Detector::Timeout(TimeoutDetector { ping_interval: PING_INTERVAL, timeout: TIMEOUT }),
        Kind::EventuallyPerfect => Detector::EventuallyPerfect(EventuallyPerfectDetector {
            ping_interval: PING_INTERVAL,
            timeout_initial: TIMEOUT,
            growth: Growth::Double,
        }),
    }
}

/// `nodes` nodes running `kind` under `timing`, with at most `timer_fires` timer firings and
/// `crashes` crashes in all.
pub fn model(kind: Kind, timing: FdTiming, nodes: usize, timer_fires: u32, crashes: u8) -> Result<FdModel, FdError> {
    if !(2..=3).contains(&nodes) {
        return Err(FdError::Nodes(nodes));
    }
    if !(1..=8).contains(&timer_fires) {
        return Err(FdError::TimerFires(timer_fires));
    }
    if usize::from(crashes) >= nodes {
        return Err(FdError::Crashes { nodes, got: crashes });
    }
    let d = detector(kind);
    let cast = Cast {
        name: format!("{} detector, {nodes} nodes", d.name()),
        nodes: (0..nodes).map(|_| Some(FdNode::new(d, nodes))).collect(),
        domain: Vec::new(),
    };
    let factory = |cast: &Cast<FdNode>, id: NodeId| cast.nodes[id.index()].clone().expect("no Byzantine nodes");
    let mut model = ActorModel::new(vec![cast], factory)
        .and_then(ActorModel::symmetric_nodes)
        .expect("one well-formed cast of interchangeable nodes");
    model.timing = match timing {
        FdTiming::Synchronous => Timing::Synchronous,
        FdTiming::Asynchronous => Timing::UnboundedDelay,
        FdTiming::PartiallySynchronous => Timing::PartiallySynchronous { delay_max: DELAY_MAX },
    };
    model.timer_fires_max = timer_fires;
    model.crashes_max = crashes;
    if timing == FdTiming::PartiallySynchronous {
        // Both detectors against the eventually perfect detector's promise: the contrast.
        model.record_outputs = true;
        return Ok(model.property(|| {
            Property::always("eventual strong accuracy", |m, s| {
                false_suspicions_after_gst(m, s).iter().all(|&(_, _, n)| n <= SUSPICIONS_AFTER_GST)
            })
        }));
    }
    // Each detector is checked against what it promises.
    Ok(match kind {
        Kind::Timeout => {
            model.property(|| Property::always("strong accuracy", |_, s| false_suspicions(s, |_| true).is_empty()))
        }
        Kind::EventuallyPerfect => model.property(|| {
            Property::always("accurate once timeouts grew", |_, s| {
                false_suspicions(s, |(fd, peer)| fd.detector().timeout_of(peer) > TIMEOUT).is_empty()
            })
        }),
    })
}

/// Every (observer, suspected) pair of correct nodes where the observer suspects the other and
/// `filter` accepts the observer's node and the suspected id.
pub fn false_suspicions(s: &ActorState<FdNode>, filter: impl Fn((&FdNode, NodeId)) -> bool) -> Vec<(NodeId, NodeId)> {
    let mut out = Vec::new();
    for (i, fd) in s.nodes.iter().enumerate() {
        let Some(fd) = fd else { continue };
        for (j, other) in s.nodes.iter().enumerate() {
            let peer = NodeId(j as u32);
            if j != i && other.is_some() && fd.detector().suspects(peer) && filter((fd, peer)) {
                out.push((NodeId(i as u32), peer));
            }
        }
    }
    out
}

/// For each (observer, suspected) pair of correct nodes: how many times the observer suspected the
/// other at a local time after GST (none before GST). Needs recorded outputs.
pub fn false_suspicions_after_gst(m: &FdModel, s: &ActorState<FdNode>) -> Vec<(NodeId, NodeId, usize)> {
    let Some(gst) = s.gst else { return Vec::new() };
    let mut out = Vec::new();
    for (i, fd) in s.nodes.iter().enumerate() {
        if fd.is_none() {
            continue;
        }
        let changes = m.outputs(s, NodeId(i as u32));
        for (j, other) in s.nodes.iter().enumerate() {
            if j == i || other.is_none() {
                continue;
            }
            let peer = NodeId(j as u32);
            let n = changes
                .iter()
                .filter(|c| matches!(c, Change::Suspect { node, local_ns } if *node == peer && *local_ns > gst))
                .count();
            out.push((NodeId(i as u32), peer, n));
        }
    }
    out
}

impl Relabel for FdNode {
    fn relabel(&self, perm: &[NodeId]) -> Self {
        self.relabelled(perm)
    }
}

impl Relabel for FdMsg {
    fn relabel(&self, _: &[NodeId]) -> Self {
        *self // pings and pongs name no node
    }
}

impl Relabel for FdTimer {
    fn relabel(&self, perm: &[NodeId]) -> Self {
        match *self {
            Self::Tick => Self::Tick,
            Self::Deadline(p) => Self::Deadline(perm[p.index()]),
        }
    }
}

impl Relabel for Change {
    fn relabel(&self, perm: &[NodeId]) -> Self {
        match *self {
            Self::Suspect { node, local_ns } => Self::Suspect { node: perm[node.index()], local_ns },
            Self::Trust { node, local_ns, timeout_ns } => {
                Self::Trust { node: perm[node.index()], local_ns, timeout_ns }
            }
        }
    }
}
