//! `herald generals byzantine --algorithm om`: OM(m) under the synchronous model, over seeds (traitors
//! placed, commander order and traitor behaviour drawn from the seed) or exhaustively over every
//! traitor message (`herald_protocols::byzantine::om::Enumeration`).
//!
//! [`simulate`] runs one instance through the simulator; everything else here is batching and
//! reporting.

use super::byzantine::{Algorithm, ByzantineArgs, Report};
use crate::report;
use anyhow::Context as _;
use herald_core::rounds::LockStep;
use herald_core::{NodeId, Rng};
use herald_protocols::byzantine::om::{self, Behaviour, Enumeration, Majority, Om, OmConfig, Traitors};
use herald_protocols::byzantine::{COMMANDER, Order, Verdict};
use herald_sim::{Latency, NodeModel, Run, SimConfig, Simulation, TimingModel, sweep};
use indicatif::{ProgressBar, ProgressStyle};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// The synchronous model's delay bound; link latency is uniform from 1 ms up to it.
const DELAY_MAX: Duration = Duration::from_millis(10);
/// The synchronous model's step bound.
const STEP_MAX: Duration = Duration::from_millis(1);
/// A round outlasts any message sent at its start (clocks are perfect: no skew term).
const ROUND: Duration = Duration::from_millis(11);
/// The largest exhaustive search the CLI runs.
const CASES_MAX: u64 = 1_000_000;
/// The most messages one run may need (Σ P(n − 1, k + 1)).
const MESSAGES_MAX: u64 = 1_000_000;
/// The seed's random stream for the setup of a seeded run (the simulator uses 0 and 1 + node).
const SETUP_STREAM: u64 = u64::MAX;

/// One OM instance: what a run needs besides the seed.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub(crate) config: OmConfig,
    pub(crate) traitors: BTreeSet<NodeId>,
    pub(crate) behaviour: Behaviour,
}

/// What one run came to.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    /// Every general's decision (traitors report none).
    pub(crate) decisions: BTreeMap<NodeId, Order>,
    /// IC1 and IC2 over the loyal lieutenants.
    pub(crate) verdict: Verdict,
    /// Messages sent, as the simulator counted them.
    pub(crate) messages: u64,
}

impl Outcome {
    fn violated(&self) -> bool {
        !(self.verdict.ic1 && self.verdict.ic2)
    }
}

/// Runs one OM instance through the simulator with `seed` (which only moves latencies within the
/// synchronous bound): the decisions, the verdict and the messages sent.
pub(crate) fn simulate(instance: &Instance, seed: u64) -> anyhow::Result<Outcome> {
    Ok(simulate_run(instance, seed, false)?.0)
}

fn simulate_run(instance: &Instance, seed: u64, record: bool) -> anyhow::Result<(Outcome, Run<LockStep<Om>>)> {
    let config = &instance.config;
    let run = if record {
        simulation(Rc::new(RefCell::new(instance.clone())))?.recording(true).run(seed)
    } else {
        REUSED.with(|reused| -> anyhow::Result<_> {
            let mut reused = reused.borrow_mut();
            if reused.is_none() {
                let current = Rc::new(RefCell::new(instance.clone()));
                *reused = Some((current.clone(), simulation(current)?));
            }
            let (current, sim) = reused.as_mut().expect("made above");
            *current.borrow_mut() = instance.clone();
            sim.set_config(sim_config(instance))?;
            Ok(sim.run(seed))
        })?
    };
    let decisions: BTreeMap<NodeId, Order> = run.outputs.iter().map(|o| (o.node, o.value.order)).collect();
    let verdict = om::verdict(config, &instance.traitors, &decisions);
    Ok((Outcome { decisions, verdict, messages: run.summary.counters.sent }, run))
}

thread_local! {
    /// This thread's simulation for unrecorded runs, reused from run to run so that the event
    /// queue's storage is allocated once per thread rather than grown again for every run (OM(4)
    /// with 13 generals queues 95,000 events at once); its nodes and traitors are built from the
    /// instance in the cell, which each run replaces.
    static REUSED: RefCell<Option<Reused>> = const { RefCell::new(None) };
}

/// A reused simulation and the instance its nodes and traitors are built from.
type Reused = (Rc<RefCell<Instance>>, Simulation<LockStep<Om>>);

/// The simulator's configuration for `instance`.
fn sim_config(instance: &Instance) -> SimConfig {
    let config = &instance.config;
    let mut sim_config = SimConfig::new(config.generals);
    sim_config.model.timing = TimingModel::Synchronous { delay_max: DELAY_MAX, step_max: STEP_MAX };
    sim_config.model.nodes = NodeModel::Byzantine { faulty: instance.traitors.iter().copied().collect() };
    sim_config.link.latency = Latency::uniform(Duration::from_millis(1), DELAY_MAX);
    sim_config.limits.time_max = ROUND * (config.rounds() + 1);
    sim_config
}

