//! Traces of real runs, in the simulator's schema ([`herald_core::trace`], source `net`).
//!
//! Each process writes its own file: a header whose `model` records the process's wall-clock epoch
//! (`epoch_unix_ns`), then its events with `t` in monotonic nanoseconds since that epoch and the
//! Lamport timestamp the driver kept — frames carry the sender's clock, so a deliver's timestamp
//! exceeds its send's across machines. [`merge`] joins the files of one run into one trace, every
//! event shifted onto the earliest epoch and sorted by time (on one machine the clocks agree, so
//! this order respects happens-before; across machines, Lamport order is the one to trust).

use herald_core::trace::{self, EventKind, Source, TRACE_VERSION, TraceEvent, TraceHeader};
use serde_json::json;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;
use tracing::warn;

/// The wall clock now, in nanoseconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// One process's trace file.
///
/// Durable up to the last completed handler: the driver gathers a handler's events (with the
/// deliver or timer firing that started it) in memory and [`Recorder::commit`]s them with one
/// `write(2)` to the unbuffered file when the handler is done — before any message it sent can
/// leave the process, since the connections' writers run on the node's thread only after the
/// handler returns. Once written, the bytes are the kernel's: `kill -9` of the process loses
/// nothing written (a power cut can; that would need an fsync per handler, and [`Recorder::finish`]
/// fsyncs once at a graceful stop). A kill in the middle of a large write can leave a torn last
/// line, which [`herald_core::trace::read`] skips.
#[derive(Debug)]
pub(crate) struct Recorder {
    out: File,
    /// The events of the handler in progress, as JSON Lines.
    pending: Vec<u8>,
    error: Option<io::Error>,
}

impl Recorder {
    /// `epoch` is the wall-clock reading (ns since the Unix epoch) at the instant event times count from.
    pub(crate) fn create(
        path: &Path,
        scenario: &str,
        node: u32,
        nodes: usize,
        incarnation: u64,
        epoch: u64,
    ) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = File::create(path)?;
        let header = TraceHeader {
            herald_trace: TRACE_VERSION,
            source: Source::Net,
            scenario: scenario.to_string(),
            nodes: nodes as u32,
            seed: None,
            model: json!({ "driver": "herald-net", "node": node, "incarnation": incarnation, "epoch_unix_ns": epoch }),
            reproduce: None,
        };
        let mut pending = Vec::with_capacity(4096);
        serde_json::to_writer(&mut pending, &header)?;
        pending.push(b'\n');
        let mut recorder = Self { out, pending, error: None };
        recorder.commit();
        match recorder.error.take() {
            Some(e) => Err(e),
            None => Ok(recorder),
        }
    }

    /// Adds one event to the handler in progress; [`Recorder::commit`] writes it.
    pub(crate) fn event(&mut self, t: u64, node: u32, kind: EventKind, lamport: Option<u64>) {
        if self.error.is_some() {
            return;
        }
        let mut event = TraceEvent::new(t, node, kind);
        event.lamport = lamport;
        match serde_json::to_writer(&mut self.pending, &event) {
            Ok(()) => self.pending.push(b'\n'),
            Err(e) => self.error = Some(e.into()),
        }
    }

    /// Writes the events added since the last commit, with one `write(2)` (more only if the kernel
    /// takes part of it). The first write error is kept and reported by [`Recorder::finish`].
    pub(crate) fn commit(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if self.error.is_none() {
            if let Err(e) = (&self.out).write_all(&self.pending) {
                self.error = Some(e);
            }
        }
        self.pending.clear();
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.commit();
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.sync_all()
    }
}

/// A node stopping on an error still leaves what it had recorded.
impl Drop for Recorder {
    fn drop(&mut self) {
        self.commit();
    }
}

/// Merges the per-process traces `inputs` (one run; several incarnations of a node allowed) into
/// one trace at `output`, named `scenario`. Returns the number of events.
pub fn merge(inputs: &[impl AsRef<Path>], output: &Path, scenario: &str) -> Result<usize, trace::ReadError> {
    let mut parts = Vec::new();
    let mut nodes = 0;
    for path in inputs {
        let read = trace::read_detailed(BufReader::new(File::open(path.as_ref())?))?;
        if let Some(torn) = read.torn_tail {
            warn!(
                trace = %path.as_ref().display(),
                line = torn.line,
                bytes = torn.bytes,
                "skipping a torn last line (its writer stopped mid-line, as after kill -9)"
            );
        }
        let (header, events) = (read.header, read.events);
        let epoch = header.model.get("epoch_unix_ns").and_then(serde_json::Value::as_u64).unwrap_or(0);
        nodes = nodes.max(header.nodes);
        parts.push((epoch, events));
    }
    let base = parts.iter().map(|(e, _)| *e).min().unwrap_or(0);
    let mut streams: Vec<std::collections::VecDeque<TraceEvent>> = parts
        .into_iter()
        .map(|(epoch, events)| {
            events
                .into_iter()
                .map(|mut e| {
                    e.t = e.t.saturating_add(epoch - base);
                    e
                })
                .collect()
        })
        .collect();
    let sent: BTreeSet<u64> = streams.iter().flatten().filter_map(|e| send_id(&e.kind)).collect();
    // A k-way merge by time that never emits a deliver before its send, whatever the clocks say.
    let mut emitted = BTreeSet::new();
    let mut all = Vec::new();
    loop {
        let ready = |e: &TraceEvent| match e.kind {
            EventKind::Deliver { msg, .. } => !sent.contains(&msg) || emitted.contains(&msg),
            _ => true,
        };
        let heads = streams.iter().enumerate().filter_map(|(i, s)| s.front().map(|e| (i, e)));
        let pick = heads
            .clone()
            .filter(|(_, e)| ready(e))
            .min_by_key(|(i, e)| (e.t, *i))
            .or_else(|| heads.min_by_key(|(i, e)| (e.t, *i)))
            .map(|(i, _)| i);
        let Some(i) = pick else { break };
        let e = streams[i].pop_front().expect("a head was picked");
        if let Some(id) = send_id(&e.kind) {
            emitted.insert(id);
        }
        all.push(e);
    }
    let header = TraceHeader {
        herald_trace: TRACE_VERSION,
        source: Source::Net,
        scenario: scenario.to_string(),
        nodes,
        seed: None,
        model: json!({ "driver": "herald-net", "epoch_unix_ns": base }),
        reproduce: None,
    };
    let mut out = BufWriter::new(File::create(output)?);
    serde_json::to_writer(&mut out, &header).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    for e in &all {
        serde_json::to_writer(&mut out, e).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(all.len())
}

fn send_id(kind: &EventKind) -> Option<u64> {
    match kind {
        EventKind::Send { msg, .. } => Some(*msg),
        _ => None,
    }
}
