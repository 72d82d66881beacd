//! Byzantine OM(1) checked on the simulator's own nodes: Theorem 1 and its converse for n = 3.

use herald_check::actor::ActorAction;
use herald_check::models::om::model;
use herald_check::{Options, Strategy, Verdict, check};
use herald_core::trace::EventKind;
use herald_protocols::byzantine::om::Majority;

#[test]
fn om1_with_three_generals_and_one_traitor_fails_with_a_shortest_counterexample() {
    let m = model(3, 1, 1, Majority::StrictOrDefault).unwrap();
    let one = check(&m, &Options { threads: 1, ..Options::default() }).unwrap();
    let two = check(&m, &Options { threads: 2, ..Options::default() }).unwrap();
    assert!(one.violated());
    let ic2 = one.property("IC2").unwrap();
    assert_eq!(ic2.verdict, Verdict::Violated, "a traitorous lieutenant makes the other one disobey");
    let path = ic2.path.as_ref().unwrap();
    assert!(path.replays_on(&m));
    // The last state: the commander is loyal, and a loyal lieutenant decided against its order.
    let last = path.last();
    let commander = last.nodes[0].as_ref().expect("IC2 fails only under a loyal commander");
    let order = commander.inner().config().order;
    let disobeyed = last.nodes[1..].iter().flatten().any(|n| n.inner().decision().is_some_and(|d| d != order));
    assert!(disobeyed);
    assert!(path.actions.iter().any(|a| matches!(a, ActorAction::Fire(..))), "rounds end by timers");
    assert_eq!(two.property("IC2").unwrap().path, ic2.path, "the same counterexample on 2 threads");
    assert_eq!(one.unique_states, two.unique_states);
    // Its trace shows the sends and deliveries of the real nodes.
    let events = path.trace_events(&m);
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::Send { .. })));
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::Deliver { .. })));
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::Output { .. })), "the decision is in the trace");
}

#[test]
fn om1_with_four_generals_and_one_traitor_holds_for_every_traitor_behaviour() {
    let m = model(4, 1, 1, Majority::StrictOrDefault).unwrap();
    let r = check(&m, &Options { strategy: Strategy::Dfs, threads: 2, ..Options::default() }).unwrap();
    assert!(r.complete());
    for name in ["IC1", "IC2", "loyal lieutenants decide"] {
        assert_eq!(r.property(name).unwrap().verdict, Verdict::Holds, "{name}");
    }
    assert!(r.unique_states > 1000, "every placement, order and traitor message interleaving: {}", r.unique_states);
}

#[test]
fn bad_om_configurations_name_their_field() {
    assert!(model(2, 1, 1, Majority::StrictOrDefault).unwrap_err().to_string().starts_with("generals"));
    assert!(model(4, 4, 1, Majority::StrictOrDefault).unwrap_err().to_string().starts_with("traitors"));
    assert!(model(4, 1, 3, Majority::StrictOrDefault).unwrap_err().to_string().starts_with("m"));
}
