//! The visited sets: sharded, growable open-addressing tables of fingerprints ([`FpMap`] with a
//! payload word for BFS parents, [`FpSet`] with 6-byte slots for DFS and random walks).
//!
//! Each entry is `W` words: the fingerprint, then `W - 1` words of payload (the BFS parent). The top
//! [`SHARD_BITS`] bits of a fingerprint pick a shard; each shard is a `Vec<[u64; W]>` probed linearly
//! from a position taken from the remaining bits by multiply-shift, so capacities need not be powers
//! of two. A shard grows by 5/4 when it passes 9/10 full, so the whole table stays between about
//! 72% and 90% full: about 10 bytes per fingerprint for the set. Fingerprint 0 marks an empty slot,
//! so the entry for fingerprint 0 lives apart.
//!
//! The table is only ever probed, never iterated, so its layout cannot leak into results.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// log2 of the number of shards.
pub const SHARD_BITS: u32 = 10;
const SHARDS: usize = 1 << SHARD_BITS;
const MIN_CAPACITY: usize = 64;

#[derive(Debug)]
struct Shard<const W: usize> {
    slots: Vec<[u64; W]>,
    len: usize,
}

impl<const W: usize> Shard<W> {
    #[inline]
    fn home(fp: u64, cap: usize) -> usize {
        ((u128::from(fp.rotate_left(SHARD_BITS)) * cap as u128) >> 64) as usize
    }

    /// Returns the slot index holding `fp`, or the empty slot where it would go.
    #[inline]
    fn probe(&self, fp: u64) -> (usize, bool) {
        let cap = self.slots.len();
        let mut i = Self::home(fp, cap);
        loop {
            let k = self.slots[i][0];
            if k == fp {
                return (i, true);
            }
            if k == 0 {
                return (i, false);
            }
            i += 1;
            if i == cap {
                i = 0;
            }
        }
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 5 / 4).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.slots, vec![[0; W]; cap]);
        for e in old {
            if e[0] != 0 {
                let (i, found) = self.probe(e[0]);
                debug_assert!(!found);
                self.slots[i] = e;
            }
        }
    }
}

/// A concurrent map from fingerprints to `W - 1` words of payload (a set when `W == 1`).
#[derive(Debug)]
pub struct FpTable<const W: usize> {
    shards: Box<[Mutex<Shard<W>>]>,
    zero: Mutex<Option<[u64; W]>>,
    len: AtomicU64,
    bytes: AtomicU64,
}

/// The visited map of BFS: fingerprint → parent fingerprint.
pub type FpMap = FpTable<2>;

