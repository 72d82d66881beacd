//! Availability, the lecture's way (§2.4): the fraction of requests answered correctly within a
//! latency bound, judged against a service level objective.
//!
//! "Available" is partly a matter of definition — is a 5 s page load available? — so an [`Slo`]
//! makes the definition explicit: *`percentile_ratio` of the requests in every `window` get a
//! successful response within `latency_max`*, e.g. "99.9% of requests in a day get a response in
//! 200 ms". A [`RequestSample`] is *good* iff it succeeded **and** its latency is at most
//! `latency_max`; [`evaluate`] counts them per window.
//!
//! [`downtime_per_year`] turns an availability into the downtime it allows (the "nines" table).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A 365-day year, the "nines" table's year.
pub const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// The downtime per (365-day) year that `availability` allows: `(1 − A) × 365 d`.
///
/// 99% → 3.65 days, 99.9% → 8.76 hours, 99.99% → 52.56 minutes, 99.999% → 5.256 minutes. The
/// lecture's slide rounds these to 3.7 d / 8.8 h / 53 min / 5.3 min.
///
/// # Panics
/// If `availability` is not within `[0, 1]`.
pub fn downtime_per_year(availability: f64) -> Duration {
    assert!((0.0..=1.0).contains(&availability), "availability must be within [0, 1], got {availability}");
    YEAR.mul_f64(1.0 - availability)
}

/// A service level objective: `percentile_ratio` of the requests in every `window` succeed
/// within `latency_max`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// The share of requests that must be good, in (0, 1]: 0.999 for "99.9%".
    pub percentile_ratio: f64,
    /// The slowest response that still counts as good.
    pub latency_max: Duration,
    /// The measurement period: every window (by request issue time) must meet the ratio.
    pub window: Duration,
}

/// A field of an [`Slo`] that makes no sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SloError {
    /// The field.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

impl std::fmt::Display for SloError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SloError {}

impl Slo {
    /// Rejects an objective that cannot be met or measured, naming the field.
    pub fn validate(&self) -> Result<(), SloError> {
        let r = self.percentile_ratio;
        if !(r > 0.0 && r <= 1.0) {
            return Err(SloError { field: "percentile_ratio", message: format!("must be within (0, 1], got {r}") });
        }
        if self.latency_max.is_zero() {
            return Err(SloError { field: "latency_max", message: "must be positive".into() });
        }
        if self.window.is_zero() {
            return Err(SloError { field: "window", message: "must be positive".into() });
        }
        Ok(())
    }
}

/// One request as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSample {
    /// When it was issued (selects its window).
    pub issued: Duration,
    /// From issue to the final answer (or to giving up).
    pub latency: Duration,
    /// It ended with a correct, successful response.
    pub ok: bool,
}

/// How a set of samples fared against an [`Slo`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloReport {
    /// Samples judged.
    pub requests: u64,
    /// Samples that succeeded within `latency_max`.
    pub good: u64,
    /// `good / requests` (1 when there were no requests).
    pub ratio: f64,
    /// The lowest ratio of any window that had requests.
    pub worst_window_ratio: f64,
    /// Every window met `percentile_ratio`.
    pub meets: bool,
    /// Median latency of the successful requests (zero if none succeeded).
    pub p50: Duration,
    /// 99th-percentile latency of the successful requests (zero if none succeeded).
    pub p99: Duration,
}

