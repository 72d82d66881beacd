//! `herald check`: exhaustive model checking of the shipped models. Thin glue over herald-check:
//! parse flags into `Options`, run, print a table or one JSON object, write counterexample traces.

mod models;
mod replay;

use crate::parse;
use crate::report::{EXIT_LIVENESS, EXIT_USAGE, EXIT_VIOLATED};
use anyhow::Context as _;
use clap::{Args as ClapArgs, Subcommand};
use herald_check::actor::ActorModel;
use herald_check::{Expectation, Model, Options, Strategy, Verdict, check, pool, write_trace};
use herald_core::Node;
use serde_json::{Map, Value, json};
use std::fmt::Debug;
use std::hash::Hash;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub(crate) enum CheckCommand {
    /// Lamport's TwoPhase specification of two-phase commit (TCConsistent, and with --liveness
    /// that every RM eventually decides under weak fairness).
    #[command(name = "2pc")]
    TwoPc(models::TwoPcArgs),
    /// Byzantine OM(m) on the very `LockStep<Om>` nodes the simulator runs, under the synchronous
    /// model, over every traitor placement, both orders, and every message the traitors could send
    /// (IC1, IC2, and that loyal lieutenants eventually decide).
    ByzantineOm(models::OmArgs),
    /// Byzantine SM(1) on the very `LockStep<Sm>` nodes the simulator runs (real Ed25519
    /// signatures), under the synchronous model, over every traitor placement, both orders, and
    /// every correctly signed order (and forgery) the traitors could send in either round (IC1,
    /// IC2, and that loyal lieutenants eventually decide).
    ByzantineSm(models::SmArgs),
    /// A failure detector's accuracy on the very `FdNode`s the simulator runs: under synchronous
    /// timing no correct node is suspected; under asynchronous timing (no bound on delay) the
    /// checker finds a run where one is, even after the eventually perfect detector's timeout grew;
    /// under partial synchrony the eventually perfect detector stops suspecting correct nodes
    /// after GST (eventual strong accuracy) and the fixed timeout does not.
    FailureDetector(models::FdArgs),
    /// RetryDedupLink around the links workload over a lossy, duplicating network: nothing is
    /// delivered twice (with --bare, the workload alone, which duplication breaks).
    RetryDedup(models::LinkArgs),
    /// The two generals' acknowledgement chains over a fair-loss network: every capture pattern;
    /// some run has a lone attacker, whatever the chain.
    TwoGenerals(models::TwoGeneralsArgs),
    /// Replay a trace (`herald sim … --trace FILE`) in one of the actor models above, confirming
    /// every observation; report the properties it breaks, and shrink it by breadth-first search
    /// from its first state to a shortest counterexample (or, with --explore, check exhaustively
    /// from every state it reached). Example: `herald check replay t.jsonl retry-dedup --bare`.
    Replay(replay::ReplayArgs),
}

/// How to search, shared by every model.
#[derive(ClapArgs, Debug, Clone)]
pub(crate) struct SearchArgs {
    /// Breadth-first search (the default): counterexamples are shortest.
    #[arg(long, conflicts_with_all = ["dfs", "walks"])]
    bfs: bool,
    /// Depth-first search: the least memory besides the visited set.
    #[arg(long, conflicts_with = "walks")]
    dfs: bool,
    /// Random walks instead of an exhaustive search: how many.
    #[arg(long, value_name = "N")]
    walks: Option<u64>,
    /// Steps per random walk at most.
    #[arg(long, default_value_t = 100, value_name = "STEPS")]
    walk_length: u32,
    /// Seed of the random walks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Symmetry reduction: fingerprint each state's canonical representative (2pc: RMs sorted;
    /// failure-detector: node ids relabelled). Refused for models without a symmetry, and with
    /// liveness (`eventually`) properties, where it would be unsound.
    #[arg(long)]
    symmetry: bool,
    /// Do not expand states at this depth.
    #[arg(long, value_name = "D")]
    max_depth: Option<u32>,
    /// Stop once this many unique states are known.
    #[arg(long, value_name = "N")]
    max_states: Option<u64>,
    /// Stop after this much wall time (e.g. 30s, 5m); the result is then incomplete.
    #[arg(long, value_parser = parse::duration, value_name = "DURATION")]
    time_limit: Option<Duration>,
    /// Where counterexample traces are written.
    #[arg(long, default_value = "herald-failures", value_name = "DIR")]
    failures_dir: PathBuf,
    /// No progress line on standard error.
    #[arg(long)]
    quiet: bool,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

impl SearchArgs {
    fn options(&self) -> Options {
        let strategy = match (self.dfs, self.walks) {
            (_, Some(walks)) => Strategy::RandomWalks { walks, length: self.walk_length, seed: self.seed },
            (true, None) => Strategy::Dfs,
            (false, None) => Strategy::Bfs,
        };
        Options {
            strategy,
            threads: self.threads.unwrap_or_else(pool::available),
            symmetry: self.symmetry,
            max_depth: self.max_depth,
            max_states: self.max_states,
            time_limit: self.time_limit,
            progress: !self.quiet,
        }
    }

