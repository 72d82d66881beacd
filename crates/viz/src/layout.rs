//! What a trace draws as: the pairing of every delivery and every loss with the transmission it
//! belongs to, the windows during which nodes are down or paused, and partition windows. The SVG
//! renderer and the HTML explorer draw the same [`Layout`], so they cannot disagree on what an
//! arrow is.

use herald_core::trace::{DropReason, EventKind, TraceEvent, TraceHeader};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// How an arrow is marked beyond an ordinary delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// The first delivery of a transmission the node sent.
    Plain,
    /// A further delivery of the same transmission: the network duplicated it.
    Duplicate,
    /// The adversary replaced the transmission's bytes before delivery.
    Modified,
    /// The adversary injected it; the sender named is a claim.
    Injected,
    /// The adversary replayed an earlier message's bytes.
    Replayed,
    /// No send, inject or replay in the trace explains it (a truncated trace).
    Orphan,
}

impl Mark {
    /// The CSS class the renderers give the arrow (besides `msg`).
    pub fn class(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Duplicate => "dup",
            Self::Modified => "modified",
            Self::Injected => "injected",
            Self::Replayed => "replayed",
            Self::Orphan => "orphan",
        }
    }
}

/// One delivered message: an arrow from its sender's line at send time to its receiver's line at
/// delivery time, so its slope shows the delay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arrow {
    /// Sending node (as the origin event records it; the claimed sender for injections).
    pub from: u32,
    /// Receiving node.
    pub to: u32,
    /// Time the message left.
    pub t_send: u64,
    /// Time it was delivered.
    pub t_recv: u64,
    /// Index of the send, inject or replay event (None for an orphan).
    pub origin: Option<usize>,
    /// Index of the deliver event.
    pub deliver: usize,
    /// Message id.
    pub msg: u64,
    /// Index into [`Layout::types`].
    pub ty: usize,
    /// How it is marked.
    pub mark: Mark,
}

/// A transmission that was not delivered: a line from the sender ending in ×.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Loss {
    /// Sending node.
    pub from: u32,
    /// Intended receiver.
    pub to: u32,
    /// Time it left.
    pub t_send: u64,
    /// Time it was given up.
    pub t_drop: u64,
    /// Index of the origin event, if the trace has it.
    pub origin: Option<usize>,
    /// Index of the drop event.
    pub drop: usize,
    /// Message id.
    pub msg: u64,
    /// Index into [`Layout::types`].
    pub ty: usize,
    /// Why.
    pub reason: DropReason,
}

/// A stretch of time on one node's line: down (crashed) or paused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    /// The node.
    pub node: u32,
    /// Start.
    pub from: u64,
    /// End (`None`: until the end of the trace).
    pub until: Option<u64>,
    /// Index of the event that started it.
    pub event: usize,
}

/// A partition window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionWindow {
    /// Partition index in the configuration.
    pub id: u32,
    /// Start.
    pub from: u64,
    /// End (`None`: never healed in the trace).
    pub until: Option<u64>,
    /// A label such as `n0 | n1,n2 (drop)`.
    pub label: String,
    /// Index of the start event.
    pub event: usize,
}

/// Everything a renderer needs besides the events themselves.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Layout {
    /// Number of node lines: the header's count, or more if events name higher ids.
    pub nodes: u32,
    /// Earliest event time.
    pub t_min: u64,
    /// Latest time anything in the trace reaches (events, pause ends, timer deadlines excluded).
    pub t_max: u64,
    /// Message types, by first appearance: a body's variant name (`Ping`), or `message`.
    pub types: Vec<String>,
    /// One per deliver event, in deliver order.
    pub arrows: Vec<Arrow>,
    /// One per drop event.
    pub losses: Vec<Loss>,
    /// Crashed stretches.
    pub down: Vec<Span>,
    /// Paused stretches.
    pub paused: Vec<Span>,
    /// Partition windows.
    pub partitions: Vec<PartitionWindow>,
}

/// The name a message body is filtered by: the variant of an externally tagged enum (`{"Ping":…}`
/// or `"Ack"` — capitalised, as Rust names variants), else `message` (a struct such as
/// `{"seq":3}` is not a variant).
pub fn message_type(body: &Value) -> &str {
    let variant = |s: &str| s.len() <= 40 && s.starts_with(|c: char| c.is_ascii_uppercase());
    match body {
        Value::String(s) if variant(s) => s,
        Value::Object(map) if map.len() == 1 => {
            map.keys().next().filter(|k| variant(k)).map_or("message", String::as_str)
        }
        _ => "message",
    }
}

