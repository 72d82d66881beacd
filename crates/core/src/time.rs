//! Virtual time: nanoseconds as a `u64`.
//!
//! [`Time`] is an instant on some clock — the simulator's global clock, or a node's *local* clock,
//! which may be offset and drift. Durations are plain [`std::time::Duration`] values at the API
//! boundary and nanosecond `u64`s inside drivers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// An instant, in nanoseconds since the start of a run (or since a clock's epoch).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Time(pub u64);

impl Time {
    /// The start of a run.
    pub const ZERO: Self = Self(0);
    /// The end of time; used for "never".
    pub const MAX: Self = Self(u64::MAX);

    /// Nanoseconds since the epoch.
    #[inline]
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Time::MAX`].
    #[inline]
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(nanos(d)))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    #[inline]
    pub fn saturating_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// Builds a time from milliseconds, for tests and configuration.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms * 1_000_000)
    }

    /// Builds a time from seconds, for tests and configuration.
    pub const fn from_secs(s: u64) -> Self {
        Self(s * 1_000_000_000)
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (about 584 years).
#[inline]
pub fn nanos(d: Duration) -> u64 {
    // Cheaper than `as_nanos` (no 128-bit arithmetic); this sits on the simulator's hot path.
    d.as_secs().checked_mul(1_000_000_000).and_then(|s| s.checked_add(u64::from(d.subsec_nanos()))).unwrap_or(u64::MAX)
}

impl Add<Duration> for Time {
    type Output = Self;
    #[inline]
    fn add(self, d: Duration) -> Self {
        self.saturating_add(d)
    }
}

impl Sub for Time {
    type Output = Duration;
    #[inline]
    fn sub(self, earlier: Self) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == u64::MAX {
            return f.write_str("never");
        }
        write!(f, "{}.{:06}ms", ns / 1_000_000, ns % 1_000_000)
    }
}

/// Formats a nanosecond count for people: `950ns`, `12.5µs`, `3.20ms`, `1.500s`.
pub fn human(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{:.1}µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2}ms", ns as f64 / 1e6),
        _ => format!("{:.3}s", ns as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Time::MAX + Duration::from_secs(1), Time::MAX);
        assert_eq!(Time(5) - Time(9), Duration::ZERO);
        assert_eq!(Time::from_millis(3) - Time::from_millis(1), Duration::from_millis(2));
    }

    #[test]
    fn human_units() {
        assert_eq!(human(950), "950ns");
        assert_eq!(human(12_500), "12.5µs");
        assert_eq!(human(3_200_000), "3.20ms");
        assert_eq!(human(1_500_000_000), "1.500s");
    }
}
