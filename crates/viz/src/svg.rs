//! The static space-time diagram: one horizontal line per node, time flowing right on a linear
//! scale (so an arrow's slope is its delay), drawn exactly as the lecture draws runs.
//!
//! Every element carries its facts: each node event is a `<circle class="ev …">` with its Lamport
//! timestamp and vector clock as `data-lamport` / `data-vc` and in its `<title>` (shown on hover),
//! each delivery is one `<line class="msg …">`, each loss a `<line class="lost">` ending in a
//! `<path class="x">`. Output is a pure function of the trace: the same trace gives the same bytes.

use crate::layout::{Layout, message_type};
use crate::text::{Fmt, compact, escape, truncate};
use herald_core::time::human;
use herald_core::trace::{DropReason, EventKind, TraceEvent, TraceHeader};
use std::fmt::Write as _;

/// Left margin (node labels).
const LEFT: f64 = 56.0;
/// Right margin.
const RIGHT: f64 = 120.0;
/// Space above the first node line (title and partition labels).
const TOP: f64 = 64.0;
/// Distance between node lines.
const LANE: f64 = 64.0;
/// Space below the last node line (time axis and legend).
const BOTTOM: f64 = 92.0;
/// Plot width bounds; in between, 6 px per node event.
const WIDTH_MIN: f64 = 800.0;
const WIDTH_MAX: f64 = 12_000.0;

/// Where things go.
struct Geometry {
    t_min: u64,
    span: f64,
    width: f64,
}

impl Geometry {
    fn x(&self, t: u64) -> f64 {
        LEFT + (t.saturating_sub(self.t_min)) as f64 / self.span * self.width
    }
    fn y(&self, node: u32) -> f64 {
        TOP + f64::from(node) * LANE
    }
}

