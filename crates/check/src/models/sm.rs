//! Byzantine SM(1) as an [`ActorModel`]: the very `LockStep<Sm>` nodes the simulator runs (real
//! Ed25519 signatures, keys derived from a fixed seed), under the synchronous timing model on a
//! reliable network, with every placement of the traitors and both commander orders as initial
//! states.
//!
//! The traitors are nondeterministic strategies over every message they could send (each at most
//! once, or never), to every loyal lieutenant, tagged with round 1 or 2:
//!
//! - a traitorous commander: `v:0` for either order v, correctly signed;
//! - a traitorous lieutenant t: `v:0:t`. The commander's link is genuine when the coalition can
//!   produce it — the commander is a traitor too, or v is the loyal commander's order, which t
//!   received in round 1 (so that message is sent no earlier than round 2) — and otherwise a
//!   forgery signed with a traitor's key (which V4 must reject). Nothing signed with a loyal
//!   general's key is ever made up.
//!
//! A message for round r is sent at the start of round r: `LockStep` holds an earlier one until
//! round r and drops a later one, so no other sending time changes an outcome. Messages to the
//! commander (which ignores everything) and to other traitors (which run no code) are left out.
//!
//! Properties (over loyal lieutenants' decisions):
//! - `IC1` (always): no two loyal lieutenants decide differently;
//! - `IC2` (always): with a loyal commander, no loyal lieutenant decides other than its order;
//! - `loyal lieutenants decide` (eventually, under weak fairness of delivery and timers).
//!
//! [`model_with`] takes the run's [`SmConfig`]: the negative control in `tests/sm.rs` passes one
//! with the protocol's test-only D1 ablation, and a traitorous commander's late second order then
//! breaks IC1 among 3 generals.

use crate::actor::{ActorModel, ActorState, Cast, Forgery, Timing, subsets};
use crate::model::Property;
use herald_core::NodeId;
use herald_core::rounds::{LockStep, Tagged};
use herald_core::time::nanos;
use herald_protocols::byzantine::sm::{Keys, ROUND_LENGTH, Setup, SignedOrder, Sm, SmConfig};
use herald_protocols::byzantine::{COMMANDER, Order};
use std::collections::BTreeSet;

/// The SM actor system.
pub type SmModel = ActorModel<LockStep<Sm>>;

/// The seed the run's keys are derived from (any fixed value: the checker explores behaviours,
/// not keys).
pub const KEY_SEED: u64 = 0;

/// Why an SM model cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// Too few or too many generals.
    #[error("generals: must be 3 or 4 for SM(1), got {0}")]
    Generals(usize),
    /// Too many traitors.
    #[error("traitors: must be at most generals - 1 = {max}, got {got}")]
    Traitors {
        /// The most allowed.
        max: usize,
        /// What was asked.
        got: usize,
    },
}

fn loyal_lieutenants(state: &ActorState<LockStep<Sm>>) -> impl Iterator<Item = &Sm> + '_ {
    state.nodes.iter().skip(1).flatten().map(LockStep::inner)
}

/// The rounds a message may be tagged with (SM(1) has rounds 1 and 2).
const ROUNDS: [u32; 2] = [1, 2];

/// SM(1) with `generals` generals and `traitors` traitors.
pub fn model(generals: usize, traitors: usize) -> Result<SmModel, SmError> {
    model_with(SmConfig::new(generals, 1), traitors)
}