impl<const W: usize> Default for FpTable<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize> FpTable<W> {
    /// An empty table.
    pub fn new() -> Self {
        assert!(W >= 1);
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard { slots: Vec::new(), len: 0 })).collect();
        Self { shards, zero: Mutex::new(None), len: AtomicU64::new(0), bytes: AtomicU64::new(0) }
    }

    /// Inserts `entry` (fingerprint first) unless its fingerprint is present; returns whether it
    /// was inserted.
    #[inline]
    pub fn insert(&self, entry: [u64; W]) -> bool {
        let fp = entry[0];
        if fp == 0 {
            let mut z = self.zero.lock().expect("table lock");
            if z.is_some() {
                return false;
            }
            *z = Some(entry);
            self.len.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        let mut shard = self.shards[(fp >> (64 - SHARD_BITS)) as usize].lock().expect("table lock");
        if (shard.len + 1) * 10 > shard.slots.len() * 9 {
            let before = shard.slots.len();
            shard.grow();
            let grown = (shard.slots.len() - before) * W * 8;
            self.bytes.fetch_add(grown as u64, Ordering::Relaxed);
        }
        let (i, found) = shard.probe(fp);
        if found {
            return false;
        }
        shard.slots[i] = entry;
        shard.len += 1;
        drop(shard);
        self.len.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The entry for `fp`, if present.
    pub fn get(&self, fp: u64) -> Option<[u64; W]> {
        if fp == 0 {
            return *self.zero.lock().expect("table lock");
        }
        let shard = self.shards[(fp >> (64 - SHARD_BITS)) as usize].lock().expect("table lock");
        if shard.slots.is_empty() {
            return None;
        }
        let (i, found) = shard.probe(fp);
        found.then(|| shard.slots[i])
    }

    /// Whether `fp` is present.
    pub fn contains(&self, fp: u64) -> bool {
        self.get(fp).is_some()
    }

    /// How many fingerprints the table holds.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated for slots.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// The visited set of DFS and random walks: 6 bytes per slot.
///
/// The top [`SHARD_BITS`] bits of a fingerprint choose the shard and bits 1 to 47 are stored (as
/// three `u16`s, bit 0 set so that a stored value's low word is never 0), so two fingerprints are
/// confused only if they agree on 57 of their 64 bits: for n states the chance of any confusion is
/// about n² / 2⁵⁸ (under 2·10⁻⁴ for 10⁷ states, about 1.3% for 6·10⁷), against n² / 2⁶⁵ for a full
/// 64-bit table. The stored value's own top bits give its home slot, so shards can grow without
/// the original fingerprint.
///
/// Slots are atomics written only under their shard's lock, the low word last with release
/// ordering, so a [`Toucher`] may read them without the lock: a nonzero low word read with acquire
/// ordering means the whole value is there. That is how a search overlaps the cache misses of one
/// state's successors and skips the lock for the ones already visited (see [`Toucher`]).
#[derive(Debug)]
pub struct FpSet {
    shards: Box<[CompactShard]>,
    len: AtomicU64,
    bytes: AtomicU64,
}

type Slot = [AtomicU16; 3];

#[derive(Debug)]
struct CompactShard {
    lock: Mutex<Compact>,
    /// Bumped (under the lock) each time the shard's slots are replaced by a larger array.
    generation: AtomicU64,
}

#[derive(Debug)]
struct Compact {
    slots: Arc<[Slot]>,
    len: usize,
}

const LOW48: u64 = (1 << 48) - 1;

/// Writes `v` into an empty slot: the low word (never 0 in a stored value) last, with release
/// ordering, so a lock-free reader that sees it nonzero sees the rest.
#[inline]
fn store(slot: &Slot, v: u64) {
    slot[2].store((v >> 32) as u16, Ordering::Relaxed);
    slot[1].store((v >> 16) as u16, Ordering::Relaxed);
    slot[0].store(v as u16, Ordering::Release);
}

/// Reads a slot, with or without its shard's lock: 0 (empty) or a whole stored value.
#[inline]
fn load(slot: &Slot) -> u64 {
    let low = slot[0].load(Ordering::Acquire);
    if low == 0 {
        return 0;
    }
    u64::from(low) | u64::from(slot[1].load(Ordering::Relaxed)) << 16 | u64::from(slot[2].load(Ordering::Relaxed)) << 32
}

/// The home slot of the stored value `v` (48 bits) in a shard of `cap` slots.
#[inline]
fn compact_home(v: u64, cap: usize) -> usize {
    ((u128::from(v << 16) * cap as u128) >> 64) as usize
}

/// The stored value of `fp`: its low 48 bits with bit 0 set (an empty slot is 0, and a stored
/// value's low word is never 0).
#[inline]
fn compact_value(fp: u64) -> u64 {
    (fp & LOW48) | 1
}

#[inline]
fn shard_of(fp: u64) -> usize {
    (fp >> (64 - SHARD_BITS)) as usize
}

fn zeroed(cap: usize) -> Arc<[Slot]> {
    (0..cap).map(|_| Slot::default()).collect()
}

/// The slot of `slots` (not empty) holding the stored value `v`, or the empty slot where it would
/// go. Under the shard's lock, or without it on any array the shard ever had: slots only ever go
/// from empty to a value, and no array is ever full.
#[inline]
fn find(slots: &[Slot], v: u64) -> (usize, bool) {
    let cap = slots.len();
    let mut i = compact_home(v, cap);
    loop {
        let k = load(&slots[i]);
        if k == v {
            return (i, true);
        }
        if k == 0 {
            return (i, false);
        }
        i += 1;
        if i == cap {
            i = 0;
        }
    }
}

impl Compact {
    /// The slot holding `v` (47 bits and bit 0), or the empty slot where it would go.
    #[inline]
    fn probe(&self, v: u64) -> (usize, bool) {
        find(&self.slots, v)
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 5 / 4).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.slots, zeroed(cap));
        for e in old.iter() {
            let v = load(e);
            if v != 0 {
                let (i, _) = self.probe(v);
                store(&self.slots[i], v);
            }
        }
    }
}

