//! A failure detector's accuracy under each timing model, on the simulator's own `FdNode`s.

use herald_check::actor::ActorAction;
use herald_check::actor::ActorState;
use herald_check::models::failure_detector::{FdTiming, Kind, false_suspicions, model};
use herald_check::{Options, Property, Verdict, check};
use herald_core::NodeId;
use herald_core::trace::TraceEvent;
use herald_protocols::failure_detector::FdNode;

fn opts() -> Options {
    Options { threads: 2, ..Options::default() }
}

#[test]
fn under_synchrony_neither_detector_suspects_a_correct_node() {
    for kind in [Kind::Timeout, Kind::EventuallyPerfect] {
        let m = model(kind, FdTiming::Synchronous, 2, 6, 1).unwrap();
        let r = check(&m, &opts()).unwrap();
        assert!(r.complete(), "{kind:?}");
        assert_eq!(r.properties.len(), 1);
        assert_eq!(r.properties[0].verdict, Verdict::Holds, "{kind:?}: {}", r.properties[0].name);
        assert!(r.unique_states > 20, "{kind:?}: {}", r.unique_states);
    }
}

#[test]
fn under_synchrony_a_crashed_node_is_suspected() {
    // The same model suspects a node that did crash: accuracy is not bought by never suspecting.
    let m = model(Kind::Timeout, FdTiming::Synchronous, 2, 6, 1).unwrap();
    let sometimes = m.property(|| {
        Property::sometimes("a crashed node suspected", |_, s: &ActorState<FdNode>| {
            let crashed: Vec<NodeId> =
                (0..s.nodes.len()).filter(|&j| s.nodes[j].is_none()).map(|j| NodeId(j as u32)).collect();
            s.nodes.iter().flatten().any(|fd| crashed.iter().any(|&c| fd.detector().suspects(c)))
        })
    });
    let r = check(&sometimes, &opts()).unwrap();
    assert_eq!(r.property("a crashed node suspected").unwrap().verdict, Verdict::Holds);
}

#[test]
fn under_asynchrony_the_timeout_detector_suspects_a_correct_node() {
    let m = model(Kind::Timeout, FdTiming::Asynchronous, 2, 6, 0).unwrap();
    let r = check(&m, &opts()).unwrap();
    let acc = r.property("strong accuracy").unwrap();
    assert_eq!(acc.verdict, Verdict::Violated);
    let path = acc.path.as_ref().unwrap();
    assert!(path.replays_on(&m));
    let last = path.last();
    assert!(last.nodes.iter().all(Option::is_some), "nobody crashed");
    assert!(!false_suspicions(last, |_| true).is_empty());
    // The suspicion came from a deadline firing while its pong was still in flight.
    assert!(matches!(path.actions.last(), Some(ActorAction::Fire(..))));
    assert!(!last.network.is_empty(), "the answer is on its way");
}

#[test]
fn under_asynchrony_the_eventually_perfect_detector_is_wrong_even_after_its_timeout_grew() {
    let m = model(Kind::EventuallyPerfect, FdTiming::Asynchronous, 2, 8, 0).unwrap();
    let r = check(&m, &opts()).unwrap();
    let grew = r.property("accurate once timeouts grew").unwrap();
    assert_eq!(grew.verdict, Verdict::Violated);
    let last = grew.path.as_ref().unwrap().last();
    let wrong =
        false_suspicions(last, |(fd, peer)| fd.detector().timeout_of(peer) > std::time::Duration::from_millis(15));
    assert!(!wrong.is_empty());
}

#[test]
fn bad_failure_detector_configurations_name_their_field() {
    assert!(model(Kind::Timeout, FdTiming::Synchronous, 1, 4, 0).unwrap_err().to_string().starts_with("nodes"));
    assert!(model(Kind::Timeout, FdTiming::Synchronous, 2, 9, 0).unwrap_err().to_string().starts_with("timer_fires"));
    assert!(model(Kind::Timeout, FdTiming::Synchronous, 2, 4, 2).unwrap_err().to_string().starts_with("crashes"));
}

