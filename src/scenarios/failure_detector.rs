//! `herald sim failure-detector`: every node runs a failure detector (`--detector`) and pings every
//! other every `--ping-interval`; nodes crash as the node model says. Each seed's detector changes
//! are judged by the three properties of `herald_protocols::failure_detector::properties`, and the
//! sweep reports how often each was violated, how many suspicions were false, and the slowest
//! detection.
//!
//! Where the perfect detector does not exist, the run is refused (exit 2) with the offending part
//! of the model named: the check is `failure_detector::validate`, fed the kinds of this `SimConfig`.
//!
//! What each detector promises, and so what makes the exit code 1:
//! - perfect: strong completeness and strong accuracy;
//! - eventually perfect: strong completeness, and eventual strong accuracy where it exists —
//!   synchronous or partially synchronous timing, reliable links;
//! - timeout: strong completeness only.
//!
//! Completeness is promised only for crash-stop (or correct) nodes; every other property is still
//! measured and reported.
//!
//! **[decision]** The bounds a finite run is judged with:
//! - completeness: the perfect detector must suspect within `ping_interval + timeout` of the crash
//!   (lecture-spec S1). The others get `ping_interval + timeout_max + slack`, where `timeout_max` is
//!   the largest timeout any node reached and the slack covers the crashed node's last messages in
//!   flight: `2·delay_max` plus the longest asynchronous window (synchronous, partially
//!   synchronous), or the link latency's maximum plus the longest pause (asynchronous; 1 s for an
//!   unbounded distribution).
//! - eventual accuracy: from `T = last window (or partition) end + 2·(delay_max + step_max) + (k + 1)·(ping_interval +
//!   2·(delay_max + step_max))`, where `k` is the number of doublings the initial timeout needs to
//!   exceed the round trip. Under asynchronous timing there is no such T; it is measured from half
//!   the run.

use crate::cli::{DetectorKind, SimArgs};
use crate::report::{EXIT_USAGE, EXIT_VIOLATED};
use anyhow::Context as _;
use herald_core::NodeId;
use herald_core::time::nanos;
use herald_protocols::failure_detector::properties::{self, FdViolation, History};
use herald_protocols::failure_detector::{
    self as fd, Change, Detector, EventuallyPerfectDetector, FdNode, Growth, ModelKinds, PerfectDetector,
    TimeoutDetector,
};
use herald_sim::{FaultKind, NetworkModel, NodeModel, SimConfig, Simulation, TimingModel, sweep};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Duration;

/// The detector the flags ask for. The perfect detector takes its bounds from the synchronous
/// timing model (the flags' values if the model is not synchronous: `validate` then refuses it).
fn detector(args: &SimArgs, config: &SimConfig) -> Detector {
    match args.detector {
        DetectorKind::Timeout => {
            Detector::Timeout(TimeoutDetector { ping_interval: args.ping_interval, timeout: args.timeout })
        }
        DetectorKind::EventuallyPerfect => Detector::EventuallyPerfect(EventuallyPerfectDetector {
            ping_interval: args.ping_interval,
            timeout_initial: args.timeout,
            growth: Growth::Double,
        }),
        DetectorKind::Perfect => {
            let (delay_max, step_max) = match config.model.timing {
                TimingModel::Synchronous { delay_max, step_max } => (delay_max, step_max),
                _ => (args.delay_max, args.step_max),
            };
            Detector::Perfect(PerfectDetector { ping_interval: args.ping_interval, delay_max, step_max })
        }
    }
}

/// The kinds of `config`'s system model, as `failure_detector::validate` takes them.
pub(crate) fn kinds(config: &SimConfig) -> ModelKinds {
    ModelKinds {
        timing: match config.model.timing {
            TimingModel::Synchronous { .. } => fd::TimingKind::Synchronous,
            TimingModel::PartiallySynchronous { .. } => fd::TimingKind::PartiallySynchronous,
            TimingModel::Asynchronous { .. } => fd::TimingKind::Asynchronous,
        },
        nodes: match config.model.nodes {
            NodeModel::Correct => fd::NodeKind::Correct,
            NodeModel::CrashStop { .. } => fd::NodeKind::CrashStop,
            NodeModel::CrashRecovery { .. } => fd::NodeKind::CrashRecovery,
            NodeModel::Byzantine { .. } => fd::NodeKind::Byzantine,
        },
        network: match config.model.network {
            NetworkModel::Reliable { .. } => fd::NetworkKind::Reliable,
            NetworkModel::FairLoss { .. } => fd::NetworkKind::FairLoss,
            NetworkModel::Arbitrary { .. } => fd::NetworkKind::Arbitrary,
        },
        partitions: !config.model.partitions.is_empty(),
    }
}

/// Which properties the detector promises under this model.
#[derive(Clone, Copy, Debug)]
struct Promises {
    completeness: bool,
    accuracy: bool,
    eventual_accuracy: bool,
}

