//! Scenarios that bring their own protocol layers: `herald sim links`, `herald sim failure-detector`
//! and `herald sim rpc`, and the sweep plumbing they share.

pub(crate) mod failure_detector;
pub(crate) mod links;
pub(crate) mod rpc;

use crate::cli::SimArgs;
use crate::report::{self, Outcome};
use anyhow::Context as _;
use herald_core::Node;
use herald_sim::{Run, sweep};
use serde_json::{Value, json};
use std::ops::Range;
use std::process::ExitCode;
use std::time::Instant;

/// The runs of one `herald sim` command, in seed order.
pub(crate) struct Sweep<J> {
    /// `--seed` .. `--seed + --seeds`.
    pub(crate) seeds: Range<u64>,
    /// Each seed's judgement.
    pub(crate) results: Vec<(u64, J)>,
    /// Wall-clock time of the sweep.
    pub(crate) wall_ms: f64,
}

/// Runs every seed of `args` (one unless `--seeds`) on all cores; each worker builds its state once
/// with `worker` (called once up front too, so that a refused configuration fails before any
/// thread starts) and `run` simulates and judges one seed.
pub(crate) fn sweep<W, J: Send>(
    args: &SimArgs,
    worker: impl Fn() -> anyhow::Result<W> + Sync,
    run: impl Fn(&mut W, u64) -> J + Sync,
) -> anyhow::Result<Sweep<J>> {
    worker()?;
    let count = args.seeds.unwrap_or(1);
    let seeds = args.seed..args.seed.checked_add(count).context("--seed + --seeds overflows")?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = Instant::now();
    let results =
        sweep::sweep_with(seeds.clone(), threads, || worker().expect("the configuration was validated"), run, |_| {});
    Ok(Sweep { seeds, results, wall_ms: started.elapsed().as_secs_f64() * 1e3 })
}

/// With `--trace` and a single seed, writes `run`'s trace (a failure to write is reported, not fatal).
pub(crate) fn trace_single<N: Node>(args: &SimArgs, run: &Run<N>, scenario: &str, seed: u64) {
    if args.seeds.is_some() {
        return;
    }
    if let Some(path) = &args.trace {
        if let Err(e) = report::write_trace(run, path, scenario, Some(report::reproduce(seed, &[]))) {
            eprintln!("herald: {e:#}");
        }
    }
}

/// The failing runs of a sweep.
pub(crate) struct Failures {
    pub(crate) violations: u64,
    pub(crate) liveness_failures: u64,
    /// The first ten, with their reproduce commands.
    pub(crate) failed: Vec<Value>,
}

impl Failures {
    pub(crate) fn of<'a>(outcomes: impl IntoIterator<Item = (u64, &'a Outcome)>) -> anyhow::Result<Self> {
        let mut f = Self { violations: 0, liveness_failures: 0, failed: Vec::new() };
        for (seed, outcome) in outcomes {
            match outcome {
                Outcome::Ok => continue,
                Outcome::Violated { .. } => f.violations += 1,
                Outcome::LivenessFailed { .. } => f.liveness_failures += 1,
            }
            if f.failed.len() < 10 {
                let mut entry = json!({ "seed": seed, "reproduce": report::reproduce(seed, &[]) });
                report::merge_into(&mut entry, serde_json::to_value(outcome)?);
                f.failed.push(entry);
            }
        }
        Ok(f)
    }

    /// One line per listed failure.
    pub(crate) fn print(&self) -> std::io::Result<()> {
        for f in &self.failed {
            outln!("  seed {}: {}", f["seed"], f["detail"].as_str().unwrap_or_default());
        }
        Ok(())
    }

    /// 1 for a violated property, else 3 for a failed liveness phase, else 0.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(if self.violations > 0 {
            report::EXIT_VIOLATED
        } else if self.liveness_failures > 0 {
            report::EXIT_LIVENESS
        } else {
            0
        })
    }
}
