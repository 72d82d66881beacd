//! TwoPhase: the checker's unique-state counts agree with an independent, plainly written BFS over
//! the same TLA+ specification, for every search strategy and thread count.

use herald_check::models::two_phase::TwoPhase;
use herald_check::{Expectation, Options, Strategy, Verdict, check};
use std::collections::{BTreeSet, VecDeque};

/// The TwoPhase spec written as directly as possible: sets and vectors, no packing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Plain {
    rm: Vec<&'static str>,
    tm: &'static str,
    tm_prepared: BTreeSet<usize>,
    msgs: BTreeSet<(&'static str, usize)>,
}

fn plain_next(s: &Plain, n: usize) -> Vec<Plain> {
    let mut out = Vec::new();
    if s.tm == "init" && s.tm_prepared.len() == n {
        let mut t = s.clone();
        t.tm = "committed";
        t.msgs.insert(("commit", 0));
        out.push(t);
    }
    if s.tm == "init" {
        let mut t = s.clone();
        t.tm = "aborted";
        t.msgs.insert(("abort", 0));
        out.push(t);
    }
    for rm in 0..n {
        if s.tm == "init" && s.msgs.contains(&("prepared", rm)) {
            let mut t = s.clone();
            t.tm_prepared.insert(rm);
            out.push(t);
        }
        if s.rm[rm] == "working" {
            let mut t = s.clone();
            t.rm[rm] = "prepared";
            t.msgs.insert(("prepared", rm));
            out.push(t);
            let mut t = s.clone();
            t.rm[rm] = "aborted";
            out.push(t);
        }
        if s.msgs.contains(&("commit", 0)) {
            let mut t = s.clone();
            t.rm[rm] = "committed";
            out.push(t);
        }
        if s.msgs.contains(&("abort", 0)) {
            let mut t = s.clone();
            t.rm[rm] = "aborted";
            out.push(t);
        }
    }
    out
}

/// (unique states, generated states, every state consistent) by naive BFS.
fn plain_bfs(n: usize) -> (u64, u64, bool) {
    let init = Plain { rm: vec!["working"; n], tm: "init", tm_prepared: BTreeSet::new(), msgs: BTreeSet::new() };
    let mut seen = BTreeSet::from([init.clone()]);
    let mut queue = VecDeque::from([init]);
    let mut generated = 1;
    let mut consistent = true;
    while let Some(s) = queue.pop_front() {
        consistent &= !(s.rm.contains(&"committed") && s.rm.contains(&"aborted"));
        for t in plain_next(&s, n) {
            generated += 1;
            if seen.insert(t.clone()) {
                queue.push_back(t);
            }
        }
    }
    (seen.len() as u64, generated, consistent)
}

fn opts(strategy: Strategy, threads: usize) -> Options {
    Options { strategy, threads, ..Options::default() }
}

#[test]
fn unique_states_match_an_independent_bfs_of_the_spec() {
    // TLC reports 288 distinct states for TwoPhase with three RMs; the plain BFS must agree.
    assert_eq!(plain_bfs(3).0, 288);
    for n in 1..=5 {
        let (unique, generated, consistent) = plain_bfs(n);
        assert!(consistent, "TCConsistent holds for {n} RMs");
        let model = TwoPhase::new(n, false).unwrap();
        for strategy in [Strategy::Bfs, Strategy::Dfs] {
            for threads in [1, 2] {
                let r = check(&model, &opts(strategy, threads)).unwrap();
                assert_eq!(r.unique_states, unique, "{n} RMs, {strategy:?}, {threads} threads");
                assert_eq!(r.states, generated, "{n} RMs, {strategy:?}, {threads} threads");
                assert!(r.complete());
                assert_eq!(r.property("consistent").unwrap().verdict, Verdict::Holds);
                assert_eq!(r.property("commit agreement").unwrap().verdict, Verdict::Holds);
                assert_eq!(r.property("abort agreement").unwrap().verdict, Verdict::Holds);
            }
        }
    }
}

#[test]
fn symmetry_reduction_counts_orbits() {
    // With interchangeable RMs, the representatives are the plain states with RMs sorted: count them
    // independently by canonicalising the plain BFS's states.
    for n in 2..=4 {
        let model = TwoPhase::new(n, false).unwrap();
        let plain = model.clone();
        let full = check(&plain, &opts(Strategy::Bfs, 1)).unwrap();
        let reduced = check(&model, &Options { symmetry: true, ..opts(Strategy::Bfs, 2) }).unwrap();
        assert!(reduced.unique_states < full.unique_states);
        let orbits = orbit_count(n);
        assert_eq!(reduced.unique_states, orbits, "{n} RMs");
        let dfs = check(&model, &Options { symmetry: true, ..opts(Strategy::Dfs, 2) }).unwrap();
        assert_eq!(dfs.unique_states, orbits);
    }
}

fn orbit_count(n: usize) -> u64 {
    let init = Plain { rm: vec!["working"; n], tm: "init", tm_prepared: BTreeSet::new(), msgs: BTreeSet::new() };
    let mut seen = BTreeSet::from([init.clone()]);
    let mut queue = VecDeque::from([init]);
    let mut orbits = BTreeSet::new();
    while let Some(s) = queue.pop_front() {
        let mut per_rm: Vec<(&str, bool, bool)> =
            (0..n).map(|rm| (s.rm[rm], s.tm_prepared.contains(&rm), s.msgs.contains(&("prepared", rm)))).collect();
        per_rm.sort();
        orbits.insert((per_rm, s.tm, s.msgs.contains(&("commit", 0)), s.msgs.contains(&("abort", 0))));
        for t in plain_next(&s, n) {
            if seen.insert(t.clone()) {
                queue.push_back(t);
            }
        }
    }
    orbits.len() as u64
}

#[test]
fn liveness_of_two_phase_holds_under_weak_fairness() {
    let model = TwoPhase::new(3, true).unwrap();
    let r = check(&model, &opts(Strategy::Bfs, 2)).unwrap();
    let live = r.property("all decide").unwrap();
    assert_eq!(live.expectation, Expectation::Eventually);
    assert_eq!(live.verdict, Verdict::Holds);
}

#[test]
fn bad_configuration_is_refused_with_the_field_named() {
    assert!(TwoPhase::new(0, false).unwrap_err().to_string().starts_with("rms"));
    assert!(TwoPhase::new(16, false).is_err());
    let model = TwoPhase::new(2, false).unwrap();
    let err = check(&model, &Options { threads: 0, ..Options::default() }).unwrap_err();
    assert!(err.to_string().starts_with("threads"), "{err}");
}

#[test]
fn symmetry_with_liveness_is_refused_not_ignored() {
    let model = TwoPhase::new(2, true).unwrap();
    let err = check(&model, &Options { symmetry: true, ..opts(Strategy::Bfs, 1) }).expect_err("refused");
    let text = err.to_string();
    assert!(text.starts_with("symmetry:") && text.contains("eventually"), "{text}");
    // Without liveness the same model reduces as before.
    let safety = TwoPhase::new(2, false).unwrap();
    assert!(check(&safety, &Options { symmetry: true, ..opts(Strategy::Bfs, 1) }).is_ok());
}
