//! What a run did, in numbers: the notes' latency, bandwidth and throughput as distinct quantities,
//! and what the system model did to the messages.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Counters a run accumulates. Message counts are per transmission (one `send` effect is one
/// transmission; a duplicate adds a delivery, not a transmission).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Transmissions by nodes.
    pub sent: u64,
    /// Messages handed to a node's `on_message`.
    pub delivered: u64,
    /// Transmissions lost: by the network, a partition, a crashed receiver or the adversary.
    pub dropped: u64,
    /// … of which lost by fair-loss.
    pub dropped_loss: u64,
    /// … of which cut by a partition.
    pub dropped_partition: u64,
    /// … of which sent to a node that was down.
    pub dropped_crashed: u64,
    /// … of which dropped by the adversary.
    pub dropped_adversary: u64,
    /// Arrivals whose bytes did not decode (after modification, or sent raw by a Byzantine node).
    pub corrupt: u64,
    /// Extra copies made by the network.
    pub duplicated: u64,
    /// Transmissions whose bytes the adversary changed.
    pub modified: u64,
    /// Transmissions the adversary created with a claimed sender.
    pub injected: u64,
    /// Old transmissions the adversary sent again.
    pub replayed: u64,
    /// Transmissions held back by a partition in hold mode.
    pub held: u64,
    /// Transmissions still in flight when the run ended.
    pub in_flight_at_end: u64,
    /// Message bytes sent (payload only).
    pub bytes_sent: u64,
    /// Message bytes delivered.
    pub bytes_delivered: u64,
    /// Bytes put on the wire, packet headers included.
    pub wire_bytes: u64,
    /// Packets put on the wire.
    pub packets: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts after a crash.
    pub recoveries: u64,
    /// Node pauses.
    pub pauses: u64,
    /// Observations reported.
    pub outputs: u64,
    /// Events processed.
    pub events: u64,
}

impl Counters {
    /// Adds `other` into `self` (for sweeps and shard merges).
    pub fn add(&mut self, other: &Self) {
        macro_rules! sum { ($($f:ident),*) => { $( self.$f += other.$f; )* } }
        sum!(
            sent,
            delivered,
            dropped,
            dropped_loss,
            dropped_partition,
            dropped_crashed,
            dropped_adversary,
            corrupt,
            duplicated,
            modified,
            injected,
            replayed,
            held,
            in_flight_at_end,
            bytes_sent,
            bytes_delivered,
            wire_bytes,
            packets,
            timers_fired,
            crashes,
            recoveries,
            pauses,
            outputs,
            events
        );
    }
}

/// The summary of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Counters.
    #[serde(flatten)]
    pub counters: Counters,
    /// Virtual time the run covered, ns.
    pub virtual_ns: u64,
    /// One-way delivery latency percentiles (send to delivery), ns.
    pub latency_ns: Percentiles,
    /// Delivered payload bytes per virtual second.
    pub throughput_bytes_per_sec: f64,
    /// Deliveries per virtual second.
    pub deliveries_per_virtual_sec: f64,
    /// Peak bits per second any single directed link was asked to carry, as a fraction of its
    /// bandwidth (0 when bandwidth is unlimited).
    pub link_utilisation_max: f64,
}

/// Latency percentiles in nanoseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Fewest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Most.
    pub max: u64,
}

impl Percentiles {
    /// Percentiles from `h`, with the exact extremes `min` and `max`.
    pub(crate) fn of(h: &Histogram<u64>, min: u64, max: u64) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        // One pass over the recorded buckets for all three quantiles (value_at_quantile would scan
        // from the start for each). A bucket's representative value may lie a little beyond the
        // exact extremes, hence the clamp.
        let total = h.len();
        let thresholds = [0.5, 0.9, 0.99].map(|q: f64| ((q * total as f64).ceil() as u64).max(1));
        let mut found = [None; 3];
        let mut seen = 0;
        for v in h.iter_recorded() {
            seen += v.count_at_value();
            for (slot, threshold) in found.iter_mut().zip(thresholds) {
                if slot.is_none() && seen >= threshold {
                    *slot = Some(h.highest_equivalent(v.value_iterated_to()).clamp(min, max));
                }
            }
        }
        let [p50, p90, p99] = found.map(|f| f.unwrap_or(max));
        Self { min, p50, p90, p99, max }
    }
}

pub(crate) fn latency_histogram() -> Histogram<u64> {
    // 1 ns to about 13 days at 2 significant digits (1% resolution): a small counts array keeps the
    // simulator's hot loop in cache. Exact minimum and maximum are tracked beside it.
    Histogram::new_with_bounds(1, 1 << 50, 2).expect("static histogram bounds are valid")
}

/// Latencies below this are counted on [`LatencyRecorder`]'s own array; larger ones (over 13 days)
/// go straight to the histogram, which clamps them.
const COUNTED_BELOW: u64 = 1 << 50;
/// Sub-buckets per power of two above 256: the layout of [`latency_histogram`] (2 significant
/// digits round up to 256 sub-buckets, the upper half of which each further bucket uses).
const HALF_SHIFT: u32 = 7;
/// Counts for every latency below [`COUNTED_BELOW`]: 256 exact values, then 128 per power of two.
const COUNTS: usize = ((50 - HALF_SHIFT as usize) << HALF_SHIFT) + (1 << (HALF_SHIFT + 1));

