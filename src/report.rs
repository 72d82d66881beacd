//! Outcomes, exit codes, reproduce commands, human tables and JSON for `herald sim`, and merging
//! shard results.

use anyhow::Context as _;
use herald_core::Node;
use herald_core::time::human;
use herald_sim::oracle::{self, Oracle};
use herald_sim::{Counters, Liveness, Run, Summary};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code: a safety property was violated.
pub(crate) const EXIT_VIOLATED: u8 = 1;
/// Exit code: usage or configuration error.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: the liveness phase made no progress.
pub(crate) const EXIT_LIVENESS: u8 = 3;

/// How one run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum Outcome {
    Ok,
    Violated { property: String, detail: String },
    LivenessFailed { detail: String },
}

impl Outcome {
    pub(crate) fn of<N: Node>(run: &Run<N>, oracles: &[Box<dyn Oracle<N>>]) -> Self {
        if let Err(v) = oracle::check_all(run, oracles) {
            return Self::Violated { property: v.property, detail: v.detail };
        }
        if let Liveness::Failed { bound_ns } = run.liveness {
            return Self::LivenessFailed {
                detail: format!("no progress within {} after healing every fault", human(bound_ns)),
            };
        }
        Self::Ok
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Violated { .. } => EXIT_VIOLATED,
            Self::LivenessFailed { .. } => EXIT_LIVENESS,
        }
    }

    pub(crate) fn is_ok(&self) -> bool {
        *self == Self::Ok
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Ok => "ok".into(),
            Self::Violated { property, detail } => {
                format!("property `{property}` violated: {detail}")
            }
            Self::LivenessFailed { detail } => format!("liveness failed: {detail}"),
        }
    }
}

/// The command line that reruns this invocation for one seed: the original arguments without the
/// sweep, output and seed flags, plus `--seed` and whatever `extra` adds.
pub(crate) fn reproduce(seed: u64, extra: &[String]) -> String {
    const DROP_WITH_VALUE: &[&str] =
        &["--seed", "--seeds", "--shard", "--threads", "--trace", "--failures-dir", "--faults", "--events-max"];
    const DROP: &[&str] = &["--json", "--shrink"];
    let mut out = vec!["herald".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let name = a.split('=').next().unwrap_or(&a).to_string();
        if DROP.contains(&name.as_str()) {
            continue;
        }
        if DROP_WITH_VALUE.contains(&name.as_str()) {
            if !a.contains('=') {
                args.next();
            }
            continue;
        }
        out.push(shell_quote(&a));
    }
    out.push(format!("--seed {seed}"));
    out.extend(extra.iter().cloned());
    out.join(" ")
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// One run as JSON: the summary's fields at the top level, then the outcome and extras.
pub(crate) fn run_json(
    scenario: &str,
    seed: u64,
    outcome: &Outcome,
    summary: &Summary,
    faults: usize,
    extra: Value,
) -> Value {
    let mut v = json!({ "scenario": scenario, "seed": seed });
    merge_into(&mut v, serde_json::to_value(outcome).unwrap_or_default());
    merge_into(&mut v, serde_json::to_value(summary).unwrap_or_default());
    v["faults"] = json!(faults);
    merge_into(&mut v, extra);
    v
}

pub(crate) fn merge_into(target: &mut Value, source: Value) {
    if let (Some(t), Value::Object(s)) = (target.as_object_mut(), source) {
        t.extend(s);
    }
}

/// Human summary of one run.
pub(crate) fn print_run(
    title: &str,
    outcome: &Outcome,
    run_summary: &Summary,
    liveness: &Liveness,
    wall_ms: f64,
) -> std::io::Result<()> {
    let c = &run_summary.counters;
    let l = &run_summary.latency_ns;
    outln!("{title}");
    outln!("  result      {}", outcome.describe());
    match liveness {
        Liveness::NotChecked => {}
        Liveness::Progressed { after_ns } => outln!("  liveness    progressed {} after healing", human(*after_ns)),
        Liveness::Failed { bound_ns } => outln!("  liveness    FAILED: no progress within {}", human(*bound_ns)),
    }
    outln!(
        "  messages    sent {} · delivered {} · dropped {} (loss {}, partition {}, crashed {}, adversary {}, corrupt {}) · duplicated {}",
        c.sent,
        c.delivered,
        c.dropped,
        c.dropped_loss,
        c.dropped_partition,
        c.dropped_crashed,
        c.dropped_adversary,
        c.corrupt,
        c.duplicated
    );
    if c.modified + c.injected + c.replayed > 0 {
        outln!("  adversary   modified {} · injected {} · replayed {}", c.modified, c.injected, c.replayed);
    }
    outln!(
        "  latency     min {} · p50 {} · p90 {} · p99 {} · max {}   (send to delivery)",
        human(l.min),
        human(l.p50),
        human(l.p90),
        human(l.p99),
        human(l.max)
    );
    outln!(
        "  bandwidth   {} bytes on the wire in {} packets · busiest link {:.3}% utilised",
        c.wire_bytes,
        c.packets,
        run_summary.link_utilisation_max * 100.0
    );
    outln!(
        "  throughput  {:.0} payload bytes/s · {:.0} deliveries/s (virtual time)",
        run_summary.throughput_bytes_per_sec,
        run_summary.deliveries_per_virtual_sec
    );
    outln!(
        "  nodes       crashes {} · recoveries {} · pauses {} · timers fired {} · observations {}",
        c.crashes,
        c.recoveries,
        c.pauses,
        c.timers_fired,
        c.outputs
    );
    outln!("  time        {} virtual · {:.1} ms wall · {} events", human(run_summary.virtual_ns), wall_ms, c.events);
    Ok(())
}

/// A sweep's (or merged sweep's) result.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct SweepReport {
    pub(crate) scenario: String,
    pub(crate) runs: u64,
    pub(crate) failures: u64,
    pub(crate) violations: u64,
    pub(crate) liveness_failures: u64,
    /// [start, end) of the seeds this report covers, per shard.
    pub(crate) seed_ranges: Vec<(u64, u64)>,
    pub(crate) failed_seeds: Vec<Value>,
    pub(crate) totals: Counters,
    pub(crate) wall_ms: f64,
}

