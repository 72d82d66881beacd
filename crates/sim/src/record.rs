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

/// Stream tags, in the low two bits of a record's first byte. Sends and deliveries — nearly every
/// record of a busy run — are packed into a byte stream; everything else is kept whole, in order,
/// beside it.
const SEND: u8 = 0;
const DELIVER: u8 = 1;
const OTHER: u8 = 2;
const SEND_WIDE: u8 = 3;

/// The room every packed record is written into: the largest header, its fields (each written as
/// a whole eight-byte word, of which only the significant bytes are kept) and a payload of up to
/// [`INLINE`] bytes fit.
const WINDOW: usize = 64;

/// Payloads up to this long (those a [`Payload`] keeps inline) are copied into the window with a
/// few fixed-size moves; longer ones after it.
const INLINE: usize = 16;

/// A run's records, stored compactly: one byte stream holding every send and delivery and a marker
/// for each rarer record, which is kept whole in a side vector in order.
///
/// A packed record is a header (the tag and, mostly in three bits a field, how many bytes each
/// field takes) followed by its fields, each in as few little-endian bytes as it needs:
///
/// - a send: a four-byte header (bits 0–1 the tag, 2–4 the time's length less one, 5–9 the
///   payload's length, 16–23 `from`, 24–31 `to`), the time since the previous record (zigzag:
///   times only go back in the in-flight drops appended at the end of a run), then the payload.
///   Its message id is implicit: the next one. A send between nodes numbered 256 or more, or of
///   more than 16 bytes, is written wide instead: a two-byte header, the time, `from`, `to` and
///   the payload's length as fields, then the payload.
/// - a delivery: a one-byte header, the time since the previous record and how many message ids
///   were created after the one delivered. `from`, `to` and `sent_at` are rebuilt when reading.
/// - anything else: a one-byte header and the time since the previous record.
///
/// This rests on how the engine numbers messages: ids are dense (0, 1, 2, … in the order of the
/// Send, Inject and Replay records that create them), and every delivery of a message — a
/// duplicate, a modified copy, one held at a partition or deferred by a pause — keeps the `from`,
/// `to` and send time (`sent_at`) of the record that created its id. A send whose id is not the
/// next one, and a delivery pushed through [`Trace::push`] or of an id not yet created, are kept
/// whole instead, so any record round-trips; debug builds check the invariant on every delivery
/// pushed by [`Trace::push_deliver`].
///
/// About 4–5 bytes a delivery and 5 plus the payload a send instead of a 56-byte [`Record`]. The
/// stream's length runs ahead of the bytes used, so a record is written into a fixed-size window
/// of the room after them with one room check: no per-byte capacity checks, no truncation; the
/// whole-word stores may leave bytes past the record's end, which the next record overwrites.
/// Recording allocates nothing per record and drops in one free; [`Trace::iter`] rebuilds each
/// [`Record`] as it was recorded.
pub struct Trace<T> {
    /// Packed records in `stream[..used]`; room after (zeros, or leftovers of whole-word stores).
    stream: Vec<u8>,
    used: usize,
    rare: Vec<RecordKind<T>>,
    len: usize,
    last_t: u64,
    /// The id the next message created will have, if ids stay dense.
    next_id: u64,
    /// `(from, to, sent_at)` of every id created so far (debug builds: checks the invariant).
    #[cfg(debug_assertions)]
    origins: Vec<(NodeId, NodeId, u64)>,
}

impl<T> Default for Trace<T> {
    fn default() -> Self {
        Self {
            stream: Vec::new(),
            used: 0,
            rare: Vec::new(),
            len: 0,
            last_t: 0,
            next_id: 0,
            #[cfg(debug_assertions)]
            origins: Vec::new(),
        }
    }
}