const STYLE: &str = "
text{font:11px sans-serif;fill:#222}
.title{font-size:13px;font-weight:bold}
.lane{stroke:#444;stroke-width:1.5}
.lane-label{font-size:13px;font-weight:bold}
.axis{stroke:#999;stroke-width:1}.tick{font-size:10px;fill:#666}
.msg{stroke:#1f5fbf;stroke-width:1.2}
.msg.dup{stroke:#7a4fbf;stroke-dasharray:5 3}
.msg.modified{stroke:#d9822b;stroke-width:1.8}
.msg.injected{stroke:#c0392b;stroke-width:1.8;stroke-dasharray:2 2}
.msg.replayed{stroke:#8e44ad;stroke-width:1.5;stroke-dasharray:8 3}
.msg.orphan{stroke:#999}
.lost{stroke:#c0392b;stroke-width:1;stroke-dasharray:3 2}
.x{stroke:#c0392b;stroke-width:2;fill:none}
.ev{fill:#fff;stroke:#333;stroke-width:1}
.ev.send{fill:#1f5fbf;stroke:none}.ev.deliver{fill:#fff;stroke:#1f5fbf}
.ev.output{fill:#2e8b57;stroke:none}.ev.start{fill:#333}
.ev.timer_set,.ev.timer_cancel{fill:#fff;stroke:#b8860b}.ev.timer_fire{fill:#b8860b;stroke:none}
.ev.persist{fill:#555;stroke:none}
.crash{stroke:#c0392b;stroke-width:3;fill:none}
.recover{fill:#2e8b57}
.down{stroke:#bbb;stroke-width:6;stroke-opacity:.7}
.pause{fill:#e67e22;fill-opacity:.35}
.partition{fill:#c0392b;fill-opacity:.08;stroke:#c0392b;stroke-opacity:.3;stroke-dasharray:4 3}
.plabel{font-size:10px;fill:#a93226}
.heal{stroke:#2e8b57;stroke-dasharray:6 4}
.out-label{font-size:10px;fill:#2e8b57}
.legend{font-size:10px}
";

/// The diagram as a standalone SVG document.
pub fn diagram(header: &TraceHeader, events: &[TraceEvent]) -> String {
    render(header, events, &Layout::new(header, events))
}

fn render(header: &TraceHeader, events: &[TraceEvent], layout: &Layout) -> String {
    // A checker's counterexample counts steps, not nanoseconds.
    let human = |t: u64| time_label(header.source, t);
    let node_events = events.iter().filter(|e| e.kind.is_node_event()).count() as f64;
    let width = (node_events * 6.0).clamp(WIDTH_MIN, WIDTH_MAX);
    let g = Geometry { t_min: layout.t_min, span: (layout.t_max.saturating_sub(layout.t_min)).max(1) as f64, width };
    let total_w = LEFT + width + RIGHT;
    let total_h = TOP + f64::from(layout.nodes.saturating_sub(1)) * LANE + BOTTOM;
    let mut s = String::with_capacity(256 + events.len() * 200);
    // The namespace is an identifier a standalone file needs; it is never fetched.
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"herald-diagram\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">\n<style>{STYLE}</style>\n",
        Fmt(total_w),
        Fmt(total_h),
        Fmt(total_w),
        Fmt(total_h)
    );
    s.push_str(
        "<defs><marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#333\"/></marker></defs>\n",
    );
    let _ = writeln!(
        s,
        "<text class=\"title\" x=\"{LEFT}\" y=\"18\">{} · {} node{} · {} events · {} deliveries · {} lost</text>",
        escape(&header.scenario),
        layout.nodes,
        if layout.nodes == 1 { "" } else { "s" },
        events.len(),
        layout.arrows.len(),
        layout.losses.len()
    );
    let y_last = g.y(layout.nodes.saturating_sub(1));

    // Partition windows, shaded behind everything.
    for p in &layout.partitions {
        let (x0, x1) = (g.x(p.from), g.x(p.until.unwrap_or(layout.t_max)));
        let until = p.until.map_or("the end".to_string(), human);
        let _ = writeln!(
            s,
            "<rect class=\"partition\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{} from {} to {until}</title></rect><text class=\"plabel\" x=\"{}\" y=\"{}\">{}</text>",
            Fmt(x0),
            Fmt(TOP - 22.0),
            Fmt((x1 - x0).max(1.0)),
            Fmt(y_last - TOP + 36.0),
            escape(&p.label),
            human(p.from),
            Fmt(x0 + 2.0),
            Fmt(TOP - 26.0),
            escape(&p.label)
        );
    }

    // Node lines, their down and paused stretches.
    for n in 0..layout.nodes {
        let y = g.y(n);
        let _ = writeln!(
            s,
            "<line class=\"lane\" x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"lane-label\" x=\"8\" y=\"{}\">n{n}</text>",
            Fmt(y),
            Fmt(LEFT + width),
            Fmt(y),
            Fmt(y + 4.0)
        );
    }
    for d in &layout.down {
        let (x0, x1) = (g.x(d.from), g.x(d.until.unwrap_or(layout.t_max)));
        let _ = writeln!(
            s,
            "<line class=\"down\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"><title>n{} down from {}{}</title></line>",
            Fmt(x0),
            Fmt(g.y(d.node)),
            Fmt(x1.max(x0 + 1.0)),
            Fmt(g.y(d.node)),
            d.node,
            human(d.from),
            d.until.map_or(String::new(), |u| format!(" to {}", human(u)))
        );
    }
    for p in &layout.paused {
        let (x0, x1) = (g.x(p.from), g.x(p.until.unwrap_or(layout.t_max)));
        let _ = writeln!(
            s,
            "<rect class=\"pause\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"10\"><title>n{} paused from {}{}</title></rect>",
            Fmt(x0),
            Fmt(g.y(p.node) - 5.0),
            Fmt((x1 - x0).max(1.0)),
            p.node,
            human(p.from),
            p.until.map_or(String::new(), |u| format!(" to {}", human(u)))
        );
    }

    // Losses: a line toward the receiver that ends in ×.
    for l in &layout.losses {
        let (x0, y0) = (g.x(l.t_send), g.y(l.from));
        let y_to = g.y(l.to);
        let (x1, y1) = match l.reason {
            // It arrived, at a node that could not take it.
            DropReason::Crashed | DropReason::Corrupt => (g.x(l.t_drop), y_to),
            _ => ((g.x(l.t_drop)).max(x0 + 14.0), y0 + 0.45 * (y_to - y0)),
        };
        let body = l.origin.map(|o| describe_body(&events[o])).unwrap_or_default();
        let _ = writeln!(
            s,
            "<line class=\"lost\" data-msg=\"{}\" data-drop=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"><title>m{} n{} → n{} lost ({}) at {}{body}</title></line><path class=\"x\" d=\"M{} {}L{} {}M{} {}L{} {}\"/>",
            l.msg,
            l.drop,
            Fmt(x0),
            Fmt(y0),
            Fmt(x1),
            Fmt(y1),
            l.msg,
            l.from,
            l.to,
            reason(l.reason),
            human(l.t_drop),
            Fmt(x1 - 5.0),
            Fmt(y1 - 5.0),
            Fmt(x1 + 5.0),
            Fmt(y1 + 5.0),
            Fmt(x1 - 5.0),
            Fmt(y1 + 5.0),
            Fmt(x1 + 5.0),
            Fmt(y1 - 5.0),
        );
    }

    // Deliveries: one arrow each.
    for a in &layout.arrows {
        let (x0, y0, x1, y1) = (g.x(a.t_send), g.y(a.from), g.x(a.t_recv), g.y(a.to));
        let origin = a.origin.map(|o| stamp(&events[o])).unwrap_or_default();
        let body = a.origin.map(|o| describe_body(&events[o])).unwrap_or_default();
        let _ = writeln!(
            s,
            "<line class=\"msg {}\" data-msg=\"{}\" data-deliver=\"{}\" data-type=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" marker-end=\"url(#arrowhead)\"><title>m{} {} n{} → n{}{body} · sent {}{origin} · delivered {}{} · delay {}</title></line>",
            a.mark.class(),
            a.msg,
            a.deliver,
            escape(&layout.types[a.ty]),
            Fmt(x0),
            Fmt(y0),
            Fmt(x1),
            Fmt(y1),
            a.msg,
            a.mark.class(),
            a.from,
            a.to,
            human(a.t_send),
            human(a.t_recv),
            stamp(&events[a.deliver]),
            human(a.t_recv.saturating_sub(a.t_send)),
        );
    }

    // Node events on the lines, with outputs labelled where they fit.
    let mut label_end = vec![f64::NEG_INFINITY; layout.nodes as usize];
    for (i, e) in events.iter().enumerate() {
        let (x, y) = (g.x(e.t), g.y(e.node));
        match &e.kind {
            EventKind::Crash { recovers } => {
                let _ = writeln!(
                    s,
                    "<path class=\"crash\" data-i=\"{i}\" d=\"M{} {}L{} {}M{} {}L{} {}\"><title>n{} crashed at {}{}{}</title></path>",
                    Fmt(x - 7.0),
                    Fmt(y - 7.0),
                    Fmt(x + 7.0),
                    Fmt(y + 7.0),
                    Fmt(x - 7.0),
                    Fmt(y + 7.0),
                    Fmt(x + 7.0),
                    Fmt(y - 7.0),
                    e.node,
                    human(e.t),
                    if *recovers { " (will recover)" } else { "" },
                    stamp(e)
                );
                continue;
            }
            EventKind::Recover { keys, .. } => {
                let _ = writeln!(
                    s,
                    "<path class=\"recover\" data-i=\"{i}\" d=\"M{} {}L{} {}L{} {}z\"><title>n{} recovered at {} with {keys} durable keys{}</title></path>",
                    Fmt(x),
                    Fmt(y - 8.0),
                    Fmt(x + 7.0),
                    Fmt(y + 5.0),
                    Fmt(x - 7.0),
                    Fmt(y + 5.0),
                    e.node,
                    human(e.t),
                    stamp(e)
                );
                continue;
            }
            EventKind::Heal => {
                let _ = writeln!(
                    s,
                    "<line class=\"heal\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"><title>faults healed at {}: the liveness phase</title></line>",
                    Fmt(x),
                    Fmt(TOP - 20.0),
                    Fmt(x),
                    Fmt(y_last + 14.0),
                    human(e.t)
                );
                continue;
            }
            k if !k.is_node_event() => continue,
            _ => {}
        }
        let (class, r) = match &e.kind {
            EventKind::Start => ("start", 3.0),
            EventKind::Send { .. } => ("send", 2.5),
            EventKind::Deliver { .. } => ("deliver", 2.5),
            EventKind::TimerSet { .. } => ("timer_set", 2.5),
            EventKind::TimerFire { .. } => ("timer_fire", 3.0),
            EventKind::TimerCancel { .. } => ("timer_cancel", 2.0),
            EventKind::Output { .. } => ("output", 3.5),
            EventKind::Persist { .. } => ("persist", 2.5),
            EventKind::Pause { .. } => ("pause", 2.5),
            _ => ("other", 2.5),
        };
        let vc = e.vc.as_ref().map(|v| compact(&serde_json::json!(v))).unwrap_or_default();
        let lamport = e.lamport.map(|l| l.to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            "<circle class=\"ev {class}\" data-i=\"{i}\" data-lamport=\"{lamport}\" data-vc=\"{vc}\" cx=\"{}\" cy=\"{}\" r=\"{r}\"><title>{}</title></circle>",
            Fmt(x),
            Fmt(y),
            escape(&describe(e, header.source)),
        );
        if let EventKind::Output { value } = &e.kind {
            let text = truncate(&compact(value), 28);
            let lane = e.node as usize;
            if lane < label_end.len() && x > label_end[lane] {
                let _ = writeln!(
                    s,
                    "<text class=\"out-label\" x=\"{}\" y=\"{}\">{}</text>",
                    Fmt(x + 3.0),
                    Fmt(y - 7.0),
                    escape(&text)
                );
                label_end[lane] = x + 3.0 + 5.6 * text.chars().count() as f64;
            }
        }
    }

    // The time axis.
    let axis_y = y_last + 24.0;
    let _ = writeln!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
        Fmt(axis_y),
        Fmt(LEFT + width),
        Fmt(axis_y)
    );
    let ticks = (width / 120.0).floor().max(2.0) as u64;
    for k in 0..=ticks {
        let t = g.t_min + ((g.span * k as f64) / ticks as f64).round() as u64;
        let x = g.x(t);
        let _ = writeln!(
            s,
            "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"tick\" x=\"{}\" y=\"{}\">{}</text>",
            Fmt(x),
            Fmt(axis_y),
            Fmt(x),
            Fmt(axis_y + 4.0),
            Fmt(x - 10.0),
            Fmt(axis_y + 15.0),
            human(t)
        );
    }
    legend(&mut s, axis_y + 36.0);
    s.push_str("</svg>\n");
    s
}

fn legend(s: &mut String, y: f64) {
    let items = [
        ("msg plain", "delivered"),
        ("msg dup", "duplicate"),
        ("msg modified", "modified"),
        ("msg injected", "injected"),
        ("msg replayed", "replayed"),
        ("lost", "lost ×"),
    ];
    for (i, (class, label)) in items.into_iter().enumerate() {
        let x = LEFT + 100.0 * i as f64;
        let _ = write!(
            s,
            "<line class=\"key {class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"legend\" x=\"{}\" y=\"{}\">{label}</text>",
            Fmt(x),
            Fmt(y),
            Fmt(x + 22.0),
            Fmt(y),
            Fmt(x + 26.0),
            Fmt(y + 4.0)
        );
    }
    let _ = writeln!(
        s,
        "<text class=\"legend\" x=\"{LEFT}\" y=\"{}\">● send · ○ deliver · ◆ timer set/fired · ● output (green, labelled) · ✕ crash, grey while down · ▲ recover · ▬ pause · shaded: partition · dashed green: faults healed</text>",
        Fmt(y + 20.0)
    );
}

fn reason(r: DropReason) -> &'static str {
    match r {
        DropReason::Loss => "loss",
        DropReason::Partition => "partition",
        DropReason::Crashed => "receiver down",
        DropReason::Adversary => "adversary",
        DropReason::Corrupt => "did not decode",
        DropReason::InFlight => "still in flight at the end",
    }
}

/// ` · L5 · VC [2,3,0]`, or nothing for events without logical time.
fn stamp(e: &TraceEvent) -> String {
    match (&e.lamport, &e.vc) {
        (Some(l), Some(vc)) => format!(" · L{l} · VC {}", compact(&serde_json::json!(vc))),
        (Some(l), None) => format!(" · L{l}"),
        _ => String::new(),
    }
}

/// ` Ping {"seq":3}` for the send that started a message.
fn describe_body(origin: &TraceEvent) -> String {
    match &origin.kind {
        EventKind::Send { body, .. } => format!(" {}", escape(&truncate(&compact(body), 120))),
        EventKind::Inject { bytes, .. } => format!(" injected bytes {}", escape(&truncate(bytes, 64))),
        EventKind::Replay { of, .. } => format!(" replay of m{of}"),
        _ => String::new(),
    }
}

/// One line about a node event, for its `<title>`.
pub(crate) fn describe(e: &TraceEvent, source: herald_core::trace::Source) -> String {
    let human = |t: u64| time_label(source, t);
    let what = match &e.kind {
        EventKind::Start => "start".to_string(),
        EventKind::Send { to, msg, size, body, .. } => {
            format!("send m{msg} to n{to} ({size} B) {} {}", message_type(body), truncate(&compact(body), 120))
        }
        EventKind::Deliver { from, msg } => format!("deliver m{msg} from n{from}"),
        EventKind::TimerSet { timer, at } => format!("set timer {} for {}", compact(timer), human(*at)),
        EventKind::TimerFire { timer } => format!("timer {} fired", compact(timer)),
        EventKind::TimerCancel { timer } => format!("cancel timer {}", compact(timer)),
        EventKind::Crash { recovers } => format!("crash{}", if *recovers { " (recovers)" } else { "" }),
        EventKind::Recover { keys, .. } => format!("recover with {keys} keys"),
        EventKind::Pause { until } => format!("pause until {}", human(*until)),
        EventKind::Persist { key, size } => format!("persist {key} ({size} B)"),
        EventKind::Output { value } => format!("output {}", truncate(&compact(value), 120)),
        other => format!("{other:?}"),
    };
    let local = e.local.map(|l| format!(" (local clock {})", human(l))).unwrap_or_default();
    format!("n{} · {what} · t={}{local}{}", e.node, human(e.t), stamp(e))
}

/// A time of a trace from `source`, for people: virtual or real durations, or checker steps.
fn time_label(source: herald_core::trace::Source, t: u64) -> String {
    match source {
        herald_core::trace::Source::Check => format!("step {t}"),
        _ => human(t),
    }
}