    /// The flags that change what is searched, for reproduce commands.
    fn flags(&self) -> String {
        let mut f = String::new();
        if self.dfs {
            f.push_str(" --dfs");
        }
        if let Some(w) = self.walks {
            f.push_str(&format!(" --walks {w} --walk-length {} --seed {}", self.walk_length, self.seed));
        }
        if self.symmetry {
            f.push_str(" --symmetry");
        }
        if let Some(d) = self.max_depth {
            f.push_str(&format!(" --max-depth {d}"));
        }
        if let Some(n) = self.max_states {
            f.push_str(&format!(" --max-states {n}"));
        }
        f
    }
}

pub(crate) fn run(cmd: &CheckCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CheckCommand::TwoPc(args) => models::two_pc(args),
        CheckCommand::ByzantineOm(args) => models::byzantine_om(args, None),
        CheckCommand::ByzantineSm(args) => models::byzantine_sm(args, None),
        CheckCommand::RetryDedup(args) => models::retry_dedup(args, None),
        CheckCommand::FailureDetector(args) => models::failure_detector(args, None),
        CheckCommand::TwoGenerals(args) => models::two_generals(args, None),
        CheckCommand::Replay(args) => {
            let opts = args.opts();
            match &args.model {
                replay::ReplayModel::ByzantineOm(a) => models::byzantine_om(a, Some(&opts)),
                replay::ReplayModel::ByzantineSm(a) => models::byzantine_sm(a, Some(&opts)),
                replay::ReplayModel::RetryDedup(a) => models::retry_dedup(a, Some(&opts)),
                replay::ReplayModel::FailureDetector(a) => models::failure_detector(a, Some(&opts)),
                replay::ReplayModel::TwoGenerals(a) => models::two_generals(a, Some(&opts)),
            }
        }
    }
}

/// An actor model's identity, for reports and for replay.
pub(crate) struct Meta {
    /// The command name.
    pub(crate) name: &'static str,
    /// The file-name stem of its traces.
    pub(crate) stem: String,
    /// Its configuration.
    pub(crate) config: Value,
    /// The command line that checks it (`herald check <name> <flags>`).
    pub(crate) command: String,
    /// The trace scenarios whose runs it can replay (the header's `scenario`).
    pub(crate) scenarios: &'static [&'static str],
}

/// Checks an actor model, or replays a trace in it.
pub(crate) fn run_actor<N>(
    model: ActorModel<N>,
    meta: Meta,
    args: &SearchArgs,
    replay: Option<&replay::ReplayOpts>,
) -> anyhow::Result<ExitCode>
where
    N: Node + Clone + Eq + Hash + Debug + Send + Sync,
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    match replay {
        None => run_model(&model, meta.name, &meta.stem, meta.config, &meta.command, args),
        Some(opts) => replay::run(model, &meta, args, opts),
    }
}

fn usage(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("herald: {message}");
    Ok(ExitCode::from(EXIT_USAGE))
}

/// Peak resident set size of this process (`VmHWM` in /proc), if the platform reports it.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "holds",
        Verdict::Violated => "violated",
        Verdict::Unknown => "unknown",
    }
}

/// Checks `model`, prints the report, writes counterexample traces; returns the exit code.
/// `name` is the model's command name, `stem` the file-name stem of its traces, `command` the
/// command line that reproduces it.
pub(crate) fn run_model<M: Model>(
    model: &M,
    name: &str,
    stem: &str,
    config: Value,
    command: &str,
    args: &SearchArgs,
) -> anyhow::Result<ExitCode> {
    let options = args.options();
    if let Err(e) = options.validate() {
        return usage(e);
    }
    let report = match check(model, &options) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let shown = Shown { name, stem, config, reproduce: format!("{command}{}", args.flags()), ..Shown::default() };
    present(model, &report, &options, args, shown)
}

/// What [`present`] shows besides the report.
#[derive(Default)]
pub(crate) struct Shown<'a> {
    /// The model's command name.
    pub(crate) name: &'a str,
    /// The file-name stem of its traces.
    pub(crate) stem: &'a str,
    /// The model's configuration.
    pub(crate) config: Value,
    /// The command line that reproduces the run.
    pub(crate) reproduce: String,
    /// How the search started, if not from the model's initial states (text output).
    pub(crate) roots: Option<String>,
    /// More fields of the JSON object.
    pub(crate) json: Map<String, Value>,
    /// More lines of the table, before the search's.
    pub(crate) lines: Vec<String>,
    /// A safety property already failed (on a replayed trace): exit 1 whatever the search found.
    pub(crate) violated: bool,
}

