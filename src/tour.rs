//! The tour of the lecture (`herald` with no arguments): one small workload — node 0 broadcasting
//! numbered notes to three peers — under each network, node and timing model of lecture §2.3, and a
//! table of what each model did to the messages; then the two and the Byzantine generals; then
//! what can go wrong with an RPC, the link conversions and availability ([`rpc`]).

use crate::scenario;
use clap::Args as ClapArgs;
use herald_core::NodeId;
use herald_core::time::human;
use herald_core::trace::CutMode;
use herald_protocols::broadcast_demo::{self, Tally};
use herald_sim::{
    AdversarySpec, Latency, NetworkModel, NodeModel, Partition, Pauses, ScheduledCrash, SimConfig, TimingModel, Window,
};
use serde::Serialize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod rpc;

/// `herald tour`.
#[derive(ClapArgs, Debug, Default, Clone)]
pub(crate) struct TourArgs {
    /// The seed every row uses.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the rows as one JSON object.
    #[arg(long)]
    json: bool,
}

const NODES: usize = 4;
const NOTES: u32 = 40;
const INTERVAL: Duration = Duration::from_millis(10);

#[derive(Serialize)]
struct Row {
    model: &'static str,
    lesson: &'static str,
    sent: u64,
    delivered: u64,
    dropped: u64,
    duplicated: u64,
    forged: u64,
    heard: Tally,
    latency_p50_ns: u64,
    latency_p99_ns: u64,
    latency_max_ns: u64,
    status: String,
}

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

/// The tour's rows: a label, what it teaches, and the configuration.
fn models() -> Vec<(&'static str, &'static str, SimConfig)> {
    let base = || {
        let mut c = SimConfig::new(NODES);
        c.limits.time_max = ms(1_000);
        c
    };
    let with = |f: &dyn Fn(&mut SimConfig)| {
        let mut c = base();
        f(&mut c);
        c
    };
    let fair = NetworkModel::FairLoss { loss: 0.2, duplicate: 0.1, duplicates_max: 2, reorder: true };
    let everyone_else = |a: u32, start: u64, end: u64, mode: CutMode| Partition {
        start: ms(start),
        end: Some(ms(end)),
        side_a: vec![NodeId(a)],
        side_b: vec![],
        symmetric: true,
        mode,
    };
    vec![
        ("reliable", "every note exactly once; order may vary", base()),
        (
            "reliable, FIFO",
            "exactly once, in send order per link",
            with(&|c| c.model.network = NetworkModel::Reliable { fifo: true }),
        ),
        ("fair-loss 20%, dup 10%", "lost and duplicated, never invented", with(&|c| c.model.network = fair.clone())),
        (
            "fair-loss + partition",
            "a cut drops everything while it lasts",
            with(&|c| {
                c.model.network = fair.clone();
                c.model.partitions.push(everyone_else(0, 150, 350, CutMode::Drop));
            }),
        ),
        (
            "reliable + partition (hold)",
            "held at the cut, delivered late",
            with(&|c| c.model.partitions.push(everyone_else(0, 150, 350, CutMode::Hold))),
        ),
        (
            "arbitrary: modify-random-bit",
            "altered bytes: garbled or wrong notes",
            with(&|c| {
                c.model.network = NetworkModel::Arbitrary { adversary: AdversarySpec::ModifyRandomBit { ratio: 0.3 } }
            }),
        ),
        (
            "arbitrary: spoof-as n1",
            "forged sender: notes 'from' n1",
            with(&|c| {
                c.model.network =
                    NetworkModel::Arbitrary { adversary: AdversarySpec::SpoofAs { as_node: NodeId(1), ratio: 0.3 } }
            }),
        ),
        (
            "arbitrary: replay-everything",
            "every note arrives twice",
            with(&|c| c.model.network = NetworkModel::Arbitrary { adversary: AdversarySpec::ReplayEverything }),
        ),
        (
            "arbitrary: drop-all",
            "blocking: nothing gets through",
            with(&|c| c.model.network = NetworkModel::Arbitrary { adversary: AdversarySpec::DropAll }),
        ),
        (
            "crash-stop: n2 at 200ms",
            "a crashed node hears nothing more",
            with(&|c| {
                c.model.nodes = NodeModel::CrashStop {
                    crashes: vec![ScheduledCrash { node: NodeId(2), at: ms(200), restart_after: None }],
                    rate_per_sec: 0.0,
                    crashes_max: 1,
                }
            }),
        ),
        (
            "crash-recovery: n2 down 200-350ms",
            "misses notes while down, then resumes",
            with(&|c| {
                c.model.nodes = NodeModel::CrashRecovery {
                    crashes: vec![ScheduledCrash { node: NodeId(2), at: ms(200), restart_after: Some(ms(150)) }],
                    rate_per_sec: 0.0,
                    restart_min: ms(10),
                    restart_max: ms(100),
                }
            }),
        ),
        (
            "byzantine: n3 forges",
            "a traitor invents notes",
            with(&|c| c.model.nodes = NodeModel::Byzantine { faulty: vec![NodeId(3)] }),
        ),
        (
            "synchronous, delay ≤ 10ms",
            "every delay within the known bound",
            with(&|c| c.model.timing = TimingModel::Synchronous { delay_max: ms(10), step_max: ms(1) }),
        ),
        (
            "partially synchronous",
            "unbounded delays inside 200-500ms only",
            with(&|c| {
                c.model.timing = TimingModel::PartiallySynchronous {
                    delay_max: ms(10),
                    step_max: ms(1),
                    windows: vec![Window { start: ms(200), end: ms(500) }],
                    async_delay: Latency::Exponential { min: Duration::ZERO, mean: ms(80) },
                    pauses: Pauses { rate_per_sec: 2.0, duration: Latency::uniform(ms(10), ms(100)) },
                }
            }),
        ),
        (
            "asynchronous, heavy tail",
            "no bound: Pareto delays, node pauses",
            with(&|c| {
                c.link.latency = Latency::Pareto { min: ms(1), shape: 1.2 };
                c.model.timing = TimingModel::Asynchronous {
                    pauses: Pauses { rate_per_sec: 2.0, duration: Latency::uniform(ms(10), ms(200)) },
                };
            }),
        ),
    ]
}