impl Default for FpSet {
    fn default() -> Self {
        Self::new()
    }
}

impl FpSet {
    /// An empty set.
    pub fn new() -> Self {
        let shards = (0..SHARDS)
            .map(|_| CompactShard {
                lock: Mutex::new(Compact { slots: zeroed(0), len: 0 }),
                generation: AtomicU64::new(0),
            })
            .collect();
        Self { shards, len: AtomicU64::new(0), bytes: AtomicU64::new(0) }
    }

    /// Inserts `fp`; returns whether it was new.
    #[inline]
    pub fn insert(&self, fp: u64) -> bool {
        let new = self.insert_uncounted(fp);
        if new {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        new
    }

    /// [`insert`](Self::insert) without counting a new fingerprint in [`len`](Self::len): the
    /// caller counts it later (a shared counter bumped per insert is a contended cache line).
    #[inline]
    fn insert_uncounted(&self, fp: u64) -> bool {
        let v = compact_value(fp);
        let shard = &self.shards[shard_of(fp)];
        let mut c = shard.lock.lock().expect("table lock");
        if (c.len + 1) * 10 > c.slots.len() * 9 {
            let before = c.slots.len();
            c.grow();
            shard.generation.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(((c.slots.len() - before) * 6) as u64, Ordering::Relaxed);
        }
        let (i, found) = c.probe(v);
        if found {
            return false;
        }
        store(&c.slots[i], v);
        c.len += 1;
        true
    }

    /// Whether `fp` is present.
    pub fn contains(&self, fp: u64) -> bool {
        let c = self.shards[shard_of(fp)].lock.lock().expect("table lock");
        !c.slots.is_empty() && c.probe(compact_value(fp)).1
    }

    /// How many fingerprints the set holds.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated for slots.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A handle for one search thread that reads home slots ahead of inserting.
    pub fn toucher(&self) -> Toucher<'_> {
        // Entry i starts as a value whose low bits are not i, so no fingerprint matches it.
        let recent = (0..RECENT).map(|i| ((i + 1) % RECENT) as u64).collect();
        Toucher { set: self, cache: vec![None; SHARDS], recent, uncounted: 0, sink: 0 }
    }
}