/// SM(1) run with `config` (its `generals`; `m` must be 1) and `traitors` traitors.
pub fn model_with(config: SmConfig, traitors: usize) -> Result<SmModel, SmError> {
    let generals = config.generals;
    if !(3..=4).contains(&generals) || config.m != 1 {
        return Err(SmError::Generals(generals));
    }
    if traitors >= generals {
        return Err(SmError::Traitors { max: generals - 1, got: traitors });
    }
    let keys = Keys::derive(KEY_SEED, generals).memoized();
    let mut casts = Vec::new();
    for faulty in subsets(generals, traitors) {
        for order in [Order::Attack, Order::Retreat] {
            let setup = Setup::with_keys(config.clone(), order, faulty.clone(), keys.clone());
            let nodes = NodeId::range(generals).map(|id| (!faulty.contains(&id)).then(|| setup.node(id))).collect();
            let domain = domain(&setup, &keys, order);
            let ids: Vec<String> = faulty.iter().map(|g| g.0.to_string()).collect();
            let name = format!("traitors {{{}}}, commander's order {order:?}", ids.join(", "));
            casts.push(Cast { name, nodes, domain });
        }
    }
    let factory =
        |cast: &Cast<LockStep<Sm>>, id: NodeId| cast.nodes[id.index()].clone().expect("only honest nodes recover");
    let mut model = ActorModel::new(casts, factory).expect("casts are well formed by construction");
    model.timing = Timing::Synchronous;
    Ok(model
        .property(|| {
            Property::always("IC1", |_, s| {
                let mut decided = loyal_lieutenants(s).filter_map(Sm::decided);
                let first = decided.next();
                decided.all(|d| Some(d) == first)
            })
        })
        .property(|| {
            Property::always("IC2", |_, s: &ActorState<LockStep<Sm>>| {
                let Some(order) = s.nodes[COMMANDER.index()].as_ref().and_then(|c| c.inner().command()) else {
                    return true;
                };
                loyal_lieutenants(s).all(|n| n.decided().is_none_or(|d| d == order))
            })
        })
        .property(|| {
            Property::eventually("loyal lieutenants decide", |_, s| loyal_lieutenants(s).all(|n| n.decided().is_some()))
        }))
}

/// Every message the traitors of `setup` may send (see the module documentation).
fn domain(setup: &Setup, keys: &Keys, order: Order) -> Vec<Forgery<Tagged<SignedOrder>>> {
    let kit = setup.kit();
    let config = &setup.config;
    let traitors = &setup.traitors;
    let loyal: Vec<NodeId> = kit.loyal_lieutenants().collect();
    let mut domain = Vec::new();
    for &t in traitors {
        for value in [Order::Attack, Order::Retreat] {
            // The chain t can send for `value`, and the first round it can have it by.
            let (chain, earliest) = if t == COMMANDER {
                (kit.fresh(value).expect("the commander is a traitor"), 1)
            } else if let Some(fresh) = kit.fresh(value) {
                (kit.sign_as(t, &fresh).expect("t is a traitor"), 1)
            } else if value == order {
                // The loyal commander's own signature, as t receives it in round 1.
                let genuine =
                    SignedOrder::issue(config.instance, config.seq, value, COMMANDER, keys.signing(COMMANDER));
                (kit.sign_as(t, &genuine).expect("t is a traitor"), 2)
            } else {
                (kit.sign_as(t, &kit.forged(value)).expect("t is a traitor"), 1)
            };
            for &to in loyal.iter().filter(|&&l| !chain.signed_by(l)) {
                for round in ROUNDS.into_iter().filter(|&r| r >= earliest) {
                    let start = nanos(ROUND_LENGTH) * u64::from(round - 1);
                    let msg = Tagged { round, msg: chain.clone() };
                    domain.push(Forgery { from: t, to, msg, window: Some((start, start)) });
                }
            }
        }
    }
    domain
}

/// Whether `msg` carries a valid signature chain under the model's keys (for tests and reports:
/// a forgery in the domain is one that does not).
pub fn genuine(generals: usize, msg: &SignedOrder) -> bool {
    msg.verify(Keys::derive(KEY_SEED, generals).public(), &mut 0).is_ok()
}

/// The traitors of a cast, by its initial state.
pub fn traitors_of(state: &ActorState<LockStep<Sm>>) -> BTreeSet<NodeId> {
    state.nodes.iter().enumerate().filter(|(_, n)| n.is_none()).map(|(i, _)| NodeId(i as u32)).collect()
}