fn side(ids: &[u32]) -> String {
    ids.iter().map(|i| format!("n{i}")).collect::<Vec<_>>().join(",")
}

impl Layout {
    /// Pairs the events of a trace. Never fails: events that do not pair are drawn as orphans.
    pub fn new(header: &TraceHeader, events: &[TraceEvent]) -> Self {
        let highest = events.iter().map(|e| e.node + 1).chain(events.iter().filter_map(|e| match e.kind {
            EventKind::Send { to, .. } | EventKind::Drop { to, .. } => Some(to + 1),
            EventKind::Deliver { from, .. } => Some(from + 1),
            _ => None,
        }));
        let nodes = highest.fold(header.nodes, u32::max);
        let t_min = events.iter().map(|e| e.t).min().unwrap_or(0);
        let mut t_max = events.iter().map(|e| e.t).max().unwrap_or(0);
        let mut types: Vec<String> = Vec::new();
        let mut type_index = |name: &str| match types.iter().position(|t| t == name) {
            Some(i) => i,
            None => {
                types.push(name.to_string());
                types.len() - 1
            }
        };
        // A message id's origin (event index), type, whether it was modified, and deliveries so far.
        struct Origin {
            event: usize,
            ty: usize,
            modified: bool,
            delivered: u32,
        }
        let mut origins: BTreeMap<u64, Origin> = BTreeMap::new();
        let mut layout = Self {
            nodes,
            t_min,
            t_max,
            types: Vec::new(),
            arrows: Vec::new(),
            losses: Vec::new(),
            down: Vec::new(),
            paused: Vec::new(),
            partitions: Vec::new(),
        };
        for (i, e) in events.iter().enumerate() {
            match &e.kind {
                EventKind::Send { msg, body, .. } => {
                    let ty = type_index(message_type(body));
                    origins.insert(*msg, Origin { event: i, ty, modified: false, delivered: 0 });
                }
                EventKind::Inject { msg, .. } | EventKind::Replay { msg, .. } => {
                    // A replay carries an old message's bytes: it is of that message's type.
                    let ty = match &e.kind {
                        EventKind::Replay { of, .. } => origins.get(of).map(|o| o.ty),
                        _ => None,
                    }
                    .unwrap_or_else(|| type_index("message"));
                    origins.insert(*msg, Origin { event: i, ty, modified: false, delivered: 0 });
                }
                EventKind::Modify { msg, .. } => {
                    if let Some(o) = origins.get_mut(msg) {
                        o.modified = true;
                    }
                }
                EventKind::Deliver { from, msg } => {
                    let (origin, t_send, sender, ty, mark) = match origins.get_mut(msg) {
                        Some(o) => {
                            o.delivered += 1;
                            let src = &events[o.event];
                            let mark = match src.kind {
                                EventKind::Inject { .. } => Mark::Injected,
                                EventKind::Replay { .. } => Mark::Replayed,
                                _ if o.modified => Mark::Modified,
                                _ if o.delivered > 1 => Mark::Duplicate,
                                _ => Mark::Plain,
                            };
                            (Some(o.event), src.t, src.node, o.ty, mark)
                        }
                        None => (None, e.t, *from, type_index("message"), Mark::Orphan),
                    };
                    layout.arrows.push(Arrow {
                        from: sender,
                        to: e.node,
                        t_send,
                        t_recv: e.t,
                        origin,
                        deliver: i,
                        msg: *msg,
                        ty,
                        mark,
                    });
                }
                EventKind::Drop { to, msg, reason } => {
                    let (origin, t_send, ty) = match origins.get(msg) {
                        Some(o) => (Some(o.event), events[o.event].t, o.ty),
                        None => (None, e.t, type_index("message")),
                    };
                    layout.losses.push(Loss {
                        from: e.node,
                        to: *to,
                        t_send,
                        t_drop: e.t,
                        origin,
                        drop: i,
                        msg: *msg,
                        ty,
                        reason: *reason,
                    });
                }
                EventKind::Crash { .. } => {
                    layout.down.push(Span { node: e.node, from: e.t, until: None, event: i });
                }
                EventKind::Recover { .. } => {
                    if let Some(s) = layout.down.iter_mut().rev().find(|s| s.node == e.node && s.until.is_none()) {
                        s.until = Some(e.t);
                    }
                }
                EventKind::Pause { until } => {
                    t_max = t_max.max(*until);
                    layout.paused.push(Span { node: e.node, from: e.t, until: Some(*until), event: i });
                }
                EventKind::PartitionStart { id, from, to, symmetric, mode } => {
                    let arrow = if *symmetric { "|" } else { "→" };
                    let mode = match mode {
                        herald_core::trace::CutMode::Drop => "drop",
                        herald_core::trace::CutMode::Hold => "hold",
                    };
                    layout.partitions.push(PartitionWindow {
                        id: *id,
                        from: e.t,
                        until: None,
                        label: format!("partition {id}: {} {arrow} {} ({mode})", side(from), side(to)),
                        event: i,
                    });
                }
                EventKind::PartitionEnd { id } => {
                    if let Some(p) = layout.partitions.iter_mut().rev().find(|p| p.id == *id && p.until.is_none()) {
                        p.until = Some(e.t);
                    }
                }
                _ => {}
            }
        }
        layout.t_max = t_max;
        layout.types = types;
        layout
    }

