//! Export to ShiViz's log format, so existing tooling (ShiViz, TSViz) reads Herald runs.
//!
//! A ShiViz file is: the parser regular expression on the first line, the multiple-executions
//! delimiter on the second (empty: one execution), then two lines per event — a description, and
//! the host followed by its vector clock as a JSON object `{"n0":2,"n1":1}`. ShiViz requires each
//! host's own entry to start at 1 and grow by exactly one per event of that host; Herald's vector
//! clocks tick once per node event, so every node event is exported. Network events (drops,
//! duplicates, adversary actions, partitions) happen at no node and carry no clock: they are
//! written into the description of the sender's next event instead of as events of their own.

use crate::layout::message_type;
use crate::text::compact;
use herald_core::time::human;
use herald_core::trace::{EventKind, TraceEvent, TraceHeader};
use std::fmt::Write as _;

/// The parser expression written on the first line: the description, a newline, the host, a space
/// and the clock.
pub const REGEX: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})";

/// Why a trace cannot be exported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShivizError {
    /// A node event has no vector clock (a trace written without the [`herald_core::trace::Stamper`]).
    #[error("event {index} (n{node} at t={t}ns) has no vector clock (`vc`): ShiViz needs one on every node event")]
    MissingClock {
        /// 0-based event index after the header.
        index: usize,
        /// Its node.
        node: u32,
        /// Its time.
        t: u64,
    },
}

/// The ShiViz log of a trace.
pub fn export(header: &TraceHeader, events: &[TraceEvent]) -> Result<String, ShivizError> {
    let mut out = String::with_capacity(64 + events.len() * 96);
    out.push_str(REGEX);
    out.push_str("\n\n");
    // Network events wait here until their node's next event carries them.
    let mut pending: Vec<Vec<String>> = vec![Vec::new(); header.nodes as usize];
    for (index, e) in events.iter().enumerate() {
        if !e.kind.is_node_event() {
            let note = network_note(e);
            let node = e.node as usize;
            if node >= pending.len() {
                pending.resize(node + 1, Vec::new());
            }
            pending[node].push(note);
            continue;
        }
        let vc = e.vc.as_ref().ok_or(ShivizError::MissingClock { index, node: e.node, t: e.t })?;
        let mut line = format!("t={} {}", human(e.t), what(e));
        if let Some(notes) = pending.get_mut(e.node as usize).filter(|p| !p.is_empty()) {
            let _ = write!(line, " [network: {}]", notes.join("; "));
            notes.clear();
        }
        // A description is one line: JSON has no raw newlines, but free text might.
        out.push_str(&line.replace(['\n', '\r'], " "));
        out.push('\n');
        let _ = write!(out, "n{} {{", e.node);
        let mut first = true;
        for (i, &c) in vc.iter().enumerate() {
            if c == 0 {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "\"n{i}\":{c}");
        }
        out.push_str("}\n");
    }
    Ok(out)
}

fn what(e: &TraceEvent) -> String {
    match &e.kind {
        EventKind::Start => "start".into(),
        EventKind::Send { to, msg, body, .. } => {
            format!("send m{msg} to n{to}: {} {}", message_type(body), compact(body))
        }
        EventKind::Deliver { from, msg } => format!("deliver m{msg} from n{from}"),
        EventKind::TimerSet { timer, at } => format!("set timer {} for {}", compact(timer), human(*at)),
        EventKind::TimerFire { timer } => format!("timer {} fired", compact(timer)),
        EventKind::TimerCancel { timer } => format!("cancel timer {}", compact(timer)),
        EventKind::Crash { recovers } => format!("crash (recovers: {recovers})"),
        EventKind::Recover { keys, digest } => format!("recover: {keys} durable keys, digest {digest:016x}"),
        EventKind::Pause { until } => format!("pause until {}", human(*until)),
        EventKind::Persist { key, size } => format!("persist {key} ({size} B)"),
        EventKind::Output { value } => format!("output {}", compact(value)),
        other => format!("{other:?}"),
    }
}

fn network_note(e: &TraceEvent) -> String {
    match &e.kind {
        EventKind::Drop { to, msg, reason } => format!("m{msg} to n{to} dropped ({reason:?})"),
        EventKind::Duplicate { to, msg } => format!("m{msg} to n{to} duplicated"),
        EventKind::Modify { to, msg, .. } => format!("m{msg} to n{to} modified"),
        EventKind::Inject { to, msg, .. } => format!("m{msg} to n{to} injected"),
        EventKind::Replay { to, msg, of } => format!("m{msg} to n{to} replays m{of}"),
        EventKind::PartitionStart { id, from, to, .. } => format!("partition {id} {from:?}|{to:?} starts"),
        EventKind::PartitionEnd { id } => format!("partition {id} heals"),
        EventKind::Heal => "faults healed".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::trace::{DropReason, Source, Stamper, TRACE_VERSION};
    use serde_json::Value;

    #[test]
    fn every_node_event_becomes_two_lines_with_its_own_clock_entry() {
        let header = TraceHeader {
            herald_trace: TRACE_VERSION,
            source: Source::Sim,
            scenario: "t".into(),
            nodes: 2,
            seed: None,
            model: Value::Null,
            reproduce: None,
        };
        let body = serde_json::json!({"Ping": 1});
        let mut events = vec![
            TraceEvent::new(0, 0, EventKind::Start),
            TraceEvent::new(0, 0, EventKind::Send { to: 1, msg: 0, size: 1, body, bytes: None }),
            TraceEvent::new(0, 0, EventKind::Drop { to: 1, msg: 5, reason: DropReason::Loss }),
            TraceEvent::new(3, 1, EventKind::Deliver { from: 0, msg: 0 }),
            TraceEvent::new(4, 0, EventKind::Output { value: Value::from("done") }),
        ];
        let mut s = Stamper::new(2);
        events.iter_mut().for_each(|e| s.stamp(e));
        let log = export(&header, &events).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines[0], REGEX);
        assert_eq!(lines[1], "");
        assert_eq!(lines.len(), 2 + 2 * 4, "four node events");
        assert_eq!(lines[3], "n0 {\"n0\":1}");
        assert_eq!(lines[7], "n1 {\"n0\":2,\"n1\":1}", "the deliver carries the sender's clock");
        assert!(lines[8].contains("[network: m5 to n1 dropped (Loss)]"), "{}", lines[8]);
        events[0].vc = None;
        assert_eq!(export(&header, &events), Err(ShivizError::MissingClock { index: 0, node: 0, t: 0 }));
    }
}