/// The run's one-way latencies, recorded with a shift and an increment on the hot path and folded
/// into [`latency_histogram`] when the run ends.
///
/// The counts array has exactly the histogram's bucket layout, and folding records each bucket's
/// count at that bucket's lowest value, so the histogram that comes out equals the one that
/// recording every latency into it would have built (a test checks this bucket by bucket). It
/// exists because `Histogram::saturating_record` is an out-of-line call of about 50 instructions,
/// several per cent of a simulated delivery. The exact extremes are kept beside the counts.
pub(crate) struct LatencyRecorder {
    counts: Box<[u64; COUNTS]>,
    histogram: Histogram<u64>,
    min: u64,
    max: u64,
}

impl LatencyRecorder {
    pub(crate) fn new() -> Self {
        Self { counts: Box::new([0; COUNTS]), histogram: latency_histogram(), min: u64::MAX, max: 0 }
    }

    /// Forgets everything recorded, keeping the allocations.
    pub(crate) fn reset(&mut self) {
        // `percentiles` has emptied the counts if it ran.
        if let Some(range) = self.counted() {
            self.counts[range].fill(0);
        }
        self.histogram.reset();
        (self.min, self.max) = (u64::MAX, 0);
    }

    /// Records one latency of `ns` nanoseconds.
    #[inline(always)]
    pub(crate) fn record(&mut self, ns: u64) {
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
        if ns < COUNTED_BELOW {
            self.counts[Self::index(ns)] += 1;
        } else {
            self.histogram.saturating_record(ns);
        }
    }

    /// The bucket of `ns` (below [`COUNTED_BELOW`]): `ns` itself below 256; above, the power of
    /// two (`shift`, counted from 256) and the top eight bits.
    #[inline(always)]
    fn index(ns: u64) -> usize {
        let shift = (64 - HALF_SHIFT - 1) - (ns | ((1 << (HALF_SHIFT + 1)) - 1)).leading_zeros();
        ((shift as usize) << HALF_SHIFT) + (ns >> shift) as usize
    }

    /// The lowest latency in bucket `index`.
    fn lowest(index: usize) -> u64 {
        let shift = (index >> HALF_SHIFT).saturating_sub(1);
        let sub =
            if index < 1 << (HALF_SHIFT + 1) { index } else { (index & ((1 << HALF_SHIFT) - 1)) + (1 << HALF_SHIFT) };
        (sub as u64) << shift
    }

    /// The buckets that can hold counts: those between the extremes' (none before the first
    /// latency).
    fn counted(&self) -> Option<std::ops::RangeInclusive<usize>> {
        let bucket = |ns: u64| Self::index(ns.min(COUNTED_BELOW - 1));
        (self.min <= self.max).then(|| bucket(self.min)..=bucket(self.max))
    }

    /// Moves the counts into the histogram and returns the percentiles.
    pub(crate) fn percentiles(&mut self) -> Percentiles {
        if let Some(range) = self.counted() {
            let lo = *range.start();
            for (i, count) in self.counts[range].iter_mut().enumerate() {
                if *count > 0 {
                    self.histogram.saturating_record_n(Self::lowest(lo + i), std::mem::take(count));
                }
            }
        }
        // An empty histogram gives zeros whatever the extremes say.
        Percentiles::of(&self.histogram, self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recording through the counts builds the same histogram as recording each value into it.
    #[test]
    fn recorder_equals_direct_recording() {
        let mut values: Vec<u64> = vec![1, 2, 127, 128, 255, 256, 257, 511, 512, 513, 1000, 1 << 49];
        for bit in 8..64 {
            let p = 1u64 << bit;
            values.extend([p - 1, p, p + 1, p + (p >> 1), p | (p - 1)]);
        }
        // A spread of latencies from a fixed generator (SplitMix64), at every scale.
        let mut x = 7u64;
        for _ in 0..20_000 {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            values.push((z >> (z % 64)).max(1));
        }
        let mut recorder = LatencyRecorder::new();
        for round in 0..2 {
            let mut direct = latency_histogram();
            for &v in &values[round..] {
                direct.saturating_record(v);
                recorder.record(v);
            }
            let p = recorder.percentiles();
            assert!(direct == recorder.histogram, "round {round}: the histograms differ");
            let (min, max) = (values[round..].iter().min().copied(), values[round..].iter().max().copied());
            assert_eq!(p, Percentiles::of(&direct, min.unwrap(), max.unwrap()));
            recorder.reset();
            assert!(recorder.counts.iter().all(|&c| c == 0), "reset leaves no counts");
        }
    }

    #[test]
    fn every_bucket_starts_where_the_histogram_says() {
        let h = latency_histogram();
        for i in 0..COUNTS {
            let low = LatencyRecorder::lowest(i);
            assert_eq!(LatencyRecorder::index(low), i, "bucket {i}");
            assert_eq!(h.lowest_equivalent(low), low, "bucket {i} starts at {low}");
            if i + 1 < COUNTS {
                let next = LatencyRecorder::lowest(i + 1);
                assert_eq!(h.next_non_equivalent(low), next, "bucket {i} ends where {} starts", i + 1);
                assert_eq!(LatencyRecorder::index(next - 1), i);
            }
        }
    }

    #[test]
    fn nothing_recorded_gives_zeros() {
        let mut recorder = LatencyRecorder::new();
        assert_eq!(recorder.percentiles(), Percentiles::default());
    }
}
