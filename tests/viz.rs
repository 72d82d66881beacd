//! `herald viz`: the acceptance commands against the real binary — the explorer is one
//! self-contained file with inline SVG, the SVG draws one arrow per delivery, ShiViz export has
//! the header ShiViz expects and two lines per node event; bad input exits 2 naming the problem.

mod common;
use common::{herald, stderr, temp};
use herald_core::trace::EventKind;

fn ping_pong_trace(name: &str) -> std::path::PathBuf {
    let t = temp(name);
    let out = herald(&["sim", "ping-pong", "--nodes", "3", "--seed", "1", "--trace", t.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    t
}

#[test]
fn the_explorer_is_one_self_contained_file_with_inline_svg() {
    let t = ping_pong_trace("viz-t.jsonl");
    let html = temp("viz-t.html");
    let out = herald(&["viz", t.to_str().unwrap(), "-o", html.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg"), "an inline <svg");
    assert!(!page.contains("http://") && !page.contains("https://"), "no external resource");
    for needle in [" src=", "<link", "@import"] {
        assert!(!page.contains(needle), "{needle}");
    }
    // The page embeds every event of the trace.
    let (_, events) = herald_core::trace::read(std::fs::read(&t).unwrap().as_slice()).unwrap();
    assert!(page.contains(&format!("· {} events ·", events.len())));
}

#[test]
fn the_svg_draws_one_arrow_per_delivery() {
    let t = ping_pong_trace("viz-s.jsonl");
    let svg = temp("viz-s.svg");
    let out = herald(&["viz", t.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    let (_, events) = herald_core::trace::read(std::fs::read(&t).unwrap().as_slice()).unwrap();
    let deliveries = events.iter().filter(|e| matches!(e.kind, EventKind::Deliver { .. })).count();
    assert!(deliveries > 1000, "a real run");
    assert_eq!(text.matches("<line class=\"msg ").count(), deliveries);
    assert!(text.starts_with("<svg xmlns="));
}

#[test]
fn shiviz_export_has_the_parser_header_and_a_clock_per_node_event() {
    let t = ping_pong_trace("viz-v.jsonl");
    let log = temp("viz-v.log");
    let out = herald(&["viz", t.to_str().unwrap(), "--format", "shiviz", "-o", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], herald_viz::shiviz::REGEX);
    assert_eq!(lines[1], "", "one execution: an empty delimiter line");
    let (_, events) = herald_core::trace::read(std::fs::read(&t).unwrap().as_slice()).unwrap();
    let node_events: Vec<_> = events.iter().filter(|e| e.kind.is_node_event()).collect();
    assert_eq!(lines.len(), 2 + 2 * node_events.len());
    // ShiViz's rule: a host's own entry is 1 at its first event and grows by one per event.
    let mut own = std::collections::BTreeMap::new();
    for pair in lines[2..].chunks(2) {
        let (host, clock) = pair[1].split_once(' ').unwrap();
        let clock: serde_json::Map<String, serde_json::Value> = serde_json::from_str(clock).unwrap();
        let mine = clock[host].as_u64().unwrap();
        let last = own.insert(host.to_string(), mine).unwrap_or(0);
        assert_eq!(mine, last + 1, "{host}: {}", pair[1]);
    }
}

#[test]
fn a_latency_plot_and_bad_input() {
    let t = ping_pong_trace("viz-l.jsonl");
    let plot = temp("viz-l.svg");
    let out = herald(&["viz", t.to_str().unwrap(), "--format", "latency", "-o", plot.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&plot).unwrap().contains("one-way delay (ms)"));

    let bad = temp("viz-bad.jsonl");
    std::fs::write(&bad, "{\"herald_trace\":1,\"source\":\"sim\",\"scenario\":\"x\",\"nodes\":1}\n{\"t\":1}\n")
        .unwrap();
    let out = herald(&["viz", bad.to_str().unwrap(), "-o", temp("viz-bad.html").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 2"), "names the line: {}", stderr(&out));
    let out = herald(&["viz", temp("does-not-exist.jsonl").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`trace`"), "{}", stderr(&out));
}
