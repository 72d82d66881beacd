//! `herald generals two`: the two generals over a lossy channel (lecture §2.1).
//!
//! Three modes:
//! - the default: outcome frequencies by Monte Carlo (one simulator run per seed, on all cores)
//!   beside their closed forms and 95% Wilson intervals, as a table over loss ratios, messengers and
//!   stages, or one JSON object (`--json`), or an SVG of measured against closed-form curves
//!   (`--plot`); `--exact` replaces Monte Carlo by enumerating every loss pattern;
//! - `--search`: the impossibility, by searching the loss patterns of every acknowledgement chain
//!   up to `--stages-max` stages and `--messengers-max` messengers for a run in which one general
//!   attacks alone;
//! - adversarial loss models (`--loss-model drop-final-stage | drop-all | script`) for either.
//!
//! The simulation itself lives in `trials.rs` and the protocol in
//! `herald_protocols::two_generals`; this file turns flags into cases and results into tables.

mod plot;
pub(crate) mod trials;

use crate::report::{self, EXIT_USAGE, EXIT_VIOLATED};
use clap::{Args, ValueEnum};
use herald_protocols::two_generals::{ClosedForm, LossModel, Outcome, Strategy, wilson};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Loss patterns (one simulator run each) the exact enumeration and the search may try per
/// protocol: a few seconds in release.
const PATTERNS_MAX: u64 = 250_000;
/// Default trials for a single row (the closed forms' third decimal is then significant).
const TRIALS_ONE_ROW: u64 = 200_000;
/// Default trials shared among many rows: a few seconds on a laptop in release.
const TRIALS_SHARED: u64 = 480_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum StrategyKind {
    /// Stages alternate G1→G2, G2→G1, …; each stage is --messengers copies, sent once the previous
    /// stage arrived; a general attacks iff every stage addressed to it arrived.
    AckChain,
    /// G1 sends --messengers copies and attacks regardless; G2 attacks iff one arrives (the
    /// one-stage chain).
    AttackRegardless,
    /// G1 sends a messenger every --interval until acknowledged or --deadline; G2 acknowledges
    /// every copy.
    RetryUntilAck,
    /// Varghese–Lynch information levels with a random key over --rounds rounds: disagreement at
    /// most 1/rounds against an oblivious adversary.
    RandomizedLevels,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LossKind {
    /// Each messenger captured independently with probability --loss (the fair-loss network).
    Iid,
    /// Capture every messenger of the protocol's last stage, and only those (Proof B).
    DropFinalStage,
    /// Capture every messenger.
    DropAll,
    /// Capture the messengers --script says.
    Script,
}

/// A list of values given as `V`, `V,V,…` or an inclusive range `LO..HI`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct List<T>(Vec<T>);

fn loss_list(s: &str) -> Result<List<f64>, String> {
    let values = s
        .split(',')
        .map(|v| {
            let p: f64 = v.trim().parse().map_err(|_| format!("`{v}` is not a number"))?;
            if (0.0..1.0).contains(&p) {
                Ok(p)
            } else {
                Err(format!(
                    "{p} is not a loss ratio in [0, 1) (a channel that loses everything is --loss-model drop-all)"
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(List(values))
}

fn count_list(s: &str) -> Result<List<u32>, String> {
    let number = |v: &str| -> Result<u32, String> {
        let n: u32 = v.trim().parse().map_err(|_| format!("`{v}` is not a whole number"))?;
        if n == 0 { Err("counts start at 1".into()) } else { Ok(n) }
    };
    let mut values = Vec::new();
    for part in s.split(',') {
        match part.split_once("..") {
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi.trim_start_matches('='))?);
                if lo > hi {
                    return Err(format!("`{part}`: the range is empty"));
                }
                values.extend(lo..=hi);
            }
            None => values.push(number(part)?),
        }
    }
    Ok(List(values))
}

/// A loss script: per messenger in send order, delivered or captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Script(Vec<bool>);

fn script(s: &str) -> Result<Script, String> {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | ','))
        .map(|c| match c {
            '1' => Ok(true),
            '0' => Ok(false),
            _ => Err(format!("`{c}`: a script is 1 (delivered) and 0 (captured), one per messenger in send order")),
        })
        .collect::<Result<_, _>>()
        .map(Script)
}

/// `herald generals two`: estimates how often the generals attack together, one alone, or
/// neither; or searches for a lone attack. The flags live in a box so that the subcommand enum
/// stays small.
#[derive(Args, Debug)]
pub(crate) struct TwoArgs {
    #[command(flatten)]
    flags: Box<Flags>,
}

/// The flags of `herald generals two`.
#[derive(Args, Debug)]
struct Flags {
    /// The strategy.
    #[arg(long, value_enum, default_value = "ack-chain")]
    strategy: StrategyKind,
    /// Probability that one messenger is captured, in [0, 1): one value or a comma-separated list.
    /// [default: 0.01,0.1,0.3,0.5]
    #[arg(long, value_parser = loss_list, value_name = "P[,P…]")]
    loss: Option<List<f64>>,
    /// Messengers per stage (k): one value, a list (1,2,5) or an inclusive range (1..10).
    /// [default: 1..10]
    #[arg(long, value_parser = count_list, value_name = "K")]
    messengers: Option<List<u32>>,
    /// Stages of the acknowledgement chain (d), as --messengers. [default: 1..6]
    #[arg(long, value_parser = count_list, value_name = "D")]
    stages: Option<List<u32>>,
    /// randomized-levels: rounds (r), as --messengers. [default: 10]
    #[arg(long, value_parser = count_list, value_name = "R")]
    rounds: Option<List<u32>>,
    /// retry-until-ack: time between G1's messengers. [default: 10ms]
    #[arg(long, value_parser = crate::parse::duration)]
    interval: Option<Duration>,
    /// retry-until-ack: when both generals decide (a messenger crosses in 1 to 10 ms).
    /// [default: 100ms]
    #[arg(long, value_parser = crate::parse::duration)]
    deadline: Option<Duration>,
    /// What captures the messengers.
    #[arg(long, value_enum, default_value = "iid")]
    loss_model: LossKind,
    /// With --loss-model script: per messenger in send order, 1 delivered or 0 captured (messengers
    /// past the end are delivered), e.g. 111000.
    #[arg(long, value_parser = script, value_name = "BITS")]
    script: Option<Script>,
    /// Monte Carlo trials per row, one simulator run (one seed) each. [default: 200,000 for one
    /// row; for more rows 480,000 shared among them, at least 1,000 each]
    #[arg(long)]
    trials: Option<u64>,
    /// The first seed; trial i of every row runs seed SEED + i.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Compute the probabilities exactly, by running every loss pattern once and weighing it by
    /// p^captured·(1−p)^delivered, instead of sampling (deterministic strategies, --loss-model iid).
    #[arg(long)]
    exact: bool,
    /// Print exactly one JSON object on stdout: the row's fields for one row, else {"rows": […]}.
    #[arg(long)]
    json: bool,
    /// Also write an SVG of the measured lone-attack probability against its closed form, one panel
    /// per stage count (ack-chain or attack-regardless, --loss-model iid).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// With one row: write the trace (JSON Lines) of its first trial here.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Search every acknowledgement chain up to --stages-max stages and --messengers-max messengers
    /// (or the one retry-until-ack protocol) for a loss pattern in which one general attacks alone.
    /// Exit 0 when every protocol has one, 1 when one does not.
    #[arg(long)]
    search: bool,
    /// With --search: the most stages. [default: 4]
    #[arg(long, value_name = "D")]
    stages_max: Option<u32>,
    /// With --search: the most messengers per stage. [default: 3]
    #[arg(long, value_name = "K")]
    messengers_max: Option<u32>,
    /// With --search: write each counterexample's trace into this directory.
    #[arg(long, value_name = "DIR")]
    trace_dir: Option<PathBuf>,
}

/// A command-line mistake, naming the flag.
struct Usage(String);

fn usage(message: impl Into<String>) -> Usage {
    Usage(message.into())
}

pub(crate) fn run(args: &TwoArgs) -> anyhow::Result<ExitCode> {
    let args = &*args.flags;
    if args.search {
        match check_search(args) {
            Ok(()) => search(args),
            Err(Usage(message)) => usage_error(&message),
        }
    } else {
        match plan(args) {
            Ok(plan) => estimate(args, &plan),
            Err(Usage(message)) => usage_error(&message),
        }
    }
}

fn usage_error(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("herald: {message}");
    Ok(ExitCode::from(EXIT_USAGE))
}

fn retry(args: &Flags) -> Strategy {
    Strategy::RetryUntilAck {
        interval: args.interval.unwrap_or(Duration::from_millis(10)),
        deadline: args.deadline.unwrap_or(Duration::from_millis(100)),
    }
}

fn threads(args: &Flags) -> usize {
    args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
}

/// One row: a strategy under a loss model.
#[derive(Clone, Debug)]
struct Case {
    strategy: Strategy,
    loss: LossModel,
}

impl Case {
    fn loss_ratio(&self) -> Option<f64> {
        match self.loss {
            LossModel::Iid { loss_ratio } => Some(loss_ratio),
            _ => None,
        }
    }

    fn closed_form(&self) -> Option<ClosedForm> {
        self.loss_ratio().and_then(|p| self.strategy.closed_form(p))
    }
}

/// What to measure: the rows, and the trials per row.
#[derive(Debug)]
struct Plan {
    cases: Vec<Case>,
    trials: u64,
}

/// Resolves the flags into the rows to measure, or says which flag is wrong.
fn plan(args: &Flags) -> Result<Plan, Usage> {
    let strategies = strategies(args)?;
    let losses = loss_models(args)?;
    if args.exact {
        check_exact(args, &strategies)?;
    }
    if args.plot.is_some()
        && !(matches!(args.strategy, StrategyKind::AckChain | StrategyKind::AttackRegardless)
            && args.loss_model == LossKind::Iid)
    {
        return Err(usage("--plot draws ack-chain or attack-regardless under --loss-model iid"));
    }
    if args.trace_dir.is_some() || args.stages_max.is_some() || args.messengers_max.is_some() {
        return Err(usage("--trace-dir, --stages-max and --messengers-max apply to --search"));
    }
    let cases: Vec<Case> = losses
        .iter()
        .flat_map(|loss| strategies.iter().map(|strategy| Case { strategy: strategy.clone(), loss: loss.clone() }))
        .collect();
    if args.trace.is_some() && cases.len() != 1 {
        return Err(usage(format!("--trace writes one row's first trial, but the flags give {} rows", cases.len())));
    }
    let trials = args.trials.unwrap_or_else(|| (TRIALS_SHARED / cases.len() as u64).clamp(1_000, TRIALS_ONE_ROW));
    if trials == 0 {
        return Err(usage("--trials: at least one trial"));
    }
    if args.seed.checked_add(trials).is_none() {
        return Err(usage("--seed + --trials overflows"));
    }
    Ok(Plan { cases, trials })
}

/// The strategies the flags name: every combination of the lists that apply to --strategy.
fn strategies(args: &Flags) -> Result<Vec<Strategy>, Usage> {
    let name = args.strategy.to_possible_value().map_or(String::new(), |v| v.get_name().to_string());
    let refuse = |flag: &str, given: bool| {
        if given { Err(usage(format!("--{flag} does not apply to --strategy {name}"))) } else { Ok(()) }
    };
    let list = |l: &Option<List<u32>>, default: &[u32]| l.as_ref().map_or(default.to_vec(), |l| l.0.clone());
    let messengers = list(&args.messengers, &(1..=10).collect::<Vec<_>>());
    let strategies: Vec<Strategy> = match args.strategy {
        StrategyKind::AckChain => {
            refuse("rounds", args.rounds.is_some())?;
            list(&args.stages, &[1, 2, 3, 4, 5, 6])
                .into_iter()
                .flat_map(|stages| messengers.iter().map(move |&messengers| Strategy::AckChain { stages, messengers }))
                .collect()
        }
        StrategyKind::AttackRegardless => {
            refuse("stages", args.stages.is_some())?;
            refuse("rounds", args.rounds.is_some())?;
            messengers.into_iter().map(|messengers| Strategy::AttackRegardless { messengers }).collect()
        }
        StrategyKind::RetryUntilAck => {
            refuse("stages", args.stages.is_some())?;
            refuse("messengers", args.messengers.is_some())?;
            refuse("rounds", args.rounds.is_some())?;
            vec![retry(args)]
        }
        StrategyKind::RandomizedLevels => {
            refuse("stages", args.stages.is_some())?;
            refuse("messengers", args.messengers.is_some())?;
            list(&args.rounds, &[10]).into_iter().map(|rounds| Strategy::RandomizedLevels { rounds }).collect()
        }
    };
    if args.strategy != StrategyKind::RetryUntilAck {
        refuse("interval", args.interval.is_some())?;
        refuse("deadline", args.deadline.is_some())?;
    }
    for strategy in &strategies {
        // The parameter a strategy names in its complaint is the flag of the same name.
        strategy.validate().map_err(|e| usage(format!("--{e}")))?;
    }
    Ok(strategies)
}

/// The loss models the flags name: one per --loss value, or the one adversarial model.
fn loss_models(args: &Flags) -> Result<Vec<LossModel>, Usage> {
    if args.script.is_some() && args.loss_model != LossKind::Script {
        return Err(usage("--script applies to --loss-model script"));
    }
    if args.loss.is_some() && args.loss_model != LossKind::Iid {
        return Err(usage("--loss applies to --loss-model iid"));
    }
    Ok(match args.loss_model {
        LossKind::Iid => {
            let losses = args.loss.as_ref().map_or(vec![0.01, 0.1, 0.3, 0.5], |l| l.0.clone());
            losses.into_iter().map(|loss_ratio| LossModel::Iid { loss_ratio }).collect()
        }
        LossKind::DropFinalStage => vec![LossModel::DropFinalStage],
        LossKind::DropAll => vec![LossModel::DropAll],
        LossKind::Script => {
            let script = args.script.clone().ok_or_else(|| usage("--loss-model script needs --script BITS"))?;
            vec![LossModel::Script(script.0)]
        }
    })
}

/// --exact weighs the loss patterns of deterministic strategies, and only within a budget.
fn check_exact(args: &Flags, strategies: &[Strategy]) -> Result<(), Usage> {
    if args.loss_model != LossKind::Iid {
        return Err(usage("--exact weighs loss patterns by --loss: it needs --loss-model iid"));
    }
    if args.strategy == StrategyKind::RandomizedLevels {
        return Err(usage("--exact needs a deterministic --strategy: randomized-levels draws a key"));
    }
    for strategy in strategies {
        if let Some((stages, messengers)) = strategy.chain() {
            // Stage s fails first after s − 1 stages of 2^k − 1 successful patterns each, or none fails.
            let successes = 2_u64.saturating_pow(messengers) - 1;
            let count = (0..=stages).map(|s| successes.saturating_pow(s)).fold(0_u64, u64::saturating_add);
            if count > PATTERNS_MAX {
                return Err(usage(format!(
                    "--exact: {strategy} has {count} loss patterns, more than {PATTERNS_MAX}: choose fewer --stages or --messengers"
                )));
            }
        }
    }
    Ok(())
}

/// What one row measured.
#[derive(Debug)]
struct Measured {
    case: Case,
    /// Per outcome (indexed by `Outcome::index`): the fraction, and its 95% interval if sampled.
    fractions: [f64; 4],
    intervals: Option<[(f64, f64); 4]>,
    /// (lone attacks, and their interval if sampled).
    lone: f64,
    lone_interval: Option<(f64, f64)>,
    messengers_mean: f64,
    /// Trials run, or loss patterns enumerated.
    samples: u64,
}

/// Loss patterns already enumerated, per strategy: rows that differ only in p share them.
type PatternCache = Vec<(Strategy, Vec<trials::Pattern>)>;

fn measure(
    args: &Flags,
    trials: u64,
    case: &Case,
    threads: usize,
    cache: &mut PatternCache,
) -> anyhow::Result<Measured> {
    if args.exact {
        let p = case.loss_ratio().expect("--exact is checked to need iid loss");
        if !cache.iter().any(|(s, _)| *s == case.strategy) {
            cache.push((case.strategy.clone(), trials::patterns(&case.strategy, PATTERNS_MAX)?));
        }
        let patterns = &cache.iter().find(|(s, _)| *s == case.strategy).expect("just cached").1;
        let e = trials::weigh(patterns, p);
        let lone = e.probabilities[Outcome::OnlyG1.index()] + e.probabilities[Outcome::OnlyG2.index()];
        return Ok(Measured {
            case: case.clone(),
            fractions: e.probabilities,
            intervals: None,
            lone,
            lone_interval: None,
            messengers_mean: e.messengers_mean,
            samples: e.patterns,
        });
    }
    let seeds = args.seed..args.seed + trials;
    let tally = trials::monte_carlo(&case.strategy, &case.loss, seeds, threads)?;
    let interval = |count| wilson(count, tally.trials);
    Ok(Measured {
        case: case.clone(),
        fractions: Outcome::ALL.map(|o| tally.fraction(tally.count(o))),
        intervals: Some(Outcome::ALL.map(|o| interval(tally.count(o)))),
        lone: tally.fraction(tally.lone()),
        lone_interval: Some(interval(tally.lone())),
        messengers_mean: tally.messengers as f64 / tally.trials as f64,
        samples: tally.trials,
    })
}

impl Measured {
    /// The row as JSON: the CLI's contract.
    fn json(&self, args: &Flags) -> Value {
        let c = self.case.closed_form();
        let both = Outcome::BothAttack.index();
        let neither = Outcome::Neither.index();
        let ci = |i: Option<(f64, f64)>| i.map(|(lo, hi)| json!([lo, hi]));
        let mut v = json!({
            "strategy": self.case.strategy,
            "loss_model": trials::loss_name(&self.case.loss),
            "loss": self.case.loss_ratio(),
            "method": if args.exact { "exact" } else { "monte-carlo" },
            "trials": if args.exact { Value::Null } else { json!(self.samples) },
            "seed": if args.exact { Value::Null } else { json!(args.seed) },
            "both_attack": self.fractions[both],
            "both_attack_expected": c.map(|c| c.both),
            "both_attack_ci95": ci(self.intervals.map(|i| i[both])),
            "one_attacks": self.lone,
            "one_attacks_expected": c.map(|c| c.lone),
            "one_attacks_ci95": ci(self.lone_interval),
            "neither": self.fractions[neither],
            "neither_expected": c.map(|c| c.neither),
            "neither_ci95": ci(self.intervals.map(|i| i[neither])),
            "only_g1": self.fractions[Outcome::OnlyG1.index()],
            "only_g2": self.fractions[Outcome::OnlyG2.index()],
            "lone_attacker_expected": c.map(|c| format!("G{}", c.lone_attacker.0 + 1)),
            "messengers_mean": self.messengers_mean,
            "messengers_expected": c.map(|c| c.messengers_mean),
            "one_attacks_bound": self.case.strategy.disagreement_bound(),
        });
        if let Some((stages, messengers)) = self.case.strategy.chain() {
            v["stages"] = json!(stages);
            v["messengers"] = json!(messengers);
        }
        if let Some(i) = &self.intervals {
            v["only_g1_ci95"] = json!([i[Outcome::OnlyG1.index()].0, i[Outcome::OnlyG1.index()].1]);
            v["only_g2_ci95"] = json!([i[Outcome::OnlyG2.index()].0, i[Outcome::OnlyG2.index()].1]);
        }
        if args.exact {
            v["patterns"] = json!(self.samples);
        }
        v
    }

    /// How many of the three closed forms lie in their 95% intervals, out of how many.
    fn closed_forms_covered(&self) -> Option<(u32, u32)> {
        let c = self.case.closed_form()?;
        let (Some(i), Some(lone)) = (self.intervals, self.lone_interval) else { return None };
        let inside = |(lo, hi): (f64, f64), x: f64| u32::from(lo <= x && x <= hi);
        let covered = inside(i[Outcome::BothAttack.index()], c.both)
            + inside(lone, c.lone)
            + inside(i[Outcome::Neither.index()], c.neither);
        Some((covered, 3))
    }
}

fn estimate(args: &Flags, plan: &Plan) -> anyhow::Result<ExitCode> {
    let cases = &plan.cases;
    let threads = threads(args);
    let started = Instant::now();
    let bar = ProgressBar::new(cases.len() as u64);
    bar.set_style(ProgressStyle::with_template("{spinner} {pos}/{len} rows {wide_bar} eta {eta}").expect("static"));
    let mut rows = Vec::with_capacity(cases.len());
    let mut cache = PatternCache::new();
    for case in cases {
        rows.push(measure(args, plan.trials, case, threads, &mut cache)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wall = started.elapsed();
    let trace = match &args.trace {
        Some(path) => Some(write_first_trial(args, &cases[0], path)?),
        None => None,
    };
    if let Some(path) = &args.plot {
        let points: Vec<plot::Point> = rows
            .iter()
            .filter_map(|r| {
                let (stages, messengers) = r.case.strategy.chain()?;
                Some(plot::Point {
                    loss: r.case.loss_ratio()?,
                    stages,
                    messengers,
                    measured: r.lone,
                    expected: r.case.closed_form()?.lone,
                })
            })
            .collect();
        plot::draw(path, &points, if args.exact { None } else { Some(plan.trials) })?;
    }
    if args.json {
        let mut out = if rows.len() == 1 {
            rows[0].json(args)
        } else {
            json!({ "rows": rows.iter().map(|r| r.json(args)).collect::<Vec<_>>(), "trials": plan.trials })
        };
        if let Some(path) = &args.plot {
            out["plot"] = json!(path);
        }
        if let Some(path) = &trace {
            out["trace"] = json!(path);
        }
        outln!("{}", serde_json::to_string(&out)?);
    } else {
        print_table(args, plan.trials, &rows, threads, wall)?;
        if let Some(path) = &args.plot {
            outln!("plot: {}", path.display());
        }
        if let Some(path) = &trace {
            outln!("trace of seed {}: {}", args.seed, path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_first_trial(args: &Flags, case: &Case, path: &std::path::Path) -> anyhow::Result<PathBuf> {
    let run = trials::simulation(&case.strategy, &case.loss)?.recording(true).run(args.seed);
    let reproduce = reproduce_first_trial(args.seed);
    report::write_trace(&run, path, "two-generals", Some(reproduce))?;
    Ok(path.to_path_buf())
}

/// The command line that reruns the first trial of this invocation's one row: the original
/// arguments without the flags that choose seeds and outputs, plus `--trials 1 --seed SEED`.
fn reproduce_first_trial(seed: u64) -> String {
    const DROP_WITH_VALUE: &[&str] = &["--trials", "--seed", "--threads", "--plot", "--trace"];
    let mut out = vec!["herald".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let name = a.split('=').next().unwrap_or(&a);
        if name == "--json" {
            continue;
        }
        if DROP_WITH_VALUE.contains(&name) {
            if !a.contains('=') {
                args.next();
            }
            continue;
        }
        out.push(a);
    }
    out.push(format!("--trials 1 --seed {seed}"));
    out.join(" ")
}

fn print_table(args: &Flags, trials: u64, rows: &[Measured], threads: usize, wall: Duration) -> anyhow::Result<()> {
    let method = if args.exact {
        "exact: every loss pattern weighed".to_string()
    } else {
        format!("{trials} trials per row (seeds {}..{})", args.seed, args.seed + trials)
    };
    outln!(
        "herald generals two · {} · {} row{} · {method} · {threads} threads · {:.1} s",
        trials::loss_name(&rows[0].case.loss),
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        wall.as_secs_f64()
    );
    let w = rows.iter().map(|r| r.case.strategy.to_string().chars().count()).max().unwrap_or(0).max(8);
    let (both, one, neither, sent, ci) = ("both attack", "one attacks", "neither", "messengers", "formula in CI");
    outln!("{:<w$} {:>6} │ {both:>17} │ {one:>21} │ {neither:>17} │ {sent:>15} │ {ci}", "strategy", "loss");
    let (m, f) = ("measured", "formula");
    outln!(
        "{:<w$} {:>6} │ {m:>8} {f:>8} │ {m:>8} {f:>8} {:>3} │ {m:>8} {f:>8} │ {:>7} {f:>7} │",
        "",
        "p",
        "who",
        "mean"
    );
    for r in rows {
        outln!("{}", table_row(r, w));
    }
    if !args.exact && rows.iter().any(|r| r.case.closed_form().is_some()) {
        let (covered, of) =
            rows.iter().filter_map(Measured::closed_forms_covered).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        outln!("closed forms inside their 95% Wilson interval: {covered} of {of} (about 95% expected)");
    }
    if rows.iter().any(|r| r.case.strategy.disagreement_bound().is_some()) {
        outln!("randomized-levels: the formula column holds the bound 1/r on disagreement for any oblivious schedule");
    }
    Ok(())
}

fn table_row(r: &Measured, w: usize) -> String {
    let c = r.case.closed_form();
    let cell = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.6}"));
    let who = match (c, r.fractions[Outcome::OnlyG1.index()] > 0.0, r.fractions[Outcome::OnlyG2.index()] > 0.0) {
        (Some(c), _, _) => format!("G{}", c.lone_attacker.0 + 1),
        (None, true, true) => "G*".to_string(),
        (None, true, false) => "G1".to_string(),
        (None, false, true) => "G2".to_string(),
        (None, false, false) => "-".to_string(),
    };
    let lone_formula = match r.case.strategy.disagreement_bound() {
        Some(bound) => format!("≤{bound:.4}"),
        None => cell(c.map(|c| c.lone)),
    };
    format!(
        "{:<w$} {:>6} │ {:>8.6} {:>8} │ {:>8.6} {:>8} {:>3} │ {:>8.6} {:>8} │ {:>7.3} {:>7} │ {}",
        r.case.strategy.to_string(),
        r.case.loss_ratio().map_or("-".to_string(), |p| format!("{p}")),
        r.fractions[Outcome::BothAttack.index()],
        cell(c.map(|c| c.both)),
        r.lone,
        lone_formula,
        who,
        r.fractions[Outcome::Neither.index()],
        cell(c.map(|c| c.neither)),
        r.messengers_mean,
        c.map_or("-".to_string(), |c| format!("{:.3}", c.messengers_mean)),
        r.closed_forms_covered().map_or("-".to_string(), |(a, b)| format!("{a}/{b}"))
    )
}

fn check_search(args: &Flags) -> Result<(), Usage> {
    if args.stages_max == Some(0) || args.messengers_max == Some(0) {
        return Err(usage("--stages-max and --messengers-max: at least 1"));
    }
    match args.strategy {
        StrategyKind::AckChain | StrategyKind::AttackRegardless => {
            if args.stages.is_some() || args.messengers.is_some() {
                return Err(usage(
                    "--search covers every chain up to --stages-max and --messengers-max: drop --stages and --messengers",
                ));
            }
        }
        StrategyKind::RetryUntilAck => {
            if args.stages_max.is_some() || args.messengers_max.is_some() {
                return Err(usage("--stages-max and --messengers-max apply to the ack-chain family"));
            }
            retry(args).validate().map_err(|e| usage(format!("--{e}")))?;
        }
        StrategyKind::RandomizedLevels => {
            return Err(usage(
                "--search looks for a loss pattern that always breaks a deterministic protocol; randomized-levels breaks only with probability, so estimate it instead",
            ));
        }
    }
    if args.loss.is_some() || args.loss_model != LossKind::Iid || args.script.is_some() {
        return Err(usage("--search tries every loss pattern: drop --loss, --loss-model and --script"));
    }
    if args.exact || args.plot.is_some() || args.trace.is_some() {
        return Err(usage("--exact, --plot and --trace do not apply to --search (use --trace-dir)"));
    }
    Ok(())
}

fn search(args: &Flags) -> anyhow::Result<ExitCode> {
    let protocols: Vec<Strategy> = match args.strategy {
        StrategyKind::RetryUntilAck => vec![retry(args)],
        _ => {
            let messengers_max = args.messengers_max.unwrap_or(3);
            (1..=args.stages_max.unwrap_or(4))
                .flat_map(|stages| {
                    (1..=messengers_max).map(move |messengers| Strategy::AckChain { stages, messengers })
                })
                .collect()
        }
    };
    if !args.json {
        outln!(
            "herald generals two --search · {} protocol{} · loss patterns tried depth first from \"nothing lost\", capturing the last delivered messenger first",
            protocols.len(),
            if protocols.len() == 1 { "" } else { "s" }
        );
    }
    let mut found_all = true;
    let mut results = Vec::new();
    for strategy in &protocols {
        let Some(found) = trials::search(strategy, args.seed, PATTERNS_MAX)? else {
            found_all = false;
            if !args.json {
                outln!("{:<28} no lone attack within {PATTERNS_MAX} loss patterns", strategy.to_string());
            }
            results.push(json!({ "strategy": strategy, "found": false }));
            continue;
        };
        let trace = match &args.trace_dir {
            Some(dir) => {
                let path = dir.join(format!("two-generals-{}.jsonl", file_stem(strategy)));
                report::write_trace(&found.run, &path, "two-generals", Some(replay_command(&found)))?;
                Some(path)
            }
            None => None,
        };
        let outcome = found.pattern.trial.outcome;
        if !args.json {
            outln!(
                "{:<28} {:<17} after {:>4} patterns: {}",
                strategy.to_string(),
                outcome.to_string(),
                found.runs,
                found.by_stage()
            );
            outln!("{:<28} replay: {}", "", replay_command(&found));
            if let Some(path) = &trace {
                outln!("{:<28} trace:  {}", "", path.display());
            }
        }
        results.push(json!({
            "strategy": strategy, "found": true, "outcome": outcome, "script": found.script(),
            "stages": found.by_stage(), "patterns_tried": found.runs, "messengers": found.pattern.trial.messengers,
            "replay": replay_command(&found), "trace": trace,
        }));
    }
    if args.json {
        outln!("{}", serde_json::to_string(&json!({ "search": results, "every_protocol_broken": found_all }))?);
    } else if found_all {
        outln!(
            "every protocol has a run in which one general attacks alone: no finite protocol guarantees \"both or neither\""
        );
    }
    Ok(ExitCode::from(if found_all { 0 } else { EXIT_VIOLATED }))
}

fn file_stem(strategy: &Strategy) -> String {
    match strategy {
        Strategy::RetryUntilAck { interval, deadline } => {
            format!("retry-until-ack-{}ms-{}ms", interval.as_millis(), deadline.as_millis())
        }
        other => {
            let (stages, messengers) = other.chain().unwrap_or((0, 0));
            format!("ack-chain-d{stages}-k{messengers}")
        }
    }
}

/// The command that reruns a counterexample as a single trial and writes its trace.
fn replay_command(found: &trials::Counterexample) -> String {
    let strategy = &found.strategy;
    let which = match strategy {
        Strategy::RetryUntilAck { interval, deadline } => {
            format!(
                "--strategy retry-until-ack --interval {}ms --deadline {}ms",
                interval.as_millis(),
                deadline.as_millis()
            )
        }
        other => {
            let (stages, messengers) = other.chain().unwrap_or((0, 0));
            format!("--stages {stages} --messengers {messengers}")
        }
    };
    format!(
        "herald generals two {which} --loss-model script --script {} --trials 1 --seed {} --trace two-generals-{}.jsonl",
        found.script(),
        found.run.seed,
        file_stem(strategy)
    )
}
