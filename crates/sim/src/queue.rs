//! The event queue: a min-queue on (time, insertion sequence), so events at the same instant run in
//! the order they were scheduled — which is what makes a run a pure function of its seed.
//!
//! It is a calendar queue (a timing wheel) of fine buckets: time is cut into buckets of 2^shift
//! ns (a few microseconds), each a singly linked list of 16-byte blocks of up to [`BLOCK_KEYS`]
//! slot indices, so a push within the wheel's horizon is O(1) — store the event and its key in a
//! slot, append the slot to the bucket's head block (or link a new one), set the
//! bucket's occupancy bit — and touches no per-bucket vector. A bucket of one event (the common
//! case: buckets are fine, and a sparse wheel has many more of them than events) keeps that event's
//! slot index in its head word and has no block; its second event moves both into one. When the
//! cursor moves on it takes the next occupied buckets (up to 16 within 262 µs, so that their first
//! blocks load in parallel and a sparse wheel's cost of moving on is shared by several events),
//! gathers their keys into `current` and sorts each bucket's (buckets are fine enough that most
//! hold one event, so most sorts are trivial), then pops from its end. The list links slots through
//! blocks rather than through the slots themselves so that gathering a crowded bucket (a lock-step
//! round puts tens of thousands of events into a few thousand buckets) is a chain of one cache miss
//! per block, not one per event, with the slots' loads independent of each other; the events are
//! prefetched a few pops ahead. An event pushed into a gathered bucket (a delay shorter than the
//! gathered span) goes into a side heap, and a pop takes the earlier of the two. Events beyond the
//! horizon wait in an overflow heap and move into the wheel as it turns. A two-level occupancy
//! bitmap finds the next non-empty bucket in a few word scans even when the wheel is sparse.
//!
//! The wheel is sized to what it holds: it covers a fixed horizon (about 16.8 ms) with 2^12
//! buckets of about 4 µs while it holds a few hundred events (16 KiB of list heads, not 64), and
//! halves the width, regrouping its events, each time it holds more than a quarter as many events
//! as buckets, down to 2^14 buckets of about 1 µs. Geometry never changes the pop order.
//!
//! Keys are 16 bytes — the time, and the insertion sequence packed with the event's slot index —
//! so sorting and the heaps move keys, never events.

use prefetch_index::prefetch_index;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A queued event's key: `tag` is the insertion sequence (high 40 bits) and the slot index (low 24
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

/// Every geometry of the wheel covers the same horizon, 2^24 ns (about 16.8 ms): its buckets times
/// their width.
const HORIZON_SHIFT: u32 = 24;
/// A new wheel's bucket width, 2^12 ns (about 4 µs): 2^12 buckets, 16 KiB of list heads. A sparse
/// wheel (400 events in flight) runs as fast on these as on finer buckets, and the fixed storage
/// is a quarter.
const COARSEST_SHIFT: u32 = 12;
/// The finest bucket width the wheel grows to, 2^10 ns (about 1 µs): 2^14 buckets, 64 KiB of heads.
const FINEST_SHIFT: u32 = 10;
/// The wheel halves its bucket width (doubling its buckets) when it holds more events than this
/// fraction of its buckets, so that buckets stay fine enough that most hold one event.
const GROW_DENSITY_SHIFT: u32 = 2;
const MOST_WORDS: usize = 1 << (HORIZON_SHIFT - FINEST_SHIFT - 6);
/// The end of a bucket's list.
const NIL: u32 = u32::MAX;
/// Slots per block of a bucket's list: three slot indices and the link make 16 bytes, four blocks
/// a cache line.
const BLOCK_KEYS: usize = 3;
/// A bucket's head is its newest block's index shifted by this, plus the slots that block holds
/// (the older blocks are full) — or, for a bucket of one event, that event's slot index shifted
/// by this, plus 0: most buckets hold one event, and then need no block at all.
const HEAD_SHIFT: u32 = 2;
/// The head's count of slots in its newest block (0: the head is a slot index).
const LEN_MASK: u32 = (1 << HEAD_SHIFT) - 1;
const _: () = assert!(BLOCK_KEYS < 1 << HEAD_SHIFT && SLOT_BITS + HEAD_SHIFT < 32);
/// How many pops ahead the queue prefetches an event's slot.
const PREFETCH_AHEAD: usize = 8;
/// The most buckets gathered at once, so that their first blocks load in parallel and the
/// prefetching of events runs on across bucket boundaries...
const GATHER_BUCKETS: usize = 16;
/// ...within 2^this ns of the first (about 262 µs): an event pushed into a gathered bucket goes
/// into the side heap, so the gathered span stays short next to network delays. Wide enough that a
/// sparse wheel (400 events spread over 9 ms: one every 22 µs) still gathers several buckets at a
/// time.
const GATHER_SPAN_SHIFT: u32 = 18;

