//! The bridge from the simulator: a failing simulator trace, written in the trace schema and read
//! back, is followed in the checker on the same nodes, confirmed observation by observation, and
//! its failure re-found there by a shortest counterexample.

use herald_check::models::links;
use herald_check::replay::ReplayError;
use herald_check::{Options, Verdict, check};
use herald_core::trace::{self, EventKind, TraceEvent};
use herald_protocols::links::Workload;
use herald_sim::{NetworkModel, SimConfig, Simulation};

const MESSAGES: u64 = 2;

/// The bare workload (node 0 sends `MESSAGES` payloads to node 1) over a duplicating network.
fn simulated(seed: u64) -> Vec<TraceEvent> {
    let mut config = SimConfig::new(2);
    config.model.network = NetworkModel::FairLoss { loss: 0.2, duplicate: 0.5, duplicates_max: 1, reorder: true };
    let mut sim = Simulation::new(config, |_| Workload::new(MESSAGES)).unwrap().recording(true);
    let run = sim.run(seed);
    // Through the file format, as `herald sim --trace` writes it.
    let mut w = trace::TraceWriter::new(Vec::new(), &run.trace_header("links", None)).unwrap();
    for e in run.trace_events() {
        w.write(e).unwrap();
    }
    let bytes = w.finish().unwrap();
    trace::read(std::io::BufReader::new(&bytes[..])).unwrap().1
}

fn delivered_twice(events: &[TraceEvent]) -> bool {
    let outputs: Vec<_> = events.iter().filter(|e| matches!(e.kind, EventKind::Output { .. })).collect();
    let mut bodies: Vec<String> = outputs.iter().map(|e| format!("{:?}", e.kind)).collect();
    bodies.sort();
    bodies.dedup();
    bodies.len() < outputs.len()
}

#[test]
fn a_failing_simulator_trace_replays_in_the_checker_and_shrinks_there() {
    // The first seed whose run delivers a payload twice within the model's duplication budget.
    let model = links::bare(MESSAGES, 3).unwrap();
    let (seed, events) = (0..200)
        .map(|s| (s, simulated(s)))
        .find(|(_, e)| {
            let dups = e.iter().filter(|e| matches!(e.kind, EventKind::Duplicate { .. })).count();
            delivered_twice(e) && dups <= 3
        })
        .expect("some seed duplicates a delivered payload");
    let replayed = model.replay(&events).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let path = &replayed.path;
    assert!(path.replays_on(&model));
    let deliveries = events.iter().filter(|e| matches!(e.kind, EventKind::Deliver { .. })).count();
    assert!(path.actions.len() >= deliveries, "every delivery is a step");
    let (name, at) = replayed.violations.iter().find(|(n, _)| n == "at most once").expect("the failure re-found");
    assert_eq!(name, "at most once");
    assert!(*at > 0 && *at < path.states.len());

    // Shrunk: breadth-first from the trace's initial state, bounded by its length.
    let rooted = links::bare(MESSAGES, 3).unwrap().starting_from(vec![path.states[0].clone()]);
    let options = Options { threads: 1, max_depth: Some(path.actions.len() as u32), ..Options::default() };
    let r = check(&rooted, &options).unwrap();
    let shortest = r.property("at most once").unwrap();
    assert_eq!(shortest.verdict, Verdict::Violated);
    let shortest = shortest.path.as_ref().unwrap();
    assert!(shortest.actions.len() <= *at, "{} > {at}", shortest.actions.len());
    assert_eq!(shortest.actions.len(), 3, "one delivery, one duplication, the copy's delivery");

    // Exhaustive checking from the middle of the simulation: the state after its first step.
    let mid = links::bare(MESSAGES, 3).unwrap().starting_from(vec![path.states[1].clone()]);
    let r = check(&mid, &Options { threads: 1, ..Options::default() }).unwrap();
    assert_eq!(r.property("at most once").unwrap().verdict, Verdict::Violated);
    assert!(r.unique_states > 1);
}

#[test]
fn a_trace_the_model_cannot_run_is_refused_with_the_step() {
    let events = simulated(0);
    // A receiver whose observation is not what the model's node reports.
    let mut forged = events.clone();
    let i = forged.iter().position(|e| matches!(e.kind, EventKind::Output { .. })).expect("an output");
    forged[i].kind = EventKind::Output { value: serde_json::json!("something else") };
    let model = links::bare(MESSAGES, 3).unwrap();
    match model.replay(&forged) {
        Err(ReplayError::NoCast(reasons)) => assert!(reasons[0].contains(&format!("event {i}")), "{reasons:?}"),
        other => panic!("{other:?}"),
    }
    // A delivery of a message never sent.
    let mut orphan = events.clone();
    let d = orphan.iter().position(|e| matches!(e.kind, EventKind::Deliver { .. })).expect("a delivery");
    orphan[d].kind = EventKind::Deliver { from: 0, msg: 1 << 60 };
    assert!(model.replay(&orphan).is_err());
    // With no duplication budget the simulator's duplicates are not the model's runs.
    let strict = links::bare(MESSAGES, 0).unwrap();
    let dup =
        (0..200).map(simulated).find(|e| e.iter().any(|e| matches!(e.kind, EventKind::Duplicate { .. }))).unwrap();
    let err = strict.replay(&dup).unwrap_err().to_string();
    assert!(err.contains("not enabled"), "{err}");
}
