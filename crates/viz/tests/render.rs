//! Rendering small hand-made traces: SVG and ShiViz snapshots (committed under `tests/snapshots`;
//! regenerate with `HERALD_UPDATE_SNAPSHOTS=1 cargo test -p herald-viz`), one arrow per delivery,
//! every node event's logical time on its element, and an HTML page that names no network resource.

use herald_core::trace::{CutMode, DropReason, EventKind, Source, Stamper, TRACE_VERSION, TraceEvent, TraceHeader};
use serde_json::{Value, json};
use std::path::PathBuf;

fn header(scenario: &str, nodes: u32) -> TraceHeader {
    TraceHeader {
        herald_trace: TRACE_VERSION,
        source: Source::Sim,
        scenario: scenario.into(),
        nodes,
        seed: Some(1),
        model: Value::Null,
        reproduce: Some(format!("herald sim {scenario} --seed 1")),
    }
}

fn stamped(nodes: u32, mut events: Vec<TraceEvent>) -> Vec<TraceEvent> {
    let mut s = Stamper::new(nodes as usize);
    events.iter_mut().for_each(|e| s.stamp(e));
    events
}

fn send(t: u64, node: u32, to: u32, msg: u64, body: Value) -> TraceEvent {
    TraceEvent::new(t, node, EventKind::Send { to, msg, size: 4, body, bytes: Some("00010203".into()) })
}

fn deliver(t: u64, node: u32, from: u32, msg: u64) -> TraceEvent {
    TraceEvent::new(t, node, EventKind::Deliver { from, msg })
}

const MS: u64 = 1_000_000;

/// Two nodes, one request and its reply: the smallest picture.
fn ping() -> (TraceHeader, Vec<TraceEvent>) {
    let events = vec![
        TraceEvent::new(0, 0, EventKind::Start),
        TraceEvent::new(0, 1, EventKind::Start),
        send(0, 0, 1, 0, json!({"Ping": {"seq": 0}})),
        deliver(3 * MS, 1, 0, 0),
        send(3 * MS, 1, 0, 1, json!({"Pong": {"seq": 0}})),
        deliver(5 * MS, 0, 1, 1),
        TraceEvent::new(5 * MS, 0, EventKind::Output { value: json!({"rtt_ms": 5}) }),
    ];
    (header("ping", 2), stamped(2, events))
}

