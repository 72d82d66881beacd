//! The search engines on small models whose answers are known by hand.

use herald_check::{Expectation, Model, Options, Path, Property, Stop, Strategy, Verdict, check, write_trace};

/// Three counters, each 0..=LIMIT, incremented one at a time, or all reset to 0 by `Reset`.
/// `always "not the target"` fails at (3, 2, 1): the shortest path has 6 steps.
struct Counters {
    limit: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Inc {
    A,
    B,
    C,
    Reset,
}

impl Model for Counters {
    type State = [u8; 3];
    type Action = Inc;
    fn init_states(&self) -> Vec<[u8; 3]> {
        vec![[0, 0, 0]]
    }
    fn actions(&self, s: &[u8; 3], out: &mut Vec<Inc>) {
        for (i, a) in [Inc::A, Inc::B, Inc::C].into_iter().enumerate() {
            if s[i] < self.limit {
                out.push(a);
            }
        }
        out.push(Inc::Reset);
    }
    fn next_state(&self, s: &[u8; 3], a: &Inc) -> Option<[u8; 3]> {
        let mut t = *s;
        match a {
            Inc::A => t[0] += 1,
            Inc::B => t[1] += 1,
            Inc::C => t[2] += 1,
            Inc::Reset => t = [0, 0, 0],
        }
        Some(t)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("not the target", |_, s| *s != [3, 2, 1]),
            Property::sometimes("all at the limit", |m: &Self, s: &[u8; 3]| s.iter().all(|&x| x == m.limit)),
        ]
    }
}

fn run<M: Model>(m: &M, strategy: Strategy, threads: usize) -> herald_check::Report<M> {
    check(m, &Options { strategy, threads, ..Options::default() }).unwrap()
}

#[test]
fn bfs_finds_a_shortest_counterexample_and_the_same_one_on_any_thread_count() {
    let m = Counters { limit: 12 };
    let one = run(&m, Strategy::Bfs, 1);
    let two = run(&m, Strategy::Bfs, 2);
    let p1 = one.property("not the target").unwrap();
    assert_eq!(p1.verdict, Verdict::Violated);
    assert_eq!(one.stopped, Some(Stop::Violation));
    let path = p1.path.as_ref().expect("a counterexample");
    assert_eq!(path.actions.len(), 6, "shortest: three A, two B, one C");
    assert!(path.replays_on(&m));
    assert_eq!(*path.last(), [3, 2, 1]);
    assert_eq!(two.property("not the target").unwrap().path, p1.path);
    assert_eq!((one.unique_states, one.states, one.max_depth), (two.unique_states, two.states, two.max_depth));
    // BFS stops at the end of level 6: every state with at most 6 increments, and no more.
    let within_6: u64 = (0..=6u64).map(|k| (k + 1) * (k + 2) / 2).sum();
    assert_eq!(one.unique_states, within_6);
}

#[test]
fn a_complete_search_proves_and_finds_examples() {
    let m = Counters { limit: 2 };
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        for threads in [1, 2] {
            let r = run(&m, strategy, threads);
            assert!(r.complete());
            assert_eq!(r.unique_states, 27);
            assert_eq!(r.property("not the target").unwrap().verdict, Verdict::Holds);
            assert_eq!(r.property("all at the limit").unwrap().verdict, Verdict::Holds);
            // 27 states, each with its enabled increments plus a reset, plus the initial state.
            let increments: u64 = 3 * 2 * 9;
            assert_eq!(r.states, 1 + 27 + increments);
        }
    }
    let bfs = run(&m, Strategy::Bfs, 2);
    let example = bfs.property("all at the limit").unwrap().path.as_ref().unwrap();
    assert_eq!(example.actions.len(), 6);
    assert!(example.replays_on(&m));
}

#[test]
fn dfs_reports_the_sequential_counterexample_whatever_the_thread_count() {
    let m = Counters { limit: 30 };
    let one = run(&m, Strategy::Dfs, 1);
    let two = run(&m, Strategy::Dfs, 2);
    let p = one.property("not the target").unwrap();
    assert_eq!(p.verdict, Verdict::Violated);
    let path = p.path.as_ref().unwrap();
    assert!(path.replays_on(&m));
    assert_eq!(*path.last(), [3, 2, 1]);
    assert_eq!(two.property("not the target").unwrap().path, p.path);
    assert_eq!((one.unique_states, one.states), (two.unique_states, two.states));
}