/// One thread's lock-free view of an [`FpSet`]'s slot arrays.
///
/// An insert takes its shard's lock, and taking a lock is a full barrier: the memory access it
/// guards cannot start until every earlier one has finished. A search whose visited set is far
/// larger than the caches would therefore pay one whole memory latency per successor, one after
/// the other. Instead a search [`touch`](Self::touch)es every successor's home slot first — plain
/// loads, no lock, so the processor overlaps the misses — and then asks
/// [`insert`](Self::insert), which answers "already there" without the lock when it finds the
/// fingerprint (most successors of a large search were seen before) and takes the lock only to
/// add a new one.
///
/// Before either, the handle looks in its own small cache of fingerprints it recently inserted or
/// found: a depth-first search meets most states again soon after their first visit (the other
/// orders of a few independent steps), so most duplicates are answered there without touching
/// the large table at all (at 2PC with 9 resource managers, 77% of all successors).
///
/// The handle keeps a clone of each shard's slot array, refreshed (under the lock) when the
/// shard's generation says it has grown. A stale array is harmless: fingerprints are never
/// removed and growth copies them all, so whatever a stale array holds the set holds; a
/// fingerprint not found there is looked up again under the lock.
#[derive(Debug)]
pub struct Toucher<'a> {
    set: &'a FpSet,
    cache: Vec<Option<(u64, Arc<[Slot]>)>>,
    /// Fingerprints this thread recently inserted or found in the set, direct-mapped by their
    /// low bits: only fingerprints known to be in the set enter, so a hit is a sound "visited".
    recent: Box<[u64]>,
    /// Fingerprints this handle added and has not yet counted in the set's length.
    uncounted: u64,
    sink: u64,
}

/// Entries in a [`Toucher`]'s cache of recent fingerprints: 512 KiB, about one core's L2 cache.
const RECENT: usize = 1 << 16;

impl Toucher<'_> {
    /// This thread's copy of shard `k`'s slot array, refreshed if the shard has grown since.
    #[inline]
    fn slots(&mut self, k: usize) -> &Arc<[Slot]> {
        let shard = &self.set.shards[k];
        let generation = shard.generation.load(Ordering::Relaxed);
        let fresh = matches!(&self.cache[k], Some((g, _)) if *g == generation);
        if !fresh {
            let c = shard.lock.lock().expect("table lock");
            self.cache[k] = Some((shard.generation.load(Ordering::Relaxed), Arc::clone(&c.slots)));
        }
        self.cache[k].as_ref().map(|(_, slots)| slots).expect("refreshed above")
    }

    /// Reads the home slot of `fp` so that a later [`insert`](Self::insert) of it hits the cache.
    #[inline]
    pub fn touch(&mut self, fp: u64) {
        if self.recent[fp as usize % RECENT] == fp {
            return;
        }
        let slots = self.slots(shard_of(fp));
        if !slots.is_empty() {
            let v = compact_value(fp);
            let word = slots[compact_home(v, slots.len())][0].load(Ordering::Relaxed);
            self.sink = self.sink.wrapping_add(u64::from(word));
        }
    }

    /// [`FpSet::insert`], without the lock when `fp` is already there.
    #[inline]
    pub fn insert(&mut self, fp: u64) -> bool {
        let r = fp as usize % RECENT;
        if self.recent[r] == fp {
            return false;
        }
        self.recent[r] = fp;
        let slots = self.slots(shard_of(fp));
        if !slots.is_empty() && find(slots, compact_value(fp)).1 {
            return false;
        }
        let new = self.set.insert_uncounted(fp);
        if new {
            self.uncounted += 1;
            if self.uncounted == 1024 {
                self.count();
            }
        }
        new
    }

    /// Adds the fingerprints this handle inserted to the set's length. Until then (at the latest
    /// when the handle is dropped) [`FpSet::len`] may lag behind by up to 1,023 per handle.
    pub fn count(&mut self) {
        self.set.len.fetch_add(std::mem::take(&mut self.uncounted), Ordering::Relaxed);
    }
}

