//! 64-bit state fingerprints: a fixed, seedless hash, so a fingerprint is the same in every run,
//! on every thread count and on every machine of the same endianness.

use std::hash::{Hash, Hasher};

/// The murmur3 64-bit finaliser: a bijection on `u64` with full avalanche. Models whose state packs
/// into a `u64` use it directly as their fingerprint, which then never collides.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// Folded 64×64→128 multiplication (the wyhash mixing step).
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A deterministic streaming hasher for fingerprints (no per-process random keys).
#[derive(Debug, Clone, Copy)]
pub struct FpHasher {
    h: u64,
    n: u64,
}

impl Default for FpHasher {
    fn default() -> Self {
        Self { h: 0x243f_6a88_85a3_08d3, n: 0 }
    }
}

impl FpHasher {
    #[inline]
    fn add(&mut self, x: u64) {
        self.n = self.n.wrapping_add(1);
        self.h = fold_mul(self.h ^ x, K ^ self.n.rotate_left(32));
    }
}

impl Hasher for FpHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        mix64(self.h ^ self.n)
    }
}

/// The fingerprint of any hashable value.
pub fn fingerprint<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FpHasher::default();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_sensitive() {
        assert_eq!(fingerprint(&(1u32, 2u32)), fingerprint(&(1u32, 2u32)));
        assert_ne!(fingerprint(&(1u32, 2u32)), fingerprint(&(2u32, 1u32)));
        assert_ne!(fingerprint(&vec![0u8; 3]), fingerprint(&vec![0u8; 4]));
        assert_ne!(fingerprint(&[0u8, 0]), fingerprint(&[0u8]));
        // Pinned: a fingerprint must not change between runs or releases of the same code.
        assert_eq!(mix64(1), 0xb456_bcfc_34c2_cb2c);
    }

    #[test]
    fn mix64_is_a_bijection_on_a_sample() {
        let mut seen = std::collections::BTreeSet::new();
        for x in 0..10_000u64 {
            assert!(seen.insert(mix64(x)));
        }
        assert_eq!(mix64(0), 0, "0 is the one fixed point the tables must handle");
    }
}