#[test]
fn random_walks_are_seeded_and_thread_independent() {
    let m = Counters { limit: 4 };
    let walks = Strategy::RandomWalks { walks: 300, length: 40, seed: 7 };
    let one = run(&m, walks, 1);
    let two = run(&m, walks, 2);
    assert_eq!(one.stopped, Some(Stop::Sampled));
    assert_eq!((one.unique_states, one.states), (two.unique_states, two.states));
    let p = one.property("not the target").unwrap();
    assert_eq!(p.verdict, Verdict::Violated, "300 walks of 40 steps hit (3, 2, 1)");
    assert!(p.path.as_ref().unwrap().replays_on(&m));
    assert_eq!(p.path, two.property("not the target").unwrap().path);
    let other = run(&m, Strategy::RandomWalks { walks: 300, length: 40, seed: 8 }, 1);
    assert_ne!(other.property("not the target").unwrap().path, p.path, "another seed, another walk");
}

#[test]
fn limits_stop_the_search_deterministically_and_leave_verdicts_unknown() {
    let m = Counters { limit: 10 };
    let depth = check(&m, &Options { max_depth: Some(3), threads: 2, ..Options::default() }).unwrap();
    assert_eq!(depth.stopped, Some(Stop::Depth));
    assert_eq!(depth.unique_states, 1 + 3 + 6 + 10);
    assert_eq!(depth.property("all at the limit").unwrap().verdict, Verdict::Unknown);
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        let a = check(&m, &Options { strategy, max_states: Some(50), threads: 1, ..Options::default() }).unwrap();
        let b = check(&m, &Options { strategy, max_states: Some(50), threads: 2, ..Options::default() }).unwrap();
        assert_eq!(a.stopped, Some(Stop::States));
        assert!(a.unique_states >= 50);
        assert_eq!((a.unique_states, a.states), (b.unique_states, b.states), "{strategy:?}");
    }
    // A generous time limit that is not hit changes nothing.
    let timed = Options { time_limit: Some(std::time::Duration::from_secs(600)), threads: 2, ..Options::default() };
    let with = check(&m, &timed).unwrap();
    let without = run(&m, Strategy::Bfs, 2);
    assert_eq!(
        (with.unique_states, with.states, with.stopped),
        (without.unique_states, without.states, without.stopped)
    );
}

#[test]
fn counterexamples_export_as_herald_traces() {
    let m = Counters { limit: 5 };
    let r = run(&m, Strategy::Bfs, 1);
    let path = r.property("not the target").unwrap().path.clone().unwrap();
    let bytes = write_trace(&m, &path, "counters", serde_json::json!({"limit": 5}), None, Vec::new()).unwrap();
    let (header, events) = herald_core::trace::read(&bytes[..]).unwrap();
    assert_eq!(header.source, herald_core::trace::Source::Check);
    assert_eq!(events.len(), 6);
    assert_eq!(events[5].t, 6, "times are step numbers");
}

