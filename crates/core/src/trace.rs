//! The Herald trace: one versioned schema written by every driver (simulator, model checker,
//! runtime) and read by the viewer.
//!
//! A trace file is JSON Lines. The first line is a [`TraceHeader`]; every further line is one
//! [`TraceEvent`]: a time in nanoseconds (virtual or real), the node on whose line the event is drawn,
//! what happened ([`EventKind`]), and — for node events — the Lamport timestamp and vector clock,
//! which [`Stamper`] derives from the send/deliver pairs so drivers never pay for them on the hot path.
//!
//! Message events name a message id. Every transmission gets a fresh id at its `send`; a duplicate
//! copy keeps its original's id, so one `send` can have several `deliver`s. Injected messages get an
//! id of their own and no `send`.
//!
//! Compatibility: readers reject a file whose `herald_trace` version they do not know. New optional
//! fields may be added within a version; anything else bumps [`TRACE_VERSION`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{self, BufRead, Write};

/// The schema version this crate writes and reads.
pub const TRACE_VERSION: u32 = 1;

/// Which driver wrote a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The deterministic simulator: times are virtual.
    Sim,
    /// A model checker counterexample: times are step numbers.
    Check,
    /// A real run: times are real, relative to the run's start.
    Net,
}

/// The first line of a trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// The schema version ([`TRACE_VERSION`]).
    pub herald_trace: u32,
    /// Which driver wrote it.
    pub source: Source,
    /// The scenario or protocol name.
    pub scenario: String,
    /// How many nodes took part (ids `0..nodes`).
    pub nodes: u32,
    /// The seed, for reproducible drivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The system model or configuration, as the driver describes it.
    #[serde(default)]
    pub model: Value,
    /// A command that reproduces the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<String>,
}

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The network lost it (fair-loss).
    Loss,
    /// An active partition cut the link.
    Partition,
    /// The receiver was down (crashed) when it arrived.
    Crashed,
    /// The adversary dropped it (arbitrary network).
    Adversary,
    /// It arrived but did not decode as a message; the receiver discarded it.
    Corrupt,
    /// The run ended with it still in flight.
    InFlight,
}

/// How a partition treats messages on a cut link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutMode {
    /// Messages on a cut link are lost.
    Drop,
    /// Messages on a cut link wait and are delivered after the partition heals.
    Hold,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The node started (`on_start`).
    Start,
    /// The node sent message `msg` to `to`. `body` is the decoded message; `bytes` its wire form
    /// in hex; `size` its length.
    Send {
        /// Receiver.
        to: u32,
        /// Message id.
        msg: u64,
        /// Encoded size in bytes.
        size: u32,
        /// The decoded message, for people.
        #[serde(default)]
        body: Value,
        /// The encoded message in hex.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<String>,
    },
    /// Message `msg` from `from` was delivered to the node (`on_message`).
    Deliver {
        /// The sender the network claims.
        from: u32,
        /// Message id.
        msg: u64,
    },
    /// Message `msg` from the event's node to `to` was not delivered.
    Drop {
        /// Intended receiver.
        to: u32,
        /// Message id.
        msg: u64,
        /// Why.
        reason: DropReason,
    },
    /// The network duplicated message `msg` (one extra copy per event).
    Duplicate {
        /// Receiver.
        to: u32,
        /// Message id.
        msg: u64,
    },
    /// The adversary replaced the bytes of message `msg`.
    Modify {
        /// Receiver.
        to: u32,
        /// Message id.
        msg: u64,
        /// The new bytes in hex.
        bytes: String,
    },
    /// The adversary injected a message claiming to come from the event's node.
    Inject {
        /// Receiver.
        to: u32,
        /// Message id (fresh).
        msg: u64,
        /// The bytes in hex.
        bytes: String,
    },
    /// The adversary replayed an old message `of` as a new transmission `msg`.
    Replay {
        /// Receiver.
        to: u32,
        /// Message id (fresh).
        msg: u64,
        /// The id of the message whose bytes were replayed.
        of: u64,
    },
    /// The node set a timer to fire at local time `at`.
    TimerSet {
        /// The timer, for people.
        timer: Value,
        /// Local deadline in nanoseconds.
        at: u64,
    },
    /// A timer fired (`on_timer`).
    TimerFire {
        /// The timer, for people.
        timer: Value,
    },
    /// The node cancelled a timer.
    TimerCancel {
        /// The timer, for people.
        timer: Value,
    },
    /// The node crashed; its volatile state and timers are gone.
    Crash {
        /// Whether it will restart (crash-recovery).
        recovers: bool,
    },
    /// The node restarted with its durable storage (`on_recover`).
    Recover {
        /// How many keys durable storage held.
        keys: u32,
        /// A digest of durable storage.
        digest: u64,
    },
    /// The node stopped running handlers (a GC pause, a page-fault storm) until `until`.
    Pause {
        /// When it resumes (global time, ns).
        until: u64,
    },
    /// The node wrote durable storage.
    Persist {
        /// Key.
        key: String,
        /// Value size in bytes.
        size: u32,
    },
    /// The node reported an observation.
    Output {
        /// The observation, for people.
        value: Value,
    },
    /// A partition started: links from `from` to `to` are cut (and back, if `symmetric`).
    PartitionStart {
        /// Partition index in the configuration.
        id: u32,
        /// One side.
        from: Vec<u32>,
        /// The other side.
        to: Vec<u32>,
        /// Whether the cut works both ways.
        symmetric: bool,
        /// Drop or hold.
        mode: CutMode,
    },
    /// A partition healed.
    PartitionEnd {
        /// Partition index in the configuration.
        id: u32,
    },
    /// Faults were healed and the liveness phase began.
    Heal,
}

