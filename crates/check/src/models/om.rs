//! Byzantine OM(m) as an [`ActorModel`]: the very `LockStep<Om>` nodes the simulator runs, under
//! the synchronous timing model on a reliable network, with every placement of the traitors and
//! both commander orders as initial states, and the traitors as nondeterministic strategies over
//! every well-formed OM message they could send (any instance path ending with themselves, either
//! order, to any lieutenant of that instance, tagged with the instance's round; each at most once,
//! or never). A message for round r is sent at the start of round r: `LockStep` holds an earlier
//! one until round r and drops a later one, so no other sending time changes an outcome.
//!
//! Properties (the paper's interactive consistency, over loyal lieutenants' decisions):
//! - `IC1` (always): no two loyal lieutenants decide differently;
//! - `IC2` (always): with a loyal commander, no loyal lieutenant decides other than its order;
//! - `loyal lieutenants decide` (eventually, under weak fairness of delivery and timers).
//!
//! Theorem 1 predicts OM(1) holds with 4 generals and 1 traitor, and no algorithm can work with 3.

use crate::actor::{ActorModel, ActorState, Cast, Forgery, Timing, subsets};
use crate::model::Property;
use herald_core::NodeId;
use herald_core::rounds::{LockStep, Tagged};
use herald_core::time::nanos;
use herald_protocols::byzantine::om::{self, Majority, Om, OmConfig, OmMsg, Path};
use herald_protocols::byzantine::{COMMANDER, Order};
use std::time::Duration;

/// The OM actor system.
pub type OmModel = ActorModel<LockStep<Om>>;

/// How long a lock-step round lasts (any positive value: the checker's synchronous model orders
/// deliveries before the next round's timers).
pub const ROUND: Duration = Duration::from_millis(10);

/// Why an OM model cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OmError {
    /// Too few or too many generals.
    #[error("generals: must be between 3 and 7, got {0}")]
    Generals(usize),
    /// More traitors than generals, or none at all is fine but more than n - 1 is not.
    #[error("traitors: must be at most generals - 1 = {max}, got {got}")]
    Traitors {
        /// The most allowed.
        max: usize,
        /// What was asked.
        got: usize,
    },
    /// m too large for the state space.
    #[error("m: must be 1 or 2 and less than generals - 1, got {0}")]
    M(usize),
}

fn honest(state: &ActorState<LockStep<Om>>) -> impl Iterator<Item = (usize, &Om)> + '_ {
    state.nodes.iter().enumerate().filter_map(|(i, n)| n.as_ref().map(|n| (i, n.inner())))
}

/// OM(m) with `generals` generals and `traitors` traitors.
pub fn model(generals: usize, traitors: usize, m: usize, majority: Majority) -> Result<OmModel, OmError> {
    if !(3..=7).contains(&generals) {
        return Err(OmError::Generals(generals));
    }
    if traitors >= generals {
        return Err(OmError::Traitors { max: generals - 1, got: traitors });
    }
    if !(1..=2).contains(&m) || m + 1 >= generals {
        return Err(OmError::M(m));
    }
    let mut casts = Vec::new();
    for faulty in subsets(generals, traitors) {
        for order in [Order::Attack, Order::Retreat] {
            let config = OmConfig { generals, m, order, majority };
            let nodes = NodeId::range(generals)
                .map(|id| (!faulty.contains(&id)).then(|| om::lock_step(config.clone(), id, ROUND)))
                .collect();
            let mut domain = Vec::new();
            for &j in &faulty {
                for len in 1..=m + 1 {
                    let paths: Vec<Path> = if len == 1 {
                        if j == COMMANDER { vec![Path::root()] } else { Vec::new() }
                    } else {
                        om::paths(generals, len - 1, Some(j)).into_iter().map(|p| p.child(j)).collect()
                    };
                    for path in paths {
                        for to in path.lieutenants(generals).collect::<Vec<_>>() {
                            for o in [Order::Attack, Order::Retreat] {
                                let msg = Tagged { round: len as u32, msg: OmMsg { path: path.clone(), order: o } };
                                let start = nanos(ROUND) * (len as u64 - 1);
                                domain.push(Forgery { from: j, to, msg, window: Some((start, start)) });
                            }
                        }
                    }
                }
            }
            let ids: Vec<String> = faulty.iter().map(|g| g.0.to_string()).collect();
            let name = format!("traitors {{{}}}, commander's order {order:?}", ids.join(", "));
            casts.push(Cast { name, nodes, domain });
        }
    }
    let factory = |cast: &Cast<LockStep<Om>>, id: NodeId| {
        cast.nodes[id.index()].clone().expect("only honest nodes crash and recover")
    };
    let mut model = ActorModel::new(casts, factory).expect("casts are well formed by construction");
    model.timing = Timing::Synchronous;
    Ok(model
        .property(|| {
            Property::always("IC1", |_, s| {
                let mut decided = honest(s).filter(|(i, _)| *i != COMMANDER.index()).filter_map(|(_, n)| n.decision());
                let first = decided.next();
                decided.all(|d| Some(d) == first)
            })
        })
        .property(|| {
            Property::always("IC2", |_, s: &ActorState<LockStep<Om>>| {
                let Some(commander) = s.nodes[COMMANDER.index()].as_ref() else { return true };
                let order = commander.inner().config().order;
                honest(s).filter(|(i, _)| *i != COMMANDER.index()).all(|(_, n)| n.decision().is_none_or(|d| d == order))
            })
        })
        .property(|| {
            Property::eventually("loyal lieutenants decide", |_, s| {
                honest(s).filter(|(i, _)| *i != COMMANDER.index()).all(|(_, n)| n.decision().is_some())
            })
        }))
}
