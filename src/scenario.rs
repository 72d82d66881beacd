//! The built-in scenarios of `herald sim`: a protocol, its oracles and its extra report fields,
//! bound to a system model. The generic driver runs one seed or a sweep.

use crate::cli::{ScenarioName, SimArgs};
use crate::report::{self, Outcome, SweepReport};
use anyhow::Context as _;
use herald_core::Node;
use herald_protocols::broadcast_demo::{self, BroadcastDemo, Forger};
use herald_protocols::ping_pong::{self, Liar, PingPong, PingPongConfig};
use herald_sim::oracle::{self, Oracle};
use herald_sim::{Run, SimConfig, Simulation, shrink, sweep};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Instant;

/// A protocol ready to simulate, with what judges it.
pub(crate) struct Scenario<N: Node> {
    pub(crate) name: &'static str,
    pub(crate) sim: Simulation<N>,
    /// Model oracles first, then the protocol's own properties.
    pub(crate) oracles: Vec<Box<dyn Oracle<N>>>,
    /// How many of `oracles` are model oracles (the simulator checking itself).
    pub(crate) model_oracles: usize,
    /// Scenario-specific fields for reports.
    pub(crate) extra: fn(&Run<N>) -> Value,
}

pub(crate) fn ping_pong(
    config: &SimConfig,
    in_flight: u32,
    rto: std::time::Duration,
) -> anyhow::Result<Scenario<PingPong>> {
    let n = config.nodes;
    let pp = PingPongConfig { in_flight, pings_max: None, retransmit: (!rto.is_zero()).then_some(rto), report: true };
    let sim = Simulation::new(config.clone(), move |_| PingPong::new(pp.clone(), n))?
        .with_strategy(|| Box::new(Liar::default()));
    let mut oracles = oracle::model_oracles(config);
    let model_oracles = oracles.len();
    oracles.push(oracle::from_fn("round-trips-counted-once", |run: &Run<PingPong>| {
        ping_pong::check_round_trips(run.outputs.iter().map(|o| (o.node, &o.value)))
    }));
    Ok(Scenario {
        name: "ping-pong",
        sim,
        oracles,
        model_oracles,
        extra: |run| {
            let rtts: Vec<u64> = run.outputs.iter().map(|o| o.value.rtt_ns).collect();
            json!({ "round_trips": rtts.len(), "rtt_mean_ns": rtts.iter().sum::<u64>().checked_div(rtts.len() as u64).unwrap_or(0) })
        },
    })
}

pub(crate) fn broadcast(
    config: &SimConfig,
    notes: u32,
    interval: std::time::Duration,
) -> anyhow::Result<Scenario<BroadcastDemo>> {
    let sim = Simulation::new(config.clone(), move |_| BroadcastDemo::new(notes, interval))?
        .with_strategy(|| Box::new(Forger::default()));
    let mut oracles = oracle::model_oracles(config);
    let model_oracles = oracles.len();
    oracles.push(oracle::from_fn("every-note-once", move |run: &Run<BroadcastDemo>| {
        broadcast_demo::check_every_note_once(
            &run.correct,
            notes_of(run),
            run.outputs.iter().map(|o| (o.node, &o.value)),
        )
    }));
    Ok(Scenario {
        name: "broadcast-demo",
        sim,
        oracles,
        model_oracles,
        extra: |run| {
            let tally =
                broadcast_demo::tally(&run.correct, notes_of(run), run.outputs.iter().map(|o| (o.node, &o.value)));
            serde_json::to_value(tally).unwrap_or_default()
        },
    })
}

/// The number of notes a broadcast-demo run was configured with, recovered from its sends.
fn notes_of(run: &Run<BroadcastDemo>) -> u32 {
    use herald_sim::record::RecordKind;
    let max = run.records.iter().filter_map(|r| match &r.kind {
        RecordKind::Send { from, bytes, .. } if *from == broadcast_demo::SOURCE => {
            herald_core::codec::decode::<broadcast_demo::Note>(bytes).ok().map(|n| n.seq + 1)
        }
        _ => None,
    });
    max.max().unwrap_or(0)
}

