//! `herald generals byzantine`: OM(m) or SM(m) under the synchronous model, with traitors placed by
//! the seed, over a sweep of seeds or exhaustively over every traitor behaviour.
//!
//! The two algorithms share these flags and this report; `om.rs` and `sm.rs` run them.

use crate::report::EXIT_VIOLATED;
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Algorithm {
    /// Oral messages, OM(m): needs more than 3m generals.
    Om,
    /// Signed messages, SM(m), with Ed25519 signatures: any number of traitors.
    Sm,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ByzantineArgs {
    /// The algorithm.
    #[arg(long, value_enum)]
    pub(crate) algorithm: Algorithm,
    /// Number of generals, the commander (general 0) included.
    #[arg(long)]
    pub(crate) generals: usize,
    /// Number of traitors, placed by the seed (the commander may be one).
    #[arg(long)]
    pub(crate) traitors: usize,
    /// The algorithm's parameter m (default: the number of traitors).
    #[arg(long)]
    pub(crate) m: Option<usize>,
    /// Enumerate every traitor behaviour (each message: ATTACK, RETREAT or nothing) for every
    /// traitor placement and commander order, instead of sampling seeds.
    #[arg(long)]
    pub(crate) exhaustive: bool,
    /// With --exhaustive: run only case number N of the enumeration (as a reproduce command
    /// prints it), recording its trace.
    #[arg(long, value_name = "N")]
    pub(crate) case: Option<u64>,
    /// Decide by the median of the values instead of the default rule (OM: strict majority, else
    /// RETREAT; SM: the single order received, else RETREAT).
    #[arg(long)]
    pub(crate) median: bool,
    /// Seeds to run (without --exhaustive).
    #[arg(long, default_value_t = 100)]
    pub(crate) seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Where the first counterexample's trace is written.
    #[arg(long, default_value = "herald-failures", value_name = "DIR")]
    pub(crate) failures_dir: PathBuf,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

impl ByzantineArgs {
    /// The algorithm's m.
    pub(crate) fn m(&self) -> usize {
        self.m.unwrap_or(self.traitors)
    }
}

/// What a batch of runs found. Field names are the CLI's JSON contract.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) algorithm: Option<Algorithm>,
    pub(crate) generals: usize,
    pub(crate) m: usize,
    pub(crate) traitors: usize,
    pub(crate) exhaustive: bool,
    /// Runs made.
    pub(crate) runs: u64,
    /// Runs breaking IC1 or IC2.
    pub(crate) violations: u64,
    pub(crate) ic1_violations: u64,
    pub(crate) ic2_violations: u64,
    /// Messages a run sent, as counted by the simulator (the mean when runs differ).
    pub(crate) messages_per_run: f64,
    pub(crate) messages_min: u64,
    pub(crate) messages_max: u64,
    /// The first violating run: a command that reproduces it, and its trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reproduce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) counterexample: Option<PathBuf>,
    /// A one-line description of the first violation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) first_violation: Option<String>,
}

pub(crate) fn run(args: &ByzantineArgs) -> anyhow::Result<ExitCode> {
    let report = match args.algorithm {
        Algorithm::Om => super::om::run(args)?,
        Algorithm::Sm => super::sm::run(args)?,
    };
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        let name = match args.algorithm {
            Algorithm::Om => "OM",
            Algorithm::Sm => "SM",
        };
        outln!(
            "{name}({}) with {} generals and {} traitors · {} {} runs",
            report.m,
            report.generals,
            report.traitors,
            report.runs,
            if report.exhaustive { "exhaustive" } else { "seeded" }
        );
        outln!("  violations  {} (IC1 {}, IC2 {})", report.violations, report.ic1_violations, report.ic2_violations);
        outln!(
            "  messages    {:.1} per run (min {}, max {})",
            report.messages_per_run,
            report.messages_min,
            report.messages_max
        );
        if let Some(v) = &report.first_violation {
            outln!("  first       {v}");
        }
        if let Some(r) = &report.reproduce {
            outln!("  reproduce   {r}");
        }
        if let Some(t) = &report.counterexample {
            outln!("  trace       {}", t.display());
        }
    }
    Ok(ExitCode::from(if report.violations > 0 { EXIT_VIOLATED } else { 0 }))
}
