//! Turning a run's in-memory records into the versioned trace schema.

use crate::engine::Run;
use crate::record::RecordKind;
use herald_core::trace::{EventKind, Source, TRACE_VERSION, TraceEvent, TraceHeader, TraceWriter, hex};
use herald_core::{Node, codec};
use std::io::{self, Write};

impl<N: Node> Run<N> {
    /// The trace header for this run.
    pub fn trace_header(&self, scenario: &str, reproduce: Option<String>) -> TraceHeader {
        TraceHeader {
            herald_trace: TRACE_VERSION,
            source: Source::Sim,
            scenario: scenario.to_string(),
            nodes: self.config.nodes as u32,
            seed: Some(self.seed),
            model: serde_json::to_value(&self.config).unwrap_or_default(),
            reproduce,
        }
    }

    /// The run's events in the trace schema, without logical timestamps (the writer adds them).
    /// Empty unless the run was recorded.
    pub fn trace_events(&self) -> impl Iterator<Item = TraceEvent> + '_ {
        let skewed = self.clocks.iter().any(|&(offset, drift)| offset != 0 || drift != 0.0);
        self.records.iter().map(move |r| {
            let t = r.t;
            let (node, kind) = match &r.kind {
                RecordKind::Start { node } => (node.0, EventKind::Start),
                RecordKind::Send { from, to, msg, bytes } => {
                    let body =
                        codec::decode::<N::Msg>(bytes).map(|m| codec::to_json(&m)).unwrap_or(serde_json::Value::Null);
                    (
                        from.0,
                        EventKind::Send {
                            to: to.0,
                            msg: *msg,
                            size: bytes.len() as u32,
                            body,
                            bytes: Some(hex(bytes)),
                        },
                    )
                }
                RecordKind::Deliver { from, to, msg, .. } => (to.0, EventKind::Deliver { from: from.0, msg: *msg }),
                RecordKind::Drop { from, to, msg, reason } => {
                    (from.0, EventKind::Drop { to: to.0, msg: *msg, reason: *reason })
                }
                RecordKind::Duplicate { from, to, msg } => (from.0, EventKind::Duplicate { to: to.0, msg: *msg }),
                RecordKind::Modify { from, to, msg, bytes } => {
                    (from.0, EventKind::Modify { to: to.0, msg: *msg, bytes: hex(bytes) })
                }
                RecordKind::Inject { from, to, msg, bytes } => {
                    (from.0, EventKind::Inject { to: to.0, msg: *msg, bytes: hex(bytes) })
                }
                RecordKind::Replay { from, to, msg, of } => {
                    (from.0, EventKind::Replay { to: to.0, msg: *msg, of: *of })
                }
                RecordKind::TimerSet { node, timer, at } => {
                    (node.0, EventKind::TimerSet { timer: codec::to_json(timer), at: *at })
                }
                RecordKind::TimerFire { node, timer } => {
                    (node.0, EventKind::TimerFire { timer: codec::to_json(timer) })
                }
                RecordKind::TimerCancel { node, timer } => {
                    (node.0, EventKind::TimerCancel { timer: codec::to_json(timer) })
                }
                RecordKind::Crash { node, recovers } => (node.0, EventKind::Crash { recovers: *recovers }),
                RecordKind::Recover { node, keys, digest } => {
                    (node.0, EventKind::Recover { keys: *keys, digest: *digest })
                }
                RecordKind::Pause { node, until } => (node.0, EventKind::Pause { until: *until }),
                RecordKind::Persist { node, key, bytes } => {
                    (node.0, EventKind::Persist { key: key.to_string(), size: bytes.len() as u32 })
                }
                RecordKind::Output { node, index } => {
                    (node.0, EventKind::Output { value: codec::to_json(&self.outputs[*index as usize].value) })
                }
                RecordKind::PartitionStart { id } => {
                    let p = &self.config.model.partitions[*id as usize];
                    let ids = |v: &[herald_core::NodeId]| v.iter().map(|n| n.0).collect::<Vec<_>>();
                    let side_b = if p.side_b.is_empty() {
                        (0..self.config.nodes as u32).filter(|i| !p.side_a.iter().any(|a| a.0 == *i)).collect()
                    } else {
                        ids(&p.side_b)
                    };
                    (
                        0,
                        EventKind::PartitionStart {
                            id: *id,
                            from: ids(&p.side_a),
                            to: side_b,
                            symmetric: p.symmetric,
                            mode: p.mode,
                        },
                    )
                }
                RecordKind::PartitionEnd { id } => (0, EventKind::PartitionEnd { id: *id }),
                RecordKind::Heal => (0, EventKind::Heal),
            };
            let mut event = TraceEvent::new(t, node, kind);
            if skewed && event.kind.is_node_event() {
                let (offset, drift) = self.clocks[node as usize];
                let local = offset as i64 + t as i64 + (t as f64 * drift / 1e6) as i64;
                event.local = Some(local.max(0) as u64);
            }
            event
        })
    }

    /// Writes the run as a JSON Lines trace.
    pub fn write_trace<W: Write>(&self, out: W, scenario: &str, reproduce: Option<String>) -> io::Result<W> {
        let mut w = TraceWriter::new(out, &self.trace_header(scenario, reproduce))?;
        for event in self.trace_events() {
            w.write(event)?;
        }
        w.finish()
    }
}
