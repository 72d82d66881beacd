//! `herald check replay TRACE MODEL [model flags]`: the simulator bridge on the command line.
//!
//! Reads a trace (the JSON Lines schema `herald sim … --trace FILE` writes; a counterexample
//! `herald check` wrote works too), follows it as a path of the actor model
//! ([`ActorModel::replay`]: every scheduling decision an enabled action, every observation
//! confirmed), reports each `always` property that fails along it and at which step, and then
//! searches from where the trace started: by default breadth-first from its first state, bounded
//! by the step of its first failure (or by its length), which shrinks the trace to a shortest
//! counterexample written in the same schema; with `--explore`, exhaustively from every distinct
//! state the trace reached before its first failure (exhaustive checking from the middle of a
//! simulation).
//!
//! A trace that cannot be read, that comes from another scenario, that has another number of
//! nodes, or whose events the model cannot reproduce is a usage error (exit 2) naming the problem;
//! a property that fails, along the trace or in the search, exits 1 (3 for liveness only).

use super::{Meta, SearchArgs, Shown, present, usage};
use clap::{Args as ClapArgs, Subcommand};
use herald_check::actor::ActorModel;
use herald_check::fingerprint::fingerprint;
use herald_check::{Model, check};
use herald_core::Node;
use herald_core::trace;
use serde_json::{Map, json};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::path::PathBuf;
use std::process::ExitCode;

/// `herald check replay`.
#[derive(ClapArgs, Debug)]
#[command(subcommand_value_name = "MODEL", subcommand_help_heading = "Models")]
pub(crate) struct ReplayArgs {
    /// The trace to replay (JSON Lines, as `herald sim … --trace FILE` writes it).
    trace: PathBuf,
    /// Instead of shrinking from the trace's first state, check exhaustively from every state the
    /// trace reached before its first failure (no depth bound unless --max-depth).
    #[arg(long, global = true)]
    explore: bool,
    /// The model to replay it in, with that model's flags (as for `herald check <model>`).
    #[command(subcommand)]
    pub(crate) model: ReplayModel,
}

impl ReplayArgs {
    pub(crate) fn opts(&self) -> ReplayOpts {
        ReplayOpts { trace: self.trace.clone(), explore: self.explore }
    }
}

/// The actor models a trace can be replayed in (TwoPhase is a plain specification: it has no
/// nodes, so no simulator trace).
#[derive(Subcommand, Debug)]
pub(crate) enum ReplayModel {
    /// Byzantine OM(m) (traces of `herald generals byzantine --algorithm om`).
    ByzantineOm(super::models::OmArgs),
    /// Byzantine SM(1) (traces of `herald generals byzantine --algorithm sm`).
    ByzantineSm(super::models::SmArgs),
    /// The links workload, bare or in RetryDedupLink (traces of `herald sim links`).
    RetryDedup(super::models::LinkArgs),
    /// Failure detectors (traces of `herald sim failure-detector`).
    FailureDetector(super::models::FdArgs),
    /// The two generals' acknowledgement chains (traces of `herald generals two`).
    TwoGenerals(super::models::TwoGeneralsArgs),
}

/// What `replay` adds to a model's flags.
#[derive(Debug, Clone)]
pub(crate) struct ReplayOpts {
    /// The trace file.
    pub(crate) trace: PathBuf,
    /// Check from every state along the trace instead of shrinking.
    pub(crate) explore: bool,
}