/// Prints `report`, writes its counterexample traces; returns the exit code.
pub(crate) fn present<M: Model>(
    model: &M,
    report: &herald_check::Report<M>,
    options: &Options,
    args: &SearchArgs,
    shown: Shown<'_>,
) -> anyhow::Result<ExitCode> {
    let Shown { name, stem, config, reproduce, roots, json: extra, lines, violated } = shown;
    let mut verdicts = Map::new();
    let mut traces = Map::new();
    let mut first_trace = None;
    for p in &report.properties {
        verdicts.insert(p.name.clone(), json!(verdict_name(p.verdict)));
        if p.verdict != Verdict::Violated {
            continue;
        }
        let Some(path) = &p.path else { continue };
        std::fs::create_dir_all(&args.failures_dir)
            .with_context(|| format!("creating {}", args.failures_dir.display()))?;
        let slug: String = p.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let file = args.failures_dir.join(format!("{stem}-{slug}.jsonl"));
        let out = std::fs::File::create(&file).with_context(|| format!("writing {}", file.display()))?;
        let out =
            write_trace(model, path, name, config.clone(), Some(reproduce.clone()), std::io::BufWriter::new(out))?;
        drop(out);
        traces.insert(p.name.clone(), json!(file));
        first_trace.get_or_insert(file);
    }
    let safety_failed = violated
        || report.properties.iter().any(|p| p.verdict == Verdict::Violated && p.expectation != Expectation::Eventually);
    let liveness_failed = report.properties.iter().any(|p| p.verdict == Verdict::Violated);
    let code = if safety_failed {
        EXIT_VIOLATED
    } else if liveness_failed {
        EXIT_LIVENESS
    } else {
        0
    };
    let strategy = match options.strategy {
        Strategy::Bfs => "bfs".to_string(),
        Strategy::Dfs => "dfs".to_string(),
        Strategy::RandomWalks { walks, length, seed } => {
            format!("{walks} random walks of ≤ {length} steps, seed {seed}")
        }
    };
    let rss = peak_rss_bytes();
    if args.json {
        let mut out = json!({
            "model": name,
            "config": config,
            "search": strategy,
            "threads": options.threads,
            "symmetry": options.symmetry,
            "states": report.states,
            "unique_states": report.unique_states,
            "max_depth": report.max_depth,
            "elapsed_sec": report.elapsed.as_secs_f64(),
            "states_per_sec": report.states_per_sec(),
            "peak_rss_bytes": rss,
            "visited_bytes": report.visited_bytes,
            "complete": report.complete(),
            "stopped": report.stopped,
            "properties": verdicts,
            "reproduce": reproduce,
        });
        if let Some(t) = &first_trace {
            out["counterexample"] = json!(t);
            out["counterexamples"] = Value::Object(traces);
        }
        for (k, v) in extra {
            out[k] = v;
        }
        outln!("{out}");
    } else {
        outln!("model        {name} {config}");
        for l in &lines {
            outln!("{l}");
        }
        let from = roots.map(|r| format!(" from {r}")).unwrap_or_default();
        outln!(
            "search       {strategy}{from}, {} threads, symmetry {}",
            options.threads,
            if options.symmetry { "on" } else { "off" }
        );
        outln!(
            "states       {} generated, {} unique, max depth {}",
            report.states,
            report.unique_states,
            report.max_depth
        );
        outln!("speed        {:.0} states/s over {:.3} s", report.states_per_sec(), report.elapsed.as_secs_f64());
        let per = report.visited_bytes as f64 / report.unique_states.max(1) as f64;
        let rss = rss.map_or("unknown".to_string(), |b| format!("{:.1} MiB", b as f64 / (1 << 20) as f64));
        outln!(
            "memory       peak RSS {rss}; visited set {:.1} MiB ({per:.1} bytes per unique state)",
            report.visited_bytes as f64 / (1 << 20) as f64
        );
        outln!(
            "complete     {}",
            match report.stopped {
                None => "yes: every reachable state explored".to_string(),
                Some(s) => format!("no: stopped ({})", serde_json::to_value(s)?.as_str().unwrap_or_default()),
            }
        );
        for p in &report.properties {
            let e = serde_json::to_value(p.expectation)?;
            let steps = p
                .path
                .as_ref()
                .filter(|_| p.verdict == Verdict::Violated)
                .map(|path| format!(" ({} steps)", path.actions.len()))
                .unwrap_or_default();
            outln!("property     {} ({}): {}{steps}", p.name, e.as_str().unwrap_or_default(), verdict_name(p.verdict));
            if let Some(t) = traces.get(&p.name) {
                outln!("  trace      {}", t.as_str().unwrap_or_default());
            }
        }
        if code != 0 {
            outln!("reproduce    {reproduce}");
        }
    }
    Ok(ExitCode::from(code))
}