/// Up to [`BLOCK_KEYS`] slot indices of one bucket, in push order, and the bucket's next (older,
/// full) block.
#[derive(Clone, Copy)]
struct Block {
    slots: [u32; BLOCK_KEYS],
    next: u32,
}

impl Block {
    const EMPTY: Self = Self { slots: [NIL; BLOCK_KEYS], next: NIL };
}

/// An event and its key (`event` is `None` while the slot is free).
struct Slot<E> {
    entry: Entry,
    event: Option<E>,
}

pub(crate) struct EventQueue<E> {
    /// Event storage: each event with its key (`event` is `None` while a slot is free); keys point
    /// into it.
    slots: Vec<Slot<E>>,
    free: Vec<u32>,
    /// The blocks of the wheel's bucket lists.
    blocks: Vec<Block>,
    free_blocks: Vec<u32>,
    /// The bucket of `cursor`, sorted so that the earliest event is last.
    current: Vec<Entry>,
    /// Events pushed into the cursor's bucket after it was gathered.
    side: BinaryHeap<Entry>,
    /// Absolute bucket number (time >> shift) of `current`.
    cursor: u64,
    /// The buckets' width is 2^shift ns, and there are 2^(HORIZON_SHIFT - shift) of them.
    shift: u32,
    /// The number of buckets less one.
    mask: u64,
    /// The wheel grows when it holds more events than this (`usize::MAX` at the finest width).
    grow_above: usize,
    /// The newest block of buckets `cursor + 1 ..= cursor + mask`, by absolute number modulo the
    /// number of buckets, as `index << HEAD_SHIFT | slots in it` (`NIL` if empty), so that a push
    /// need not load the block to find its free place; a bucket of one event holds its slot index
    /// instead, as `slot << HEAD_SHIFT`. Allocated on first use.
    heads: Vec<u32>,
    /// Bit b: bucket b is non-empty.
    occupied: Vec<u64>,
    /// Bit w: `occupied[w]` is non-zero.
    summary: [u64; MOST_WORDS / 64],
    in_wheel: usize,
    /// Events at or beyond the horizon.
    overflow: BinaryHeap<Entry>,
    seq: u64,
    len: usize,
    peak: usize,
    /// The most events gathered into `current` at once, for the memory report.
    current_peak: usize,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            blocks: Vec::new(),
            free_blocks: Vec::new(),
            current: Vec::new(),
            side: BinaryHeap::new(),
            cursor: 0,
            shift: COARSEST_SHIFT,
            mask: (1 << (HORIZON_SHIFT - COARSEST_SHIFT)) - 1,
            grow_above: Self::grow_above(COARSEST_SHIFT),
            // Allocated on first use, so an idle queue (or a run that never looks far ahead) costs
            // nothing to build and drop.
            heads: Vec::new(),
            occupied: Vec::new(),
            summary: [0; MOST_WORDS / 64],
            in_wheel: 0,
            overflow: BinaryHeap::new(),
            seq: 0,
            len: 0,
            peak: 0,
            current_peak: 0,
        }
    }

    /// Queues `event` at `time`. Always inlined: a send's push is half the queue's work per
    /// delivery, and the event is then written straight into its slot rather than passed by
    /// reference and copied.
    #[inline(always)]
    pub(crate) fn push(&mut self, time: u64, event: E) {
        let seq = self.seq;
        self.seq += 1;
        assert!(seq < 1 << (64 - SLOT_BITS), "more than 2^40 events scheduled in one run");
        let slot = match self.free.pop() {
            Some(slot) => u64::from(slot),
            None => {
                self.slots.push(Slot { entry: Entry { time: 0, tag: 0 }, event: None });
                self.slots.len() as u64 - 1
            }
        };
        assert!(slot <= SLOT_MASK, "more than 2^24 events queued at once");
        let entry = Entry { time, tag: seq << SLOT_BITS | slot };
        let stored = &mut self.slots[slot as usize];
        stored.entry = entry;
        // Written into a slot known to be free, so that no old event is dropped first (checking
        // which kind of event it was).
        match stored.event {
            None => stored.event = Some(event),
            Some(_) => unreachable!("a free slot holds no event"),
        }
        self.len += 1;
        if self.len > self.peak {
            self.peak = self.len;
        }
        self.place(entry);
    }

    #[inline(always)]
    fn place(&mut self, entry: Entry) {
        let bucket = entry.time >> self.shift;
        if bucket <= self.cursor {
            // The current bucket (or, for a time in the past, the earliest place it can go).
            self.side.push(entry);
        } else if bucket - self.cursor <= self.mask {
            if self.heads.is_empty() {
                self.heads = vec![NIL; self.mask as usize + 1];
                self.occupied = vec![0; (self.mask as usize + 1) / 64];
            }
            let b = (bucket & self.mask) as usize;
            let head = self.heads[b];
            let slot = entry.slot() as u32;
            let len = head & LEN_MASK;
            if head == NIL {
                // An empty bucket: its one slot index goes in the head itself, with no block.
                self.heads[b] = slot << HEAD_SHIFT;
                let word = self.occupied[b / 64];
                if word == 0 {
                    self.summary[b / 64 / 64] |= 1 << (b / 64 % 64);
                }
                self.occupied[b / 64] = word | 1 << (b % 64);
            } else if len == 0 {
                // A second event: both slot indices move into a new block.
                let id = self.new_block();
                self.blocks[id as usize] = Block { slots: [head >> HEAD_SHIFT, slot, NIL], next: NIL };
                self.heads[b] = id << HEAD_SHIFT | 2;
            } else if (len as usize) < BLOCK_KEYS {
                self.blocks[(head >> HEAD_SHIFT) as usize].slots[len as usize] = slot;
                self.heads[b] = head + 1;
            } else {
                // The newest block is full: link a new one at the bucket's head.
                let id = self.new_block();
                self.blocks[id as usize] = Block { slots: [slot, NIL, NIL], next: head >> HEAD_SHIFT };
                self.heads[b] = id << HEAD_SHIFT | 1;
            }
            self.in_wheel += 1;
            if self.in_wheel > self.grow_above {
                self.grow();
            }
        } else {
            self.overflow.push(entry);
        }
    }

    /// How many events the wheel holds at most at bucket width 2^shift before it grows.
    const fn grow_above(shift: u32) -> usize {
        if shift > FINEST_SHIFT { 1 << (HORIZON_SHIFT - shift - GROW_DENSITY_SHIFT) } else { usize::MAX }
    }

    /// A block off the free list, or a new one.
    #[inline]
    fn new_block(&mut self) -> u32 {
        let id = match self.free_blocks.pop() {
            Some(id) => id,
            None => {
                self.blocks.push(Block::EMPTY);
                self.blocks.len() as u32 - 1
            }
        };
        assert!(id < (NIL >> HEAD_SHIFT), "fewer than 2^30 blocks");
        id
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
        self.pop_until(u64::MAX)
    }

    /// Pops the earliest event if it is due no later than `end`; `None` if there is none. Always
    /// inlined (the run loop is its one hot caller): the call's register saves and the copy of the
    /// returned event cost more than most pops' own work.
    #[inline(always)]
    pub(crate) fn pop_until(&mut self, end: u64) -> Option<(u64, E)> {
        if self.current.is_empty() && self.side.is_empty() && !self.advance() {
            return None;
        }
        let from_side = match (self.current.last(), self.side.peek()) {
            (Some(a), Some(b)) => b.key() < a.key(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        let first = if from_side { self.side.peek() } else { self.current.last() }?;
        if first.time > end {
            return None;
        }
        let e = if from_side { self.side.pop() } else { self.current.pop() }?;
        if let Some(ahead) = self.current.len().checked_sub(PREFETCH_AHEAD) {
            // Start loading the event that will be popped a few pops from now: the slots of one
            // bucket's events are scattered, and their loads are independent.
            prefetch_index(&self.slots, self.current[ahead].slot());
        }
        self.len -= 1;
        let slot = e.slot();
        let event = self.slots[slot].event.take().expect("a queued key points at a stored event");
        self.free.push(slot as u32);
        Some((e.time, event))
    }

    /// Moves the cursor to the next non-empty buckets (up to [`GATHER_BUCKETS`] within
    /// [`GATHER_SPAN`]) and gathers them into `current`. False if the queue is empty.
    fn advance(&mut self) -> bool {
        loop {
            if self.in_wheel == 0 {
                // Nothing in the wheel: jump straight to the overflow's earliest bucket.
                let Some(first) = self.overflow.peek() else { return false };
                self.cursor = first.time >> self.shift;
                self.refill_from_overflow();
                if !self.side.is_empty() {
                    return true;
                }
                continue;
            }
            // Take the buckets' heads first, starting each one's load, then walk their lists. The
            // buckets are taken a bitmap word at a time: the word is read once, its bits taken in
            // order, and written back once.
            let mut heads = [NIL; GATHER_BUCKETS];
            let mut taken = 0;
            let first = self.next_occupied().expect("a non-empty wheel");
            let span = 1u64 << (GATHER_SPAN_SHIFT - self.shift);
            let mut at = first;
            loop {
                let b = (at & self.mask) as usize;
                let word = self.occupied[b / 64];
                // Bucket `at` and the occupied ones after it in its word. They are `at + k`, not a
                // turn earlier: those would lie between the cursor and `at`, which are empty.
                let mut bits = word & (!0u64 << (b % 64));
                let base = at - (b % 64) as u64;
                let mut full = false;
                while bits != 0 {
                    let bit = bits.trailing_zeros() as usize;
                    let bucket = base + bit as u64;
                    if bucket - first >= span {
                        full = true;
                        break;
                    }
                    bits &= bits - 1;
                    self.cursor = bucket;
                    let head = std::mem::replace(&mut self.heads[b / 64 * 64 + bit], NIL);
                    self.prefetch_head(head);
                    heads[taken] = head;
                    taken += 1;
                    if taken == GATHER_BUCKETS {
                        full = true;
                        break;
                    }
                }
                // Clear what was taken: the bits below `at` and those left in `bits` stay.
                let left = word & !(!0u64 << (b % 64)) | bits;
                self.occupied[b / 64] = left;
                if left == 0 {
                    self.summary[b / 64 / 64] &= !(1 << (b / 64 % 64));
                }
                if full {
                    break;
                }
                match self.next_occupied() {
                    Some(after) if after - first < span => at = after,
                    _ => break,
                }
            }
            // Latest bucket first, and each bucket's keys sorted latest first, so that the earliest
            // event pops off the end: the buckets' times do not overlap, so only each bucket needs
            // a sort. (time, seq) is unique, so an unstable sort is deterministic; one 128-bit key
            // compares in two instructions and one branch.
            let before = self.current.len();
            // By index, four bytes at a time: copying the array whole would load it 16 bytes at a
            // time straight after its 4-byte stores, which the store buffer cannot forward.
            for k in (0..taken).rev() {
                let head = heads[k];
                if head & LEN_MASK == 0 {
                    // One event, no block.
                    self.current.push(self.slots[(head >> HEAD_SHIFT) as usize].entry);
                    continue;
                }
                let start = self.current.len();
                Self::take_blocks(&self.slots, &self.blocks, &mut self.free_blocks, head, &mut self.current);
                self.current[start..].sort_unstable_by_key(|e| std::cmp::Reverse(e.key()));
            }
            self.in_wheel -= self.current.len() - before;
            self.current_peak = self.current_peak.max(self.current.len());
            // The first few events to pop; `pop_until` keeps prefetching the rest ahead.
            for e in self.current.iter().rev().take(PREFETCH_AHEAD) {
                prefetch_index(&self.slots, e.slot());
            }
            self.refill_from_overflow();
            if self.in_wheel > 0 {
                // Start loading the next bucket's newest block (or its one event) now: the walk of
                // its list begins with that (otherwise cold) load once this bucket's events are
                // handled.
                let next = self.next_occupied().expect("a non-empty wheel");
                self.prefetch_head(self.heads[(next & self.mask) as usize]);
            }
            if !self.current.is_empty() || !self.side.is_empty() {
                return true;
            }
        }
    }

    /// Appends the keys of a bucket's list of blocks (`head` is not a lone slot) to `out`, freeing
    /// the blocks.
    #[inline(always)]
    fn take_blocks(slots: &[Slot<E>], blocks: &[Block], free_blocks: &mut Vec<u32>, head: u32, out: &mut Vec<Entry>) {
        let (mut id, mut len) = (head >> HEAD_SHIFT, (head & LEN_MASK) as usize);
        loop {
            let block = &blocks[id as usize];
            for &slot in &block.slots[..len] {
                out.push(slots[slot as usize].entry);
            }
            free_blocks.push(id);
            if block.next == NIL {
                break;
            }
            (id, len) = (block.next, BLOCK_KEYS);
        }
    }

    /// Halves the buckets' width, doubling their number over the same horizon, and moves the
    /// wheel's events into the finer buckets. The cursor's bucket becomes the last of the finer
    /// buckets it covers: every event in the wheel stays after it and within the horizon, and an
    /// event pushed before the coarse bucket's end still goes to the side heap. Pop order does not
    /// change — it is (time, sequence) whatever the geometry.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let mut entries = Vec::with_capacity(self.in_wheel);
        for w in 0..self.occupied.len() {
            let mut bits = std::mem::take(&mut self.occupied[w]);
            while bits != 0 {
                let b = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let head = std::mem::replace(&mut self.heads[b], NIL);
                if head & LEN_MASK == 0 {
                    entries.push(self.slots[(head >> HEAD_SHIFT) as usize].entry);
                } else {
                    Self::take_blocks(&self.slots, &self.blocks, &mut self.free_blocks, head, &mut entries);
                }
            }
        }
        assert_eq!(entries.len(), self.in_wheel, "the bitmap marks every bucket with events");
        self.summary = [0; MOST_WORDS / 64];
        self.in_wheel = 0;
        self.shift -= 1;
        self.mask = self.mask << 1 | 1;
        self.grow_above = Self::grow_above(self.shift);
        self.cursor = self.cursor << 1 | 1;
        self.heads = vec![NIL; self.mask as usize + 1];
        self.occupied = vec![0; (self.mask as usize + 1) / 64];
        for entry in entries {
            self.place(entry);
        }
    }

    /// Starts loading what a bucket's head points at: its one event's slot, or its newest block.
    #[inline]
    fn prefetch_head(&self, head: u32) {
        if head & LEN_MASK == 0 {
            prefetch_index(&self.slots, (head >> HEAD_SHIFT) as usize);
        } else {
            prefetch_index(&self.blocks, (head >> HEAD_SHIFT) as usize);
        }
    }

    /// The absolute number of the first occupied bucket after the cursor (`None` if the wheel is
    /// empty).
    fn next_occupied(&self) -> Option<u64> {
        let start = ((self.cursor + 1) & self.mask) as usize;
        // The rest of the start's word, then whole words found through the summary, wrapping
        // around the wheel once.
        let first = self.occupied[start / 64] & (!0u64 << (start % 64));
        let found = if first != 0 {
            start / 64 * 64 + first.trailing_zeros() as usize
        } else {
            let w = self.next_word(start / 64 + 1).or_else(|| self.next_word(0))?;
            w * 64 + self.occupied[w].trailing_zeros() as usize
        };
        let offset = (found as u64).wrapping_sub(self.cursor) & self.mask;
        Some(self.cursor + if offset == 0 { self.mask + 1 } else { offset })
    }

    /// The first non-empty word of `occupied` at or after word `from`, without wrapping.
    fn next_word(&self, from: usize) -> Option<usize> {
        let mut i = from / 64;
        let words = self.occupied.len();
        let mut bits = if from < words { self.summary[i] & (!0u64 << (from % 64)) } else { 0 };
        loop {
            if bits != 0 {
                return Some(i * 64 + bits.trailing_zeros() as usize);
            }
            i += 1;
            if i >= words / 64 {
                return None;
            }
            bits = self.summary[i];
        }
    }

    /// Moves overflow events that now fall within the horizon into the wheel.
    fn refill_from_overflow(&mut self) {
        while let Some(first) = self.overflow.peek() {
            let bucket = first.time >> self.shift;
            if bucket - self.cursor.min(bucket) > self.mask {
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
        debug_assert!(self.occupied.iter().all(|w| *w == 0) && self.summary.iter().all(|w| *w == 0));
        debug_assert!(self.heads.iter().all(|h| *h == NIL));
        self.slots.clear();
        self.free.clear();
        self.blocks.clear();
        self.free_blocks.clear();
        self.side.clear();
        self.cursor = 0;
        if self.shift != COARSEST_SHIFT {
            // Back to the coarse wheel, so that each run's memory report is its own.
            (self.heads, self.occupied) = (Vec::new(), Vec::new());
            self.shift = COARSEST_SHIFT;
            self.mask = (1 << (HORIZON_SHIFT - COARSEST_SHIFT)) - 1;
            self.grow_above = Self::grow_above(COARSEST_SHIFT);
        }
        self.seq = 0;
        self.peak = 0;
        self.current_peak = 0;
    }

    /// The most events ever queued at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// An estimate of the bytes the queue's storage occupies at its largest: a slot per queued
    /// event at the peak, the most blocks in use at once, the largest gathered bucket's keys, and
    /// the wheel's list heads and bitmaps once allocated.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.peak * std::mem::size_of::<Slot<E>>()
            + self.blocks.len() * std::mem::size_of::<Block>()
            + self.current_peak * std::mem::size_of::<Entry>()
            + self.wheel_bytes()
    }

    /// The wheel's fixed storage at its current geometry: a list head per bucket and the occupancy
    /// bitmap (nothing before first use).
    pub(crate) fn wheel_bytes(&self) -> usize {
        self.heads.capacity() * std::mem::size_of::<u32>() + self.occupied.capacity() * 8
    }

    /// Removes every event, in time order.
    pub(crate) fn drain_sorted(&mut self) -> Vec<(u64, E)> {
        let mut v = Vec::with_capacity(self.len);
        while let Some(e) = self.pop() {
            v.push(e);
        }
        v
    }

    /// Bytes per queued event: its slot, and its key's share of a full block (a bucket's newest
    /// block may be partly empty; a bucket of one event uses none).
    pub(crate) const fn entry_size() -> usize {
        std::mem::size_of::<Slot<E>>() + std::mem::size_of::<Block>() / BLOCK_KEYS
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

    /// A queue whose wheel starts at bucket width 2^shift.
    fn with_shift<E>(shift: u32) -> EventQueue<E> {
        let mut q = EventQueue::new();
        (q.shift, q.mask, q.grow_above) =
            (shift, (1 << (HORIZON_SHIFT - shift)) - 1, EventQueue::<E>::grow_above(shift));
        q
    }

    /// The occupancy search wraps around the end of the wheel at both levels of the bitmap, at
    /// every geometry: from a cursor in the wheel's last word, to a bucket in its first word or in
    /// the middle, and to a bucket just before the cursor's own (almost a whole turn ahead).
    #[test]
    fn finds_the_next_bucket_across_the_end_of_the_wheel() {
        for shift in FINEST_SHIFT..=COARSEST_SHIFT {
            let width = 1u64 << shift;
            let buckets = 1u64 << (HORIZON_SHIFT - shift);
            let turn = buckets * width;
            for start_bucket in [buckets - 1, buckets - 70, 2 * buckets - 3] {
                let start = start_bucket * width;
                for ahead in [1, 2, 63, 64, 65, 4095, buckets / 2, buckets - 2, buckets - 1] {
                    let mut q = with_shift(shift);
                    q.push(start, 'a');
                    assert_eq!(q.pop(), Some((start, 'a')));
                    let t = start + ahead * width;
                    q.push(t, 'b');
                    q.push(start + turn + 5, 'c'); // beyond the horizon: the overflow heap
                    assert_eq!(q.pop(), Some((t, 'b')), "shift {shift}, start bucket {start_bucket}, {ahead} ahead");
                    assert_eq!(q.pop(), Some((start + turn + 5, 'c')));
                    assert_eq!(q.pop(), None);
                    assert_eq!(q.shift, shift, "three events do not grow the wheel");
                }
            }
        }
    }

    /// Keeps `in_flight` events queued, each popped one replaced by one 1–10 ms later (the
    /// benchmark's workload), checking every pop against a plain heap on (time, seq); returns the
    /// queue. It starts with at most 400 and adds the rest while it runs, some of them into the
    /// buckets already gathered (0–300 µs ahead), so that the wheel grows mid-run.
    fn steady_state(in_flight: u64, pops: u64) -> EventQueue<u64> {
        let mut rng = Rng::new(in_flight);
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        let mut push = |q: &mut EventQueue<u64>, reference: &mut BinaryHeap<_>, t: u64| {
            q.push(t, seq);
            reference.push(std::cmp::Reverse((t, seq)));
            seq += 1;
        };
        for _ in 0..in_flight.min(400) {
            push(&mut q, &mut reference, rng.between(1_000_000, 10_000_000));
        }
        for _ in 0..pops {
            let std::cmp::Reverse(want) = reference.pop().expect("never empty");
            assert_eq!(q.pop(), Some(want));
            push(&mut q, &mut reference, want.0 + rng.between(1_000_000, 10_000_000));
            if (reference.len() as u64) < in_flight {
                let ahead = if rng.chance(0.5) { rng.between(0, 300_000) } else { rng.between(1_000_000, 10_000_000) };
                push(&mut q, &mut reference, want.0 + ahead);
            }
        }
        assert_eq!(reference.len() as u64, in_flight);
        q
    }

    /// The wheel starts coarse and stays so for a few hundred events; thousands make it grow,
    /// bucket width by bucket width, to the finest, with every pop still in (time, seq) order
    /// across each regrouping. A reset returns it to the coarse wheel.
    #[test]
    fn the_wheel_is_sized_to_the_events_it_holds() {
        let wheel_bytes =
            |shift: u32| (1usize << (HORIZON_SHIFT - shift)) * 4 + (1usize << (HORIZON_SHIFT - shift - 6)) * 8;
        let coarse = wheel_bytes(COARSEST_SHIFT);
        let q = steady_state(400, 20_000);
        assert_eq!((q.shift, q.wheel_bytes()), (COARSEST_SHIFT, coarse));
        let mut q = steady_state(4_000, 20_000);
        let finest = wheel_bytes(FINEST_SHIFT);
        assert_eq!((q.shift, q.wheel_bytes()), (FINEST_SHIFT, finest));
        q.drain_sorted();
        q.reset();
        assert_eq!((q.shift, q.wheel_bytes()), (COARSEST_SHIFT, 0));
    }

    /// Crowded buckets (more keys than a block holds, as in a lock-step round) and runs of
    /// gathered buckets pop in (time, insertion) order, with pushes into gathered buckets and into
    /// crowded ones between pops.
    #[test]
    fn crowded_buckets_pop_in_order() {
        let width = 1u64 << FINEST_SHIFT;
        let mut rng = Rng::new(11);
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for _ in 0..4 {
            // A burst: 2,000 events into the 100 buckets from 1 to 100 µs ahead, some at
            // exactly the same time.
            for _ in 0..2_000 {
                let t = now + width * rng.between(1, 100) + rng.between(0, 3);
                q.push(t, seq);
                reference.push(std::cmp::Reverse((t, seq)));
                seq += 1;
            }
            while let Some(std::cmp::Reverse(want)) = reference.pop() {
                let got = q.pop().expect("as many events as the reference");
                assert_eq!(got, want);
                now = got.0;
                if rng.chance(0.01) {
                    // Into the gathered span, or just beyond it.
                    let t = now + rng.between(0, 80 * width);
                    q.push(t, seq);
                    reference.push(std::cmp::Reverse((t, seq)));
                    seq += 1;
                }
            }
            assert_eq!(q.pop(), None);
        }
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
