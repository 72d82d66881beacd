//! Command-line definitions (clap derive): every flag's doc comment is its `--help` text.

use crate::parse;
use crate::report::{self, EXIT_USAGE};
use crate::{bench, check, cluster, generals, netem, scenario, tour, viz};
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use herald_core::NodeId;
use herald_sim::{
    AdversarySpec, ClockModel, Latency, Limits, LinkModel, NetworkModel, NodeModel, Partition, Pauses, ScheduledCrash,
    SimConfig, SystemModel, TimingModel, Window,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Herald: write a distributed protocol once as a sans-IO node; simulate it under the lecture's
/// system models, check it, run it, and see it.
///
/// With no command, runs the tour of the lecture.
///
/// Exit codes: 0 ok, 1 a property was violated, 2 usage or configuration error, 3 liveness failed.
#[derive(Parser, Debug)]
#[command(name = "herald", version, about, long_about)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the tour: the same small workload under each network, node and timing model, with a table
    /// of what each model did to the messages.
    Tour(tour::TourArgs),
    /// Simulate a built-in scenario under a system model, for one seed or a sweep of seeds.
    Sim(Box<SimArgs>),
    /// The two generals and the Byzantine generals.
    Generals {
        #[command(subcommand)]
        what: generals::GeneralsCommand,
    },
    /// Model-check a shipped model exhaustively (BFS, DFS or random walks; symmetry; liveness).
    Check {
        #[command(subcommand)]
        what: check::CheckCommand,
    },
    /// Merge the `--json` results of several shards of one sweep into one.
    Merge {
        /// JSON result files written by `herald sim ... --shard I/K --json`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// See a run: render a trace as an HTML explorer, an SVG diagram, a ShiViz log or a latency plot.
    Viz(viz::VizArgs),
    /// A cluster of real processes over TCP (mutual TLS): write its configuration, or start it
    /// locally and judge the outcome.
    Cluster {
        #[command(subcommand)]
        what: cluster::ClusterCommand,
    },
    /// Run one node of a cluster (`herald cluster init` writes the configuration).
    Run(cluster::RunArgs),
    /// Call the rpc workload's likes service from outside the cluster (exactly-once retries).
    Call(cluster::CallArgs),
    /// Forward Ethernet frames between network interfaces with netem's delay, jitter, loss,
    /// duplication and reordering, in userspace (Linux, as root; for kernels without sch_netem).
    Netem(netem::NetemArgs),
    /// Benchmarks (measured in wall time; not tests).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

/// Built-in scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScenarioName {
    /// All-to-all ping-pong with retransmission: the benchmark workload.
    PingPong,
    /// Node 0 broadcasts numbered notes: shows what each network model does to messages.
    BroadcastDemo,
    /// A link layer (--link) carrying --messages messages from node 0 to node 1 over the network.
    Links,
    /// Failure detectors (--detector) watching nodes that may crash, under the timing model.
    FailureDetector,
    /// RPC clients calling a server (--workload) under --delivery semantics, with a scripted --fault
    /// or the configured network; reports the final state, each call's outcome and availability.
    Rpc,
}

/// Workloads for `herald sim rpc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RpcWorkload {
    /// A counter at 12,300; the client calls the non-idempotent `Increment` (--calls times).
    Likes,
    /// The idempotent set of likers (12,300 of them); the client adds new likers (--calls of them).
    LikeSet,
    /// The f/g race: client 0 likes, its ack is lost; client 2 reads and unlikes; client 0 retries.
    /// With --lww the set keeps timestamps and tombstones.
    LikeRace,
    /// The lecture's payments service: processPayment(card, £3.99) as JSON (m1/m2), --calls times.
    Payments,
}

/// Retry semantics for `herald sim rpc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[allow(clippy::enum_variant_names)] // the lecture's names: at-most-once, at-least-once, exactly-once
pub(crate) enum RpcDelivery {
    /// Send once, never retry.
    AtMostOnce,
    /// Retry with backoff until answered.
    AtLeastOnce,
    /// Retry, and the server deduplicates by request id (persisted with the effect).
    ExactlyOnce,
}

/// Faults scripted on the first attempt of the call, for `herald sim rpc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RpcFault {
    /// No fault.
    None,
    /// F1: the first request is lost.
    LoseFirstRequest,
    /// F4: the first response is lost.
    LoseFirstResponse,
    /// F5: the first response arrives after the deadline.
    DelayFirstResponse,
    /// F6: the first request is duplicated.
    DuplicateRequest,
    /// F2: the server crashes before the first request arrives, and restarts.
    CrashBeforeExecute,
    /// F3: the server executes the first request, then crashes before replying, and restarts.
    CrashAfterExecute,
}