fn promises(detector: &Detector, model: &ModelKinds) -> Promises {
    let crash_stop = matches!(model.nodes, fd::NodeKind::Correct | fd::NodeKind::CrashStop);
    let bounded = !matches!(model.timing, fd::TimingKind::Asynchronous) && model.network == fd::NetworkKind::Reliable;
    match detector {
        Detector::Perfect(_) => Promises { completeness: crash_stop, accuracy: true, eventual_accuracy: true },
        Detector::EventuallyPerfect(_) => {
            Promises { completeness: crash_stop, accuracy: false, eventual_accuracy: bounded && crash_stop }
        }
        Detector::Timeout(_) => Promises { completeness: crash_stop, accuracy: false, eventual_accuracy: false },
    }
}

/// The bounds of the module docs, ns.
struct Bounds {
    /// Slack for the crashed node's last messages, added to `ping_interval + timeout_max`.
    completeness_slack: u64,
    /// Eventual accuracy is judged from here (absolute, ns), given the run's end.
    eventual_after: Box<dyn Fn(u64) -> u64 + Send + Sync>,
}

fn bounds(detector: &Detector, config: &SimConfig) -> Bounds {
    let unbounded = Duration::from_secs(1);
    let round_trip = |d: Duration, s: Duration| 2 * (d + s);
    let settle = |last_end: Duration, d: Duration, s: Duration| {
        let rtt = round_trip(d, s);
        let mut timeout = detector.timeout_initial().max(Duration::from_nanos(1));
        let mut doublings = 0u32;
        while timeout < rtt && doublings < 64 {
            timeout = timeout.saturating_mul(2);
            doublings += 1;
        }
        nanos(last_end + rtt + (doublings + 1) * (detector.ping_interval() + rtt))
    };
    // A partition that holds messages is a window of asynchrony too.
    let partitions_end = config.model.partitions.iter().filter_map(|p| p.end).max();
    match &config.model.timing {
        TimingModel::Synchronous { delay_max, step_max } => {
            let after = settle(partitions_end.unwrap_or_default(), *delay_max, *step_max);
            Bounds { completeness_slack: nanos(2 * *delay_max), eventual_after: Box::new(move |_| after) }
        }
        TimingModel::PartiallySynchronous { delay_max, step_max, windows, .. } => {
            let longest = windows.iter().map(|w| w.end.saturating_sub(w.start)).max().unwrap_or_default();
            let last_end = windows.iter().map(|w| w.end).chain(partitions_end).max().unwrap_or_default();
            let after = settle(last_end, *delay_max, *step_max);
            Bounds { completeness_slack: nanos(2 * *delay_max + longest), eventual_after: Box::new(move |_| after) }
        }
        TimingModel::Asynchronous { pauses } => {
            let latency = config.link.latency.max().unwrap_or(unbounded);
            let pause =
                if pauses.rate_per_sec > 0.0 { pauses.duration.max().unwrap_or(unbounded) } else { Duration::ZERO };
            Bounds { completeness_slack: nanos(latency + pause), eventual_after: Box::new(|end| end / 2) }
        }
    }
}

/// One seed, judged.
struct Judged {
    completeness: Result<(), FdViolation>,
    accuracy: Result<(), FdViolation>,
    eventual_accuracy: Result<(), FdViolation>,
    false_suspicions: usize,
    detection_max: Option<u64>,
    crashes: usize,
}

fn judge(seed: u64, run: &herald_sim::Run<FdNode>, detector: &Detector, bounds: &Bounds) -> Judged {
    let changes: Vec<(u64, NodeId, Change)> = run.outputs.iter().map(|o| (o.t, o.node, o.value)).collect();
    // Crash-stop crashes only: a crash-recovery node that came back is correct.
    let crashes: Vec<(NodeId, u64)> = run
        .faults
        .iter()
        .filter_map(|f| match f.kind {
            FaultKind::Crash(n) if !run.correct.contains(&n) => Some((n, f.t)),
            _ => None,
        })
        .collect();
    let h =
        History { seed, changes: &changes, crashes: &crashes, nodes: run.config.nodes, end_ns: run.summary.virtual_ns };
    let completeness_bound = match detector {
        Detector::Perfect(p) => nanos(p.ping_interval + p.timeout()),
        _ => {
            let timeout_max = changes
                .iter()
                .filter_map(|(_, _, c)| match c {
                    Change::Trust { timeout_ns, .. } => Some(*timeout_ns),
                    Change::Suspect { .. } => None,
                })
                .max()
                .unwrap_or(0)
                .max(nanos(detector.timeout_initial()));
            nanos(detector.ping_interval()) + timeout_max + bounds.completeness_slack
        }
    };
    Judged {
        completeness: properties::strong_completeness(&h, completeness_bound),
        accuracy: properties::strong_accuracy(&h),
        eventual_accuracy: properties::eventual_strong_accuracy(&h, (bounds.eventual_after)(h.end_ns)),
        false_suspicions: properties::false_suspicions(&h),
        detection_max: properties::detection_times(&h).into_iter().max(),
        crashes: crashes.len(),
    }
}

