//! `herald generals byzantine --algorithm sm`: SM(m) with Ed25519 signatures under the synchronous
//! model, with colluding traitors, over a sweep of seeds or exhaustively.
//!
//! Seeded mode: seed s places `--traitors` traitors among all generals (the commander a
//! candidate), picks the loyal commander's order and the traitors' tactic, and derives the run's
//! keys — all from s. Exhaustive mode enumerates, for every placement and both orders, every
//! script of the traitors ({ATTACK, RETREAT, nothing} per traitor, round and loyal lieutenant);
//! `--case N` replays case N. The protocol and the traitors are in
//! `herald_protocols::byzantine::sm`; this is glue.

use super::byzantine::{Algorithm, ByzantineArgs, Report};
use crate::report;
use anyhow::{Context as _, bail};
use herald_core::rounds::LockStep;
use herald_core::{NodeId, Rng};
use herald_protocols::byzantine::sm::{
    self, Choice, DELAY_MAX, Equivocate, ForwardingLiar, Keys, Mimic, ROUND_LENGTH, RandomForger, STEP_MAX, Scripted,
    Setup, Silent, Slot, Sm, SmConfig, Traitors,
};
use herald_protocols::byzantine::{Order, Verdict};
use herald_sim::{Latency, NetworkModel, NodeModel, Run, SimConfig, Simulation, TimingModel, sweep};
use std::collections::BTreeSet;
use std::time::Duration;

/// The most cases an exhaustive search may have.
const EXHAUSTIVE_CASES_MAX: u64 = 20_000_000;

/// The RNG stream a seed's placement, order and tactic are drawn from (apart from the
/// simulator's streams and the keys').
const CASE_STREAM: u64 = 0x534d_5f43_4153_4500; // "SM_CASE\0"

pub(crate) fn run(args: &ByzantineArgs) -> anyhow::Result<Report> {
    let config = config(args)?;
    let mut report = Report {
        algorithm: Some(Algorithm::Sm),
        generals: args.generals,
        m: config.m,
        traitors: args.traitors,
        exhaustive: args.exhaustive,
        ..Report::default()
    };
    if args.exhaustive {
        exhaustive(args, &config, &mut report)?;
    } else {
        seeded(args, &config, &mut report)?;
    }
    Ok(report)
}

/// What the traitors of a run do.
#[derive(Clone, Debug)]
pub(crate) enum Play {
    Silent,
    Mimic,
    Equivocate,
    Liar,
    Random,
    Scripted(Scripted),
}

impl Play {
    fn name(&self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::Mimic => "mimic",
            Self::Equivocate => "equivocate",
            Self::Liar => "forwarding-liar",
            Self::Random => "random-forger",
            Self::Scripted(_) => "scripted",
        }
    }
}

/// What one run found.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub(crate) verdict: Verdict,
    /// Messages sent, as the simulator counted them (the traitors' included).
    pub(crate) messages: u64,
    /// Signature checks the loyal lieutenants made (for `herald bench generals`; the report has
    /// no field for it).
    pub(crate) signatures_verified: u64,
}

/// Runs one SM(m) instance through the simulator: the entry point for benchmarks.
pub(crate) fn run_instance(setup: &Setup, play: &Play, seed: u64) -> Instance {
    let run = simulate(setup, play, seed, false);
    Instance {
        verdict: setup.judge(observations(&run)),
        messages: run.summary.counters.sent,
        signatures_verified: sm::signatures_verified(observations(&run)),
    }
}

/// The synchronous model the rounds are built for, with `setup`'s traitors Byzantine.
pub(crate) fn sim_config(setup: &Setup) -> SimConfig {
    let mut c = SimConfig::new(setup.config.generals);
    c.model.network = NetworkModel::Reliable { fifo: false };
    c.model.timing = TimingModel::Synchronous { delay_max: DELAY_MAX, step_max: STEP_MAX };
    c.model.nodes = NodeModel::Byzantine { faulty: setup.traitors.iter().copied().collect() };
    c.link.latency = Latency::uniform(Duration::from_millis(1), DELAY_MAX);
    c.limits.time_max = ROUND_LENGTH * (setup.config.m as u32 + 3);
    c
}

