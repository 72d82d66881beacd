//! Seed sweeps on all cores, and shards of a seed range for spreading a campaign over machines.
//!
//! This is the one module of the simulator that may start threads: each worker runs whole seeds,
//! and results are returned in seed order, so a sweep's result does not depend on the thread count.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs `run_one` for every seed in `seeds` on `threads` worker threads and returns the results in
/// seed order. `on_done` is called (from any worker) after each seed with the number finished.
pub fn sweep<R: Send>(
    seeds: Range<u64>,
    threads: usize,
    run_one: impl Fn(u64) -> R + Sync,
    on_done: impl Fn(u64) + Sync,
) -> Vec<(u64, R)> {
    sweep_with(seeds, threads, || (), |(), seed| run_one(seed), on_done)
}

/// Like [`sweep`], with per-worker state made by `make` — typically a [`crate::Simulation`],
/// so that each worker reuses one simulation's allocations across its seeds. The state must not
/// carry anything from one seed to the next that changes results (a `Simulation` does not).
pub fn sweep_with<S, R: Send>(
    seeds: Range<u64>,
    threads: usize,
    make: impl Fn() -> S + Sync,
    run_one: impl Fn(&mut S, u64) -> R + Sync,
    on_done: impl Fn(u64) + Sync,
) -> Vec<(u64, R)> {
    let next = AtomicU64::new(seeds.start);
    let done = AtomicU64::new(0);
    let results = Mutex::new(Vec::with_capacity((seeds.end - seeds.start) as usize));
    let threads = threads.max(1).min((seeds.end - seeds.start).max(1) as usize);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut state = make();
                let mut local = Vec::new();
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end {
                        break;
                    }
                    local.push((seed, run_one(&mut state, seed)));
                    on_done(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
                results.lock().expect("a sweep worker panicked").extend(local);
            });
        }
    });
    let mut results = results.into_inner().expect("a sweep worker panicked");
    results.sort_by_key(|(seed, _)| *seed);
    results
}

/// Shard `index` (1-based) of `count` over `seeds`: contiguous slices whose sizes differ by at
/// most one and which together cover the range exactly once.
pub fn shard(seeds: Range<u64>, index: u64, count: u64) -> Range<u64> {
    assert!(count > 0 && (1..=count).contains(&index), "shard {index}/{count} does not exist");
    let len = u128::from(seeds.end - seeds.start);
    let at = |k: u64| seeds.start + (len * u128::from(k) / u128::from(count)) as u64;
    at(index - 1)..at(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_in_seed_order_whatever_the_thread_count() {
        let one = sweep(10..60, 1, |s| s * s, |_| {});
        let two = sweep(10..60, 2, |s| s * s, |_| {});
        assert_eq!(one, two);
        assert_eq!(one.len(), 50);
        assert_eq!(one[0], (10, 100));
    }

    #[test]
    fn shards_partition_the_range() {
        let parts: Vec<_> = (1..=3).map(|i| shard(0..200, i, 3)).collect();
        assert_eq!(parts, vec![0..66, 66..133, 133..200]);
        assert_eq!(shard(5..205, 2, 2), 105..205);
    }
}