#[test]
fn under_partial_synchrony_only_the_eventually_perfect_detector_is_eventually_accurate() {
    use herald_check::models::failure_detector::{
        DELAY_MAX, SUSPICIONS_AFTER_GST, TIMEOUT, false_suspicions_after_gst,
    };
    // The constants the contrast rests on: the fixed timeout is below the post-GST round trip,
    // one doubling is above it.
    assert!(TIMEOUT < 2 * DELAY_MAX && 2 * TIMEOUT >= 2 * DELAY_MAX);
    let ep = model(Kind::EventuallyPerfect, FdTiming::PartiallySynchronous, 2, 6, 0).unwrap();
    let r = check(&ep, &opts()).unwrap();
    eprintln!("ep: {} states {} unique", r.states, r.unique_states);
    assert!(r.complete());
    assert_eq!(r.property("eventual strong accuracy").unwrap().verdict, Verdict::Holds);

    // The allowance is tight: the eventually perfect detector does suspect a correct node after
    // GST (its timeout starts below the round trip), once.
    let none_after_gst =
        model(Kind::EventuallyPerfect, FdTiming::PartiallySynchronous, 2, 6, 0).unwrap().property(|| {
            Property::always("no false suspicion after GST", |m, s| {
                false_suspicions_after_gst(m, s).iter().all(|&(_, _, n)| n == 0)
            })
        });
    let r = check(&none_after_gst, &opts()).unwrap();
    assert_eq!(r.property("no false suspicion after GST").unwrap().verdict, Verdict::Violated);

    let fixed = model(Kind::Timeout, FdTiming::PartiallySynchronous, 2, 6, 0).unwrap();
    let r = check(&fixed, &opts()).unwrap();
    eprintln!("fixed: {} states {} unique", r.states, r.unique_states);
    let esa = r.property("eventual strong accuracy").unwrap();
    assert_eq!(esa.verdict, Verdict::Violated);
    let path = esa.path.as_ref().unwrap();
    assert!(path.replays_on(&fixed));
    // The counterexample as the trace `herald check` writes replays step for step: GST is its
    // `heal`, and the time that passed (`Wait` steps) shows only as the nodes' clock readings.
    let waits = path.actions.iter().filter(|a| matches!(a, ActorAction::Wait)).count();
    eprintln!("counterexample: {} steps, {waits} waits", path.actions.len());
    let events = path.trace_events(&fixed);
    let replayed = fixed.replay(&events).unwrap_or_else(|e| panic!("the checker's own trace replays: {e}"));
    assert_eq!(replayed.path.actions, path.actions);
    assert!(replayed.violations.iter().any(|(name, _)| name == "eventual strong accuracy"));
    if waits > 0 {
        // Without the clock readings the same trace does not replay: they carry the waits.
        let unclocked: Vec<_> = events.iter().cloned().map(|e| TraceEvent { local: None, ..e }).collect();
        assert!(fixed.replay(&unclocked).map_or(true, |r| r.path.actions != path.actions));
    }
    let gst = path.actions.iter().position(|a| matches!(a, ActorAction::Stabilise)).expect("GST happened");
    let last = path.last();
    assert!(last.gst.is_some());
    let counts = false_suspicions_after_gst(&fixed, last);
    assert!(counts.iter().any(|&(_, _, n)| n > SUSPICIONS_AFTER_GST), "{counts:?}");
    // After GST the suspicions came from deadlines, not from unbounded delay: every message
    // still in flight is within the bound.
    assert!(last.network.iter().all(|e| e.due <= last.now + DELAY_MAX.as_nanos() as u64));
    assert!(path.actions[gst..].iter().any(|a| matches!(a, ActorAction::Fire(..))));
}

#[test]
fn symmetry_merges_relabelled_nodes_and_keeps_every_verdict() {
    // Every timing, both detectors, with and without crashes: the same verdicts, fewer states, and
    // counterexamples that are runs of the model (rebuilt in the original naming).
    let cases = [
        (Kind::Timeout, FdTiming::Synchronous, 3, 4, 1),
        (Kind::EventuallyPerfect, FdTiming::Synchronous, 2, 6, 1),
        (Kind::Timeout, FdTiming::Asynchronous, 3, 4, 0),
        (Kind::EventuallyPerfect, FdTiming::Asynchronous, 2, 8, 0),
        (Kind::Timeout, FdTiming::PartiallySynchronous, 2, 6, 0),
        (Kind::EventuallyPerfect, FdTiming::PartiallySynchronous, 2, 6, 0),
    ];
    for (kind, timing, nodes, fires, crashes) in cases {
        let m = model(kind, timing, nodes, fires, crashes).unwrap();
        let full = check(&m, &opts()).unwrap();
        let reduced = check(&m, &Options { symmetry: true, ..opts() }).unwrap();
        let label = format!("{kind:?} {timing:?} n={nodes}");
        eprintln!("{label}: {} -> {} unique", full.unique_states, reduced.unique_states);
        assert!(reduced.unique_states < full.unique_states, "{label}");
        for (a, b) in full.properties.iter().zip(&reduced.properties) {
            assert_eq!((&a.name, a.verdict), (&b.name, b.verdict), "{label}");
            if let Some(path) = &b.path {
                assert!(path.replays_on(&m), "{label}");
                assert_eq!(path.actions.len(), a.path.as_ref().unwrap().actions.len(), "{label}: both shortest");
            }
        }
    }
}

#[test]
fn symmetry_is_refused_where_nodes_are_not_interchangeable() {
    use herald_check::actor::{ActorError, ActorModel, Cast};
    use herald_check::models::failure_detector::detector;
    // Node 0 runs the fixed timeout, node 1 the eventually perfect detector: relabelling them
    // changes the system.
    let cast = Cast {
        name: "mixed".into(),
        nodes: vec![
            Some(FdNode::new(detector(Kind::Timeout), 2)),
            Some(FdNode::new(detector(Kind::EventuallyPerfect), 2)),
        ],
        domain: Vec::new(),
    };
    let m = ActorModel::new(vec![cast], |c, id| c.nodes[id.index()].clone().unwrap()).unwrap();
    let plain = ActorModel::new(m.casts().to_vec(), |c, id| c.nodes[id.index()].clone().unwrap()).unwrap();
    assert!(matches!(m.symmetric_nodes(), Err(ActorError::NotSymmetric { cast: 0, .. })));
    // Asking the search for symmetry on a model without any is refused, not ignored.
    let err = check(&plain, &Options { symmetry: true, ..opts() }).expect_err("refused").to_string();
    assert!(err.starts_with("symmetry:"), "{err}");
}