/// Replays `opts.trace` in `model`, then searches from it; prints the report.
pub(crate) fn run<N>(
    model: ActorModel<N>,
    meta: &Meta,
    args: &SearchArgs,
    opts: &ReplayOpts,
) -> anyhow::Result<ExitCode>
where
    N: Node + Clone + Eq + Hash + Debug + Send + Sync,
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    let file = opts.trace.display().to_string();
    let reader = match std::fs::File::open(&opts.trace) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => return usage(format!("trace: cannot open {file}: {e}")),
    };
    let (header, events) = match trace::read(reader) {
        Ok(t) => t,
        Err(e) => return usage(format!("trace: {file} is not a Herald trace: {e}")),
    };
    if !meta.scenarios.contains(&header.scenario.as_str()) {
        return usage(format!(
            "trace: {file} is a trace of scenario `{}`, which the {} model does not run (it replays {})",
            header.scenario,
            meta.name,
            meta.scenarios.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" or ")
        ));
    }
    if header.nodes != model.trace_nodes() {
        return usage(format!(
            "trace: {file} has {} nodes, the {} model as configured has {} (see its flags)",
            header.nodes,
            meta.name,
            model.trace_nodes()
        ));
    }
    let replayed = match model.replay(&events) {
        Ok(r) => r,
        Err(e) => return usage(format!("trace: the {} model cannot run {file}: {e}", meta.name)),
    };
    let path = &replayed.path;
    let steps = path.actions.len();
    let first_failure = replayed.violations.iter().map(|&(_, at)| at).min();
    let mut options = args.options();
    let roots: Vec<_> = if opts.explore {
        // Up to the first failure: from a state where a property already fails there is nothing
        // to search for.
        let reached = &path.states[..first_failure.unwrap_or(path.states.len()).max(1)];
        let mut seen = BTreeSet::new();
        reached.iter().filter(|s| seen.insert(fingerprint(*s))).cloned().collect()
    } else {
        if options.max_depth.is_none() {
            options.max_depth = Some(first_failure.unwrap_or(steps) as u32);
        }
        vec![path.states[0].clone()]
    };
    if let Err(e) = options.validate() {
        return usage(e);
    }
    let roots_described = if opts.explore {
        format!("the {} distinct states the trace reached before any failure", roots.len())
    } else {
        format!("the trace's first state (cast: {})", model.cast_of(&path.states[0]).name)
    };
    let rooted = model.starting_from(roots);
    let report = match check(&rooted, &options) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    // The shrunk counterexample: the search's path for the first property the trace broke.
    let shrunk_steps = replayed
        .violations
        .iter()
        .filter(|_| !opts.explore)
        .find_map(|(name, _)| report.property(name)?.path.as_ref().map(|p| p.actions.len()));
    let mut violations = Map::new();
    for (name, at) in &replayed.violations {
        violations.insert(name.clone(), json!(at));
    }
    let model_command = meta.command.strip_prefix("herald check ").unwrap_or(&meta.command);
    let explore = if opts.explore { " --explore" } else { "" };
    let reproduce = format!("herald check replay {file} {model_command}{}{explore}", args.flags());
    let mut extra = Map::new();
    extra.insert("trace".into(), json!(file));
    extra.insert("scenario".into(), json!(header.scenario));
    extra.insert("cast".into(), json!(rooted.cast_of(&path.states[0]).name));
    extra.insert("replayed_steps".into(), json!(steps));
    extra.insert("replay_violations".into(), json!(violations));
    extra.insert("shrunk_steps".into(), json!(shrunk_steps));
    extra.insert("explore".into(), json!(opts.explore));
    let mut lines = vec![format!("trace        {file} (scenario {}, {} nodes)", header.scenario, header.nodes)];
    lines.push(if replayed.violations.is_empty() {
        format!("replayed     {steps} steps; no property fails along them")
    } else {
        let each: Vec<String> = replayed.violations.iter().map(|(n, at)| format!("{n} fails at step {at}")).collect();
        format!("replayed     {steps} steps; {}", each.join(", "))
    });
    if let Some(k) = shrunk_steps {
        lines.push(format!("shrunk       {} steps to {k}", first_failure.unwrap_or(steps)));
    }
    let stem = format!("{}-{}", meta.stem, if opts.explore { "explore" } else { "replay" });
    let shown = Shown {
        name: meta.name,
        stem: &stem,
        config: meta.config.clone(),
        reproduce,
        roots: Some(roots_described),
        json: extra,
        lines,
        violated: !replayed.violations.is_empty(),
    };
    present(&rooted, &report, &options, args, shown)
}