impl EventKind {
    /// Whether this event happens *at* a node (and so gets Lamport and vector timestamps), as opposed
    /// to in the network.
    pub fn is_node_event(&self) -> bool {
        !matches!(
            self,
            Self::Drop { .. }
                | Self::Duplicate { .. }
                | Self::Modify { .. }
                | Self::Inject { .. }
                | Self::Replay { .. }
                | Self::PartitionStart { .. }
                | Self::PartitionEnd { .. }
                | Self::Heal
        )
    }
}

/// One line of a trace after the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Time in nanoseconds (global virtual time, or real time since the run started).
    pub t: u64,
    /// The node on whose line the event belongs.
    pub node: u32,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
    /// The node's local clock reading, for events at a node whose clock differs from `t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<u64>,
    /// Lamport timestamp (node events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lamport: Option<u64>,
    /// Vector clock, one entry per node (node events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc: Option<Vec<u64>>,
}

impl TraceEvent {
    /// An event without timestamps; [`Stamper`] fills them in.
    pub fn new(t: u64, node: u32, kind: EventKind) -> Self {
        Self { t, node, kind, local: None, lamport: None, vc: None }
    }
}

/// Derives Lamport timestamps and vector clocks from a stream of events in time order
/// (lecture §4.1): every node event ticks its node's clock; a send records the clock it carried;
/// a deliver takes the element-wise maximum with the message's clock, then ticks.
#[derive(Debug)]
pub struct Stamper {
    lamport: Vec<u64>,
    vc: Vec<Vec<u64>>,
    in_flight: std::collections::BTreeMap<u64, (u64, Vec<u64>)>,
}

impl Stamper {
    /// A stamper for `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Self { lamport: vec![0; nodes], vc: vec![vec![0; nodes]; nodes], in_flight: Default::default() }
    }

    /// Fills in `event.lamport` and `event.vc` if it is a node event.
    pub fn stamp(&mut self, event: &mut TraceEvent) {
        if !event.kind.is_node_event() {
            return;
        }
        let i = event.node as usize;
        if i >= self.lamport.len() {
            return;
        }
        if let EventKind::Deliver { msg, .. } = event.kind {
            if let Some((l, v)) = self.in_flight.get(&msg) {
                self.lamport[i] = self.lamport[i].max(*l);
                for (mine, theirs) in self.vc[i].iter_mut().zip(v) {
                    *mine = (*mine).max(*theirs);
                }
            }
        }
        self.lamport[i] += 1;
        self.vc[i][i] += 1;
        if let EventKind::Send { msg, .. } = event.kind {
            self.in_flight.insert(msg, (self.lamport[i], self.vc[i].clone()));
        }
        event.lamport = Some(self.lamport[i]);
        event.vc = Some(self.vc[i].clone());
    }
}

