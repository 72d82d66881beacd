//! The event queue: a min-queue on (time, insertion sequence), so events at the same instant run in
//! the order they were scheduled — which is what makes a run a pure function of its seed.
//!
//! It is a calendar queue (a timing wheel): time is cut into buckets of `2^WIDTH_SHIFT` ns; an event
//! within the wheel's horizon goes, unsorted, into its bucket in O(1); the bucket holding the
//! current time is sorted once when the cursor reaches it and then popped from its end. An event
//! pushed into the current bucket itself (a delay shorter than a bucket) goes into a side heap, and
//! a pop takes the earlier of the two. Events beyond the horizon wait in an overflow heap and move
//! into the wheel as it turns. An occupancy bitmap finds the next non-empty bucket. For the
//! latencies of a simulated network (micro- to milliseconds) most buckets hold a few events, so a
//! push and a pop cost a few nanoseconds instead of a full heap's log n cache misses.
//!
//! The wheel moves only 16-byte keys — the time, and the insertion sequence packed with the index
//! of the event's slot in a slab — so sorting and moving stay cheap whatever the event's size.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A queued event's key: `tag` is the insertion sequence (high 40 bits) and the slab slot (low 24
/// bits), so ordering by (time, tag) is ordering by (time, sequence).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    time: u64,
    tag: u64,
}

const SLOT_BITS: u32 = 24;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

impl Entry {
    /// (time, tag) as one number: ordering by it is ordering by (time, sequence).
    #[inline]
    fn key(self) -> u128 {
        u128::from(self.time) << 64 | u128::from(self.tag)
    }

    #[inline]
    fn slot(self) -> usize {
        (self.tag & SLOT_MASK) as usize
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        other.key().cmp(&self.key())
    }
}

/// Bucket width: 2^14 ns ≈ 16.4 µs.
const WIDTH_SHIFT: u32 = 14;
/// Buckets in the wheel: 2^12, a horizon of about 67 ms (the wheel's headers stay in cache).
const BUCKETS: usize = 1 << 12;
const MASK: u64 = BUCKETS as u64 - 1;