fn simulate(setup: &Setup, play: &Play, seed: u64, record: bool) -> Run<LockStep<Sm>> {
    let (nodes, kit, play) = (setup.clone(), setup.kit(), play.clone());
    Simulation::new(sim_config(setup), move |id| nodes.node(id))
        .expect("the configuration was validated")
        .with_strategy(move || {
            let kit = kit.clone();
            match &play {
                Play::Silent => Traitors::boxed(kit, Silent),
                Play::Mimic => Traitors::boxed(kit, Mimic::default()),
                Play::Equivocate => Traitors::boxed(kit, Equivocate::default()),
                Play::Liar => Traitors::boxed(kit, ForwardingLiar::default()),
                Play::Random => Traitors::boxed(kit, RandomForger::default()),
                Play::Scripted(script) => Traitors::boxed(kit, script.clone()),
            }
        })
        .recording(record)
        .run(seed)
}

fn observations(run: &Run<LockStep<Sm>>) -> impl Iterator<Item = (NodeId, &sm::SmEvent)> {
    run.outputs.iter().map(|o| (o.node, &o.value))
}

fn config(args: &ByzantineArgs) -> anyhow::Result<SmConfig> {
    let choice = if args.median { Choice::Median } else { Choice::SingletonOrDefault };
    let config = SmConfig::new(args.generals, args.m()).with_choice(choice);
    config.validate()?;
    if args.traitors >= args.generals {
        bail!(
            "invalid `traitors`: {} traitors among {} generals leaves nobody loyal to check",
            args.traitors,
            args.generals
        );
    }
    if args.case.is_some() && !args.exhaustive {
        bail!("invalid `case`: --case numbers a case of --exhaustive");
    }
    Ok(config)
}

/// One run's inputs, and how to describe it.
struct Case {
    setup: Setup,
    play: Play,
    seed: u64,
    label: String,
}

/// Tallies runs into the report.
#[derive(Default)]
struct Tally {
    messages_sum: u64,
}

impl Tally {
    fn add(&mut self, report: &mut Report, found: &Instance) {
        report.runs += 1;
        let m = found.messages;
        self.messages_sum += m;
        report.messages_min = if report.runs == 1 { m } else { report.messages_min.min(m) };
        report.messages_max = report.messages_max.max(m);
        report.messages_per_run = self.messages_sum as f64 / report.runs as f64;
        let Verdict { ic1, ic2 } = found.verdict;
        report.violations += u64::from(!(ic1 && ic2));
        report.ic1_violations += u64::from(!ic1);
        report.ic2_violations += u64::from(!ic2);
    }
}

fn seed_case(config: &SmConfig, traitors: usize, seed: u64) -> Case {
    let mut rng = Rng::derive(seed, CASE_STREAM);
    let mut pool: Vec<NodeId> = NodeId::range(config.generals).collect();
    let placed: BTreeSet<NodeId> = (0..traitors).map(|_| pool.swap_remove(rng.index(pool.len()))).collect();
    let order = if rng.chance(0.5) { Order::Attack } else { Order::Retreat };
    let play = match rng.index(10) {
        0 => Play::Silent,
        1 => Play::Mimic,
        2 => Play::Equivocate,
        3 => Play::Liar,
        _ => Play::Random,
    };
    let label = format!("seed {seed}: traitors {}, order {order:?}, tactic {}", ids(&placed), play.name());
    let setup = Setup::new(config.clone().with_instance(seed), order, placed, seed);
    Case { setup, play, seed, label }
}

fn seeded(args: &ByzantineArgs, config: &SmConfig, report: &mut Report) -> anyhow::Result<()> {
    let end = args.seed.checked_add(args.seeds).context("--seed + --seeds overflows")?;
    let results = sweep::sweep(
        args.seed..end,
        threads(args),
        |seed| {
            let case = seed_case(config, args.traitors, seed);
            run_instance(&case.setup, &case.play, case.seed)
        },
        |_| {},
    );
    let mut tally = Tally::default();
    for (seed, found) in &results {
        tally.add(report, found);
        if report.first_violation.is_none() && !(found.verdict.ic1 && found.verdict.ic2) {
            let case = seed_case(config, args.traitors, *seed);
            let reproduce = reproduce(&[format!("--seed {seed}"), "--seeds 1".to_string()]);
            counterexample(args, report, &case, &found.verdict, reproduce, &format!("sm-seed{seed}.jsonl"))?;
        }
    }
    Ok(())
}

