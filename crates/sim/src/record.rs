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
/// lengths of its fields, the time since the previous record and the fields in as few bytes as
/// they need (with a send's payload bytes inline: about 14 bytes a record instead of a 56-byte
/// [`Record`]), and the rarer kinds whole in a side vector the stream refers to in order.
/// Recording allocates nothing per record and drops in one free; [`Trace::iter`] rebuilds each
/// [`Record`] as it was recorded.
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

/// Room for the fixed part of one packed record: the tag, two bytes of field lengths, and up to five
/// fields of at most eight bytes (each written as a whole word).
const FIXED_MAX: usize = 3 + 5 * 8;

/// Writes the fixed part of a record into room reserved at the end of the stream. Each field is
/// stored as a little-endian word of which only the significant bytes are kept (1–8, the length in
/// three bits of the header): no loops or branches per byte.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
    fields: u32,
    lens: u16,
}

impl Writer<'_> {
    #[inline]
    fn field(&mut self, x: u64) {
        let n = 8 - (x | 1).leading_zeros() as usize / 8;
        self.buf[self.at..self.at + 8].copy_from_slice(&x.to_le_bytes());
        self.at += n;
        self.lens |= ((n - 1) as u16) << (3 * self.fields);
        self.fields += 1;
    }
}

/// Reads the fields a [`Writer`] wrote.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    lens: u16,
}

impl Reader<'_> {
    fn field(&mut self) -> u64 {
        let n = usize::from(self.lens & 7) + 1;
        self.lens >>= 3;
        let mut word = [0; 8];
        word[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        u64::from_le_bytes(word)
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

    /// Appends a record whose fields `write` fills after the time (a zigzag delta from the
    /// previous record: times only go back in the in-flight drops appended at the end of a run).
    /// Room is reserved with one constant-size copy and trimmed after, so a record costs no
    /// per-byte capacity checks.
    #[inline]
    fn append(&mut self, tag: u8, t: u64, write: impl FnOnce(&mut Writer<'_>)) {
        let delta = t.wrapping_sub(self.last_t) as i64;
        self.last_t = t;
        self.len += 1;
        let start = self.stream.len();
        self.stream.extend_from_slice(&[0; FIXED_MAX]);
        let mut w = Writer { buf: &mut self.stream[start..], at: 3, fields: 0, lens: 0 };
        w.field(((delta << 1) ^ (delta >> 63)) as u64);
        write(&mut w);
        let (at, lens) = (w.at, w.lens);
        w.buf[0] = tag;
        w.buf[1..3].copy_from_slice(&lens.to_le_bytes());
        self.stream.truncate(start + at);
    }

    /// Appends a send of `bytes` at `t`.
    #[inline]
    pub fn push_send(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, bytes: &[u8]) {
        self.append(SEND, t, |w| {
            w.field(u64::from(from.0));
            w.field(u64::from(to.0));
            w.field(msg);
            w.field(bytes.len() as u64);
        });
        self.stream.extend_from_slice(bytes);
    }

    /// Appends a delivery at `t` of a message sent at `sent_at` (no later than `t`).
    #[inline]
    pub fn push_deliver(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, sent_at: u64) {
        debug_assert!(sent_at <= t);
        self.append(DELIVER, t, |w| {
            w.field(u64::from(from.0));
            w.field(u64::from(to.0));
            w.field(msg);
            w.field(t - sent_at);
        });
    }

    /// Appends any record.
    pub fn push(&mut self, t: u64, kind: RecordKind<T>) {
        match kind {
            RecordKind::Send { from, to, msg, bytes } => self.push_send(t, from, to, msg, &bytes),
            RecordKind::Deliver { from, to, msg, sent_at } if sent_at <= t => {
                self.push_deliver(t, from, to, msg, sent_at);
            }
            kind => {
                self.append(OTHER, t, |_| {});
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
        let mut r = Reader { bytes: s, at: self.at + 3, lens: u16::from_le_bytes([s[self.at + 1], s[self.at + 2]]) };
        let zigzag = r.field();
        self.t = self.t.wrapping_add(((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64)) as u64);
        let t = self.t;
        let kind = match tag {
            SEND | DELIVER => {
                let from = NodeId(r.field() as u32);
                let to = NodeId(r.field() as u32);
                let msg = r.field();
                let x = r.field();
                if tag == SEND {
                    let end = r.at + x as usize;
                    let bytes = Payload::from_slice(&s[r.at..end]);
                    r.at = end;
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
        self.at = r.at;
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

        // Enough records to grow the stream many times, from empty and from a small reservation.
        let many: Vec<Record<u8>> = (0..20_000u64)
            .map(|i| Record {
                t: i * 7,
                kind: if i % 3 == 0 {
                    RecordKind::Deliver { from: b, to: a, msg: i, sent_at: i }
                } else {
                    let bytes = Payload::from_slice(&[i as u8; 37][..i as usize % 38]);
                    RecordKind::Send { from: a, to: b, msg: i, bytes }
                },
            })
            .collect();
        for mut trace in [Trace::default(), Trace::with_capacity(100)] {
            for r in &many {
                trace.push(r.t, r.kind.clone());
            }
            let back: Vec<_> = trace.iter().collect();
            assert!(same(&back, &many));
        }
    }
}