    /// How many arrows (deliveries) the layout holds.
    pub fn deliveries(&self) -> usize {
        self.arrows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::trace::{Source, TRACE_VERSION};

    fn header(nodes: u32) -> TraceHeader {
        TraceHeader {
            herald_trace: TRACE_VERSION,
            source: Source::Sim,
            scenario: "t".into(),
            nodes,
            seed: None,
            model: Value::Null,
            reproduce: None,
        }
    }

    fn send(t: u64, node: u32, to: u32, msg: u64) -> TraceEvent {
        let body = serde_json::json!({"Ping": {"seq": msg}});
        TraceEvent::new(t, node, EventKind::Send { to, msg, size: 1, body, bytes: None })
    }

    #[test]
    fn deliveries_pair_with_their_sends_and_copies_are_duplicates() {
        let events = vec![
            send(0, 0, 1, 7),
            TraceEvent::new(0, 0, EventKind::Duplicate { to: 1, msg: 7 }),
            TraceEvent::new(5, 1, EventKind::Deliver { from: 0, msg: 7 }),
            TraceEvent::new(9, 1, EventKind::Deliver { from: 0, msg: 7 }),
            TraceEvent::new(9, 2, EventKind::Deliver { from: 0, msg: 99 }),
        ];
        let l = Layout::new(&header(3), &events);
        assert_eq!(l.arrows.len(), 3);
        assert_eq!((l.arrows[0].t_send, l.arrows[0].t_recv, l.arrows[0].mark), (0, 5, Mark::Plain));
        assert_eq!(l.arrows[1].mark, Mark::Duplicate);
        assert_eq!(l.arrows[2].mark, Mark::Orphan);
        assert_eq!(l.types, vec!["Ping".to_string(), "message".to_string()]);
        assert_eq!(message_type(&serde_json::json!({"seq": 3})), "message", "a struct is not a variant");
        assert_eq!(message_type(&serde_json::json!("Ack")), "Ack");
        assert_eq!(message_type(&serde_json::json!("hello world")), "message");
    }

    #[test]
    fn injections_modifications_losses_and_windows() {
        let events = vec![
            send(0, 0, 1, 1),
            TraceEvent::new(1, 0, EventKind::Modify { to: 1, msg: 1, bytes: "00".into() }),
            TraceEvent::new(2, 1, EventKind::Deliver { from: 0, msg: 1 }),
            TraceEvent::new(3, 2, EventKind::Inject { to: 1, msg: 2, bytes: "00".into() }),
            TraceEvent::new(4, 1, EventKind::Deliver { from: 2, msg: 2 }),
            send(5, 0, 2, 3),
            TraceEvent::new(5, 0, EventKind::Drop { to: 2, msg: 3, reason: DropReason::Loss }),
            TraceEvent::new(6, 2, EventKind::Crash { recovers: true }),
            TraceEvent::new(8, 2, EventKind::Recover { keys: 0, digest: 0 }),
            TraceEvent::new(9, 1, EventKind::Pause { until: 20 }),
        ];
        let l = Layout::new(&header(3), &events);
        assert_eq!(l.arrows[0].mark, Mark::Modified);
        assert_eq!((l.arrows[1].mark, l.arrows[1].from, l.arrows[1].t_send), (Mark::Injected, 2, 3));
        assert_eq!(l.losses.len(), 1);
        assert_eq!((l.losses[0].from, l.losses[0].to, l.losses[0].origin), (0, 2, Some(5)));
        assert_eq!(l.down, vec![Span { node: 2, from: 6, until: Some(8), event: 7 }]);
        assert_eq!(l.t_max, 20, "a pause reaches past the last event");
    }
}