/// Judges `samples` against `slo` (which should have passed [`Slo::validate`]).
pub fn evaluate(slo: &Slo, samples: &[RequestSample]) -> SloReport {
    let good_of = |s: &RequestSample| s.ok && s.latency <= slo.latency_max;
    // Per window: (requests, good). Samples are grouped by issue time; order does not matter.
    let window_ns = slo.window.as_nanos().max(1);
    let mut windows: Vec<(u128, u64, u64)> =
        samples.iter().map(|s| (s.issued.as_nanos() / window_ns, 1, u64::from(good_of(s)))).collect();
    windows.sort_unstable_by_key(|w| w.0);
    windows.dedup_by(|b, a| {
        let same = a.0 == b.0;
        if same {
            a.1 += b.1;
            a.2 += b.2;
        }
        same
    });
    let meets_ratio = |good: u64, n: u64| good as f64 >= slo.percentile_ratio * n as f64 - 1e-9;
    let ratio_of = |good: u64, n: u64| if n == 0 { 1.0 } else { good as f64 / n as f64 };
    let requests = samples.len() as u64;
    let good = samples.iter().filter(|s| good_of(s)).count() as u64;
    let worst_window_ratio = windows.iter().map(|&(_, n, g)| ratio_of(g, n)).fold(1.0, f64::min);
    let meets = windows.iter().all(|&(_, n, g)| meets_ratio(g, n));
    let mut answered: Vec<Duration> = samples.iter().filter(|s| s.ok).map(|s| s.latency).collect();
    answered.sort_unstable();
    SloReport {
        requests,
        good,
        ratio: ratio_of(good, requests),
        worst_window_ratio,
        meets,
        p50: nearest_rank(&answered, 0.50),
        p99: nearest_rank(&answered, 0.99),
    }
}

/// The nearest-rank `q`-quantile of sorted `values` (zero when empty).
fn nearest_rank(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_millis(1)
    }

    #[test]
    fn nines_follow_the_formula_column() {
        assert!(close(downtime_per_year(0.99), DAY.mul_f64(3.65)));
        assert!(close(downtime_per_year(0.999), Duration::from_secs_f64(8.76 * 3600.0)));
        assert!(close(downtime_per_year(0.9999), Duration::from_secs_f64(52.56 * 60.0)));
        assert!(close(downtime_per_year(0.99999), Duration::from_secs_f64(5.256 * 60.0)));
        assert_eq!(downtime_per_year(1.0), Duration::ZERO);
        assert_eq!(downtime_per_year(0.0), YEAR);
    }

    fn samples(good: usize, total: usize) -> Vec<RequestSample> {
        (0..total)
            .map(|i| RequestSample {
                issued: Duration::from_secs(i as u64),
                latency: Duration::from_millis(if i < good { 150 } else { 250 }),
                ok: true,
            })
            .collect()
    }

    const SLO: Slo = Slo { percentile_ratio: 0.999, latency_max: Duration::from_millis(200), window: DAY };

    #[test]
    fn nine_hundred_ninety_nine_of_a_thousand_meets_three_nines() {
        let r = evaluate(&SLO, &samples(999, 1000));
        assert_eq!((r.requests, r.good), (1000, 999));
        assert!((r.ratio - 0.999).abs() < 1e-12);
        assert!(r.meets, "{r:?}");
        let r = evaluate(&SLO, &samples(998, 1000));
        assert!(!r.meets, "{r:?}");
    }

    #[test]
    fn a_fast_failure_is_not_good_and_every_window_must_meet() {
        let mut s = samples(1000, 1000);
        s[0].ok = false;
        s[0].latency = Duration::from_millis(1);
        let r = evaluate(&SLO, &s);
        assert_eq!(r.good, 999);
        // Two windows: the second holds one bad request out of one.
        let mut s = samples(1000, 1000);
        s.push(RequestSample { issued: DAY, latency: Duration::from_secs(1), ok: true });
        let r = evaluate(&SLO, &s);
        assert!(r.ratio > 0.999 && !r.meets && r.worst_window_ratio == 0.0, "{r:?}");
    }

    #[test]
    fn percentiles_are_nearest_rank_over_successes() {
        let s: Vec<_> = (1..=100)
            .map(|ms| RequestSample { issued: Duration::ZERO, latency: Duration::from_millis(ms), ok: true })
            .collect();
        let r = evaluate(&SLO, &s);
        assert_eq!((r.p50, r.p99), (Duration::from_millis(50), Duration::from_millis(99)));
        assert_eq!(evaluate(&SLO, &[]).p50, Duration::ZERO);
        assert!(evaluate(&SLO, &[]).meets);
    }

    #[test]
    fn validate_names_the_field() {
        let bad = Slo { percentile_ratio: 1.5, ..SLO };
        assert_eq!(bad.validate().unwrap_err().field, "percentile_ratio");
        let bad = Slo { latency_max: Duration::ZERO, ..SLO };
        assert_eq!(bad.validate().unwrap_err().field, "latency_max");
        assert!(SLO.validate().is_ok());
    }
}