/// Every kind of event the schema has, on three nodes.
fn kitchen_sink() -> (TraceHeader, Vec<TraceEvent>) {
    let events = vec![
        TraceEvent::new(0, 0, EventKind::Start),
        TraceEvent::new(0, 1, EventKind::Start),
        TraceEvent::new(0, 2, EventKind::Start),
        send(MS, 0, 1, 0, json!({"Note": 1})),
        TraceEvent::new(MS, 0, EventKind::Duplicate { to: 1, msg: 0 }),
        TraceEvent::new(MS, 0, EventKind::TimerSet { timer: json!("Resend"), at: 20 * MS }),
        deliver(4 * MS, 1, 0, 0),
        deliver(6 * MS, 1, 0, 0),
        send(7 * MS, 0, 2, 1, json!({"Note": 2})),
        TraceEvent::new(7 * MS, 0, EventKind::Drop { to: 2, msg: 1, reason: DropReason::Loss }),
        send(8 * MS, 1, 2, 2, json!("Ack")),
        TraceEvent::new(8 * MS, 1, EventKind::Modify { to: 2, msg: 2, bytes: "ff".into() }),
        deliver(11 * MS, 2, 1, 2),
        TraceEvent::new(12 * MS, 0, EventKind::Inject { to: 2, msg: 3, bytes: "0102".into() }),
        deliver(14 * MS, 2, 0, 3),
        TraceEvent::new(15 * MS, 1, EventKind::Replay { to: 2, msg: 4, of: 2 }),
        deliver(17 * MS, 2, 1, 4),
        TraceEvent::new(
            18 * MS,
            0,
            EventKind::PartitionStart { id: 0, from: vec![0], to: vec![1, 2], symmetric: true, mode: CutMode::Drop },
        ),
        send(19 * MS, 0, 1, 5, json!({"Note": 3})),
        TraceEvent::new(19 * MS, 0, EventKind::Drop { to: 1, msg: 5, reason: DropReason::Partition }),
        TraceEvent::new(20 * MS, 0, EventKind::TimerFire { timer: json!("Resend") }),
        TraceEvent::new(21 * MS, 2, EventKind::Crash { recovers: true }),
        send(22 * MS, 1, 2, 6, json!({"Note": 4})),
        TraceEvent::new(25 * MS, 1, EventKind::Drop { to: 2, msg: 6, reason: DropReason::Crashed }),
        TraceEvent::new(26 * MS, 0, EventKind::PartitionEnd { id: 0 }),
        TraceEvent::new(27 * MS, 1, EventKind::Pause { until: 31 * MS }),
        TraceEvent::new(30 * MS, 2, EventKind::Recover { keys: 1, digest: 42 }),
        TraceEvent::new(30 * MS, 2, EventKind::Persist { key: "epoch".into(), size: 8 }),
        TraceEvent::new(32 * MS, 0, EventKind::Heal),
        TraceEvent::new(33 * MS, 1, EventKind::Output { value: json!({"heard": [1, 2]}) }),
        TraceEvent::new(34 * MS, 0, EventKind::TimerCancel { timer: json!("Resend") }),
    ];
    (header("kitchen-sink", 3), stamped(3, events))
}

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("HERALD_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {}: run with HERALD_UPDATE_SNAPSHOTS=1", path.display()));
    assert!(
        expected == actual,
        "{name} changed; if intended, regenerate with HERALD_UPDATE_SNAPSHOTS=1 and review the diff"
    );
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn svg_snapshots() {
    let (h, e) = ping();
    snapshot("ping.svg", &herald_viz::svg::diagram(&h, &e));
    let (h, e) = kitchen_sink();
    snapshot("kitchen-sink.svg", &herald_viz::svg::diagram(&h, &e));
    snapshot("kitchen-sink.shiviz.log", &herald_viz::shiviz::export(&h, &e).unwrap());
}

#[test]
fn one_arrow_per_delivery_and_one_cross_per_loss() {
    for (h, e) in [ping(), kitchen_sink()] {
        let svg = herald_viz::svg::diagram(&h, &e);
        let deliveries = e.iter().filter(|e| matches!(e.kind, EventKind::Deliver { .. })).count();
        let drops = e.iter().filter(|e| matches!(e.kind, EventKind::Drop { .. })).count();
        assert_eq!(count(&svg, "<line class=\"msg "), deliveries, "{}", h.scenario);
        assert_eq!(count(&svg, "<line class=\"lost\""), drops);
        assert_eq!(count(&svg, "<path class=\"x\""), drops);
    }
}

#[test]
fn marks_windows_and_node_events_are_drawn() {
    let (h, e) = kitchen_sink();
    let svg = herald_viz::svg::diagram(&h, &e);
    for class in [
        "msg plain",
        "msg dup",
        "msg modified",
        "msg injected",
        "msg replayed",
        "partition",
        "crash",
        "recover",
        "down",
        "pause",
        "heal",
        "ev timer_set",
        "ev timer_fire",
        "ev timer_cancel",
        "ev output",
        "ev persist",
        "out-label",
    ] {
        assert!(svg.contains(&format!("class=\"{class}")), "no element of class `{class}`");
    }
    // Every node event carries its Lamport timestamp and vector clock.
    for (i, ev) in e.iter().enumerate().filter(|(_, e)| e.kind.is_node_event()) {
        let (Some(l), Some(vc)) = (ev.lamport, &ev.vc) else { panic!("stamped") };
        if matches!(ev.kind, EventKind::Crash { .. } | EventKind::Recover { .. }) {
            assert!(svg.contains(&format!("data-i=\"{i}\"")), "event {i}");
            continue;
        }
        let vc = serde_json::to_string(vc).unwrap();
        assert!(svg.contains(&format!("data-i=\"{i}\" data-lamport=\"{l}\" data-vc=\"{vc}\"")), "event {i}");
    }
    // The injected arrow starts on the claimed sender's line at injection time.
    let layout = herald_viz::Layout::new(&h, &e);
    let injected = layout.arrows.iter().find(|a| a.mark == herald_viz::Mark::Injected).unwrap();
    assert_eq!((injected.from, injected.to, injected.t_send), (0, 2, 12 * MS));
}

