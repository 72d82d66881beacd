//! The one place herald-check touches threads and the wall clock.
//!
//! Workers run on scoped threads; results never depend on which worker did what (the search
//! engines merge in a fixed order). The wall clock serves only the time limit, the `elapsed`
//! figure and the progress line on standard error; a time limit that is not hit changes nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Runs `work(i)` for `i in 0..threads` on `threads` threads (the caller's thread is worker 0) and
/// waits for all of them.
pub fn run<F: Fn(usize) + Sync>(threads: usize, work: F) {
    let threads = threads.max(1);
    if threads == 1 {
        work(0);
        return;
    }
    std::thread::scope(|s| {
        for i in 1..threads {
            let work = &work;
            s.spawn(move || work(i));
        }
        work(0);
    });
}

/// The number of hardware threads, for `--threads 0`.
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Counters the engines bump as they go; the progress line and the time limit read them.
#[derive(Debug, Default)]
pub struct Progress {
    /// States generated.
    pub states: AtomicU64,
    /// Unique states.
    pub unique: AtomicU64,
    /// Deepest depth reached.
    pub depth: AtomicU64,
    /// Set when the time limit passed: engines stop at their next check.
    pub timed_out: AtomicBool,
}

impl Progress {
    /// Raises the recorded depth to `d`.
    pub fn see_depth(&self, d: u64) {
        self.depth.fetch_max(d, Ordering::Relaxed);
    }
}

/// A wall-clock stopwatch.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Self(Instant::now())
    }
    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Runs `body` while a watcher thread draws a progress line on standard error (if `show`) and
/// raises `progress.timed_out` once `limit` has passed. Returns `body`'s result.
pub fn watch<T: Send>(progress: &Progress, show: bool, limit: Option<Duration>, body: impl FnOnce() -> T + Send) -> T {
    if !show && limit.is_none() {
        return body();
    }
    let clock = Stopwatch::start();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let bar = if show {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template"));
                Some(bar)
            } else {
                None
            };
            while !done.load(Ordering::Acquire) {
                std::thread::park_timeout(Duration::from_millis(100));
                let t = clock.elapsed();
                if limit.is_some_and(|l| t >= l) {
                    progress.timed_out.store(true, Ordering::Release);
                }
                if let Some(bar) = &bar {
                    let states = progress.states.load(Ordering::Relaxed);
                    let rate = states as f64 / t.as_secs_f64().max(1e-9);
                    bar.set_message(format!(
                        "states {states}  unique {}  depth {}  {:.0} states/s",
                        progress.unique.load(Ordering::Relaxed),
                        progress.depth.load(Ordering::Relaxed),
                        rate
                    ));
                    bar.tick();
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        });
        let out = body();
        done.store(true, Ordering::Release);
        watcher.thread().unpark();
        out
    })
}
