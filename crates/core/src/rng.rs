use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The only source of randomness a node (or a driver's fault injector) may use: a seeded ChaCha8
/// generator. Same seed, same stream, on every platform.
///
/// It implements [`rand::RngCore`], so `rand`'s distributions and `Rng` helpers work on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// An independent generator derived from `seed` and a `stream` number — for example one per node.
    /// Streams of one seed never overlap.
    pub fn derive(seed: u64, stream: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        Self(inner)
    }

    /// A uniform draw from `0.0..1.0` with 53 bits of precision.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (exactly `false` for `p <= 0`, exactly `true` for `p >= 1`).
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniform draw from `lo..=hi` (Lemire's multiply-shift; the bias is below 2^-32 for spans
    /// under 2^32, which is negligible for simulation). Always inlined: the simulator draws a
    /// latency per transmission, and the call costs about as much as the draw.
    #[inline(always)]
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        let span = hi - lo;
        if span == u64::MAX {
            return self.0.next_u64();
        }
        let x = self.0.next_u64();
        lo + ((u128::from(x) * u128::from(span + 1)) >> 64) as u64
    }

    /// A uniform index in `0..len`.
    #[inline]
    pub fn index(&mut self, len: usize) -> usize {
        assert!(len > 0, "index of an empty range");
        self.between(0, len as u64 - 1) as usize
    }
}

impl RngCore for Rng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = Rng::new(7);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut s = Rng::derive(7, 1);
        assert_ne!(a[0], s.next_u64());
    }

    #[test]
    fn between_stays_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let x = r.between(3, 9);
            assert!((3..=9).contains(&x));
        }
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
    }
}