pub(crate) fn run(args: &TourArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut all_ok = true;
    let mut report = crate::tour_report::Report::create()?;
    for (model, lesson, config) in models() {
        let sc = scenario::broadcast(&config, NOTES, INTERVAL)?;
        // The tour shows what each model does; only the simulator's own guarantees must hold.
        let mut oracles = sc.oracles;
        oracles.truncate(sc.model_oracles);
        let run = sc.sim.recording(true).run(args.seed);
        let outcome = crate::report::Outcome::of(&run, &oracles);
        report.run(
            model,
            lesson,
            &run,
            "broadcast-demo",
            format!("herald tour --seed {} (row: {model})", args.seed),
        )?;
        all_ok &= outcome.is_ok();
        let c = &run.summary.counters;
        let l = &run.summary.latency_ns;
        rows.push(Row {
            model,
            lesson,
            sent: c.sent,
            delivered: c.delivered,
            dropped: c.dropped,
            duplicated: c.duplicated,
            forged: c.modified + c.injected + c.replayed,
            heard: broadcast_demo::tally(&run.correct, NOTES, run.outputs.iter().map(|o| (o.node, &o.value))),
            latency_p50_ns: l.p50,
            latency_p99_ns: l.p99,
            latency_max_ns: l.max,
            status: outcome.describe(),
        });
    }
    let generals = generals(args.seed)?;
    report.generals(args.seed, &generals.two.iter().map(TwoRow::outcomes).collect::<Vec<_>>())?;
    // The lessons must show: if they do not, something is broken, and the tour says so.
    all_ok &= generals.byzantine.iter().map(|r| r.violations > 0).eq([false, true, false]);
    all_ok &= generals.final_stage_captured.iter().all(|(_, f)| *f == 1.0);
    let rpc = rpc::measure(args.seed)?;
    all_ok &= rpc.lessons_hold;
    report.rpc(args.seed)?;
    // The same OM nodes as real OS processes over TCP (herald-net), judged by the same oracle.
    let cluster_dir = std::env::temp_dir().join(format!("herald-tour-cluster-{}", std::process::id()));
    let real = match crate::cluster::tour_run(args.seed, &cluster_dir) {
        Ok((line, agreed, trace)) => {
            all_ok &= agreed;
            if let Some(trace) = trace {
                report.trace_file("OM(1), 4 real processes over TCP and mutual TLS, one traitor", &line, &trace)?;
            }
            line
        }
        // No processes or sockets here (a sandbox): say so; the simulated lessons above still stand.
        Err(e) => format!("could not start real processes: {e:#}"),
    };
    let _ = std::fs::remove_dir_all(&cluster_dir);
    let index = report.finish()?;
    if args.json {
        outln!(
            "{}",
            serde_json::json!({
                "seed": args.seed, "nodes": NODES, "notes": NOTES, "rows": rows, "generals": generals, "rpc": rpc,
                "real_run": real
            })
        );
    } else {
        print_table(&rows, args.seed)?;
        print_generals(&generals)?;
        rpc::print(&rpc)?;
        outln!("");
        outln!("For real (herald-net): OM(1) with the simulator's own nodes as OS processes.");
        outln!("  {real}");
        outln!("");
        outln!("Diagrams and plots of every scenario: {}", index.display());
        outln!("({:.0} ms in all)", started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ExitCode::from(if all_ok { 0 } else { crate::report::EXIT_VIOLATED }))
}

fn print_table(rows: &[Row], seed: u64) -> std::io::Result<()> {
    outln!("Herald — a tour of the system models (lecture §2.3)");
    outln!("");
    outln!(
        "Node 0 broadcasts {NOTES} numbered notes to {} peers, one every {}; the peers report every note",
        NODES - 1,
        human(INTERVAL.as_nanos() as u64)
    );
    outln!("they are handed. The same protocol and seed ({seed}) run under each model; the simulator's oracles check");
    outln!(
        "that each model kept its promises. 'heard' counts (receiver, note) pairs: got / missing / extra copies / bogus."
    );
    outln!("");
    outln!(
        "{:<34} {:>5} {:>6} {:>5} {:>4} {:>6}  {:>20}  {:>8} {:>8} {:>9}  what it shows",
        "model",
        "sent",
        "deliv",
        "lost",
        "dup",
        "forged",
        "heard got/miss/x2/bad",
        "p50",
        "p99",
        "max",
    );
    for r in rows {
        let h = r.heard;
        outln!(
            "{:<34} {:>5} {:>6} {:>5} {:>4} {:>6}  {:>20}  {:>8} {:>8} {:>9}  {}{}",
            r.model,
            r.sent,
            r.delivered,
            r.dropped,
            r.duplicated,
            r.forged,
            format!("{}/{}/{}/{}", h.unique, h.missing, h.repeated, h.bogus),
            human(r.latency_p50_ns),
            human(r.latency_p99_ns),
            human(r.latency_max_ns),
            r.lesson,
            if r.status == "ok" { String::new() } else { format!("  [{}]", r.status) }
        );
    }
    outln!("");
    outln!(
        "Try one yourself: herald sim broadcast-demo --nodes 4 --network fair-loss --loss 0.2 --duplicate 0.1 --seed {seed} --trace t.jsonl"
    );
    Ok(())
}

/// The two generals and the Byzantine generals, as the tour shows them.
#[derive(Serialize)]
struct Generals {
    two: Vec<TwoRow>,
    final_stage_captured: Vec<(u32, f64)>,
    byzantine: Vec<ByzantineRow>,
}

#[derive(Serialize)]
struct TwoRow {
    stages: u32,
    trials: u64,
    both: f64,
    both_expected: f64,
    lone: f64,
    lone_expected: f64,
    neither: f64,
    neither_expected: f64,
}

#[derive(Serialize)]
struct ByzantineRow {
    label: &'static str,
    lesson: &'static str,
    runs: u64,
    violations: u64,
    messages_per_run: f64,
}

impl TwoRow {
    fn outcomes(&self) -> crate::tour_report::TwoGenerals {
        crate::tour_report::TwoGenerals {
            stages: self.stages,
            measured: [self.both, self.lone, self.neither],
            expected: [self.both_expected, self.lone_expected, self.neither_expected],
        }
    }
}

const TWO_LOSS: f64 = 0.3;
const TWO_MESSENGERS: u32 = 3;
const TWO_TRIALS: u64 = 20_000;

fn generals(seed: u64) -> anyhow::Result<Generals> {
    use crate::generals::byzantine::{Algorithm, ByzantineArgs};
    use crate::generals::two::trials;
    use herald_protocols::two_generals::{LossModel, Outcome, Strategy};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut two = Vec::new();
    let mut final_stage_captured = Vec::new();
    for stages in 1..=3 {
        let strategy = Strategy::AckChain { stages, messengers: TWO_MESSENGERS };
        let iid = LossModel::Iid { loss_ratio: TWO_LOSS };
        let tally = trials::monte_carlo(&strategy, &iid, seed..seed + TWO_TRIALS, threads)?;
        let expected = strategy.closed_form(TWO_LOSS).expect("an ack chain has a closed form");
        two.push(TwoRow {
            stages,
            trials: tally.trials,
            both: tally.fraction(tally.count(Outcome::BothAttack)),
            both_expected: expected.both,
            lone: tally.fraction(tally.lone()),
            lone_expected: expected.lone,
            neither: tally.fraction(tally.count(Outcome::Neither)),
            neither_expected: expected.neither,
        });
        let adversary = trials::monte_carlo(&strategy, &LossModel::DropFinalStage, seed..seed + 100, threads)?;
        final_stage_captured.push((stages, adversary.fraction(adversary.lone())));
    }
    let scratch = std::env::temp_dir().join("herald-tour");
    let args = |algorithm, generals, traitors| ByzantineArgs {
        algorithm,
        generals,
        traitors,
        m: None,
        exhaustive: true,
        case: None,
        median: false,
        seeds: 1,
        seed,
        threads: None,
        failures_dir: scratch.clone(),
        json: true,
    };
    let mut byzantine = Vec::new();
    for (label, lesson, a) in [
        ("OM(1), 4 generals, 1 traitor", "3f + 1 generals suffice", args(Algorithm::Om, 4, 1)),
        ("OM(1), 3 generals, 1 traitor", "3 cannot tolerate 1 traitor", args(Algorithm::Om, 3, 1)),
        ("SM(1), 3 generals, 1 traitor", "signatures make 3 enough", args(Algorithm::Sm, 3, 1)),
    ] {
        let report = match a.algorithm {
            Algorithm::Om => crate::generals::om::run(&a)?,
            Algorithm::Sm => crate::generals::sm::run(&a)?,
        };
        byzantine.push(ByzantineRow {
            label,
            lesson,
            runs: report.runs,
            violations: report.violations,
            messages_per_run: report.messages_per_run,
        });
    }
    Ok(Generals { two, final_stage_captured, byzantine })
}

fn print_generals(g: &Generals) -> std::io::Result<()> {
    outln!("");
    outln!(
        "The two generals (§2.1): an acknowledgement chain of d stages, {TWO_MESSENGERS} messengers a stage, each captured"
    );
    outln!("with probability {TWO_LOSS}; {TWO_TRIALS} simulated trials per row, closed forms in brackets.");
    outln!("{:>8}  {:>22}  {:>22}  {:>22}", "stages", "both attack", "one attacks alone", "neither");
    for r in &g.two {
        outln!(
            "{:>8}  {:>22}  {:>22}  {:>22}",
            r.stages,
            format!("{:.4} ({:.4})", r.both, r.both_expected),
            format!("{:.4} ({:.4})", r.lone, r.lone_expected),
            format!("{:.4} ({:.4})", r.neither, r.neither_expected)
        );
    }
    let lone: Vec<String> = g.final_stage_captured.iter().map(|(d, f)| format!("d={d}: {:.0}%", f * 100.0)).collect();
    outln!(
        "An adversary that captures only the last stage makes one general attack alone in {} of runs:",
        lone.join(", ")
    );
    outln!("more acknowledgements move probability between outcomes, but no finite chain reaches certainty.");
    outln!("");
    outln!(
        "The Byzantine generals (§2.2), every traitor behaviour enumerated (each message: ATTACK, RETREAT or none):"
    );
    for r in &g.byzantine {
        outln!(
            "  {:<30} {:>4} runs, {:>2} violations of IC1/IC2, {:>5.1} messages a run  — {}",
            r.label,
            r.runs,
            r.violations,
            r.messages_per_run,
            r.lesson
        );
    }
    Ok(())
}
