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
//!
//! Properties (a node is *correct* while it has not crashed: crash-stop), each detector against
//! what it promises:
//! - the timeout detector, `strong accuracy` (always): no correct node suspects a correct node;
//! - the eventually perfect detector, `accurate once timeouts grew` (always): no correct node
//!   suspects a correct node whose timeout has already grown past its initial value — its promise
//!   once it has learnt the delays, as far as a model without a stabilisation time can state it.
//!   (Eventual accuracy needs partial synchrony, which this checker does not model.)
//!
//! Expected: both hold under [`FdTiming::Synchronous`]; under [`FdTiming::Asynchronous`] both
//! fail — a correct node is suspected, and suspected again after its timeout doubled, because no
//! timeout is long enough when delay has no bound.

use crate::actor::{ActorModel, ActorState, Cast, Timing};
use crate::model::Property;
use herald_core::NodeId;
use herald_protocols::failure_detector::{Detector, EventuallyPerfectDetector, FdNode, Growth, TimeoutDetector};
use std::time::Duration;

/// The failure-detector actor system.
pub type FdModel = ActorModel<FdNode>;

/// Time between pings.
pub const PING_INTERVAL: Duration = Duration::from_millis(40);
/// The fixed timeout, and the eventually perfect detector's initial one.
pub const TIMEOUT: Duration = Duration::from_millis(15);

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
    let mut model = ActorModel::new(vec![cast], factory).expect("one well-formed cast");
    model.timing = match timing {
        FdTiming::Synchronous => Timing::Synchronous,
        FdTiming::Asynchronous => Timing::UnboundedDelay,
    };
    model.timer_fires_max = timer_fires;
    model.crashes_max = crashes;
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