/// Writes a trace as JSON Lines.
#[derive(Debug)]
pub struct TraceWriter<W: Write> {
    out: W,
    stamper: Stamper,
}

impl<W: Write> TraceWriter<W> {
    /// Writes the header line.
    pub fn new(mut out: W, header: &TraceHeader) -> io::Result<Self> {
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        Ok(Self { out, stamper: Stamper::new(header.nodes as usize) })
    }

    /// Stamps and writes one event.
    pub fn write(&mut self, mut event: TraceEvent) -> io::Result<()> {
        self.stamper.stamp(&mut event);
        serde_json::to_writer(&mut self.out, &event)?;
        self.out.write_all(b"\n")
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Why a trace file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be read.
    #[error("reading the trace: {0}")]
    Io(#[from] io::Error),
    /// The file is empty.
    #[error("the trace is empty: no header line")]
    Empty,
    /// A line is not valid JSON of the schema.
    #[error("line {line}: {message}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The header names a schema version this build does not read.
    #[error("trace schema version {0} is not supported (this build reads version {TRACE_VERSION})")]
    Version(u32),
}

/// Reads a whole trace.
///
/// A final line that has no newline and does not parse is the tail a writer killed mid-write
/// leaves (`kill -9` of a process recording a real run): it is skipped, and the events before it
/// are returned. [`read_detailed`] says whether that happened. Anything else that does not parse —
/// a bad line in the middle, or a complete (newline-terminated) last line — is
/// [`ReadError::Malformed`].
pub fn read(input: impl BufRead) -> Result<(TraceHeader, Vec<TraceEvent>), ReadError> {
    read_detailed(input).map(|r| (r.header, r.events))
}

/// A trace as [`read_detailed`] read it.
#[derive(Clone, Debug)]
pub struct ReadTrace {
    /// The header.
    pub header: TraceHeader,
    /// The events, in file order.
    pub events: Vec<TraceEvent>,
    /// The torn final line that was skipped, if any.
    pub torn_tail: Option<TornTail>,
}

/// A final line cut short (no newline, not valid JSON): what a writer killed mid-line leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Its 1-based line number.
    pub line: usize,
    /// Its length in bytes.
    pub bytes: usize,
}

/// Reads a whole trace like [`read`], and reports a torn final line it skipped.
pub fn read_detailed(mut input: impl BufRead) -> Result<ReadTrace, ReadError> {
    let mut buf = Vec::new();
    if input.read_until(b'\n', &mut buf)? == 0 {
        return Err(ReadError::Empty);
    }
    let header: TraceHeader =
        serde_json::from_slice(content(&buf)).map_err(|e| ReadError::Malformed { line: 1, message: e.to_string() })?;
    if header.herald_trace != TRACE_VERSION {
        return Err(ReadError::Version(header.herald_trace));
    }
    let mut events = Vec::new();
    let mut torn_tail = None;
    let mut line = 1;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line += 1;
        let text = content(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(text) {
            Ok(event) => events.push(event),
            // Without its newline this is the last line (read_until stops early only at the end).
            Err(_) if buf.last() != Some(&b'\n') => {
                torn_tail = Some(TornTail { line, bytes: buf.len() });
            }
            Err(e) => return Err(ReadError::Malformed { line, message: e.to_string() }),
        }
    }
    Ok(ReadTrace { header, events, torn_tail })
}

/// A line without its `\n` or `\r\n`.
fn content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Lower-case hex of `bytes`, as traces store message bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> TraceHeader {
        TraceHeader {
            herald_trace: TRACE_VERSION,
            source: Source::Sim,
            scenario: "test".into(),
            nodes: 2,
            seed: Some(1),
            model: Value::Null,
            reproduce: None,
        }
    }