impl Drop for Toucher<'_> {
    fn drop(&mut self) {
        // The touches' loads must not be optimised away: their values flow here.
        std::hint::black_box(self.sink);
        self.count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::mix64;

    #[test]
    fn inserts_are_unique_and_survive_growth() {
        let t = FpMap::new();
        for x in 0..50_000u64 {
            assert!(t.insert([mix64(x), x]), "{x} is new");
        }
        for x in 0..50_000u64 {
            assert!(!t.insert([mix64(x), 7]), "{x} is already there");
            assert_eq!(t.get(mix64(x)), Some([mix64(x), x]), "payload of the first insert kept");
        }
        assert!(t.get(mix64(50_001)).is_none());
        assert_eq!(t.len(), 50_000);
        assert!(t.contains(0), "mix64(0) == 0 lives apart");
        let per = t.bytes() as f64 / 50_000.0;
        assert!(per < 16.0 * 1.5, "{per} bytes per entry");
    }

    #[test]
    fn concurrent_inserts_count_each_fingerprint_once() {
        let t = FpSet::new();
        let won = AtomicU64::new(0);
        crate::pool::run(2, |_| {
            for x in 0..20_000u64 {
                if t.insert(mix64(x)) {
                    won.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        assert_eq!(won.load(Ordering::Relaxed), 20_000);
        assert_eq!(t.len(), 20_000);
    }

    #[test]
    fn touchers_agree_with_the_locked_set_across_growth_and_threads() {
        // Two threads insert overlapping ranges through their own touchers while the shards grow
        // under them (stale cached arrays): every fingerprint is reported new exactly once, and
        // a toucher finds what the other thread inserted.
        let t = FpSet::new();
        let won = AtomicU64::new(0);
        crate::pool::run(2, |w| {
            let mut h = t.toucher();
            let offset = w as u64 * 10_000;
            for x in offset..offset + 30_000 {
                h.touch(mix64(x));
                if h.insert(mix64(x)) {
                    won.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        assert_eq!(won.load(Ordering::Relaxed), 40_000, "0..40,000 each counted once");
        assert_eq!(t.len(), 40_000);
        let mut h = t.toucher();
        for x in 0..40_000u64 {
            assert!(!h.insert(mix64(x)), "{x} is there");
        }
        assert!(h.insert(mix64(40_000)) && t.contains(mix64(40_000)));
        assert!(!t.contains(mix64(40_001)));
    }

    #[test]
    fn a_touchers_recent_cache_never_answers_for_a_fingerprint_not_in_the_set() {
        // Fingerprints that share cache entry 0 (equal low bits), including 0 itself, whose
        // entry starts as 1: each is new exactly once, whatever evicted whom.
        let t = FpSet::new();
        let mut h = t.toucher();
        let same_entry: Vec<u64> = (0..6).map(|k| k << 40).chain([RECENT as u64, 3 * RECENT as u64]).collect();
        for round in 0..2 {
            for &fp in &same_entry {
                h.touch(fp);
                assert_eq!(h.insert(fp), round == 0, "{fp:#x} in round {round}");
            }
        }
        assert_eq!(t.len(), 0, "a toucher counts its inserts in batches");
        h.count();
        assert_eq!(t.len(), same_entry.len() as u64);
        // Another thread's toucher has its own cache and asks the set.
        let mut other = t.toucher();
        assert!(same_entry.iter().all(|&fp| !other.insert(fp)));
        let fresh = 7 << 40;
        assert!(other.insert(fresh), "new to the set");
        assert!(!h.insert(fresh), "found in the set, not in this toucher's cache");
        drop(other);
        assert_eq!(t.len(), same_entry.len() as u64 + 1, "counted when dropped");
    }

    #[test]
    fn the_compact_set_grows_and_stays_near_seven_bytes_per_entry() {
        let t = FpSet::new();
        for x in 0..300_000u64 {
            assert!(t.insert(mix64(x)));
        }
        for x in 0..300_000u64 {
            assert!(!t.insert(mix64(x)));
            assert!(t.contains(mix64(x)));
        }
        assert!(!t.contains(mix64(300_001)));
        assert!(t.contains(0), "mix64(0) == 0 is stored like any other");
        let fresh = FpSet::new();
        assert!(fresh.insert(0) && !fresh.insert(0) && fresh.contains(0));
        let per = t.bytes() as f64 / t.len() as f64;
        assert!(per < 9.0, "{per} bytes per entry");
    }
}
