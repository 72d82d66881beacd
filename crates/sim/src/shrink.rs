//! Shrinking: given a failing run, find a smaller one that fails the same way — fewer faults
//! (delta debugging over the run's numbered fault decisions) and fewer events (the shortest prefix
//! that still fails because of those faults). The result is a fault mask and an event limit that
//! reproduce it exactly.

use crate::engine::{Run, Simulation};
use herald_core::Node;
use std::collections::BTreeSet;

/// A smaller failing run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrunk {
    /// The fault decisions to keep.
    pub mask: BTreeSet<u32>,
    /// The event limit.
    pub events_max: u64,
    /// Faults in the original run.
    pub faults_before: usize,
    /// Events in the original run.
    pub events_before: u64,
    /// Runs spent shrinking.
    pub runs: usize,
}

/// Shrinks the run of `seed`, keeping `fails` true, within `budget` runs. `None` if the run does
/// not fail. The simulation's mask and event limit are restored afterwards.
pub fn shrink<N: Node>(
    sim: &mut Simulation<N>,
    seed: u64,
    fails: impl Fn(&Run<N>) -> bool,
    budget: usize,
) -> Option<Shrunk> {
    let original_config = sim.config().clone();
    sim.set_fault_mask(None);
    let first = sim.run(seed);
    if !fails(&first) {
        return None;
    }
    let faults_before = first.faults.len();
    let events_before = first.summary.counters.events;
    let mut runs = 1;
    let mut test = |mask: &[u32], sim: &mut Simulation<N>| -> Option<Run<N>> {
        runs += 1;
        sim.set_fault_mask(Some(mask.iter().copied().collect()));
        let run = sim.run(seed);
        fails(&run).then_some(run)
    };
    let all: Vec<u32> = first.faults.iter().map(|f| f.index).collect();
    let mut budget_left = budget;
    let kept = ddmin(all, &mut |subset| {
        if budget_left == 0 {
            return false;
        }
        budget_left -= 1;
        test(subset, sim).is_some()
    });
    // The minimal run may apply fewer decisions than the mask allows: keep only those it applied.
    let minimal = test(&kept, sim).expect("ddmin returns a failing subset");
    let mask: BTreeSet<u32> = minimal.faults.iter().map(|f| f.index).collect();
    // Shortest failing prefix, by bisection on the event limit. A prefix only counts if the same
    // prefix *without* the faults passes: otherwise the cut itself (not the faults) is what fails
    // — as with any property about what eventually happens, such as "every message arrives".
    let mask_list: Vec<u32> = mask.iter().copied().collect();
    let (mut lo, mut hi) = (1u64, minimal.summary.counters.events.max(1));
    let mut config = original_config.clone();
    while lo < hi && budget_left > 1 && !mask.is_empty() {
        budget_left -= 2;
        let mid = lo + (hi - lo) / 2;
        config.limits.events_max = mid;
        sim.set_config(config.clone()).expect("only the event limit changed");
        if test(&mask_list, sim).is_some() && test(&[], sim).is_none() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    sim.set_config(original_config).expect("restoring a valid configuration");
    sim.set_fault_mask(None);
    let events_max = if hi >= minimal.summary.counters.events { u64::MAX } else { hi };
    Some(Shrunk { mask, events_max, faults_before, events_before, runs })
}

/// Delta debugging (Zeller's ddmin): a 1-minimal subset of `items` for which `fails` holds,
/// assuming it holds for `items`.
fn ddmin(mut items: Vec<u32>, fails: &mut dyn FnMut(&[u32]) -> bool) -> Vec<u32> {
    if fails(&[]) {
        return Vec::new();
    }
    let mut n = 2usize;
    while items.len() >= 2 {
        let chunk = items.len().div_ceil(n);
        let parts: Vec<Vec<u32>> = items.chunks(chunk).map(<[u32]>::to_vec).collect();
        if let Some(part) = parts.iter().find(|p| fails(p)) {
            items = part.clone();
            n = 2;
            continue;
        }
        let complement = parts.iter().enumerate().map(|(i, _)| {
            parts.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, p)| p.iter().copied()).collect::<Vec<u32>>()
        });
        let mut reduced = false;
        for c in complement {
            if parts.len() > 2 && fails(&c) {
                items = c;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= items.len() {
                break;
            }
            n = (2 * n).min(items.len());
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::ddmin;

    #[test]
    fn ddmin_finds_the_essential_pair() {
        let all: Vec<u32> = (0..40).collect();
        let kept = ddmin(all, &mut |s: &[u32]| s.contains(&7) && s.contains(&31));
        assert_eq!(kept, vec![7, 31]);
    }

    #[test]
    fn ddmin_returns_empty_when_no_fault_is_needed() {
        assert!(ddmin(vec![1, 2, 3], &mut |_: &[u32]| true).is_empty());
    }
}