/// A simulation of whatever instance `current` holds when a run starts.
fn simulation(current: Rc<RefCell<Instance>>) -> anyhow::Result<Simulation<LockStep<Om>>> {
    let sim_config = sim_config(&current.borrow());
    let nodes = current.clone();
    // Loyal generals record each message as it arrives (the same outcome as from the next round's
    // inbox), so a round's messages are not all held until it ends.
    let node = move |id| LockStep::new(Om::new(nodes.borrow().config.clone(), id).taking_arrivals(), ROUND);
    Ok(Simulation::new(sim_config, node)?.with_strategy(move || {
        let Instance { config, traitors, behaviour } = current.borrow().clone();
        Box::new(Traitors::new(config, ROUND, traitors, behaviour))
    }))
}

pub(crate) fn run(args: &ByzantineArgs) -> anyhow::Result<Report> {
    let config = OmConfig {
        generals: args.generals,
        m: args.m(),
        order: Order::Attack,
        majority: if args.median { Majority::Median } else { Majority::StrictOrDefault },
    };
    check(args, &config)?;
    if !args.json {
        for warning in config.warnings(args.traitors) {
            eprintln!("note: {warning}");
        }
    }
    let mut report = Report {
        algorithm: Some(Algorithm::Om),
        generals: args.generals,
        m: config.m,
        traitors: args.traitors,
        exhaustive: args.exhaustive,
        ..Report::default()
    };
    let batch = if args.exhaustive { exhaustive(args, &config)? } else { seeded(args, &config)? };
    tally(&mut report, &batch.results);
    if let Some((label, first)) = batch.results.iter().find(|(_, o)| o.violated()) {
        let label = *label;
        let (instance, describe) = (batch.setup)(label);
        let (reproduce, path) = (batch.replay)(label);
        let (_, run) = simulate_run(&instance, label, true)?;
        report::write_trace(&run, &path, "om", Some(reproduce.clone()))?;
        report.first_violation = Some(format!("{describe}: {}", judged(&instance, first)));
        report.reproduce = Some(reproduce);
        report.counterexample = Some(path);
    } else if let (Some(case), true) = (args.case, args.exhaustive) {
        // A replayed case that holds still leaves its trace, for reading.
        let (instance, _) = (batch.setup)(case);
        let (reproduce, path) = (batch.replay)(case);
        let (_, run) = simulate_run(&instance, case, true)?;
        report::write_trace(&run, &path, "om", Some(reproduce))?;
        if !args.json {
            eprintln!("trace: {}", path.display());
        }
    }
    Ok(report)
}

/// Refuses what OM(m) or the CLI cannot run (exit code 2). What the paper does not promise —
/// n ≤ 3m, more than m traitors — is allowed: the negative results need it.
fn check(args: &ByzantineArgs, config: &OmConfig) -> anyhow::Result<()> {
    let (n, m) = (config.generals, config.m);
    if n < 2 {
        anyhow::bail!("invalid `--generals`: {n}: a commander needs at least one lieutenant");
    }
    if args.traitors >= n {
        anyhow::bail!("invalid `--traitors`: {} of {n} generals: at least one must be loyal", args.traitors);
    }
    if m + 2 > n {
        anyhow::bail!(
            "invalid `--m`: OM({m}) needs at least m + 2 = {} generals (its last round relays along m + 1 of them to another), not {n}",
            m + 2
        );
    }
    match om::message_count(n, m) {
        Some(messages) if messages <= MESSAGES_MAX => {}
        _ => anyhow::bail!("invalid `--m`: OM({m}) among {n} generals sends more than {MESSAGES_MAX} messages per run"),
    }
    if args.case.is_some() && !args.exhaustive {
        anyhow::bail!("invalid `--case`: case numbers belong to --exhaustive");
    }
    Ok(())
}

/// A batch of runs, each labelled by its seed or case number, and how to rebuild and name one.
struct Batch {
    results: Vec<(u64, Outcome)>,
    /// The instance behind a label, and a description of it.
    setup: Box<dyn Fn(u64) -> (Instance, String)>,
    /// The command that replays a label, and where its trace goes.
    replay: Box<dyn Fn(u64) -> (String, PathBuf)>,
}

fn exhaustive(args: &ByzantineArgs, config: &OmConfig) -> anyhow::Result<Batch> {
    let (n, m) = (config.generals, config.m);
    let search = Enumeration::new(n, m, args.traitors, CASES_MAX).with_context(|| {
        format!(
            "invalid `--exhaustive`: {} traitors in OM({m}) among {n} generals make more than {CASES_MAX} cases; sample with --seeds instead",
            args.traitors
        )
    })?;
    let cases = match args.case {
        Some(case) if case >= search.len() => {
            anyhow::bail!("invalid `--case`: {case}: the search has cases 0 to {}", search.len() - 1)
        }
        Some(case) => case..case + 1,
        None => 0..search.len(),
    };
    let instance_of = {
        let config = config.clone();
        move |case: u64| -> (Instance, String) {
            let case = search.case(case).expect("case numbers come from the search");
            let instance = Instance {
                config: OmConfig { order: case.order, ..config.clone() },
                traitors: case.traitors.clone(),
                behaviour: Behaviour::Scripted(case.script.clone()),
            };
            (instance, case.to_string())
        }
    };
    let results = sweep_all(args, cases, &|case| simulate(&instance_of(case).0, case))?;
    let (dir, name, command) = (args.failures_dir.clone(), file_stem(args, config), command(args));
    Ok(Batch {
        results,
        setup: Box::new(instance_of),
        replay: Box::new(move |case| {
            (format!("{command} --exhaustive --case {case}"), dir.join(format!("{name}-case{case}.jsonl")))
        }),
    })
}

