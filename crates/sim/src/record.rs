//! The in-memory trace: compact records the engine appends on its hot path, converted to the
//! versioned [`herald_core::trace`] schema only when written out. A [`Trace`] packs sends and
//! deliveries into one byte stream (no allocation per record) and rebuilds [`Record`]s when read.

use herald_core::NodeId;
use herald_core::trace::DropReason;
use smallvec::SmallVec;

/// A marshalled message. Small messages live inline, so the common case allocates nothing.
pub type Payload = SmallVec<[u8; 16]>;

/// One thing that happened, at global virtual time `t` (ns).
#[derive(Clone, Debug)]
pub struct Record<T> {
    /// Global virtual time, ns.
    pub t: u64,
    /// What happened.
    pub kind: RecordKind<T>,
}

/// What happened. Message ids are per transmission (see [`herald_core::trace`]). Rare variants box
/// their bytes so that the common ones (send, deliver) keep a record small.
#[allow(missing_docs)] // the fields are named for what they hold
#[derive(Clone, Debug)]
pub enum RecordKind<T> {
    /// `on_start` ran.
    Start { node: NodeId },
    /// A node sent a message.
    Send { from: NodeId, to: NodeId, msg: u64, bytes: Payload },
    /// A message reached `on_message`.
    Deliver { from: NodeId, to: NodeId, msg: u64, sent_at: u64 },
    /// A transmission was lost.
    Drop { from: NodeId, to: NodeId, msg: u64, reason: DropReason },
    /// The network made an extra copy.
    Duplicate { from: NodeId, to: NodeId, msg: u64 },
    /// The adversary changed the bytes.
    Modify { from: NodeId, to: NodeId, msg: u64, bytes: Box<[u8]> },
    /// The adversary injected a transmission claiming `from`.
    Inject { from: NodeId, to: NodeId, msg: u64, bytes: Box<[u8]> },
    /// The adversary replayed transmission `of` as `msg`.
    Replay { from: NodeId, to: NodeId, msg: u64, of: u64 },
    /// A timer was set for local time `at`.
    TimerSet { node: NodeId, timer: T, at: u64 },
    /// A timer fired.
    TimerFire { node: NodeId, timer: T },
    /// A timer was cancelled.
    TimerCancel { node: NodeId, timer: T },
    /// A node crashed.
    Crash { node: NodeId, recovers: bool },
    /// A node restarted with durable storage of `keys` keys and this digest.
    Recover { node: NodeId, keys: u32, digest: u64 },
    /// A node paused until `until`.
    Pause { node: NodeId, until: u64 },
    /// A node persisted `bytes` under `key`.
    Persist { node: NodeId, key: Box<str>, bytes: Box<[u8]> },
    /// A node output observation number `index` of the run.
    Output { node: NodeId, index: u32 },
    /// Partition `id` started.
    PartitionStart { id: u32 },
    /// Partition `id` ended.
    PartitionEnd { id: u32 },
    /// The liveness phase began: every fault healed.
    Heal,
}

/// Stream tags. Sends and deliveries — nearly every record of a busy run — are packed into a byte
/// stream; everything else is kept whole, in order, beside it.
const SEND: u8 = 0;
const DELIVER: u8 = 1;
const OTHER: u8 = 2;

/// A run's records, stored compactly: one byte stream holding every send and delivery as a tag, the
/// time since the previous record and varint fields (with a send's payload bytes inline, about 15
/// bytes a record instead of a 56-byte [`Record`]), and the rarer kinds whole in a side vector the
/// stream refers to in order. Recording allocates nothing per record and drops in one free;
/// [`Trace::iter`] rebuilds each [`Record`] as it was recorded.
#[derive(Clone, Debug)]
pub struct Trace<T> {
    stream: Vec<u8>,
    rare: Vec<RecordKind<T>>,
    len: usize,
    last_t: u64,
}

impl<T> Default for Trace<T> {
    fn default() -> Self {
        Self { stream: Vec::new(), rare: Vec::new(), len: 0, last_t: 0 }
    }
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

#[inline]
fn get_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut x = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        x |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return x;
        }
        shift += 7;
    }
}

impl<T> Trace<T> {
    /// An empty trace with room for about `bytes` bytes of packed records (address space only:
    /// pages are touched as records arrive).
    pub fn with_capacity(bytes: usize) -> Self {
        Self { stream: Vec::with_capacity(bytes), ..Self::default() }
    }

    /// Records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the records occupy (the packed stream and the whole rare ones).
    pub fn bytes(&self) -> usize {
        self.stream.len() + self.rare.len() * std::mem::size_of::<RecordKind<T>>()
    }

    /// The tag and the time, as a zigzag delta from the previous record (times only go back in the
    /// in-flight drops appended at the end of a run).
    #[inline]
    fn head(&mut self, tag: u8, t: u64) {
        let delta = t.wrapping_sub(self.last_t) as i64;
        self.last_t = t;
        self.len += 1;
        self.stream.push(tag);
        put_varint(&mut self.stream, ((delta << 1) ^ (delta >> 63)) as u64);
    }

