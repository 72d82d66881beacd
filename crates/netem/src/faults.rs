//! What happens to one frame on its way out of one port: netem's decisions, drawn from a seeded
//! ChaCha stream so that a run's faults are reproducible given the same order of arrivals.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// The faults every forwarded frame is subject to, per output port (as `tc qdisc add dev PORT root
/// netem delay D J loss L duplicate P reorder R` on every port of a switch would be).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Faults {
    /// The mean one-way delay a frame spends in the emulator.
    pub delay: Duration,
    /// Each copy's delay is drawn uniformly from `delay ± jitter` (netem's default distribution),
    /// clamped at zero. Frames closer together than the jitter overtake each other: reordering.
    pub jitter: Duration,
    /// Probability that a frame is dropped.
    pub loss: f64,
    /// Probability that a frame that is not dropped is sent twice (each copy with its own delay).
    pub duplicate: f64,
    /// Probability that a copy is sent at once instead of delayed (netem's `reorder`): it
    /// overtakes the delayed frames before it. Needs a nonzero delay to reorder anything.
    pub reorder: f64,
    /// Seeds the decisions.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self { delay: Duration::ZERO, jitter: Duration::ZERO, loss: 0.0, duplicate: 0.0, reorder: 0.0, seed: 0 }
    }
}

/// Why a fault configuration is unusable. The message names the field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FaultsError(pub String);

impl Faults {
    /// Checks that every probability is one.
    pub fn validate(&self) -> Result<(), FaultsError> {
        for (name, p) in [("loss", self.loss), ("duplicate", self.duplicate), ("reorder", self.reorder)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(FaultsError(format!("invalid `{name}`: {p} is not a probability (0 to 100%)")));
            }
        }
        Ok(())
    }
}

/// One frame's fate on one port.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Fate {
    /// The delay of each copy sent: none if the frame was lost, two if it was duplicated.
    pub delays: Vec<Duration>,
    /// The frame was dropped.
    pub lost: bool,
    /// The frame was sent twice.
    pub duplicated: bool,
    /// Copies sent at once by the `reorder` probability.
    pub reordered: u32,
}

/// The seeded decision maker.
#[derive(Debug)]
pub struct Decider {
    faults: Faults,
    rng: ChaCha8Rng,
}

impl Decider {
    /// A decider for `faults`, seeded with `faults.seed`.
    pub fn new(faults: Faults) -> Self {
        Self { faults, rng: ChaCha8Rng::seed_from_u64(faults.seed) }
    }

    /// The faults it applies.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Decides the next frame's fate. Every call draws the same number of values whatever the
    /// outcome, so one decision never shifts the stream of the next.
    pub fn decide(&mut self) -> Fate {
        let lose = self.rng.random::<f64>();
        let dup = self.rng.random::<f64>();
        let copies = [self.copy_delay(), self.copy_delay()];
        let f = &self.faults;
        if lose < f.loss {
            return Fate { lost: true, ..Fate::default() };
        }
        let duplicated = dup < f.duplicate;
        let n = if duplicated { 2 } else { 1 };
        let mut fate = Fate { duplicated, ..Fate::default() };
        for (delay, immediate) in copies.into_iter().take(n) {
            fate.reordered += u32::from(immediate);
            fate.delays.push(delay);
        }
        fate
    }

    /// One copy's delay, and whether `reorder` sent it at once.
    fn copy_delay(&mut self) -> (Duration, bool) {
        let immediate = self.rng.random::<f64>() < self.faults.reorder;
        let jitter = self.faults.jitter.as_nanos().min(u128::from(u64::MAX >> 2)) as i128;
        let offset = if jitter > 0 { self.rng.random_range(-jitter..=jitter) } else { 0 };
        if immediate {
            return (Duration::ZERO, true);
        }
        let nanos = (self.faults.delay.as_nanos() as i128 + offset).clamp(0, i128::from(u64::MAX));
        (Duration::from_nanos(nanos as u64), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(loss: f64, duplicate: f64, reorder: f64) -> Faults {
        Faults { delay: Duration::from_millis(20), jitter: Duration::from_millis(5), loss, duplicate, reorder, seed: 7 }
    }

    #[test]
    fn the_same_seed_gives_the_same_fates_and_another_seed_others() {
        let f = faults(0.2, 0.2, 0.1);
        let run = |f: Faults| -> Vec<Fate> {
            let mut d = Decider::new(f);
            (0..200).map(|_| d.decide()).collect()
        };
        assert_eq!(run(f), run(f));
        assert_ne!(run(f), run(Faults { seed: 8, ..f }));
    }

    #[test]
    fn rates_match_the_configured_probabilities() {
        let mut d = Decider::new(faults(0.1, 0.25, 0.05));
        let n = 100_000;
        let fates: Vec<Fate> = (0..n).map(|_| d.decide()).collect();
        let lost = fates.iter().filter(|f| f.lost).count() as f64 / n as f64;
        let kept = fates.iter().filter(|f| !f.lost).count() as f64;
        let dup = fates.iter().filter(|f| f.duplicated).count() as f64 / kept;
        let copies: usize = fates.iter().map(|f| f.delays.len()).sum();
        let reordered = fates.iter().map(|f| f.reordered).sum::<u32>() as f64 / copies as f64;
        assert!((lost - 0.1).abs() < 0.01, "loss {lost}");
        assert!((dup - 0.25).abs() < 0.01, "duplication {dup}");
        assert!((reordered - 0.05).abs() < 0.01, "reorder {reordered}");
        for f in &fates {
            assert_eq!(f.lost, f.delays.is_empty());
            assert_eq!(f.delays.len(), if f.duplicated { 2 } else { 1 } * usize::from(!f.lost));
        }
    }

    #[test]
    fn delays_stay_within_the_jitter_and_spread_over_it() {
        let mut d = Decider::new(faults(0.0, 0.0, 0.0));
        let delays: Vec<Duration> = (0..10_000).flat_map(|_| d.decide().delays).collect();
        let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
        assert!(*min >= Duration::from_millis(15) && *max <= Duration::from_millis(25), "{min:?}..{max:?}");
        assert!(*min < Duration::from_millis(16) && *max > Duration::from_millis(24), "{min:?}..{max:?}");
        let mean = delays.iter().sum::<Duration>() / delays.len() as u32;
        assert!(mean > Duration::from_micros(19_800) && mean < Duration::from_micros(20_200), "{mean:?}");
    }

    #[test]
    fn reordered_copies_go_at_once_and_nothing_is_negative() {
        let f = Faults { jitter: Duration::from_millis(50), reorder: 1.0, ..faults(0.0, 0.0, 1.0) };
        let mut d = Decider::new(f);
        assert!((0..100).all(|_| d.decide().delays == [Duration::ZERO]));
        let mut d = Decider::new(Faults { reorder: 0.0, ..f });
        let delays: Vec<Duration> = (0..1000).flat_map(|_| d.decide().delays).collect();
        assert!(delays.contains(&Duration::ZERO), "delay 20 ms ± 50 ms clamps at zero");
    }

    #[test]
    fn probabilities_outside_zero_to_one_are_refused() {
        assert!(faults(1.5, 0.0, 0.0).validate().unwrap_err().0.contains("`loss`"));
        assert!(faults(0.0, -0.1, 0.0).validate().unwrap_err().0.contains("`duplicate`"));
        assert!(faults(0.0, 0.0, f64::NAN).validate().unwrap_err().0.contains("`reorder`"));
        assert!(faults(1.0, 0.0, 0.0).validate().is_ok());
    }
}