fn seeded(args: &ByzantineArgs, config: &OmConfig) -> anyhow::Result<Batch> {
    let end = args.seed.checked_add(args.seeds).context("invalid `--seeds`: --seed + --seeds overflows")?;
    let traitors = args.traitors;
    let instance_of = {
        let config = config.clone();
        move |seed: u64| -> (Instance, String) {
            let instance = seeded_instance(&config, traitors, seed);
            let ids: Vec<String> = instance.traitors.iter().map(ToString::to_string).collect();
            let describe = format!(
                "seed {seed}: traitors [{}] {}, order {:?}",
                ids.join(","),
                instance.behaviour.name(),
                instance.config.order
            );
            (instance, describe)
        }
    };
    let results = sweep_all(args, args.seed..end, &|seed| simulate(&instance_of(seed).0, seed))?;
    let (dir, name, command) = (args.failures_dir.clone(), file_stem(args, config), command(args));
    Ok(Batch {
        results,
        setup: Box::new(instance_of),
        replay: Box::new(move |seed| {
            (format!("{command} --seed {seed} --seeds 1"), dir.join(format!("{name}-seed{seed}.jsonl")))
        }),
    })
}

/// A seeded run: `traitors` traitors placed uniformly (the commander is a candidate), then the
/// commander's order, then a stock behaviour, all drawn from the seed's setup stream.
fn seeded_instance(config: &OmConfig, traitors: usize, seed: u64) -> Instance {
    let mut rng = Rng::derive(seed, SETUP_STREAM);
    let mut pool: Vec<NodeId> = NodeId::range(config.generals).collect();
    let traitors = (0..traitors).map(|_| pool.remove(rng.index(pool.len()))).collect();
    let order = if rng.chance(0.5) { Order::Attack } else { Order::Retreat };
    let stock = Behaviour::stock();
    let behaviour = stock[rng.index(stock.len())].clone();
    Instance { config: OmConfig { order, ..config.clone() }, traitors, behaviour }
}

/// Runs every label on all cores (or `--threads`); results come back in label order whatever the
/// thread count.
fn sweep_all(
    args: &ByzantineArgs,
    labels: std::ops::Range<u64>,
    run_one: &(dyn Fn(u64) -> anyhow::Result<Outcome> + Sync),
) -> anyhow::Result<Vec<(u64, Outcome)>> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = ProgressBar::new(labels.end - labels.start);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} runs {wide_bar} {per_sec} eta {eta}")
            .expect("static template"),
    );
    let results = sweep::sweep(labels, threads, run_one, |done| bar.set_position(done));
    bar.finish_and_clear();
    results.into_iter().map(|(label, r)| r.map(|o| (label, o))).collect()
}

fn tally(report: &mut Report, results: &[(u64, Outcome)]) {
    report.runs = results.len() as u64;
    let messages: Vec<u64> = results.iter().map(|(_, o)| o.messages).collect();
    report.messages_min = messages.iter().copied().min().unwrap_or(0);
    report.messages_max = messages.iter().copied().max().unwrap_or(0);
    report.messages_per_run =
        if messages.is_empty() { 0.0 } else { messages.iter().sum::<u64>() as f64 / messages.len() as f64 };
    for (_, o) in results {
        report.violations += u64::from(o.violated());
        report.ic1_violations += u64::from(!o.verdict.ic1);
        report.ic2_violations += u64::from(!o.verdict.ic2);
    }
}

/// "IC2 violated: n1 RETREAT, n2 ATTACK" — the broken conditions and the loyal decisions.
fn judged(instance: &Instance, outcome: &Outcome) -> String {
    let broken: Vec<&str> = [(outcome.verdict.ic1, "IC1"), (outcome.verdict.ic2, "IC2")]
        .iter()
        .filter(|(held, _)| !held)
        .map(|(_, name)| *name)
        .collect();
    let loyal: Vec<String> = outcome
        .decisions
        .iter()
        .filter(|(g, _)| !instance.traitors.contains(g) && **g != COMMANDER)
        .map(|(g, o)| format!("{g} {o:?}"))
        .collect();
    format!("{} violated; loyal lieutenants decided {}", broken.join(" and "), loyal.join(", "))
}

/// The command line of this configuration, without what selects runs.
fn command(args: &ByzantineArgs) -> String {
    let mut c =
        format!("herald generals byzantine --algorithm om --generals {} --traitors {}", args.generals, args.traitors);
    if let Some(m) = args.m {
        c.push_str(&format!(" --m {m}"));
    }
    if args.median {
        c.push_str(" --median");
    }
    c
}

fn file_stem(args: &ByzantineArgs, config: &OmConfig) -> String {
    let median = if args.median { "-median" } else { "" };
    format!("om-n{}-m{}-t{}{median}", config.generals, config.m, args.traitors)
}