    #[test]
    fn lamport_and_vector_clocks_follow_happens_before() {
        let send = EventKind::Send { to: 1, msg: 0, size: 1, body: Value::Null, bytes: None };
        let mut events = vec![
            TraceEvent::new(0, 0, EventKind::Start),
            TraceEvent::new(0, 1, EventKind::Start),
            TraceEvent::new(1, 0, send),
            TraceEvent::new(2, 1, EventKind::Output { value: Value::Null }),
            TraceEvent::new(3, 1, EventKind::Deliver { from: 0, msg: 0 }),
            TraceEvent::new(3, 1, EventKind::Drop { to: 0, msg: 9, reason: DropReason::Loss }),
        ];
        let mut s = Stamper::new(2);
        for e in &mut events {
            s.stamp(e);
        }
        assert_eq!(events[2].lamport, Some(2));
        assert_eq!(events[3].lamport, Some(2));
        assert_eq!(events[4].lamport, Some(3), "max(2, 2) + 1");
        assert_eq!(events[4].vc, Some(vec![2, 3]));
        assert_eq!(events[5].lamport, None, "network events carry no logical time");
    }

    #[test]
    fn write_then_read_round_trips() {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        w.write(TraceEvent::new(5, 0, EventKind::Crash { recovers: true })).unwrap();
        let bytes = w.finish().unwrap();
        let (h, events) = read(&bytes[..]).unwrap();
        assert_eq!(h, header());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventKind::Crash { recovers: true });
        assert_eq!(events[0].lamport, Some(1));
    }

    #[test]
    fn read_rejects_unknown_versions_and_garbage() {
        let mut h = header();
        h.herald_trace = 99;
        let line = serde_json::to_string(&h).unwrap();
        assert!(matches!(read(line.as_bytes()), Err(ReadError::Version(99))));
        let bad = format!("{}\n{{\"t\":1}}\n", serde_json::to_string(&header()).unwrap());
        assert!(matches!(read(bad.as_bytes()), Err(ReadError::Malformed { line: 2, .. })));
        assert!(matches!(read(&b""[..]), Err(ReadError::Empty)));
    }

    fn two_events() -> String {
        let mut text = serde_json::to_string(&header()).unwrap() + "\n";
        for t in [1, 2] {
            text += &serde_json::to_string(&TraceEvent::new(t, 0, EventKind::Start)).unwrap();
            text += "\n";
        }
        text
    }

    /// Only the tail a writer killed mid-line leaves is forgiven: a final line cut anywhere, without
    /// its newline. A bad line in the middle, or a bad last line that is complete, is still refused.
    #[test]
    fn read_skips_a_torn_final_line_and_nothing_else() {
        let whole = two_events();
        let last = whole[..whole.len() - 1].rfind('\n').unwrap() + 1;
        for cut in last + 1..whole.len() - 1 {
            let r = read_detailed(&whole.as_bytes()[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(r.events.len(), 1, "cut at {cut}");
            assert_eq!(r.torn_tail, Some(TornTail { line: 3, bytes: cut - last }));
            assert_eq!(read(&whole.as_bytes()[..cut]).unwrap().1.len(), 1);
        }
        let r = read_detailed(whole.as_bytes()).unwrap();
        assert_eq!((r.events.len(), r.torn_tail), (2, None));
        // The same event without its newline is whole: kept.
        let r = read_detailed(whole.trim_end().as_bytes()).unwrap();
        assert_eq!((r.events.len(), r.torn_tail), (2, None));
        // A torn line in the middle, or a complete bad last line, is corruption.
        let middle = whole.replacen("{\"t\":1", "{\"t\":", 1);
        assert!(matches!(read(middle.as_bytes()), Err(ReadError::Malformed { line: 2, .. })), "{middle}");
        let complete = format!("{}{{\"t\":3,\n", whole);
        assert!(matches!(read(complete.as_bytes()), Err(ReadError::Malformed { line: 4, .. })));
        // Bytes cut inside a multi-byte character are a torn tail too, not an I/O error.
        let mut bytes = whole.clone().into_bytes();
        bytes.extend_from_slice("{\"t\":3,\"note\":\"é".as_bytes());
        bytes.pop();
        assert_eq!(read_detailed(&bytes[..]).unwrap().torn_tail.map(|t| t.line), Some(4));
        // A torn header is no trace.
        assert!(matches!(read(&whole.as_bytes()[..20]), Err(ReadError::Malformed { line: 1, .. })));
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