impl SweepReport {
    pub(crate) fn exit_code(&self) -> u8 {
        if self.violations > 0 {
            EXIT_VIOLATED
        } else if self.liveness_failures > 0 {
            EXIT_LIVENESS
        } else {
            0
        }
    }
}

/// `herald merge`: sums shard reports of one sweep.
pub(crate) fn merge(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut merged = SweepReport::default();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let r: SweepReport = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a `herald sim --seeds … --json` result", f.display()))?;
        if !merged.scenario.is_empty() && merged.scenario != r.scenario {
            anyhow::bail!("{} is a sweep of `{}`, not `{}`", f.display(), r.scenario, merged.scenario);
        }
        merged.scenario = r.scenario;
        merged.runs += r.runs;
        merged.failures += r.failures;
        merged.violations += r.violations;
        merged.liveness_failures += r.liveness_failures;
        merged.seed_ranges.extend(r.seed_ranges);
        merged.failed_seeds.extend(r.failed_seeds);
        merged.totals.add(&r.totals);
        merged.wall_ms += r.wall_ms;
    }
    merged.seed_ranges.sort();
    for pair in merged.seed_ranges.windows(2) {
        if pair[0].1 > pair[1].0 {
            anyhow::bail!("the shards overlap: seeds {:?} and {:?}", pair[0], pair[1]);
        }
    }
    outln!("{}", serde_json::to_string(&merged)?);
    Ok(ExitCode::from(merged.exit_code()))
}

/// Writes a run's trace, creating the directory if needed.
pub(crate) fn write_trace<N: Node>(
    run: &Run<N>,
    path: &Path,
    scenario: &str,
    reproduce: Option<String>,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    run.write_trace(std::io::BufWriter::new(file), scenario, reproduce)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