/// The placements of `traitors` traitors among `n` generals, in lexicographic order.
fn placements(n: usize, traitors: usize) -> Vec<BTreeSet<NodeId>> {
    fn go(from: u32, n: u32, left: usize, now: &mut Vec<NodeId>, out: &mut Vec<BTreeSet<NodeId>>) {
        if left == 0 {
            out.push(now.iter().copied().collect());
            return;
        }
        for g in from..n {
            now.push(NodeId(g));
            go(g + 1, n, left - 1, now, out);
            now.pop();
        }
    }
    let mut out = Vec::new();
    go(0, n as u32, traitors, &mut Vec::new(), &mut out);
    out
}

/// The exhaustive enumeration: per placement, both orders × every script over its slots.
struct Enumeration {
    /// (placement, its slots, its first case number).
    blocks: Vec<(BTreeSet<NodeId>, Vec<Slot>, u64)>,
    total: u64,
    keys: Keys,
}

impl Enumeration {
    fn new(args: &ByzantineArgs, config: &SmConfig) -> anyhow::Result<Self> {
        let mut blocks = Vec::new();
        let mut total: u64 = 0;
        for placed in placements(args.generals, args.traitors) {
            let slots = sm::script_slots(config, &placed);
            let scripts = u32::try_from(slots.len()).ok().and_then(|k| 3u64.checked_pow(k));
            let cases = scripts.and_then(|s| s.checked_mul(2)).and_then(|c| c.checked_add(total));
            match cases {
                Some(next) if next <= EXHAUSTIVE_CASES_MAX => {
                    blocks.push((placed, slots, total));
                    total = next;
                }
                _ => bail!(
                    "invalid `exhaustive`: more than {EXHAUSTIVE_CASES_MAX} cases for {} generals, {} traitors and m = {}; sample with --seeds instead",
                    args.generals,
                    args.traitors,
                    config.m
                ),
            }
        }
        // One PKI for the whole enumeration, memoized: the same chains recur from case to case.
        let keys = Keys::derive(args.seed, args.generals).memoized();
        Ok(Self { blocks, total, keys })
    }

    fn case(&self, config: &SmConfig, number: u64) -> Case {
        let block = self.blocks.partition_point(|(_, _, first)| *first <= number) - 1;
        let (placed, slots, first) = &self.blocks[block];
        let within = number - first;
        let order = if within % 2 == 0 { Order::Attack } else { Order::Retreat };
        let script = Scripted::nth(slots, within / 2);
        let picks: Vec<String> =
            script.picks().iter().map(|(s, v)| format!("{}→{} r{} {v:?}", s.traitor, s.to, s.round)).collect();
        let label = format!(
            "case {number}: traitors {}, order {order:?}, script [{}]",
            ids(placed),
            if picks.is_empty() { "nothing".to_string() } else { picks.join(", ") }
        );
        let setup = Setup::with_keys(config.clone(), order, placed.clone(), self.keys.clone());
        Case { setup, play: Play::Scripted(script), seed: number, label }
    }
}

fn exhaustive(args: &ByzantineArgs, config: &SmConfig, report: &mut Report) -> anyhow::Result<()> {
    let cases = Enumeration::new(args, config)?;
    if let Some(number) = args.case {
        if number >= cases.total {
            bail!("invalid `case`: there are {} cases, numbered 0 to {}", cases.total, cases.total.saturating_sub(1));
        }
        return replay(args, config, &cases, number, report);
    }
    let results = sweep::sweep(
        0..cases.total,
        threads(args),
        |number| {
            let case = cases.case(config, number);
            run_instance(&case.setup, &case.play, case.seed)
        },
        |_| {},
    );
    let mut tally = Tally::default();
    for (number, found) in &results {
        tally.add(report, found);
        if report.first_violation.is_none() && !(found.verdict.ic1 && found.verdict.ic2) {
            let case = cases.case(config, *number);
            let reproduce = reproduce(&["--exhaustive".to_string(), format!("--case {number}")]);
            counterexample(args, report, &case, &found.verdict, reproduce, &format!("sm-case{number}.jsonl"))?;
        }
    }
    Ok(())
}

