//! No acknowledgement chain solves the two generals: the checker finds the lone attacker the
//! lecture's proof predicts, on the simulator's own nodes.

use herald_check::models::two_generals::ack_chain;
use herald_check::{Options, Verdict, check};
use herald_protocols::two_generals::lone_attacker;

#[test]
fn every_ack_chain_has_a_run_with_a_lone_attacker() {
    for stages in 1..=4 {
        for messengers in 1..=2 {
            let m = ack_chain(stages, messengers).unwrap();
            let r = check(&m, &Options { threads: 2, ..Options::default() }).unwrap();
            assert_eq!(r.property("both attack").unwrap().verdict, Verdict::Holds, "not trivially safe");
            let p = r.property("agreement").unwrap();
            assert_eq!(p.verdict, Verdict::Violated, "d = {stages}, k = {messengers}");
            let path = p.path.as_ref().unwrap();
            assert!(path.replays_on(&m));
            // The sender of the last stage attacks alone: its last messengers were all captured.
            let last = path.last();
            let attacker = lone_attacker(stages);
            let decided: Vec<Option<bool>> = last.nodes.iter().map(|n| n.as_ref().unwrap().decision()).collect();
            assert_eq!(decided[attacker.index()], Some(true));
            assert_eq!(decided[1 - attacker.index()], Some(false));
        }
    }
    assert!(ack_chain(0, 1).unwrap_err().to_string().starts_with("stages"));
    assert!(ack_chain(2, 9).unwrap_err().to_string().starts_with("messengers"));
}