fn first_json(v: Option<&FdViolation>) -> Value {
    v.map_or(
        Value::Null,
        |v| json!({ "seed": v.seed, "t_ns": v.t_ns, "observer": v.observer.0, "node": v.node.0, "detail": v.detail }),
    )
}

pub(crate) fn run(args: &SimArgs, config: &SimConfig) -> anyhow::Result<ExitCode> {
    let detector = detector(args, config);
    let model = kinds(config);
    if let Err(e) = fd::validate(&detector, &model) {
        eprintln!("herald: {e}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if model.nodes == fd::NodeKind::Byzantine {
        eprintln!(
            "herald: invalid `node_model`: failure-detector has no Byzantine strategy; use correct, crash-stop or crash-recovery"
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let promised = promises(&detector, &model);
    let bounds = bounds(&detector, config);
    let all = args.seed..args.seed.checked_add(args.seeds.unwrap_or(1)).context("--seed + --seeds overflows")?;
    let seeds = match args.shard {
        Some((i, k)) => sweep::shard(all, i, k),
        None => all,
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let n = config.nodes;
    // Fails early, outside the workers, if the configuration is refused.
    Simulation::new(config.clone(), move |_| FdNode::new(detector, n))?;
    let results = sweep::sweep_with(
        seeds.clone(),
        threads,
        || {
            let sim = Simulation::new(config.clone(), move |_| FdNode::new(detector, n));
            sim.expect("the configuration was validated").recording(args.trace.is_some() && args.seeds.is_none())
        },
        |sim, seed| {
            let run = sim.run(seed);
            super::trace_single(args, &run, "failure-detector", seed);
            judge(seed, &run, &detector, &bounds)
        },
        |_| {},
    );
    let count = |f: fn(&Judged) -> &Result<(), FdViolation>| results.iter().filter(|(_, j)| f(j).is_err()).count();
    let first = |f: fn(&Judged) -> &Result<(), FdViolation>| results.iter().find_map(|(_, j)| f(j).as_ref().err());
    let completeness = count(|j| &j.completeness);
    let accuracy = count(|j| &j.accuracy);
    let eventual = count(|j| &j.eventual_accuracy);
    let false_suspicions: usize = results.iter().map(|(_, j)| j.false_suspicions).sum();
    let detection_max = results.iter().filter_map(|(_, j)| j.detection_max).max();
    let crashes: usize = results.iter().map(|(_, j)| j.crashes).sum();
    let violated = (promised.completeness && completeness > 0)
        || (promised.accuracy && accuracy > 0)
        || (promised.eventual_accuracy && eventual > 0);
    let mut promises_list = Vec::new();
    for (on, name) in [
        (promised.completeness, "strong-completeness"),
        (promised.accuracy, "strong-accuracy"),
        (promised.eventual_accuracy, "eventual-strong-accuracy"),
    ] {
        if on {
            promises_list.push(name);
        }
    }
    let report = json!({
        "scenario": "failure-detector",
        "detector": detector.name(),
        "nodes": n,
        "seed_ranges": [[seeds.start, seeds.end]],
        "runs": results.len(),
        "crashes": crashes,
        "promised": promises_list,
        "completeness_violations": completeness,
        "accuracy_violations": accuracy,
        "eventual_accuracy_violations": eventual,
        "false_suspicions": false_suspicions,
        "detection_time_max_ns": detection_max,
        "first_completeness_violation": first_json(first(|j| &j.completeness)),
        "first_accuracy_violation": first_json(first(|j| &j.accuracy)),
        "first_eventual_accuracy_violation": first_json(first(|j| &j.eventual_accuracy)),
        "violated": violated,
    });
    if args.json {
        outln!("{report}");
    } else {
        outln!(
            "herald sim failure-detector · {} detector · {n} nodes · seeds {}..{} · {} runs, {crashes} crashes",
            detector.name(),
            seeds.start,
            seeds.end,
            results.len()
        );
        let mark = |on: bool| if on { "promised" } else { "measured" };
        outln!("  strong completeness        {completeness} violations ({})", mark(promised.completeness));
        outln!("  strong accuracy            {accuracy} violations ({})", mark(promised.accuracy));
        outln!("  eventual strong accuracy   {eventual} violations ({})", mark(promised.eventual_accuracy));
        outln!("  false suspicions           {false_suspicions}");
        match detection_max {
            Some(ns) => outln!("  slowest detection          {}", herald_core::time::human(ns)),
            None => outln!("  slowest detection          (no crash detected)"),
        }
        for v in
            [first(|j| &j.completeness), first(|j| &j.accuracy), first(|j| &j.eventual_accuracy)].into_iter().flatten()
        {
            outln!("  first: {v}");
        }
    }
    Ok(ExitCode::from(if violated { EXIT_VIOLATED } else { 0 }))
}
