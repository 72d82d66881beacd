//! The trace explorer: one self-contained HTML file — inline CSS, inline JavaScript, the trace as
//! an inline JSON island, the diagram drawn as inline SVG. It makes no network request at view time
//! (it names no `http:`/`https:` resource at all) and works from a `file://` URL.
//!
//! The page draws only the time window in view (windowed drawing over binary-searched, time-sorted
//! arrays), so traces of 100,000 events stay responsive: the arrows it draws come from the same
//! [`Layout`] the SVG renderer uses. Zoom (wheel, buttons), pan (drag), step and scrub through the
//! events, filter by node and message type, and click anything to read the event, the message's
//! decoded contents, and the node's latest observation.
//!
//! A self-test hook (`#selftest` in the URL) drives the page's own controls and writes a JSON
//! verdict into `<pre id="selftest-result">`, so a headless browser can check the page from outside.

use crate::layout::Layout;
use crate::text::escape;
use herald_core::trace::{TraceEvent, TraceHeader};
use serde::Serialize;

const TEMPLATE: &str = include_str!("viewer.html");

#[derive(Serialize)]
struct Data<'a> {
    header: &'a TraceHeader,
    layout: &'a Layout,
    events: &'a [TraceEvent],
}

/// The explorer page for a trace. Events are drawn in time order: a trace whose lines are out of
/// order is sorted (stably) first.
pub fn page(header: &TraceHeader, events: &[TraceEvent]) -> String {
    let sorted;
    let events = if events.windows(2).all(|w| w[0].t <= w[1].t) {
        events
    } else {
        let mut v = events.to_vec();
        v.sort_by_key(|e| e.t);
        sorted = v;
        &sorted[..]
    };
    let layout = Layout::new(header, events);
    let data = Data { header, layout: &layout, events };
    // serde_json only writes `<` inside strings, where `\u003c` means the same: the island can
    // then never close its own <script> element.
    let json = serde_json::to_string(&data).unwrap_or_else(|_| "null".into()).replace('<', "\\u003c");
    let title = format!(
        "{} · {} nodes · {} events · {} deliveries · {} lost",
        header.scenario,
        layout.nodes,
        events.len(),
        layout.arrows.len(),
        layout.losses.len()
    );
    let reproduce = header.reproduce.as_deref().map(|r| format!("reproduce: {r}")).unwrap_or_default();
    let (head, tail) = TEMPLATE.split_once("{{DATA}}").unwrap_or((TEMPLATE, ""));
    let head = head.replace("{{TITLE}}", &escape(&title)).replace("{{REPRODUCE}}", &escape(&reproduce));
    let mut out = String::with_capacity(head.len() + json.len() + tail.len());
    out.push_str(&head);
    out.push_str(&json);
    out.push_str(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::trace::{EventKind, Source, TRACE_VERSION};
    use serde_json::Value;

    #[test]
    fn the_data_island_cannot_close_its_script_element() {
        let header = TraceHeader {
            herald_trace: TRACE_VERSION,
            source: Source::Sim,
            scenario: "</script><script>alert(1)</script>".into(),
            nodes: 1,
            seed: None,
            model: Value::Null,
            reproduce: None,
        };
        let events = vec![TraceEvent::new(0, 0, EventKind::Output { value: Value::from("</script>") })];
        let html = page(&header, &events);
        assert_eq!(html.matches("</script>").count(), 2, "only the page's own two script elements close");
        assert!(!html.contains("<script>alert"));
    }
}