/// `--case N`: one case, recorded; its trace is written whatever the outcome.
fn replay(
    args: &ByzantineArgs,
    config: &SmConfig,
    cases: &Enumeration,
    number: u64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let case = cases.case(config, number);
    let run = simulate(&case.setup, &case.play, case.seed, true);
    let found = Instance {
        verdict: case.setup.judge(observations(&run)),
        messages: run.summary.counters.sent,
        signatures_verified: sm::signatures_verified(observations(&run)),
    };
    Tally::default().add(report, &found);
    let command = reproduce(&["--exhaustive".to_string(), format!("--case {number}")]);
    let path = args.failures_dir.join(format!("sm-case{number}.jsonl"));
    report::write_trace(&run, &path, "generals-sm", Some(command.clone()))?;
    if report.violations > 0 {
        report.first_violation = Some(describe(&case, &found.verdict));
        report.reproduce = Some(command);
        report.counterexample = Some(path);
    } else if !args.json {
        eprintln!("{}: no violation; trace in {}", case.label, path.display());
    }
    Ok(())
}

/// Records the first violation: reruns it with the trace on and writes the trace.
fn counterexample(
    args: &ByzantineArgs,
    report: &mut Report,
    case: &Case,
    verdict: &Verdict,
    command: String,
    file: &str,
) -> anyhow::Result<()> {
    let run = simulate(&case.setup, &case.play, case.seed, true);
    let path = args.failures_dir.join(file);
    report::write_trace(&run, &path, "generals-sm", Some(command.clone()))?;
    report.first_violation = Some(describe(case, verdict));
    report.reproduce = Some(command);
    report.counterexample = Some(path);
    Ok(())
}

fn describe(case: &Case, verdict: &Verdict) -> String {
    let broken: Vec<&str> =
        [(!verdict.ic1).then_some("IC1"), (!verdict.ic2).then_some("IC2")].into_iter().flatten().collect();
    format!("{}: {} violated", case.label, broken.join(" and "))
}

fn ids(set: &BTreeSet<NodeId>) -> String {
    let v: Vec<String> = set.iter().map(ToString::to_string).collect();
    format!("[{}]", v.join(", "))
}

fn threads(args: &ByzantineArgs) -> usize {
    args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// This invocation without the flags that select runs or outputs, plus `extra`.
fn reproduce(extra: &[String]) -> String {
    const DROP_WITH_VALUE: &[&str] = &["--seed", "--seeds", "--case", "--threads", "--failures-dir"];
    const DROP: &[&str] = &["--json", "--exhaustive"];
    let mut out = vec!["herald".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let name = a.split('=').next().unwrap_or(&a);
        if DROP.contains(&name) {
            continue;
        }
        if DROP_WITH_VALUE.contains(&name) {
            if !a.contains('=') {
                args.next();
            }
            continue;
        }
        out.push(quote(&a));
    }
    out.extend(extra.iter().cloned());
    out.join(" ")
}

fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_are_every_subset_in_order() {
        let p = placements(4, 2);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], BTreeSet::from([NodeId(0), NodeId(1)]));
        assert_eq!(p[5], BTreeSet::from([NodeId(2), NodeId(3)]));
        assert_eq!(placements(3, 0), vec![BTreeSet::new()]);
    }

    #[test]
    fn one_instance_reports_verdict_messages_and_signature_checks() {
        let setup = Setup::new(SmConfig::new(4, 1), Order::Attack, BTreeSet::new(), 1);
        let found = run_instance(&setup, &Play::Silent, 1);
        assert_eq!(found.verdict, Verdict { ic1: true, ic2: true });
        assert_eq!(found.messages, 3 + 3 * 2, "(n − 1) + (n − 1)(n − 2) with a loyal commander");
        assert_eq!(found.signatures_verified, 3, "each lieutenant checks the commander's signature once");
    }
}
