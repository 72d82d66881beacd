//! Byzantine SM(1) checked on the simulator's own nodes: signatures make 3 generals enough, and
//! without the D1 deadline rule they do not.

use herald_check::actor::ActorAction;
use herald_check::models::sm::{genuine, model, model_with, traitors_of};
use herald_check::{Model, Options, Verdict, check};
use herald_protocols::byzantine::COMMANDER;
use herald_protocols::byzantine::sm::SmConfig;

#[test]
fn sm1_with_three_generals_and_one_traitor_holds_for_every_traitor_behaviour() {
    let m = model(3, 1).unwrap();
    // Three placements, two orders each; the traitors' domains hold forgeries as well as genuine chains.
    assert_eq!(m.casts().len(), 6);
    let all: Vec<_> = m.casts().iter().flat_map(|c| &c.domain).collect();
    assert!(all.iter().any(|f| !genuine(3, &f.msg.msg)), "a traitorous lieutenant tries forging the other order");
    assert!(all.iter().any(|f| genuine(3, &f.msg.msg)));
    assert!(all.iter().all(|f| f.from == COMMANDER || genuine(3, &f.msg.msg) || f.msg.msg.chain.len() == 2));
    let r = check(&m, &Options { threads: 2, ..Options::default() }).unwrap();
    assert!(r.complete());
    for name in ["IC1", "IC2", "loyal lieutenants decide"] {
        assert_eq!(r.property(name).unwrap().verdict, Verdict::Holds, "{name}");
    }
    assert!(r.unique_states > 100, "every placement, order and interleaving: {}", r.unique_states);
}

/// The negative control: the protocol's own test-only ablation of the D1 deadline rule.
fn without_deadline() -> herald_check::models::sm::SmModel {
    model_with(SmConfig::new(3, 1).ablate_deadline_for_tests(), 1).unwrap()
}

#[test]
fn without_the_deadline_rule_a_late_second_order_breaks_ic1() {
    let m = without_deadline();
    let r = check(&m, &Options { threads: 2, ..Options::default() }).unwrap();
    let ic1 = r.property("IC1").unwrap();
    assert_eq!(ic1.verdict, Verdict::Violated);
    let path = ic1.path.as_ref().unwrap();
    assert!(path.replays_on(&m));
    // The traitor is the commander, and it sent a round-2 order (too late for a relay).
    assert_eq!(traitors_of(&path.states[0]), [COMMANDER].into());
    let forged: Vec<_> = path
        .actions
        .iter()
        .filter_map(|a| match a {
            ActorAction::Forge(k) => Some(&m.cast_of(&path.states[0]).domain[*k]),
            _ => None,
        })
        .collect();
    assert!(forged.iter().any(|f| f.msg.round == 2), "{forged:?}");
    let last = path.last();
    let decisions: Vec<_> = (1..3).map(|i| last.nodes[i].as_ref().unwrap().inner().decided()).collect();
    assert!(decisions.iter().all(Option::is_some));
    assert_ne!(decisions[0], decisions[1]);

    // Exhaustive checking from the middle of that run: from the state after the late order was
    // sent, every continuation is explored, and the violation is found again, sooner.
    let late = path
        .actions
        .iter()
        .position(|a| matches!(a, ActorAction::Forge(k) if m.cast_of(&path.states[0]).domain[*k].msg.round == 2))
        .unwrap();
    let root = path.states[late + 1].clone();
    let from_root = without_deadline().starting_from(vec![root.clone()]);
    let r = check(&from_root, &Options { threads: 1, ..Options::default() }).unwrap();
    let again = r.property("IC1").unwrap();
    assert_eq!(again.verdict, Verdict::Violated);
    let again = again.path.as_ref().unwrap();
    assert_eq!(again.states[0], root);
    assert_eq!(again.actions.len(), path.actions.len() - late - 1, "BFS from the root is as short as the rest");
    assert!(r.unique_states < 100, "only the continuations: {}", r.unique_states);
    // From the faithful model's initial state of the same cast, D1 holds the line.
    let faithful = model(3, 1).unwrap();
    let init = faithful.init_states().swap_remove(usize::from(path.states[0].cast));
    let r = check(&faithful.starting_from(vec![init]), &Options { threads: 1, ..Options::default() }).unwrap();
    assert_eq!(r.property("IC1").unwrap().verdict, Verdict::Holds);
}

#[test]
fn bad_sm_configurations_name_their_field() {
    assert!(model(2, 1).unwrap_err().to_string().starts_with("generals"));
    assert!(model(3, 3).unwrap_err().to_string().starts_with("traitors"));
}