pub(crate) fn run(args: &SimArgs, config: &SimConfig) -> anyhow::Result<ExitCode> {
    match args.scenario {
        ScenarioName::PingPong => drive(args, || ping_pong(config, args.in_flight, args.rto)),
        ScenarioName::BroadcastDemo => drive(args, || broadcast(config, args.notes, args.interval)),
        ScenarioName::Links => crate::scenarios::links::run(args, config),
        ScenarioName::FailureDetector => crate::scenarios::failure_detector::run(args, config),
        ScenarioName::Rpc => crate::scenarios::rpc::run(args, config),
    }
}

fn drive<N: Node>(args: &SimArgs, build: impl Fn() -> anyhow::Result<Scenario<N>> + Sync) -> anyhow::Result<ExitCode> {
    match args.seeds {
        None => single(args, build()?),
        Some(count) => sweep_seeds(args, count, build),
    }
}

fn single<N: Node>(args: &SimArgs, mut sc: Scenario<N>) -> anyhow::Result<ExitCode> {
    let mask = args.faults.as_ref().map(|f| f.0.iter().copied().collect());
    sc.sim = sc.sim.recording(true).with_fault_mask(mask);
    let started = Instant::now();
    let run = sc.sim.run(args.seed);
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    let outcome = Outcome::of(&run, &sc.oracles);
    let mut extra = (sc.extra)(&run);
    let keep: Vec<String> = args
        .faults
        .iter()
        .map(|f| format!("--faults {}", f.0.iter().map(u32::to_string).collect::<Vec<_>>().join(",")))
        .collect();
    let reproduce = report::reproduce(args.seed, &keep);
    if let Some(path) = &args.trace {
        report::write_trace(&run, path, sc.name, Some(reproduce.clone()))?;
        extra["trace"] = json!(path);
    }
    extra["wall_ms"] = json!(wall_ms);
    extra["liveness"] = json!(format!("{:?}", run.liveness));
    if !outcome.is_ok() {
        extra["reproduce"] = json!(reproduce);
        if args.shrink {
            extra["shrunk"] = shrink_and_write(args, &mut sc, &outcome)?;
        }
    }
    if args.json {
        outln!("{}", report::run_json(sc.name, args.seed, &outcome, &run.summary, run.faults.len(), extra));
    } else {
        let title = format!("herald sim {} · {} nodes · seed {}", sc.name, run.config.nodes, args.seed);
        report::print_run(&title, &outcome, &run.summary, &run.liveness, wall_ms)?;
        if let Some(path) = &args.trace {
            outln!("  trace       {}", path.display());
        }
        if !outcome.is_ok() {
            outln!("  reproduce   {reproduce}");
        }
        if let Some(s) = extra.get("shrunk") {
            outln!(
                "  shrunk      {} → {} faults, {} → {} events",
                s["faults_before"],
                s["faults"],
                s["events_before"],
                s["events"]
            );
            outln!("  minimal     {}", s["reproduce"].as_str().unwrap_or_default());
            outln!("  its trace   {}", s["trace"].as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

fn shrink_and_write<N: Node>(args: &SimArgs, sc: &mut Scenario<N>, outcome: &Outcome) -> anyhow::Result<Value> {
    let oracles = &sc.oracles;
    let same_failure = |run: &Run<N>| {
        Outcome::of(run, oracles) == *outcome
            || matches!((Outcome::of(run, oracles), outcome),
        (Outcome::Violated { property: a, .. }, Outcome::Violated { property: b, .. }) if a == *b)
    };
    let shrunk = shrink::shrink(&mut sc.sim, args.seed, same_failure, 2_000)
        .context("the failure did not reproduce while shrinking")?;
    let mask: Vec<String> = shrunk.mask.iter().map(u32::to_string).collect();
    let mut flags = vec![format!("--faults {}", if mask.is_empty() { "''".to_string() } else { mask.join(",") })];
    let mut config = sc.sim.config().clone();
    if shrunk.events_max != u64::MAX {
        flags.push(format!("--events-max {}", shrunk.events_max));
        config.limits.events_max = shrunk.events_max;
    }
    let reproduce = report::reproduce(args.seed, &flags);
    sc.sim.set_config(config)?;
    sc.sim.set_fault_mask(Some(shrunk.mask.clone()));
    let run = sc.sim.run(args.seed);
    let path = args.failures_dir.join(format!("{}-seed{}-shrunk.jsonl", sc.name, args.seed));
    report::write_trace(&run, &path, sc.name, Some(reproduce.clone()))?;
    Ok(json!({
        "faults_before": shrunk.faults_before, "faults": shrunk.mask.len(),
        "events_before": shrunk.events_before, "events": run.summary.counters.events,
        "runs": shrunk.runs, "reproduce": reproduce, "trace": path,
    }))
}

struct SeedResult {
    outcome: Outcome,
    summary: herald_sim::Summary,
}

fn sweep_seeds<N: Node>(
    args: &SimArgs,
    count: u64,
    build: impl Fn() -> anyhow::Result<Scenario<N>> + Sync,
) -> anyhow::Result<ExitCode> {
    let all = args.seed..args.seed.checked_add(count).context("--seed + --seeds overflows")?;
    let seeds = match args.shard {
        Some((i, k)) => sweep::shard(all, i, k),
        None => all,
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let name = build()?.name;
    let bar = ProgressBar::new(seeds.end - seeds.start);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} seeds {wide_bar} {per_sec} eta {eta}")
            .expect("static template"),
    );
    let started = Instant::now();
    let results = sweep::sweep_with(
        seeds.clone(),
        threads,
        || {
            let Scenario { sim, oracles, .. } = build().expect("the configuration was validated");
            (sim.recording(true), oracles)
        },
        |(sim, oracles), seed| {
            let run = sim.run(seed);
            SeedResult { outcome: Outcome::of(&run, oracles), summary: run.summary }
        },
        |done| bar.set_position(done),
    );
    bar.finish_and_clear();
    let mut report =
        SweepReport { scenario: name.to_string(), seed_ranges: vec![(seeds.start, seeds.end)], ..Default::default() };
    for (seed, r) in &results {
        report.runs += 1;
        report.totals.add(&r.summary.counters);
        if r.outcome.is_ok() {
            continue;
        }
        report.failures += 1;
        match r.outcome {
            Outcome::Violated { .. } => report.violations += 1,
            Outcome::LivenessFailed { .. } => report.liveness_failures += 1,
            Outcome::Ok => {}
        }
        // Runs are pure functions of the seed: rerun the failure to write its trace.
        let mut sc = build()?;
        sc.sim = sc.sim.recording(true);
        let run = sc.sim.run(*seed);
        let path = args.failures_dir.join(format!("{}-seed{}.jsonl", name, seed));
        let reproduce = report::reproduce(*seed, &[format!("--trace {}", path.display())]);
        report::write_trace(&run, &path, name, Some(reproduce.clone()))?;
        let mut entry = json!({ "seed": seed, "reproduce": reproduce, "trace": path });
        report::merge_into(&mut entry, serde_json::to_value(&r.outcome)?);
        if !args.json {
            eprintln!("seed {seed}: {}\n  reproduce: {reproduce}", r.outcome.describe());
        }
        report.failed_seeds.push(entry);
    }
    report.wall_ms = started.elapsed().as_secs_f64() * 1e3;
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        let t = &report.totals;
        outln!(
            "herald sim {name} · seeds {}..{} · {} runs on {threads} threads in {:.1} s",
            seeds.start,
            seeds.end,
            report.runs,
            report.wall_ms / 1e3
        );
        outln!(
            "  failures    {} ({} violated a property, {} failed liveness)",
            report.failures,
            report.violations,
            report.liveness_failures
        );
        outln!(
            "  messages    sent {} · delivered {} · dropped {} · duplicated {}",
            t.sent,
            t.delivered,
            t.dropped,
            t.duplicated
        );
    }
    Ok(ExitCode::from(report.exit_code()))
}