/// Link layers for `herald sim links`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LinkKind {
    /// No link layer: the bare network.
    None,
    /// Fair-loss → reliable: sequence numbers, retransmission until acknowledged, deduplication.
    RetryDedup,
    /// Arbitrary → fair-loss: HMAC-SHA256 over sender, receiver, sequence and payload; replays rejected.
    Authenticated,
    /// Reliable → FIFO: per-link sequence numbers, buffered in order.
    Fifo,
}

/// Failure detectors for `herald sim failure-detector`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DetectorKind {
    /// Suspect a node when no reply comes within a fixed timeout.
    Timeout,
    /// Like timeout, but raise a node's timeout after each false suspicion.
    EventuallyPerfect,
    /// A timeout of the worst-case round trip: exists only under synchronous + crash-stop + reliable.
    Perfect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum NetworkKind {
    /// Every message is delivered exactly once (reordering allowed unless --fifo).
    Reliable,
    /// Messages may be lost (--loss), duplicated (--duplicate) and reordered; never created.
    FairLoss,
    /// An active adversary (--adversary) may drop, modify, inject, replay.
    Arbitrary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum NodeKind {
    /// Nodes never fail.
    Correct,
    /// Crashed nodes never return (--crash, --crash-rate).
    CrashStop,
    /// Crashed nodes restart with their durable storage (--crash, --crash-rate, --restart).
    CrashRecovery,
    /// The nodes named by --byzantine run an adversarial strategy.
    Byzantine,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TimingKind {
    /// Delays within --delay-max, steps within --step-max.
    Synchronous,
    /// Synchronous except inside --async-window windows.
    PartiallySynchronous,
    /// No bounds; nodes may pause (--pause-rate).
    Asynchronous,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AdversaryKind {
    /// Drop every message.
    DropAll,
    /// Flip one random bit of a message (probability --adversary-ratio).
    ModifyRandomBit,
    /// Inject copies claiming to come from --spoof-as (probability --adversary-ratio).
    #[value(alias = "spoof")]
    SpoofAs,
    /// Deliver, then replay every message once.
    ReplayEverything,
    /// Drop everything sent during --block (START..END, or START.. for forever).
    BlockFor,
}

/// `herald sim`: the scenario, the system model, and how many seeds.
#[derive(ClapArgs, Debug, Clone)]
pub(crate) struct SimArgs {
    /// The scenario.
    #[arg(value_enum)]
    pub(crate) scenario: ScenarioName,
    /// Number of nodes.
    #[arg(long, default_value_t = 3)]
    pub(crate) nodes: usize,
    /// The seed (the first seed of a sweep).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Run this many seeds, starting at --seed, in parallel.
    #[arg(long)]
    pub(crate) seeds: Option<u64>,
    /// With --seeds: run only shard I of K (contiguous slices; merge results with `herald merge`).
    #[arg(long, value_parser = parse::shard, value_name = "I/K")]
    pub(crate) shard: Option<(u64, u64)>,
    /// Worker threads for a sweep (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write the run's trace (JSON Lines) here.
    #[arg(long, value_name = "FILE")]
    pub(crate) trace: Option<PathBuf>,
    /// Where a sweep writes the traces of failing seeds.
    #[arg(long, default_value = "herald-failures", value_name = "DIR")]
    pub(crate) failures_dir: PathBuf,
    /// On a failure, shrink it to fewer faults and events and write the minimal trace.
    #[arg(long)]
    pub(crate) shrink: bool,

    /// Virtual time of the safety phase.
    #[arg(long, value_parser = parse::duration, default_value = "2s")]
    pub(crate) time: Duration,
    /// Stop after this many events.
    #[arg(long)]
    pub(crate) events_max: Option<u64>,
    /// After the safety phase, heal every fault and require progress within this bound.
    #[arg(long, value_parser = parse::duration, value_name = "BOUND")]
    pub(crate) liveness: Option<Duration>,
    /// Apply only these fault decisions (comma-separated numbers, as printed by --shrink).
    #[arg(long, value_parser = parse::fault_mask, value_name = "N,N,...")]
    pub(crate) faults: Option<parse::FaultMask>,

    /// Network model.
    #[arg(long, value_enum, default_value = "reliable")]
    pub(crate) network: NetworkKind,
    /// Reliable network: deliver each link's messages in send order.
    #[arg(long)]
    pub(crate) fifo: bool,
    /// Fair-loss: probability a transmission is lost, in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) loss: f64,
    /// Fair-loss: probability a transmission is duplicated.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) duplicate: f64,
    /// Fair-loss: most extra copies of one transmission.
    #[arg(long, default_value_t = 1)]
    pub(crate) duplicates_max: u32,
    /// Fair-loss: keep each link in FIFO order (no reordering).
    #[arg(long)]
    pub(crate) no_reorder: bool,
    /// Arbitrary network: the adversary (default modify-random-bit). Given with the (default)
    /// reliable network, it implies --network arbitrary.
    #[arg(long, value_enum)]
    pub(crate) adversary: Option<AdversaryKind>,
    /// Arbitrary network: probability per message for modify-random-bit and spoof-as.
    #[arg(long, default_value_t = 0.1)]
    pub(crate) adversary_ratio: f64,
    /// Arbitrary network: the node spoof-as impersonates.
    #[arg(long, value_parser = parse::node, default_value = "0")]
    pub(crate) spoof_as: NodeId,
    /// Arbitrary network: block-for's window, START..END or START.. (forever).
    #[arg(long, default_value = "0ms..")]
    pub(crate) block: String,
    /// A partition `A|B@START..END[,one-way][,hold]`, e.g. `0,1|2@100ms..300ms`; an empty B is
    /// everyone else. Repeatable.
    #[arg(long = "partition", value_parser = parse::partition, value_name = "SPEC")]
    pub(crate) partitions: Vec<Partition>,

    /// Node model.
    #[arg(long, value_enum, default_value = "correct")]
    pub(crate) node_model: NodeKind,
    /// A scheduled crash `NODE@TIME` (crash-recovery: `NODE@TIME+RESTART`). Repeatable.
    #[arg(long = "crash", value_parser = parse::crash, value_name = "SPEC")]
    pub(crate) crashes: Vec<ScheduledCrash>,
    /// Random crashes per node per virtual second.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) crash_rate: f64,
    /// Crash-stop: at most this many random crashes.
    #[arg(long, default_value_t = 1)]
    pub(crate) crashes_max: usize,
    /// Crash-recovery: random restart delay MIN..MAX.
    #[arg(long, default_value = "10ms..100ms")]
    pub(crate) restart: String,
    /// A Byzantine node (with --node-model byzantine). Repeatable.
    #[arg(long = "byzantine", value_parser = parse::node, value_name = "NODE")]
    pub(crate) byzantine: Vec<NodeId>,

    /// Timing model.
    #[arg(long, value_enum, default_value = "asynchronous")]
    pub(crate) timing: TimingKind,
    /// Synchronous bound on one-way delay.
    #[arg(long, value_parser = parse::duration, default_value = "10ms")]
    pub(crate) delay_max: Duration,
    /// Synchronous bound on a step.
    #[arg(long, value_parser = parse::duration, default_value = "1ms")]
    pub(crate) step_max: Duration,
    /// Partially synchronous: an asynchronous window START..END. Repeatable.
    #[arg(long = "async-window", value_parser = parse::window, value_name = "START..END")]
    pub(crate) async_windows: Vec<Window>,
    /// Partially synchronous in the DLS form: asynchronous until this global stabilisation time
    /// (the same as `--async-window 0ms..GST`); nodes are not told it.
    #[arg(long, value_parser = parse::duration, value_name = "GST")]
    pub(crate) gst: Option<Duration>,
    /// Partially synchronous: extra delay inside a window.
    #[arg(long, value_parser = parse::latency, default_value = "exponential:0ms,50ms")]
    pub(crate) async_delay: Latency,
    /// Asynchronous / partially synchronous: pauses per node per virtual second.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) pause_rate: f64,
    /// How long a pause lasts.
    #[arg(long, value_parser = parse::latency, default_value = "exponential:1ms,20ms")]
    pub(crate) pause: Latency,

    /// One-way latency distribution: constant:D, uniform:MIN..MAX, exponential:MIN,MEAN, pareto:MIN,SHAPE.
    #[arg(long, value_parser = parse::latency, default_value = "uniform:1ms..10ms")]
    pub(crate) latency: Latency,
    /// Bandwidth per directed link (e.g. 1Gbps, 10Mbps); `unlimited` for none.
    #[arg(long, default_value = "1Gbps")]
    pub(crate) bandwidth: String,
    /// Largest packet payload in bytes.
    #[arg(long, default_value_t = 1500)]
    pub(crate) mtu: u32,
    /// Largest initial clock offset.
    #[arg(long, value_parser = parse::duration, default_value = "0ms")]
    pub(crate) clock_offset_max: Duration,
    /// Largest clock drift in ppm.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) drift_ppm: f64,

    /// rpc: the workload.
    #[arg(long, value_enum, default_value = "likes")]
    pub(crate) workload: RpcWorkload,
    /// rpc: the retry semantics.
    #[arg(long, value_enum, default_value = "at-least-once")]
    pub(crate) delivery: RpcDelivery,
    /// rpc: the fault scripted on the call's first attempt (none: the configured network applies).
    #[arg(long, value_enum, default_value = "none")]
    pub(crate) fault: RpcFault,
    /// rpc: calls the client makes (likes, like-set, payments).
    #[arg(long, default_value_t = 1)]
    pub(crate) calls: u64,
    /// rpc: time between issuing one call and the next (0: all at once).
    #[arg(long, value_parser = parse::duration, default_value = "0ms")]
    pub(crate) call_interval: Duration,
    /// rpc: how long one attempt waits for its answer.
    #[arg(long, value_parser = parse::duration, default_value = "50ms")]
    pub(crate) deadline: Duration,
    /// rpc like-race: the set keeps last-writer-wins timestamps and tombstones.
    #[arg(long)]
    pub(crate) lww: bool,
    /// rpc: the SLO's latency bound: a call is good iff it succeeded within it.
    #[arg(long, value_parser = parse::duration, default_value = "200ms")]
    pub(crate) slo_latency: Duration,
    /// rpc: the share of calls that must be good (0.999 = "99.9% of requests").
    #[arg(long, default_value_t = 0.999)]
    pub(crate) slo_ratio: f64,
    /// links: the link layer.
    #[arg(long, value_enum, default_value = "retry-dedup")]
    pub(crate) link: LinkKind,
    /// links: messages each sender sends to node 1 (every node but node 1 sends).
    #[arg(long, default_value_t = 100)]
    pub(crate) messages: u64,
    /// failure-detector: the detector.
    #[arg(long, value_enum, default_value = "eventually-perfect")]
    pub(crate) detector: DetectorKind,
    /// failure-detector: time between pings.
    #[arg(long, value_parser = parse::duration, default_value = "20ms")]
    pub(crate) ping_interval: Duration,
    /// failure-detector: the (initial) timeout after a ping.
    #[arg(long, value_parser = parse::duration, default_value = "30ms")]
    pub(crate) timeout: Duration,
    /// ping-pong: pings outstanding per peer.
    #[arg(long, default_value_t = 1)]
    pub(crate) in_flight: u32,
    /// ping-pong: retransmit unanswered pings after this long (`0ms` disables).
    #[arg(long, value_parser = parse::duration, default_value = "50ms")]
    pub(crate) rto: Duration,
    /// broadcast-demo: notes to send.
    #[arg(long, default_value_t = 50)]
    pub(crate) notes: u32,
    /// broadcast-demo: time between notes.
    #[arg(long, value_parser = parse::duration, default_value = "10ms")]
    pub(crate) interval: Duration,
}

impl SimArgs {
    /// The simulator configuration these flags describe (not yet validated).
    pub(crate) fn config(&self) -> Result<SimConfig, String> {
        // An adversary asked for on the default (reliable) network means the arbitrary network.
        let network_kind = match (self.network, self.adversary) {
            (NetworkKind::Reliable, Some(_)) => NetworkKind::Arbitrary,
            (kind, _) => kind,
        };
        let network = match network_kind {
            NetworkKind::Reliable => NetworkModel::Reliable { fifo: self.fifo },
            NetworkKind::FairLoss => NetworkModel::FairLoss {
                loss: self.loss,
                duplicate: self.duplicate,
                duplicates_max: self.duplicates_max,
                reorder: !self.no_reorder,
            },
            NetworkKind::Arbitrary => NetworkModel::Arbitrary {
                adversary: match self.adversary.unwrap_or(AdversaryKind::ModifyRandomBit) {
                    AdversaryKind::DropAll => AdversarySpec::DropAll,
                    AdversaryKind::ModifyRandomBit => AdversarySpec::ModifyRandomBit { ratio: self.adversary_ratio },
                    AdversaryKind::SpoofAs => {
                        AdversarySpec::SpoofAs { as_node: self.spoof_as, ratio: self.adversary_ratio }
                    }
                    AdversaryKind::ReplayEverything => AdversarySpec::ReplayEverything,
                    AdversaryKind::BlockFor => {
                        let (a, b) = self.block.split_once("..").ok_or("--block: expected START..END or START..")?;
                        AdversarySpec::BlockFor {
                            start: parse::duration(a)?,
                            end: if b.is_empty() { None } else { Some(parse::duration(b)?) },
                        }
                    }
                },
            },
        };
        if self.network != NetworkKind::FairLoss && (self.loss != 0.0 || self.duplicate != 0.0) {
            return Err("--loss and --duplicate apply to --network fair-loss".into());
        }
        let (restart_min, restart_max) = {
            let (a, b) = self.restart.split_once("..").ok_or("--restart: expected MIN..MAX")?;
            (parse::duration(a)?, parse::duration(b)?)
        };
        let nodes = match self.node_model {
            NodeKind::Correct => NodeModel::Correct,
            NodeKind::CrashStop => NodeModel::CrashStop {
                crashes: self.crashes.clone(),
                rate_per_sec: self.crash_rate,
                crashes_max: self.crashes_max,
            },
            NodeKind::CrashRecovery => NodeModel::CrashRecovery {
                crashes: self.crashes.clone(),
                rate_per_sec: self.crash_rate,
                restart_min,
                restart_max,
            },
            NodeKind::Byzantine => {
                if self.byzantine.is_empty() {
                    return Err("--node-model byzantine needs at least one --byzantine NODE".into());
                }
                NodeModel::Byzantine { faulty: self.byzantine.clone() }
            }
        };
        let pauses = Pauses { rate_per_sec: self.pause_rate, duration: self.pause.clone() };
        let timing = match self.timing {
            TimingKind::Synchronous => TimingModel::Synchronous { delay_max: self.delay_max, step_max: self.step_max },
            TimingKind::PartiallySynchronous => TimingModel::PartiallySynchronous {
                delay_max: self.delay_max,
                step_max: self.step_max,
                windows: self
                    .gst
                    .map(|gst| Window { start: Duration::ZERO, end: gst })
                    .into_iter()
                    .chain(self.async_windows.iter().copied())
                    .collect(),
                async_delay: self.async_delay.clone(),
                pauses,
            },
            TimingKind::Asynchronous => TimingModel::Asynchronous { pauses },
        };
        if self.timing != TimingKind::PartiallySynchronous && (self.gst.is_some() || !self.async_windows.is_empty()) {
            return Err("--gst and --async-window apply to --timing partially-synchronous".into());
        }
        let bandwidth_bps = match self.bandwidth.as_str() {
            "unlimited" | "none" => None,
            s => Some(parse::bandwidth(s)?),
        };
        Ok(SimConfig {
            nodes: self.nodes,
            model: SystemModel { network, nodes, timing, partitions: self.partitions.clone() },
            link: LinkModel { latency: self.latency.clone(), bandwidth_bps, mtu: self.mtu, packet_header: 28 },
            clocks: ClockModel { offset_max: self.clock_offset_max, drift_ppm_max: self.drift_ppm },
            limits: Limits { time_max: self.time, events_max: self.events_max.unwrap_or(u64::MAX) },
            liveness_bound: self.liveness,
        })
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command.unwrap_or(Command::Tour(tour::TourArgs::default())) {
        Command::Tour(t) => tour::run(&t),
        Command::Sim(sim) => {
            let config = match sim.config().and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string())) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("herald: {e}");
                    return Ok(ExitCode::from(EXIT_USAGE));
                }
            };
            scenario::run(&sim, &config)
        }
        Command::Generals { what } => generals::run(&what),
        Command::Check { what } => check::run(&what),
        Command::Merge { files } => report::merge(&files),
        Command::Bench { what } => bench::run(&what),
        Command::Viz(v) => viz::run(&v),
        Command::Cluster { what } => cluster::run_cluster(&what),
        Command::Run(args) => cluster::run_node(&args),
        Command::Call(args) => cluster::call(&args),
        Command::Netem(args) => netem::run(&args),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Args::command().debug_assert();
    }
}