impl<T: Clone> Clone for Trace<T> {
    /// Copies the records, not the room after them.
    fn clone(&self) -> Self {
        Self {
            stream: self.stream[..self.used].to_vec(),
            used: self.used,
            rare: self.rare.clone(),
            len: self.len,
            last_t: self.last_t,
            next_id: self.next_id,
            #[cfg(debug_assertions)]
            origins: self.origins.clone(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Trace<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("stream", &&self.stream[..self.used])
            .field("rare", &self.rare)
            .field("len", &self.len)
            .field("last_t", &self.last_t)
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

/// Writes `x` as a whole little-endian word at `at` in the window and keeps only its significant
/// bytes (1–8): returns the count less one, for the header. No loops or branches per byte.
#[inline(always)]
fn put(w: &mut [u8; WINDOW], at: &mut usize, x: u64) -> u16 {
    let n = 8 - (x | 1).leading_zeros() as usize / 8;
    w[*at..*at + 8].copy_from_slice(&x.to_le_bytes());
    *at += n;
    (n - 1) as u16
}

/// Copies `src` (at most [`INLINE`] bytes) to the start of `dst` with one or two word stores
/// (loads of a fixed size, possibly overlapping), rather than a call to `memcpy` of a variable
/// length. Bytes of `dst` past `src.len()` may be overwritten.
#[inline(always)]
fn copy_small(dst: &mut [u8; INLINE], src: &[u8]) {
    let n = src.len();
    let word = |at: usize| u64::from_le_bytes(src[at..at + 8].try_into().expect("eight bytes"));
    let half = |at: usize| u64::from(u32::from_le_bytes(src[at..at + 4].try_into().expect("four bytes")));
    if n > 8 {
        dst[..8].copy_from_slice(&word(0).to_le_bytes());
        dst[n - 8..n].copy_from_slice(&word(n - 8).to_le_bytes());
    } else {
        // The bytes gathered in one word: two overlapping halves, or the first, middle and last.
        let x = if n >= 4 {
            half(0) | half(n - 4) << (8 * (n - 4))
        } else if n > 0 {
            u64::from(src[0]) | u64::from(src[n / 2]) << (8 * (n / 2)) | u64::from(src[n - 1]) << (8 * (n - 1))
        } else {
            0
        };
        dst[..8].copy_from_slice(&x.to_le_bytes());
    }
}

/// A time delta as an unsigned number that is small when the delta is near zero either way
/// (times only go back in the in-flight drops appended at the end of a run).
#[inline(always)]
fn zigzag(delta: u64) -> u64 {
    let d = delta as i64;
    ((d << 1) ^ (d >> 63)) as u64
}

/// Reads the fields a record's header describes.
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

/// The `(from, to, msg)` of a record that creates a message id.
fn creates<T>(kind: &RecordKind<T>) -> Option<(NodeId, NodeId, u64)> {
    match *kind {
        RecordKind::Send { from, to, msg, .. }
        | RecordKind::Inject { from, to, msg, .. }
        | RecordKind::Replay { from, to, msg, .. } => Some((from, to, msg)),
        _ => None,
    }
}

impl<T> Trace<T> {
    /// An empty trace with room for about `bytes` bytes of packed records (zeroed memory from the
    /// allocator: a large reservation is address space only, its pages touched as records arrive).
    pub fn with_capacity(bytes: usize) -> Self {
        Self { stream: vec![0; bytes], ..Self::default() }
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
        self.used + self.rare.len() * std::mem::size_of::<RecordKind<T>>()
    }

    /// Makes sure the stream has `room` bytes past the used length.
    #[inline(always)]
    fn reserve_room(&mut self, room: usize) {
        if self.stream.len() < self.used + room {
            self.grow(room);
        }
    }

    /// Moves the records to a zeroed stream at least twice as long (fresh zeroed memory: the
    /// allocator hands out untouched pages rather than writing zeros).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, room: usize) {
        let len = (self.stream.len() * 2).max(self.used + room).max(4 << 10);
        let mut bigger = vec![0; len];
        bigger[..self.used].copy_from_slice(&self.stream[..self.used]);
        self.stream = bigger;
    }

    /// The window the next packed record is written into, if the stream has the room.
    #[inline(always)]
    fn window(&mut self) -> Option<&mut [u8; WINDOW]> {
        self.stream.get_mut(self.used..)?.first_chunk_mut()
    }

    /// Notes that the id `msg`, if it is the next one, was created at `t` by `from` towards `to`.
    #[inline(always)]
    fn created(&mut self, _t: u64, _from: NodeId, _to: NodeId, msg: u64) -> bool {
        if msg != self.next_id {
            return false;
        }
        self.next_id += 1;
        #[cfg(debug_assertions)]
        self.origins.push((_from, _to, _t));
        true
    }

    /// Writes the header and fields of a send kept wide (large node ids or payload) into `w`:
    /// returns where its payload goes.
    #[inline(always)]
    fn send_wide_fields(w: &mut [u8; WINDOW], dt: u64, from: NodeId, to: NodeId, n: usize) -> usize {
        let mut at = 2;
        let mut lens = put(w, &mut at, dt);
        lens |= put(w, &mut at, u64::from(from.0)) << 3;
        lens |= put(w, &mut at, u64::from(to.0)) << 6;
        lens |= put(w, &mut at, n as u64) << 9;
        w[..2].copy_from_slice(&(u16::from(SEND_WIDE) | lens << 2).to_le_bytes());
        at
    }

    /// Appends a send of `bytes` at `t`. The common case (the next message id, node ids below 256,
    /// a payload of at most 16 bytes, room in the stream) is one header word, the time and the
    /// payload, and calls nothing: inlined into the engine, it costs no call either.
    #[inline(always)]
    pub fn push_send(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, bytes: &[u8]) {
        let n = bytes.len();
        if msg != self.next_id || n > INLINE || (from.0 | to.0) >= 256 {
            return self.push_send_slow(t, from, to, msg, bytes);
        }
        // Read before the stores to the window, which the compiler cannot tell from the fields.
        let (used, last_t) = (self.used, self.last_t);
        let Some(w) = self.window() else {
            return self.push_send_slow(t, from, to, msg, bytes);
        };
        let mut at = 4;
        let lens = u32::from(put(w, &mut at, zigzag(t.wrapping_sub(last_t))));
        let head = u32::from(SEND) | lens << 2 | (n as u32) << 5 | from.0 << 16 | to.0 << 24;
        w[..4].copy_from_slice(&head.to_le_bytes());
        copy_small((&mut w[at..at + INLINE]).try_into().expect("room for a small payload"), bytes);
        self.used = used + at + n;
        self.last_t = t;
        self.len += 1;
        self.next_id += 1;
        #[cfg(debug_assertions)]
        self.origins.push((from, to, t));
    }

    /// [`Trace::push_send`] when the id is not the next one, a node id or the payload is large, or
    /// the stream must grow.
    #[cold]
    #[inline(never)]
    fn push_send_slow(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, bytes: &[u8]) {
        if msg != self.next_id {
            return self.push_rare(t, RecordKind::Send { from, to, msg, bytes: Payload::from_slice(bytes) });
        }
        let n = bytes.len();
        self.reserve_room(WINDOW + n);
        if n <= INLINE && (from.0 | to.0) < 256 {
            return self.push_send(t, from, to, msg, bytes);
        }
        self.created(t, from, to, msg);
        let dt = zigzag(t.wrapping_sub(self.last_t));
        let w = self.window().expect("room for a window");
        let at = Self::send_wide_fields(w, dt, from, to, n);
        self.used += at;
        self.stream[self.used..self.used + n].copy_from_slice(bytes);
        self.used += n;
        self.last_t = t;
        self.len += 1;
    }

    /// Appends a delivery at `t` of message `msg`, which `from` sent to `to` at `sent_at` (no later
    /// than `t`). The common case calls nothing: inlined into the engine, it costs no call either.
    #[inline(always)]
    pub fn push_deliver(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, sent_at: u64) {
        debug_assert!(sent_at <= t);
        let next_id = self.next_id;
        if msg >= next_id {
            return self.push_deliver_slow(t, from, to, msg, sent_at);
        }
        #[cfg(debug_assertions)]
        assert!(
            self.origins[msg as usize] == (from, to, sent_at),
            "delivery of message {msg} ({from:?} -> {to:?}, sent at {sent_at}) does not match the record that created \
             it: {:?}",
            self.origins[msg as usize]
        );
        let (used, last_t) = (self.used, self.last_t);
        let Some(w) = self.window() else {
            return self.push_deliver_slow(t, from, to, msg, sent_at);
        };
        let mut at = 1;
        let lens = put(w, &mut at, zigzag(t.wrapping_sub(last_t))) | put(w, &mut at, next_id - 1 - msg) << 3;
        w[0] = DELIVER | (lens as u8) << 2;
        self.used = used + at;
        self.last_t = t;
        self.len += 1;
    }

    /// [`Trace::push_deliver`] of an id not yet created, or when the stream must grow.
    #[cold]
    #[inline(never)]
    fn push_deliver_slow(&mut self, t: u64, from: NodeId, to: NodeId, msg: u64, sent_at: u64) {
        if msg >= self.next_id {
            return self.push_rare(t, RecordKind::Deliver { from, to, msg, sent_at });
        }
        self.reserve_room(WINDOW);
        self.push_deliver(t, from, to, msg, sent_at);
    }

    /// Appends a record kept whole, with its marker in the stream.
    #[inline(never)]
    fn push_rare(&mut self, t: u64, kind: RecordKind<T>) {
        if let Some((from, to, msg)) = creates(&kind) {
            self.created(t, from, to, msg);
        }
        let dt = zigzag(t.wrapping_sub(self.last_t));
        self.last_t = t;
        self.reserve_room(WINDOW);
        let w = self.window().expect("room for a window");
        let mut at = 1;
        let lens = put(w, &mut at, dt);
        w[0] = OTHER | (lens as u8) << 2;
        self.used += at;
        self.len += 1;
        self.rare.push(kind);
    }

    /// Appends any record. A delivery is kept whole: only [`Trace::push_deliver`] packs one.
    pub fn push(&mut self, t: u64, kind: RecordKind<T>) {
        match kind {
            RecordKind::Send { from, to, msg, bytes } => self.push_send(t, from, to, msg, &bytes),
            kind => self.push_rare(t, kind),
        }
    }

    /// The records in the order they were appended.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { trace: self, at: 0, rare: 0, t: 0, origins: Vec::new() }
    }
}

/// The records of a [`Trace`], rebuilt one by one.
#[derive(Debug)]
pub struct Iter<'a, T> {
    trace: &'a Trace<T>,
    at: usize,
    rare: usize,
    t: u64,
    /// `(from, to, sent_at)` of every message id created so far: the next id is its length.
    origins: Vec<(NodeId, NodeId, u64)>,
}

impl<T: Clone> Iterator for Iter<'_, T> {
    type Item = Record<T>;