#[test]
fn rendering_is_deterministic() {
    let (h, e) = kitchen_sink();
    assert_eq!(herald_viz::svg::diagram(&h, &e), herald_viz::svg::diagram(&h, &e));
    assert_eq!(herald_viz::html::page(&h, &e), herald_viz::html::page(&h, &e));
}

/// The explorer loads nothing: no `http(s)://` anywhere, no external script, style, image, font or
/// frame; the diagram is inline SVG and the data an inline JSON island.
pub fn assert_self_contained(html: &str) {
    assert!(!html.contains("http://") && !html.contains("https://"), "an http(s) URL in the page");
    assert!(html.contains("<svg"), "no inline <svg");
    for needle in
        ["<script src", " src=", "<link", "@import", "<iframe", "<object", "<embed", "fetch(", "XMLHttpRequest"]
    {
        assert!(!html.contains(needle), "the page contains `{needle}`");
    }
    for (i, _) in html.match_indices("url(") {
        assert!(html[i..].starts_with("url(#"), "a url() that is not a fragment: {}", &html[i..i + 20]);
    }
}

#[test]
fn the_explorer_is_self_contained() {
    for (h, e) in [ping(), kitchen_sink()] {
        let page = herald_viz::html::page(&h, &e);
        assert_self_contained(&page);
        assert!(page.contains("id=\"trace-data\""));
    }
    let svg = {
        let (h, e) = kitchen_sink();
        herald_viz::svg::diagram(&h, &e)
    };
    // A standalone SVG names its namespace (an identifier, never fetched) and nothing else.
    assert_eq!(svg.matches("http").count(), 1);
    assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
}

#[test]
fn out_of_order_and_unpaired_events_still_render() {
    let mut events = vec![deliver(5, 0, 1, 9), TraceEvent::new(1, 3, EventKind::Start)];
    let h = header("odd", 1);
    let svg = herald_viz::svg::diagram(&h, &events);
    assert_eq!(count(&svg, "<line class=\"msg orphan"), 1);
    assert!(svg.contains(">n3<"), "node lines extend to the highest id seen");
    events.reverse();
    assert_self_contained(&herald_viz::html::page(&h, &events));
    // A header and nothing else still draws its node lines.
    let empty = herald_viz::svg::diagram(&header("empty", 2), &[]);
    assert_eq!(count(&empty, "<line class=\"lane\""), 2);
    assert_self_contained(&herald_viz::html::page(&header("empty", 2), &[]));
}

#[test]
fn a_checker_counterexample_is_labelled_in_steps() {
    let events = vec![
        TraceEvent::new(0, 0, EventKind::Start),
        TraceEvent::new(0, 1, EventKind::Start),
        send(1, 0, 1, 0, json!({"Ping": {"seq": 0}})),
        deliver(2, 1, 0, 0),
    ];
    let mut h = header("check", 2);
    h.source = Source::Check;
    let svg = herald_viz::svg::diagram(&h, &stamped(2, events.clone()));
    assert!(svg.contains("step 2"), "times are step numbers");
    assert!(!svg.contains("2ns"), "not nanoseconds");
    let sim = herald_viz::svg::diagram(&header("sim", 2), &stamped(2, events));
    assert!(sim.contains("2ns") && !sim.contains("step 2"));
}
