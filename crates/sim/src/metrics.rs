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