    fn next(&mut self) -> Option<Record<T>> {
        let s = &self.trace.stream[..self.trace.used];
        if self.at >= s.len() {
            return None;
        }
        let tag = s[self.at] & 3;
        let mut r = if tag == SEND {
            Reader { bytes: s, at: self.at + 4, lens: u16::from(s[self.at] >> 2) }
        } else if tag == SEND_WIDE {
            Reader { bytes: s, at: self.at + 2, lens: u16::from_le_bytes([s[self.at], s[self.at + 1]]) >> 2 }
        } else {
            Reader { bytes: s, at: self.at + 1, lens: u16::from(s[self.at] >> 2) }
        };
        let zigzag = r.field();
        self.t = self.t.wrapping_add(((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64)) as u64);
        let t = self.t;
        let kind = match tag {
            SEND | SEND_WIDE => {
                let (from, to, n) = if tag == SEND {
                    let head = u32::from_le_bytes(s[self.at..self.at + 4].try_into().expect("a header"));
                    (NodeId(head >> 16 & 0xff), NodeId(head >> 24), (head >> 5 & 0x1f) as usize)
                } else {
                    (NodeId(r.field() as u32), NodeId(r.field() as u32), r.field() as usize)
                };
                let end = r.at + n;
                let bytes = Payload::from_slice(&s[r.at..end]);
                r.at = end;
                let msg = self.origins.len() as u64;
                self.origins.push((from, to, t));
                RecordKind::Send { from, to, msg, bytes }
            }
            DELIVER => {
                let msg = self.origins.len() as u64 - 1 - r.field();
                let (from, to, sent_at) = self.origins[msg as usize];
                RecordKind::Deliver { from, to, msg, sent_at }
            }
            _ => {
                let kind = self.trace.rare[self.rare].clone();
                self.rare += 1;
                if let Some((from, to, msg)) = creates(&kind) {
                    if msg == self.origins.len() as u64 {
                        self.origins.push((from, to, t));
                    }
                }
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

    fn payload(n: usize) -> Payload {
        (0..n).map(|i| i as u8 ^ 0xa5).collect()
    }

    /// Payloads of every length around the inline limit and the fixed-size moves (0–3, 4–7,
    /// 8–16 bytes in the window, 17 and more after it) come back byte for byte.
    #[test]
    fn payloads_of_every_length_round_trip() {
        let (a, b) = (NodeId(1), NodeId(2));
        let mut trace = Trace::<u8>::default();
        let mut expected = Vec::new();
        for (i, n) in (0..=40).chain([255, 256, 5000]).enumerate() {
            let kind = RecordKind::Send { from: a, to: b, msg: i as u64, bytes: payload(n) };
            trace.push(i as u64, kind.clone());
            expected.push(Record { t: i as u64, kind });
        }
        let back: Vec<_> = trace.iter().collect();
        assert!(same(&back, &expected), "{back:?}");
    }

    /// Deliveries keep only the time and which message: `from`, `to` and `sent_at` come back from
    /// the record that created the id — a send, an injection or a replay — however many copies are
    /// delivered (duplicates) and in whatever order.
    #[test]
    fn deliveries_are_rebuilt_from_the_records_that_created_their_ids() {
        let (a, b, c) = (NodeId(0), NodeId(1), NodeId(70_000));
        let mut trace = Trace::<u8>::default();
        let mut expected = Vec::new();
        let mut push = |trace: &mut Trace<u8>, t: u64, kind: RecordKind<u8>| {
            match kind {
                RecordKind::Deliver { from, to, msg, sent_at } => trace.push_deliver(t, from, to, msg, sent_at),
                ref kind => trace.push(t, kind.clone()),
            }
            expected.push(Record { t, kind });
        };
        push(&mut trace, 10, RecordKind::Send { from: a, to: b, msg: 0, bytes: payload(3) });
        push(&mut trace, 10, RecordKind::Duplicate { from: a, to: b, msg: 0 });
        push(&mut trace, 11, RecordKind::Send { from: b, to: c, msg: 1, bytes: payload(16) });
        push(&mut trace, 11, RecordKind::Inject { from: c, to: a, msg: 2, bytes: [9, 9].into() });
        push(&mut trace, 12, RecordKind::Replay { from: b, to: c, msg: 3, of: 1 });
        push(&mut trace, 12, RecordKind::Send { from: c, to: a, msg: 4, bytes: payload(17) });
        push(&mut trace, 20, RecordKind::Deliver { from: a, to: b, msg: 0, sent_at: 10 });
        push(&mut trace, 21, RecordKind::Deliver { from: c, to: a, msg: 2, sent_at: 11 });
        push(&mut trace, 21, RecordKind::Deliver { from: a, to: b, msg: 0, sent_at: 10 });
        push(&mut trace, 30, RecordKind::Deliver { from: c, to: a, msg: 4, sent_at: 12 });
        push(&mut trace, 1 << 50, RecordKind::Deliver { from: b, to: c, msg: 3, sent_at: 12 });
        push(&mut trace, 1 << 50, RecordKind::Deliver { from: b, to: c, msg: 1, sent_at: 11 });
        // Ids out of the dense order are kept whole, and so is a delivery of an id not created.
        push(&mut trace, 31, RecordKind::Send { from: a, to: c, msg: 1 << 40, bytes: payload(2) });
        push(&mut trace, 31, RecordKind::Inject { from: a, to: c, msg: 7, bytes: [1].into() });
        push(&mut trace, 32, RecordKind::Deliver { from: a, to: c, msg: 1 << 40, sent_at: 31 });
        push(&mut trace, 33, RecordKind::Send { from: b, to: a, msg: 5, bytes: payload(1) });
        push(&mut trace, 34, RecordKind::Deliver { from: b, to: a, msg: 5, sent_at: 33 });
        assert_eq!(trace.len(), expected.len());
        let back: Vec<_> = trace.iter().collect();
        assert!(same(&back, &expected), "{back:?}");
        assert!(same(&trace.clone().iter().collect::<Vec<_>>(), &expected));
    }

    /// A delivery that does not match the record that created its id breaks the invariant the
    /// packing rests on: debug builds refuse it.
    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "does not match the record that created it")]
    fn a_delivery_that_contradicts_its_send_is_refused() {
        let mut trace = Trace::<u8>::default();
        trace.push_send(5, NodeId(0), NodeId(1), 0, &[1]);
        trace.push_deliver(9, NodeId(1), NodeId(0), 0, 5);
    }

    /// The stream grows past its room (from empty, a reservation too small for one record, and a
    /// small one) with records of every size straddling each boundary.
    #[test]
    fn grows_across_the_end_of_its_room() {
        for mut trace in [Trace::<u8>::default(), Trace::with_capacity(1), Trace::with_capacity(100)] {
            let mut expected = Vec::new();
            let mut origins = Vec::new();
            for i in 0..30_000u64 {
                let (from, to, t, msg) =
                    (NodeId(i as u32 % 7), NodeId(i as u32 % 5 * 1000), i * 3, origins.len() as u64);
                let kind = match i % 5 {
                    0 | 1 => RecordKind::Send { from, to, msg, bytes: payload((i % 41) as usize) },
                    2 => RecordKind::Inject { from, to, msg, bytes: [1].into() },
                    3 => RecordKind::Send { from, to, msg, bytes: payload(i as usize % 300) },
                    _ => RecordKind::Output { node: from, index: i as u32 },
                };
                if i % 5 != 4 {
                    origins.push((from, to, t));
                }
                trace.push(t, kind.clone());
                expected.push(Record { t, kind });
                if i % 5 == 4 {
                    for msg in [msg - 1, msg - 4, msg - 3, msg - 2] {
                        let (from, to, sent_at) = origins[msg as usize];
                        trace.push_deliver(t + 1, from, to, msg, sent_at);
                        expected.push(Record { t: t + 1, kind: RecordKind::Deliver { from, to, msg, sent_at } });
                    }
                }
            }
            assert_eq!(trace.len(), expected.len());
            let back: Vec<_> = trace.iter().collect();
            assert!(same(&back, &expected));
        }
    }
}
