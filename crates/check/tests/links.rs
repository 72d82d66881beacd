//! RetryDedupLink turns a lossy, duplicating network into exactly-once delivery; without it the
//! same network delivers twice. Both checked on the simulator's own nodes.

use herald_check::actor::ActorAction;
use herald_check::models::links::{bare, retry_dedup};
use herald_check::{Options, Strategy, Verdict, check};

#[test]
fn retry_dedup_delivers_at_most_once_and_can_deliver_everything() {
    let m = retry_dedup(2, 1, 3).unwrap();
    let one = check(&m, &Options { strategy: Strategy::Dfs, threads: 1, ..Options::default() }).unwrap();
    let two = check(&m, &Options { strategy: Strategy::Dfs, threads: 2, ..Options::default() }).unwrap();
    assert!(one.complete());
    assert_eq!(one.property("at most once").unwrap().verdict, Verdict::Holds);
    assert_eq!(one.property("nothing forged").unwrap().verdict, Verdict::Holds);
    assert_eq!(one.property("all delivered").unwrap().verdict, Verdict::Holds);
    assert_eq!((one.unique_states, one.states), (two.unique_states, two.states));
}

#[test]
fn without_the_link_a_duplicating_network_delivers_twice() {
    let m = bare(2, 1).unwrap();
    let r = check(&m, &Options::default()).unwrap();
    let p = r.property("at most once").unwrap();
    assert_eq!(p.verdict, Verdict::Violated);
    let path = p.path.as_ref().unwrap();
    assert!(path.replays_on(&m));
    assert_eq!(path.actions.len(), 3, "duplicate, deliver, deliver");
    assert!(matches!(path.actions[0], ActorAction::Duplicate(_)));
}

#[test]
fn bad_link_configurations_name_their_field() {
    assert!(retry_dedup(0, 1, 3).unwrap_err().to_string().starts_with("messages"));
    assert!(retry_dedup(2, 9, 3).unwrap_err().to_string().starts_with("duplicates"));
    assert!(retry_dedup(2, 1, 60).unwrap_err().to_string().starts_with("timer_fires"));
}
