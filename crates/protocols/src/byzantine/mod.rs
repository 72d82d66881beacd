//! The Byzantine generals problem (Lamport, Shostak & Pease 1982; lecture §2.2).
//!
//! A commanding general sends an order to n − 1 lieutenants; up to m generals (the commander
//! included) are traitors who may send anything. The loyal lieutenants must satisfy the
//! *interactive consistency* conditions:
//!
//! - **IC1** — all loyal lieutenants obey the same order;
//! - **IC2** — if the commander is loyal, every loyal lieutenant obeys the order it sent.
//!
//! This module holds what the algorithms share: the orders, the default, and the two conditions
//! as pure functions over decisions (the oracles ignore traitors' decisions). The algorithms are
//! [`om`] (oral messages, OM(m), needs n > 3m) and [`sm`] (signed messages, SM(m), any number of
//! traitors with n ≥ m + 2).

pub mod om;
pub mod sm;

use herald_core::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// An order. `Attack < Retreat`, so the median of an ordered set is well defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Order {
    /// Attack.
    Attack,
    /// Retreat.
    Retreat,
}

/// The order a lieutenant uses when a message is missing (assumption A3) or no value wins.
pub const DEFAULT_ORDER: Order = Order::Retreat;

/// The commander of every instance is general 0.
pub const COMMANDER: NodeId = NodeId(0);

/// What the loyal lieutenants decided, and whether the conditions hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// IC1: every loyal lieutenant decided the same.
    pub ic1: bool,
    /// IC2: with a loyal commander, every loyal lieutenant decided its order.
    pub ic2: bool,
}

/// Judges the decisions of one run. `decisions` may include traitors; they are ignored. A loyal
/// lieutenant with no decision counts as having decided nothing, which breaks both conditions.
pub fn judge(
    generals: usize,
    traitors: &BTreeSet<NodeId>,
    commander_order: Order,
    decisions: &BTreeMap<NodeId, Order>,
) -> Verdict {
    let loyal: Vec<NodeId> = NodeId::range(generals).filter(|g| *g != COMMANDER && !traitors.contains(g)).collect();
    let decided: Vec<Option<Order>> = loyal.iter().map(|g| decisions.get(g).copied()).collect();
    let ic1 = decided.iter().all(|d| d.is_some() && *d == decided[0]) || decided.is_empty();
    let ic2 = traitors.contains(&COMMANDER) || decided.iter().all(|d| *d == Some(commander_order));
    Verdict { ic1, ic2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions(v: &[(u32, Order)]) -> BTreeMap<NodeId, Order> {
        v.iter().map(|(g, o)| (NodeId(*g), *o)).collect()
    }

    #[test]
    fn traitors_decisions_are_ignored_and_ic2_needs_a_loyal_commander() {
        use Order::*;
        let none = BTreeSet::new();
        let l3 = BTreeSet::from([NodeId(3)]);
        let c = BTreeSet::from([COMMANDER]);
        let d = decisions(&[(1, Attack), (2, Attack), (3, Retreat)]);
        assert_eq!(judge(4, &l3, Attack, &d), Verdict { ic1: true, ic2: true });
        assert_eq!(judge(4, &none, Attack, &d), Verdict { ic1: false, ic2: false });
        let split = decisions(&[(1, Attack), (2, Retreat)]);
        assert_eq!(judge(3, &c, Attack, &split), Verdict { ic1: false, ic2: true });
        assert_eq!(judge(3, &none, Attack, &decisions(&[(1, Attack)])), Verdict { ic1: false, ic2: false });
    }
}
