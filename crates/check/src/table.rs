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

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

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
/// The top [`SHARD_BITS`] bits of a fingerprint choose the shard and the low 48 bits are stored
/// (as three `u16`s), so two fingerprints are confused only if they agree on 58 of their 64 bits:
/// for n states the chance of any confusion is about n² / 2⁵⁹ (under 10⁻⁴ for 10⁷ states, about
/// 0.6% for 6·10⁷), against n² / 2⁶⁵ for a full 64-bit table. The stored value's own top bits give
/// its home slot, so shards can grow without the original fingerprint.
#[derive(Debug)]
pub struct FpSet {
    shards: Box<[Mutex<Compact>]>,
    len: AtomicU64,
    bytes: AtomicU64,
}

#[derive(Debug)]
struct Compact {
    slots: Vec<[u16; 3]>,
    len: usize,
}

const LOW48: u64 = (1 << 48) - 1;

#[inline]
fn pack(v: u64) -> [u16; 3] {
    [v as u16, (v >> 16) as u16, (v >> 32) as u16]
}

#[inline]
fn unpack(s: [u16; 3]) -> u64 {
    u64::from(s[0]) | u64::from(s[1]) << 16 | u64::from(s[2]) << 32
}

impl Compact {
    /// The slot holding `v` (48 bits, nonzero), or the empty slot where it would go.
    #[inline]
    fn probe(&self, v: u64) -> (usize, bool) {
        let cap = self.slots.len();
        let mut i = ((u128::from(v << 16) * cap as u128) >> 64) as usize;
        loop {
            let k = unpack(self.slots[i]);
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

    fn grow(&mut self) {
        let cap = (self.slots.len() * 5 / 4).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.slots, vec![[0; 3]; cap]);
        for e in old {
            let v = unpack(e);
            if v != 0 {
                let (i, _) = self.probe(v);
                self.slots[i] = e;
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
        let shards = (0..SHARDS).map(|_| Mutex::new(Compact { slots: Vec::new(), len: 0 })).collect();
        Self { shards, len: AtomicU64::new(0), bytes: AtomicU64::new(0) }
    }

    /// Inserts `fp`; returns whether it was new.
    #[inline]
    pub fn insert(&self, fp: u64) -> bool {
        // 0 marks an empty slot: the stored value 0 is folded onto 1 (one more 2⁻⁴⁸ coincidence).
        let v = (fp & LOW48).max(1);
        let mut shard = self.shards[(fp >> (64 - SHARD_BITS)) as usize].lock().expect("table lock");
        if (shard.len + 1) * 10 > shard.slots.len() * 9 {
            let before = shard.slots.len();
            shard.grow();
            self.bytes.fetch_add(((shard.slots.len() - before) * 6) as u64, Ordering::Relaxed);
        }
        let (i, found) = shard.probe(v);
        if found {
            return false;
        }
        shard.slots[i] = pack(v);
        shard.len += 1;
        drop(shard);
        self.len.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Whether `fp` is present.
    pub fn contains(&self, fp: u64) -> bool {
        let shard = self.shards[(fp >> (64 - SHARD_BITS)) as usize].lock().expect("table lock");
        !shard.slots.is_empty() && shard.probe((fp & LOW48).max(1)).1
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