pub(crate) struct EventQueue<E> {
    /// Event storage; keys point into it.
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    /// The bucket of `cursor`, sorted so that the earliest event is last.
    current: Vec<Entry>,
    /// Events pushed into the cursor's bucket after it was sorted.
    side: BinaryHeap<Entry>,
    /// Absolute bucket number (time >> WIDTH_SHIFT) of `current`.
    cursor: u64,
    /// Buckets `cursor + 1 ..= cursor + BUCKETS - 1`, by absolute number modulo BUCKETS.
    wheel: Vec<Vec<Entry>>,
    occupied: [u64; BUCKETS / 64],
    in_wheel: usize,
    /// Events at or beyond the horizon.
    overflow: BinaryHeap<Entry>,
    seq: u64,
    len: usize,
    peak: usize,
    /// Bucket storage capacity, for the memory report.
    capacity_peak: usize,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        Self {
            slab: Vec::new(),
            free: Vec::new(),
            current: Vec::new(),
            side: BinaryHeap::new(),
            cursor: 0,
            // Allocated on first use, so an idle queue (or a run that never looks far ahead) costs
            // nothing to build and drop.
            wheel: Vec::new(),
            occupied: [0; BUCKETS / 64],
            in_wheel: 0,
            overflow: BinaryHeap::new(),
            seq: 0,
            len: 0,
            peak: 0,
            capacity_peak: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, time: u64, event: E) {
        let seq = self.seq;
        self.seq += 1;
        assert!(seq < 1 << (64 - SLOT_BITS), "more than 2^40 events scheduled in one run");
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                u64::from(slot)
            }
            None => {
                self.slab.push(Some(event));
                self.slab.len() as u64 - 1
            }
        };
        assert!(slot <= SLOT_MASK, "more than 2^24 events queued at once");
        self.len += 1;
        if self.len > self.peak {
            self.peak = self.len;
        }
        self.place(Entry { time, tag: seq << SLOT_BITS | slot });
    }

    #[inline]
    fn place(&mut self, entry: Entry) {
        let bucket = entry.time >> WIDTH_SHIFT;
        if bucket <= self.cursor {
            // The current bucket (or, for a time in the past, the earliest place it can go).
            self.side.push(entry);
        } else if bucket - self.cursor < BUCKETS as u64 {
            if self.wheel.is_empty() {
                self.wheel = (0..BUCKETS).map(|_| Vec::new()).collect();
            }
            let slot = (bucket & MASK) as usize;
            self.wheel[slot].push(entry);
            self.occupied[slot / 64] |= 1 << (slot % 64);
            self.in_wheel += 1;
        } else {
            self.overflow.push(entry);
        }
    }

    #[inline]
    pub(crate) fn peek_time(&mut self) -> Option<u64> {
        if self.current.is_empty() && self.side.is_empty() && !self.advance() {
            return None;
        }
        match (self.current.last(), self.side.peek()) {
            (Some(a), Some(b)) => Some(a.time.min(b.time)),
            (a, b) => a.or(b).map(|e| e.time),
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        if self.current.is_empty() && self.side.is_empty() && !self.advance() {
            return None;
        }
        let from_side = match (self.current.last(), self.side.peek()) {
            (Some(a), Some(b)) => b.key() < a.key(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        let e = if from_side { self.side.pop() } else { self.current.pop() }?;
        self.len -= 1;
        let slot = e.slot();
        let event = self.slab[slot].take().expect("a queued key points at a stored event");
        self.free.push(slot as u32);
        Some((e.time, event))
    }

    /// Moves the cursor to the next non-empty bucket and loads it into `current`. False if the
    /// queue is empty.
    fn advance(&mut self) -> bool {
        loop {
            if self.in_wheel == 0 {
                // Nothing in the wheel: jump straight to the overflow's earliest bucket.
                let Some(first) = self.overflow.peek() else { return false };
                self.cursor = first.time >> WIDTH_SHIFT;
                self.refill_from_overflow();
                if !self.side.is_empty() {
                    return true;
                }
                continue;
            }
            let next = self.next_occupied();
            self.cursor = next;
            let slot = (next & MASK) as usize;
            self.occupied[slot / 64] &= !(1 << (slot % 64));
            // Swap the (empty) current vector into the slot so both allocations are reused.
            std::mem::swap(&mut self.current, &mut self.wheel[slot]);
            self.in_wheel -= self.current.len();
            self.capacity_peak = self.capacity_peak.max(self.current.capacity());
            // Latest first, so the earliest pops off the end; (time, seq) is unique, so an
            // unstable sort is deterministic. One 128-bit key compares in two instructions and one
            // branch, where the (time, tag) pair took two branches.
            self.current.sort_unstable_by_key(|e| std::cmp::Reverse(e.key()));
            self.refill_from_overflow();
            if !self.current.is_empty() || !self.side.is_empty() {
                return true;
            }
        }
    }

    /// The absolute number of the first occupied bucket after the cursor.
    fn next_occupied(&self) -> u64 {
        let start = ((self.cursor + 1) & MASK) as usize;
        let words = BUCKETS / 64;
        for step in 0..=words {
            let w = (start / 64 + step) % words;
            let mut bits = self.occupied[w];
            if step == 0 {
                bits &= !0u64 << (start % 64);
            }
            if bits != 0 {
                let slot = (w * 64 + bits.trailing_zeros() as usize) as u64;
                let offset = (slot.wrapping_sub(self.cursor)) & MASK;
                return self.cursor + if offset == 0 { BUCKETS as u64 } else { offset };
            }
        }
        unreachable!("next_occupied called on an empty wheel")
    }

    /// Moves overflow events that now fall within the horizon into the wheel.
    fn refill_from_overflow(&mut self) {
        while let Some(first) = self.overflow.peek() {
            if (first.time >> WIDTH_SHIFT) - self.cursor.min(first.time >> WIDTH_SHIFT) >= BUCKETS as u64 {
                break;
            }
            let e = self.overflow.pop().expect("peeked");
            self.place(e);
        }
    }

    /// Empties the queue's bookkeeping for a new run, keeping its allocations. The queue must be
    /// empty (runs end by draining it).
    pub(crate) fn reset(&mut self) {
        assert_eq!(self.len, 0, "only an empty queue is reused");
        debug_assert!(self.in_wheel == 0 && self.overflow.is_empty() && self.current.is_empty());
        debug_assert!(self.occupied.iter().all(|w| *w == 0));
        self.slab.clear();
        self.free.clear();
        self.side.clear();
        self.cursor = 0;
        self.seq = 0;
        self.peak = 0;
        self.capacity_peak = 0;
    }

    /// The most events ever queued at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// An estimate of the bytes the queue's storage occupies at its largest: a slab slot and a key
    /// per queued event at the peak, plus the largest bucket's slack.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.peak * std::mem::size_of::<Option<E>>() + (self.peak + self.capacity_peak) * std::mem::size_of::<Entry>()
    }

    /// Removes every event, in time order.
    pub(crate) fn drain_sorted(&mut self) -> Vec<(u64, E)> {
        let mut v = Vec::with_capacity(self.len);
        while let Some(e) = self.pop() {
            v.push(e);
        }
        v
    }

    /// Bytes per queued event: its slab slot and its key.
    pub(crate) const fn entry_size() -> usize {
        std::mem::size_of::<Option<E>>() + std::mem::size_of::<Entry>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::Rng;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(5, 'a');
        q.push(1, 'b');
        q.push(5, 'c');
        q.push(1, 'd');
        let order: Vec<char> = q.drain_sorted().into_iter().map(|(_, e)| e).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    /// The calendar queue must pop exactly what a plain heap on (time, seq) pops, for interleaved
    /// pushes and pops at every scale of delay, including far beyond the horizon and zero delays.
    #[test]
    fn matches_a_reference_heap_on_random_workloads() {
        for seed in 0..40 {
            let mut rng = Rng::new(seed);
            let mut q = EventQueue::new();
            let mut reference = BinaryHeap::new(); // of Reverse((time, seq))
            let mut now = 0u64;
            let mut seq = 0u64;
            for _ in 0..3_000 {
                if rng.chance(0.55) || reference.is_empty() {
                    let scale = [0, 1_000, 70_000, 5_000_000, 300_000_000, 50_000_000_000][rng.index(6)];
                    let t = now + rng.between(0, scale);
                    q.push(t, seq);
                    reference.push(std::cmp::Reverse((t, seq)));
                    seq += 1;
                } else {
                    let want = reference.pop().map(|std::cmp::Reverse(e)| e);
                    assert_eq!(q.peek_time(), want.map(|w| w.0));
                    let got = q.pop();
                    assert_eq!(got, want, "seed {seed}");
                    now = got.expect("non-empty").0;
                }
            }
            let rest: Vec<_> = std::iter::from_fn(|| reference.pop().map(|std::cmp::Reverse(e)| e)).collect();
            assert_eq!(q.drain_sorted(), rest);
        }
    }
}