/// Spin between 0 and 1 forever, or `Finish` into 2. With `finish_everywhere`, Finish is enabled in
/// 0 and 1; otherwise only in 0. A dead end 3 (reachable by `Trap` when `trap`) never finishes.
struct Spinner {
    finish_everywhere: bool,
    finish_fair: bool,
    trap: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Step {
    Spin,
    Finish,
    Trap,
}

impl Model for Spinner {
    type State = u8;
    type Action = Step;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, out: &mut Vec<Step>) {
        if *s <= 1 {
            out.push(Step::Spin);
            if *s == 0 || self.finish_everywhere {
                out.push(Step::Finish);
            }
            if self.trap && *s == 1 {
                out.push(Step::Trap);
            }
        }
    }
    fn next_state(&self, s: &u8, a: &Step) -> Option<u8> {
        Some(match a {
            Step::Spin => 1 - *s,
            Step::Finish => 2,
            Step::Trap => 3,
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("finishes", |_, s| *s == 2)]
    }
    fn is_fair(&self, a: &Step) -> bool {
        *a != Step::Finish || self.finish_fair
    }
}

fn liveness(m: &Spinner) -> (Verdict, Option<Path<Spinner>>) {
    let r = run(m, Strategy::Bfs, 2);
    let p = r.property("finishes").unwrap();
    assert_eq!(p.expectation, Expectation::Eventually);
    (p.verdict, p.path.clone())
}

#[test]
fn eventually_holds_only_under_weak_fairness() {
    let fair = Spinner { finish_everywhere: true, finish_fair: true, trap: false };
    assert_eq!(liveness(&fair).0, Verdict::Holds, "Finish is always enabled, so weak fairness takes it");
    let unfair = Spinner { finish_everywhere: true, finish_fair: false, trap: false };
    let (verdict, path) = liveness(&unfair);
    assert_eq!(verdict, Verdict::Violated, "without fairness the spin may go on forever");
    let path = path.unwrap();
    assert_eq!(path.states, vec![0, 1, 0]);
    assert_eq!(path.loop_start, Some(0));
    assert!(path.replays_on(&unfair));
}

#[test]
fn eventually_fails_when_the_fair_action_is_only_intermittently_enabled() {
    // Finish is enabled in 0 but not in 1: the spin 0 → 1 → 0 … is weakly fair (strong fairness
    // would be needed), so the checker must find the cycle, which acyclic paths never show.
    let m = Spinner { finish_everywhere: false, finish_fair: true, trap: false };
    let (verdict, path) = liveness(&m);
    assert_eq!(verdict, Verdict::Violated);
    let path = path.unwrap();
    assert_eq!(path.loop_start, Some(0));
    assert_eq!(path.states.first(), path.states.last(), "a lasso returns to its loop start");
}

#[test]
fn eventually_fails_at_a_dead_end() {
    let m = Spinner { finish_everywhere: true, finish_fair: true, trap: true };
    let (verdict, path) = liveness(&m);
    assert_eq!(verdict, Verdict::Violated);
    let path = path.unwrap();
    assert_eq!(path.loop_start, None);
    assert_eq!(*path.last(), 3);
    assert_eq!(path.actions, vec![Step::Spin, Step::Trap]);
}

/// One state, then 20,000, then 4,000,000 (200 successors each), each successor costing a few
/// hundred mixing rounds: a level of seconds, far longer than the time limit.
struct Wide;

impl Model for Wide {
    type State = u64;
    type Action = u64;
    fn init_states(&self) -> Vec<u64> {
        vec![0]
    }
    fn actions(&self, s: &u64, out: &mut Vec<u64>) {
        match *s {
            0 => out.extend(0..20_000),
            1..=20_000 => out.extend(0..200),
            _ => {}
        }
    }
    fn next_state(&self, s: &u64, k: &u64) -> Option<u64> {
        // An expensive successor function, as real models have.
        let mut x = *s ^ *k;
        for _ in 0..300 {
            x = herald_check::fingerprint::mix64(std::hint::black_box(x));
        }
        std::hint::black_box(x);
        Some(if *s == 0 { k + 1 } else { 1_000_000 + s * 200 + k })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("anything", |_, _| true)]
    }
}

#[test]
fn bfs_honours_a_time_limit_inside_a_level() {
    // The third level alone is 4,000,000 successors: a BFS that looked at the clock only between
    // levels would generate all of them before stopping.
    let limit = std::time::Duration::from_millis(300);
    let options = Options { strategy: Strategy::Bfs, time_limit: Some(limit), threads: 2, ..Options::default() };
    let r = check(&Wide, &options).unwrap();
    assert_eq!(r.stopped, Some(Stop::Time));
    assert!(r.states < 1 + 20_000 + 4_000_000, "stopped inside the level: {} states generated", r.states);
    assert!(r.unique_states <= 1 + 20_000, "the cut level is dropped, not half-inserted: {}", r.unique_states);
}