    /// Appends a send of `bytes` at `t`.
    #[inline]
    pub fn push_send(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, bytes: &[u8]) {
        self.head(SEND, t);
        put_varint(&mut self.stream, u64::from(from.0));
        put_varint(&mut self.stream, u64::from(to.0));
        put_varint(&mut self.stream, msg);
        put_varint(&mut self.stream, bytes.len() as u64);
        self.stream.extend_from_slice(bytes);
    }

    /// Appends a delivery at `t` of a message sent at `sent_at` (no later than `t`).
    #[inline]
    pub fn push_deliver(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, sent_at: u64) {
        debug_assert!(sent_at <= t);
        self.head(DELIVER, t);
        put_varint(&mut self.stream, u64::from(from.0));
        put_varint(&mut self.stream, u64::from(to.0));
        put_varint(&mut self.stream, msg);
        put_varint(&mut self.stream, t - sent_at);
    }

    /// Appends any record.
    pub fn push(&mut self, t: u64, kind: RecordKind<T>) {
        match kind {
            RecordKind::Send { from, to, msg, bytes } => self.push_send(t, from, to, msg, &bytes),
            RecordKind::Deliver { from, to, msg, sent_at } if sent_at <= t => {
                self.push_deliver(t, from, to, msg, sent_at);
            }
            kind => {
                self.head(OTHER, t);
                self.rare.push(kind);
            }
        }
    }

    /// The records in the order they were appended.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { trace: self, at: 0, rare: 0, t: 0 }
    }
}

/// The records of a [`Trace`], rebuilt one by one.
#[derive(Debug)]
pub struct Iter<'a, T> {
    trace: &'a Trace<T>,
    at: usize,
    rare: usize,
    t: u64,
}

impl<T: Clone> Iterator for Iter<'_, T> {
    type Item = Record<T>;

    fn next(&mut self) -> Option<Record<T>> {
        let s = &self.trace.stream;
        if self.at >= s.len() {
            return None;
        }
        let tag = s[self.at];
        self.at += 1;
        let zigzag = get_varint(s, &mut self.at);
        self.t = self.t.wrapping_add(((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64)) as u64);
        let t = self.t;
        let kind = match tag {
            SEND | DELIVER => {
                let from = NodeId(get_varint(s, &mut self.at) as u32);
                let to = NodeId(get_varint(s, &mut self.at) as u32);
                let msg = get_varint(s, &mut self.at);
                let x = get_varint(s, &mut self.at);
                if tag == SEND {
                    let end = self.at + x as usize;
                    let bytes = Payload::from_slice(&s[self.at..end]);
                    self.at = end;
                    RecordKind::Send { from, to, msg, bytes }
                } else {
                    RecordKind::Deliver { from, to, msg, sent_at: t - x }
                }
            }
            _ => {
                let kind = self.trace.rare[self.rare].clone();
                self.rare += 1;
                kind
            }
        };
        Some(Record { t, kind })
    }
}

impl<'a, T: Clone> IntoIterator for &'a Trace<T> {
    type Item = Record<T>;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same<T: std::fmt::Debug>(a: &[Record<T>], b: &[Record<T>]) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    /// Whatever is appended comes back, in order, with its times (including times that go back).
    #[test]
    fn round_trips_every_kind_in_order() {
        let (a, b) = (NodeId(0), NodeId(300));
        let records: Vec<Record<u8>> = vec![
            Record { t: 0, kind: RecordKind::Start { node: a } },
            Record { t: 5, kind: RecordKind::Send { from: a, to: b, msg: 0, bytes: Payload::from_slice(&[1, 2, 3]) } },
            Record {
                t: 5,
                kind: RecordKind::Send { from: b, to: a, msg: 1 << 40, bytes: Payload::from_slice(&[7; 40]) },
            },
            Record { t: 9_000_000, kind: RecordKind::Deliver { from: a, to: b, msg: 0, sent_at: 5 } },
            Record { t: 9_000_001, kind: RecordKind::TimerSet { node: b, timer: 3, at: 77 } },
            Record { t: u64::MAX, kind: RecordKind::Drop { from: b, to: a, msg: 1, reason: DropReason::InFlight } },
            Record { t: 12, kind: RecordKind::Drop { from: a, to: b, msg: 2, reason: DropReason::InFlight } },
            Record { t: 12, kind: RecordKind::Send { from: a, to: b, msg: 3, bytes: Payload::new() } },
        ];
        let mut trace = Trace::default();
        for r in &records {
            trace.push(r.t, r.kind.clone());
        }
        assert_eq!(trace.len(), records.len());
        let back: Vec<_> = trace.iter().collect();
        assert!(same(&back, &records), "{back:?}");
    }
}
