//! `herald cluster init | up` and `herald run`: the protocols of the simulator as real processes.
//!
//! The runtime (`herald-net`) knows nothing of protocols; this module is the wiring: it reads the
//! `[protocol]` section of `cluster.toml`, builds each node exactly as the simulator's commands do
//! (`herald_protocols::byzantine::{om, sm}`), runs it with `herald_net::run`, and judges the
//! collected observations with the same oracles (`om::verdict`, `sm::Setup::judge`).
//!
//! Synchronous rounds over TCP: every node starts round 1 when its connections to all peers are up,
//! and a round lasts `3 · delay_bound + step_bound` (see `ProtocolSpec::round_length`). A message
//! slower than the bound counts as never sent — the lecture's synchronous model, made true by
//! choosing the bound well above loopback or LAN delays (50 ms by default).

use crate::report::{EXIT_LIVENESS, EXIT_VIOLATED};
use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use herald_core::{NodeId, Rng};
use herald_net::cluster::{self, ClusterConfig, InitOptions, ProtocolSpec};
use herald_net::tls::Tls;
use herald_net::{Options, Role, Start};
use herald_protocols::byzantine::om::{self, Behaviour, OmConfig};
use herald_protocols::byzantine::sm::{self, SmConfig};
use herald_protocols::byzantine::{Order, Verdict};
use herald_protocols::rpc::{self, CallOutcome, LikesRequest, LikesResponse, RpcEvent};
use herald_protocols::two_generals;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Protocols a cluster can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Protocol {
    /// Oral messages, OM(m), in synchronous rounds; traitors run a stock behaviour.
    ByzantineOm,
    /// Signed messages, SM(m), with Ed25519; traitors run a stock tactic.
    ByzantineSm,
    /// The two generals (2 nodes) with an acknowledgement chain of --stages stages: over TCP,
    /// which does not lose messengers, both attack.
    TwoGenerals,
    /// The likes counter: node 0 serves it, every other node calls `Increment` --calls times
    /// under --delivery semantics, all calls concurrently.
    Rpc,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::ByzantineOm => "byzantine-om",
            Self::ByzantineSm => "byzantine-sm",
            Self::Rpc => "rpc",
            Self::TwoGenerals => "two-generals",
        }
    }

    fn parse(name: &str) -> anyhow::Result<Self> {
        match name {
            "byzantine-om" => Ok(Self::ByzantineOm),
            "byzantine-sm" => Ok(Self::ByzantineSm),
            "rpc" => Ok(Self::Rpc),
            "two-generals" => Ok(Self::TwoGenerals),
            other => {
                bail!("invalid `protocol.name`: {other:?} (expected byzantine-om, byzantine-sm, two-generals or rpc)")
            }
        }
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum ClusterCommand {
    /// Write DIR/cluster.toml and the cluster's certificates (a fresh CA, one key pair per node).
    Init(InitArgs),
    /// Start a local cluster of real processes (this executable, `herald run`), wait for the
    /// outcome, and judge it with the simulator's oracles.
    Up(UpArgs),
}

/// What a cluster is: shared by `init` and `up`.
#[derive(Args, Debug, Clone)]
pub(crate) struct InitArgs {
    /// Number of nodes (generals; node 0 is the commander).
    #[arg(long)]
    nodes: usize,
    /// Where to write cluster.toml and the certificates (`up`: default a fresh temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The protocol.
    #[arg(long, value_enum, default_value = "byzantine-om")]
    protocol: Protocol,
    /// Traitors, placed by the seed (the commander may be one).
    #[arg(long, default_value_t = 0)]
    traitors: usize,
    /// The algorithm's m (default: the number of traitors).
    #[arg(long)]
    m: Option<usize>,
    /// Seeds the traitors' placement and behaviour, the commander's order, the keys and every
    /// node's RNG.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The host every node listens on (edit cluster.toml to spread nodes over machines).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Node i listens on PORT + i (default: free ports picked now).
    #[arg(long, value_name = "PORT")]
    base_port: Option<u16>,
    /// The synchronous model's delay bound, in ms: rounds last 3 · delay + step.
    #[arg(long, default_value_t = 50)]
    delay_bound_ms: u64,
    /// The synchronous model's step bound, in ms.
    #[arg(long, default_value_t = 10)]
    step_bound_ms: u64,
    /// Two generals: stages of the acknowledgement chain.
    #[arg(long, default_value_t = 2)]
    stages: u32,
    /// RPC: calls each client makes.
    #[arg(long, default_value_t = 20)]
    calls: u64,
    /// RPC: retry semantics.
    #[arg(long, value_enum, default_value = "exactly-once")]
    delivery: crate::cli::RpcDelivery,
    /// Plain TCP instead of mutual TLS (unauthenticated: anyone who can reach a port can inject).
    #[arg(long)]
    no_tls: bool,
    /// Outside callers each node's client port holds at once; more are refused at accept
    /// (default: the runtime's, 256).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_callers: Option<u32>,
}

#[derive(Args, Debug)]
pub(crate) struct UpArgs {
    #[command(flatten)]
    cluster: InitArgs,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// `herald run`: one node of a configured cluster.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// The cluster's configuration (`herald cluster init` writes it).
    #[arg(long)]
    config: PathBuf,
    /// Which node this process is.
    #[arg(long)]
    node: u32,
    /// Record this node's trace (simulator schema, source `net`) here.
    #[arg(long, value_name = "PATH")]
    trace: Option<PathBuf>,
    /// Print exactly one JSON object on stdout: this node's report.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_cluster(cmd: &ClusterCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ClusterCommand::Init(args) => {
            let dir = args.dir.clone().context("invalid `--dir`: `cluster init` needs a directory")?;
            let config = init(args, &dir)?;
            outln!(
                "wrote {} ({} nodes, {})",
                dir.join("cluster.toml").display(),
                config.nodes.len(),
                args.protocol.name()
            );
            for node in &config.nodes {
                outln!("  herald run --config {} --node {}", dir.join("cluster.toml").display(), node.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        ClusterCommand::Up(args) => up(args),
    }
}

/// The seed's random stream for the cluster's setup (placement, order, behaviour).
const SETUP_STREAM: u64 = u64::MAX;

fn init(args: &InitArgs, dir: &Path) -> anyhow::Result<ClusterConfig> {
    let n = args.nodes;
    if n < 2 {
        bail!("invalid `--nodes`: {n}: a commander needs at least one lieutenant");
    }
    if args.traitors >= n {
        bail!("invalid `--traitors`: {} of {n} generals: at least one must be loyal", args.traitors);
    }
    let m = args.m.unwrap_or(args.traitors);
    if matches!(args.protocol, Protocol::Rpc | Protocol::TwoGenerals) && args.traitors > 0 {
        bail!("invalid `--traitors`: {} has no Byzantine nodes", args.protocol.name());
    }
    if args.protocol == Protocol::TwoGenerals && n != 2 {
        bail!("invalid `--nodes`: the two generals are 2 nodes, not {n}");
    }
    if args.protocol == Protocol::TwoGenerals && !(1..=STAGES_MAX).contains(&args.stages) {
        bail!("invalid `--stages`: {}; 1 to {STAGES_MAX}", args.stages);
    }
    if args.calls > CALLS_MAX {
        bail!("invalid `--calls`: {}; at most {CALLS_MAX}", args.calls);
    }
    if matches!(args.protocol, Protocol::ByzantineOm | Protocol::ByzantineSm) && m + 2 > n {
        bail!("invalid `--m`: m = {m} needs at least m + 2 = {} generals, not {n}", m + 2);
    }
    if args.delay_bound_ms == 0 {
        bail!("invalid `--delay-bound-ms`: must be positive");
    }
    let mut rng = Rng::derive(args.seed, SETUP_STREAM);
    let mut pool: Vec<u32> = (0..n as u32).collect();
    let mut traitors: Vec<u32> = (0..args.traitors).map(|_| pool.remove(rng.index(pool.len()))).collect();
    traitors.sort_unstable();
    let order = if rng.chance(0.5) { "attack" } else { "retreat" };
    let behaviour = match args.protocol {
        Protocol::ByzantineOm => {
            let stock = Behaviour::stock();
            stock[rng.index(stock.len())].name()
        }
        Protocol::ByzantineSm => SM_TACTICS[rng.index(SM_TACTICS.len())],
        Protocol::Rpc | Protocol::TwoGenerals => "none",
    };
    let mut params = toml::Table::new();
    params.insert("m".into(), toml::Value::Integer(m as i64));
    params.insert("order".into(), toml::Value::String(order.into()));
    params.insert("behaviour".into(), toml::Value::String(behaviour.into()));
    params.insert("stages".into(), toml::Value::Integer(i64::from(args.stages)));
    params.insert("calls".into(), toml::Value::Integer(i64::try_from(args.calls).context("invalid `--calls`")?));
    let delivery = match args.delivery {
        crate::cli::RpcDelivery::AtMostOnce => "at-most-once",
        crate::cli::RpcDelivery::AtLeastOnce => "at-least-once",
        crate::cli::RpcDelivery::ExactlyOnce => "exactly-once",
    };
    params.insert("delivery".into(), toml::Value::String(delivery.into()));
    let protocol = ProtocolSpec {
        name: args.protocol.name().into(),
        seed: args.seed,
        delay_bound_ms: args.delay_bound_ms,
        step_bound_ms: args.step_bound_ms,
        traitors,
        params,
    };
    let cluster = Rng::derive(args.seed, SETUP_STREAM - 1).between(1, u64::MAX >> 1);
    let options = InitOptions {
        nodes: n,
        host: args.host,
        base_port: args.base_port,
        tls: !args.no_tls,
        cluster,
        protocol,
        max_callers: args.max_callers.map(|m| m as usize),
    };
    Ok(cluster::init(dir, &options)?)
}

const SM_TACTICS: [&str; 5] = ["silent", "mimic", "equivocate", "forwarding-liar", "random-forger"];

/// The instance every process of a cluster rebuilds from `[protocol]`.
struct Instance {
    protocol: Protocol,
    n: usize,
    m: usize,
    order: Order,
    behaviour: String,
    traitors: BTreeSet<NodeId>,
    seed: u64,
    round: Duration,
    calls: u64,
    delivery: rpc::Delivery,
    stages: u32,
    delay: Duration,
}

/// The most calls `protocol.calls` may ask of each RPC client (each is built up front).
const CALLS_MAX: u64 = 1_000_000;

/// The longest acknowledgement chain `protocol.stages` may ask for.
const STAGES_MAX: u32 = 1_000;

/// How long one RPC attempt waits for its answer over real TCP.
const RPC_DEADLINE: Duration = Duration::from_millis(200);

impl Instance {
    fn of(config: &ClusterConfig) -> anyhow::Result<Self> {
        let spec = &config.protocol;
        let protocol = Protocol::parse(&spec.name)?;
        let m = spec.params.get("m").and_then(toml::Value::as_integer).context("invalid `protocol.m`: missing")?;
        let m = usize::try_from(m).context("invalid `protocol.m`: negative")?;
        let order = match spec.params.get("order").and_then(toml::Value::as_str) {
            Some("attack") => Order::Attack,
            Some("retreat") => Order::Retreat,
            other => bail!("invalid `protocol.order`: {other:?} (expected \"attack\" or \"retreat\")"),
        };
        let behaviour = spec.params.get("behaviour").and_then(toml::Value::as_str).unwrap_or("silent").to_string();
        let n = config.nodes.len();
        let calls = spec.params.get("calls").and_then(toml::Value::as_integer).unwrap_or(20);
        let calls = u64::try_from(calls)
            .ok()
            .filter(|c| *c <= CALLS_MAX)
            .with_context(|| format!("invalid `protocol.calls`: {calls}; 0 to {CALLS_MAX}"))?;
        let backoff = rpc::Backoff { initial: Duration::from_millis(50), factor: 2, max: Duration::from_millis(500) };
        let delivery = match spec.params.get("delivery").and_then(toml::Value::as_str).unwrap_or("exactly-once") {
            "at-most-once" => rpc::Delivery::AtMostOnce,
            "at-least-once" => rpc::Delivery::AtLeastOnce { attempts_max: 100, backoff },
            "exactly-once" => rpc::Delivery::ExactlyOnce { attempts_max: 100, backoff },
            other => bail!("invalid `protocol.delivery`: {other:?}"),
        };
        let stages = spec.params.get("stages").and_then(toml::Value::as_integer).unwrap_or(2);
        let stages = u32::try_from(stages)
            .ok()
            .filter(|s| (1..=STAGES_MAX).contains(s))
            .with_context(|| format!("invalid `protocol.stages`: {stages}; 1 to {STAGES_MAX}"))?;
        if matches!(protocol, Protocol::ByzantineOm | Protocol::ByzantineSm) && m + 2 > n {
            bail!("invalid `protocol.m`: m = {m} needs at least m + 2 = {} generals, not {n}", m + 2);
        }
        Ok(Self {
            protocol,
            n,
            m,
            order,
            behaviour,
            traitors: spec.traitors.iter().map(|&t| NodeId(t)).collect(),
            seed: spec.seed,
            round: spec.round_length(),
            calls,
            delivery,
            stages,
            delay: Duration::from_millis(spec.delay_bound_ms),
        })
    }

    fn two_strategy(&self) -> two_generals::Strategy {
        two_generals::Strategy::AckChain { stages: self.stages, messengers: 1 }
    }

    fn om_config(&self) -> OmConfig {
        OmConfig { generals: self.n, m: self.m, order: self.order, majority: om::Majority::StrictOrDefault }
    }

    fn sm_setup(&self) -> sm::Setup {
        let mut config = SmConfig::new(self.n, self.m).with_instance(self.seed);
        config.round_length = self.round;
        sm::Setup::new(config, self.order, self.traitors.clone(), self.seed)
    }

    /// Every node of a lock-step protocol decides by round m + 2; a node lives until round m + 3.
    fn lifetime(&self) -> Duration {
        match self.protocol {
            Protocol::Rpc => Duration::from_secs(30),
            Protocol::TwoGenerals => two_generals::General::deadline(&self.two_strategy(), self.delay) + self.delay,
            Protocol::ByzantineOm | Protocol::ByzantineSm => self.round * (self.m as u32 + 3),
        }
    }

    /// Judges what the processes reported, with the simulator's oracles.
    fn judge(&self, outputs: &BTreeMap<NodeId, Vec<Value>>) -> anyhow::Result<Judged> {
        let generals = |verdict: Verdict, decisions: BTreeMap<NodeId, Order>| Judged {
            violations: u64::from(!verdict.ic1) + u64::from(!verdict.ic2),
            ic1: Some(verdict.ic1),
            ic2: Some(verdict.ic2),
            decisions: Some(decisions.iter().map(|(n, o)| (n.to_string(), *o)).collect()),
            ..Judged::default()
        };
        match self.protocol {
            Protocol::ByzantineOm => {
                let mut decisions = BTreeMap::new();
                for (node, values) in outputs {
                    for v in values {
                        let d: om::Decision = serde_json::from_value(v.clone()).context("an OM decision")?;
                        decisions.insert(*node, d.order);
                    }
                }
                Ok(generals(om::verdict(&self.om_config(), &self.traitors, &decisions), decisions))
            }
            Protocol::ByzantineSm => {
                let mut events = Vec::new();
                for (node, values) in outputs {
                    for v in values {
                        events.push((*node, serde_json::from_value::<sm::SmEvent>(v.clone()).context("an SM event")?));
                    }
                }
                let verdict = self.sm_setup().judge(events.iter().map(|(n, e)| (*n, e)));
                Ok(generals(verdict, sm::decisions(events.iter().map(|(n, e)| (*n, e)))))
            }
            Protocol::TwoGenerals => {
                let mut decisions = Vec::new();
                for (node, values) in outputs {
                    for v in values {
                        decisions.push((*node, serde_json::from_value::<two_generals::Decision>(v.clone())?));
                    }
                }
                let agreed = two_generals::check_agreement(decisions.iter().map(|(n, d)| (*n, d)));
                let outcome = two_generals::outcome(decisions.iter().map(|(n, d)| (*n, d)));
                Ok(Judged {
                    violations: u64::from(agreed.is_err()),
                    outcome: Some(outcome.map_or_else(|e| e, |o| o.to_string())),
                    ..Judged::default()
                })
            }
            Protocol::Rpc => {
                // Exactly-once, seen from the clients: every call is acknowledged, and the counts
                // the increments returned are exactly LIKES_START + 1 ..= LIKES_START + calls — a
                // lost write leaves a count missing, a duplicated one makes a gap.
                let total = self.calls * (self.n as u64 - 1);
                let mut counts = Vec::new();
                let mut executions = 0;
                for (node, values) in outputs {
                    for v in values {
                        match serde_json::from_value::<RpcEvent<LikesResponse>>(v.clone()).context("an RPC event")? {
                            RpcEvent::Done { outcome: CallOutcome::Ok(LikesResponse::Count(c)), .. }
                                if *node != RPC_SERVER =>
                            {
                                counts.push(c);
                            }
                            RpcEvent::Executed { .. } => executions += 1,
                            _ => {}
                        }
                    }
                }
                counts.sort_unstable();
                let expected: Vec<u64> = (rpc::LIKES_START + 1..=rpc::LIKES_START + counts.len() as u64).collect();
                let wrong = counts.iter().zip(&expected).filter(|(a, b)| a != b).count() as u64;
                Ok(Judged {
                    violations: (total - counts.len() as u64) + wrong,
                    calls: Some(total),
                    acknowledged: Some(counts.len() as u64),
                    final_value: counts.last().copied().or(Some(rpc::LIKES_START)),
                    server_executions: outputs.contains_key(&RPC_SERVER).then_some(executions),
                    ..Judged::default()
                })
            }
        }
    }
}

/// The RPC workload's server.
const RPC_SERVER: NodeId = NodeId(0);

/// What the oracles found. Field names are the CLI's JSON contract.
#[derive(Debug, Default, Serialize)]
struct Judged {
    /// Broken properties: IC1/IC2 for the generals; for RPC, calls not acknowledged plus
    /// acknowledged counts out of place.
    violations: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ic1: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ic2: Option<bool>,
    /// Decisions by node (traitors' included, for reading; the oracles ignore them).
    #[serde(skip_serializing_if = "Option::is_none")]
    decisions: Option<BTreeMap<String, Order>>,
    /// Two generals: "both attack", "G1 attacks alone", …
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    calls: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledged: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    final_value: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_executions: Option<u64>,
}

/// `herald run`: builds node `--node` of the configured protocol and runs it until it has decided
/// (plus a round, to keep serving its peers) or its lifetime ends.
pub(crate) fn run_node(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let config = ClusterConfig::load(&args.config)?;
    let entry = config.node(args.node)?.clone();
    let instance = Instance::of(&config)?;
    let mut options = Options::new(
        config.cluster,
        NodeId(args.node),
        config.nodes.iter().map(|n| n.addr).collect(),
        config.resolve(&entry.data),
    );
    options.seed = instance.seed;
    options.tls = if config.tls { Some(Tls::load(&config, args.node)?) } else { None };
    options.start = Start::WhenConnected { timeout: Duration::from_secs(30) };
    options.run_for = Some(instance.lifetime());
    options.time_max = Duration::from_secs(30) + instance.lifetime();
    options.linger = instance.round;
    options.stop_on_signals = true;
    options.client_addr = entry.client_addr;
    if let Some(max) = entry.max_callers {
        options.max_callers = max;
    }
    options.busy_poll = Duration::from_micros(entry.busy_poll_us.unwrap_or(0));
    options.trace = args.trace.clone().map(|p| (p, instance.protocol.name().to_string()));
    let id = NodeId(args.node);
    let traitor = instance.traitors.contains(&id);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = match instance.protocol {
        Protocol::ByzantineOm => {
            let om_config = instance.om_config();
            let role = if traitor {
                let behaviour = Behaviour::stock()
                    .into_iter()
                    .find(|b| b.name() == instance.behaviour)
                    .with_context(|| format!("invalid `protocol.behaviour`: {:?}", instance.behaviour))?;
                Role::Byzantine(Box::new(om::Traitors::new(
                    om_config,
                    instance.round,
                    instance.traitors.clone(),
                    behaviour,
                )))
            } else {
                Role::Honest(om::lock_step(om_config, id, instance.round))
            };
            let report = runtime.block_on(herald_net::run(role, options, |out| !out.is_empty()))?;
            to_value_report(report)?
        }
        Protocol::ByzantineSm => {
            let setup = instance.sm_setup();
            let role = if traitor {
                let kit = setup.kit();
                Role::Byzantine(match instance.behaviour.as_str() {
                    "silent" => sm::Traitors::boxed(kit, sm::Silent),
                    "mimic" => sm::Traitors::boxed(kit, sm::Mimic::default()),
                    "equivocate" => sm::Traitors::boxed(kit, sm::Equivocate::default()),
                    "forwarding-liar" => sm::Traitors::boxed(kit, sm::ForwardingLiar::default()),
                    "random-forger" => sm::Traitors::boxed(kit, sm::RandomForger::default()),
                    other => bail!("invalid `protocol.behaviour`: {other:?} (SM tactics: {})", SM_TACTICS.join(", ")),
                })
            } else {
                Role::Honest(setup.node(id))
            };
            let done = |out: &[sm::SmEvent]| out.iter().any(|e| matches!(e, sm::SmEvent::Decided(_)));
            let report = runtime.block_on(herald_net::run(role, options, done))?;
            to_value_report(report)?
        }
        Protocol::TwoGenerals => {
            let node = two_generals::General::new(instance.two_strategy(), instance.delay);
            options.linger = instance.delay;
            let report = runtime.block_on(herald_net::run(Role::Honest(node), options, |out| !out.is_empty()))?;
            to_value_report(report)?
        }
        Protocol::Rpc => {
            // A restarted server must not wait long for clients that already finished.
            options.start = Start::WhenConnected { timeout: Duration::from_secs(2) };
            options.run_for = None;
            let total = instance.calls * (instance.n as u64 - 1);
            let (node, linger, want) = if id == RPC_SERVER {
                let dedup = instance.delivery.dedup_for::<rpc::Likes>();
                let config = rpc::ServerConfig::new(dedup, Duration::from_millis(1));
                (rpc::Rpc::server(config, rpc::Likes::default()), Duration::from_secs(1), total)
            } else {
                let config = rpc::ClientConfig::new(RPC_SERVER, instance.delivery, RPC_DEADLINE);
                let calls = vec![LikesRequest::Increment; instance.calls as usize];
                (rpc::Rpc::client(config, calls), Duration::from_millis(200), instance.calls)
            };
            options.linger = linger;
            let server = id == RPC_SERVER;
            let done = move |out: &[RpcEvent<LikesResponse>]| {
                let n = out
                    .iter()
                    .filter(|e| {
                        if server { matches!(e, RpcEvent::Executed { .. }) } else { matches!(e, RpcEvent::Done { .. }) }
                    })
                    .count() as u64;
                // A server with no calls to wait for (outside callers only) serves until stopped.
                want > 0 && n >= want
            };
            let report = runtime.block_on(herald_net::run(Role::Honest(node), options, done))?;
            to_value_report(report)?
        }
    };
    // A loyal lieutenant must decide and an RPC client must finish its calls; traitors and the
    // commander (SM's observes nothing) live out the protocol's rounds
    // (and the RPC server, which serves until stopped, has nothing to finish).
    let finished = report.done || traitor || id == herald_protocols::byzantine::COMMANDER;
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        outln!(
            "n{} {} after {} ms: {} outputs, {} sent, {} delivered, {} frames rejected",
            report.node,
            if report.done { "done" } else { "stopped" },
            report.elapsed_ms,
            report.outputs.len(),
            report.counters.sent,
            report.counters.delivered,
            report.counters.frames_rejected
        );
        for o in &report.outputs {
            outln!("  {o}");
        }
    }
    Ok(if finished { ExitCode::SUCCESS } else { ExitCode::from(EXIT_LIVENESS) })
}

fn to_value_report<O: Serialize>(r: herald_net::Report<O>) -> anyhow::Result<herald_net::Report<Value>> {
    let outputs = r.outputs.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
    Ok(herald_net::Report {
        node: r.node,
        incarnation: r.incarnation,
        recovered: r.recovered,
        done: r.done,
        outputs,
        counters: r.counters,
        elapsed_ms: r.elapsed_ms,
    })
}

/// A node's report as `herald run --json` prints it.
#[derive(Debug, Deserialize)]
struct NodeReport {
    node: u32,
    outputs: Vec<Value>,
    counters: BTreeMap<String, u64>,
}

/// What `herald cluster up` found. Field names are the CLI's JSON contract.
#[derive(Debug, Serialize)]
struct UpReport {
    protocol: &'static str,
    /// Processes started (one per node).
    processes: usize,
    /// Processes that exited successfully and reported.
    reported: usize,
    traitors: Vec<u32>,
    m: usize,
    order: Order,
    behaviour: String,
    tls: bool,
    #[serde(flatten)]
    judged: Judged,
    /// Messages the processes sent, and frames they rejected.
    messages: u64,
    frames_rejected: u64,
    round_ms: u64,
    elapsed_ms: u64,
    /// The cluster's directory (config, certificates, logs) and the merged trace.
    dir: PathBuf,
    trace: Option<PathBuf>,
}

/// Children are killed when dropped, so a failing `up` leaves no stray processes.
struct Children(Vec<(u32, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Starts the cluster `args` describes as real processes, waits for them, and judges the outcome;
/// also returns the processes that failed.
fn launch(args: &InitArgs) -> anyhow::Result<(UpReport, Vec<String>)> {
    let started = Instant::now();
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("herald-cluster-{}", std::process::id())),
    };
    let config = init(args, &dir)?;
    let instance = Instance::of(&config)?;
    let exe = std::env::current_exe().context("finding this executable")?;
    let config_path = dir.join("cluster.toml");
    std::fs::create_dir_all(dir.join("logs"))?;
    std::fs::create_dir_all(dir.join("traces"))?;
    let mut children = Children(Vec::new());
    for node in &config.nodes {
        let log = std::fs::File::create(dir.join(format!("logs/n{}.log", node.id)))?;
        let child = Command::new(&exe)
            .args(["run", "--config"])
            .arg(&config_path)
            .args(["--node", &node.id.to_string(), "--json", "--trace"])
            .arg(dir.join(format!("traces/n{}.jsonl", node.id)))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "herald_net=info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        children.0.push((node.id, child));
    }
    // Drain every child's stdout from the start: a report can outgrow a pipe's buffer.
    let readers: Vec<_> = children
        .0
        .iter_mut()
        .map(|(_, child)| {
            let mut out = child.stdout.take().expect("stdout is piped");
            std::thread::spawn(move || {
                use std::io::Read as _;
                let mut s = String::new();
                let _ = out.read_to_string(&mut s);
                s
            })
        })
        .collect();
    let deadline = Instant::now() + instance.lifetime() + Duration::from_secs(40);
    let mut outputs = BTreeMap::new();
    let (mut reported, mut messages, mut rejected) = (0, 0, 0);
    let mut failures = Vec::new();
    for ((id, child), reader) in children.0.iter_mut().zip(readers) {
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = reader.join().unwrap_or_default();
        match (status, serde_json::from_str::<NodeReport>(stdout.trim())) {
            (Some(s), Ok(report)) if s.success() => {
                reported += 1;
                messages += report.counters.get("sent").copied().unwrap_or(0);
                rejected += report.counters.get("frames_rejected").copied().unwrap_or(0);
                outputs.insert(NodeId(report.node), report.outputs);
            }
            (status, _) => failures.push(format!("n{id}: {status:?} (see logs/n{id}.log)")),
        }
    }
    drop(children);
    let judged = instance.judge(&outputs)?;
    let traces: Vec<PathBuf> =
        (0..config.nodes.len()).map(|i| dir.join(format!("traces/n{i}.jsonl"))).filter(|p| p.exists()).collect();
    let trace = dir.join("trace.jsonl");
    let trace = herald_net::merge(&traces, &trace, instance.protocol.name()).ok().map(|_| trace);
    let report = UpReport {
        protocol: instance.protocol.name(),
        processes: config.nodes.len(),
        reported,
        traitors: config.protocol.traitors.clone(),
        m: instance.m,
        order: instance.order,
        behaviour: instance.behaviour.clone(),
        tls: config.tls,
        judged,
        messages,
        frames_rejected: rejected,
        round_ms: instance.round.as_millis() as u64,
        elapsed_ms: started.elapsed().as_millis() as u64,
        dir: dir.clone(),
        trace,
    };
    Ok((report, failures))
}

/// The tour's real-process run: OM(1) among 4 processes over mutual TLS with one traitor, the
/// first seed from `seed` on whose traitor does more than stay silent. Returns a line of
/// narration, whether the loyal generals agreed, and the merged trace.
pub(crate) fn tour_run(seed: u64, dir: &Path) -> anyhow::Result<(String, bool, Option<PathBuf>)> {
    let mut args = InitArgs {
        nodes: 4,
        dir: Some(dir.to_path_buf()),
        protocol: Protocol::ByzantineOm,
        traitors: 1,
        m: None,
        seed,
        host: IpAddr::from([127, 0, 0, 1]),
        base_port: None,
        delay_bound_ms: 50,
        step_bound_ms: 10,
        stages: 2,
        calls: 20,
        delivery: crate::cli::RpcDelivery::ExactlyOnce,
        no_tls: false,
        max_callers: None,
    };
    for s in seed..seed.saturating_add(20) {
        args.seed = s;
        if Instance::of(&init(&args, dir)?)?.behaviour != "silent" {
            break;
        }
    }
    let (report, failures) = launch(&args)?;
    let j = &report.judged;
    let decisions: Vec<String> = j.decisions.iter().flatten().map(|(n, o)| format!("{n} {o:?}")).collect();
    let line = format!(
        "{} real processes over TCP + mutual TLS (seed {}), traitor {:?} ({}): decisions {}; {} violations of IC1/IC2; {} messages in {} ms",
        report.processes,
        args.seed,
        report.traitors,
        report.behaviour,
        decisions.join(", "),
        j.violations,
        report.messages,
        report.elapsed_ms
    );
    Ok((line, failures.is_empty() && report.reported == report.processes && j.violations == 0, report.trace))
}

fn up(args: &UpArgs) -> anyhow::Result<ExitCode> {
    let (report, failures) = launch(&args.cluster)?;
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        outln!(
            "{} · {} processes · traitors {:?} ({}) · rounds of {} ms",
            report.protocol,
            report.processes,
            report.traitors,
            report.behaviour,
            report.round_ms
        );
        let j = &report.judged;
        if let (Some(decisions), Some(ic1), Some(ic2)) = (&j.decisions, j.ic1, j.ic2) {
            let decisions: Vec<String> = decisions.iter().map(|(n, o)| format!("{n} {o:?}")).collect();
            outln!("  decisions   {}", decisions.join(", "));
            outln!("  violations  {} (IC1 {}, IC2 {})", j.violations, held(ic1), held(ic2));
        }
        if let Some(outcome) = &j.outcome {
            outln!("  outcome     {outcome} · violations {}", j.violations);
        }
        if let (Some(calls), Some(acked), Some(fin)) = (j.calls, j.acknowledged, j.final_value) {
            outln!("  calls       {acked} of {calls} acknowledged · likes {} → {fin}", rpc::LIKES_START);
            outln!("  violations  {}", j.violations);
        }
        outln!("  messages    {} sent · {} frames rejected", report.messages, report.frames_rejected);
        if let Some(t) = &report.trace {
            outln!("  trace       {}", t.display());
        }
    }
    for f in &failures {
        eprintln!("herald: process failed: {f}");
    }
    Ok(ExitCode::from(if report.judged.violations > 0 {
        EXIT_VIOLATED
    } else if !failures.is_empty() {
        EXIT_LIVENESS
    } else {
        0
    }))
}

fn held(ok: bool) -> &'static str {
    if ok { "held" } else { "VIOLATED" }
}

/// Methods of the likes service, for `herald call`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    /// `count += 1` (not idempotent: exactly-once makes retries safe).
    Increment,
    /// Read the count.
    Get,
}

/// `herald call`: one call from outside the cluster to the rpc workload's server.
#[derive(Args, Debug)]
pub(crate) struct CallArgs {
    /// The method.
    #[arg(value_enum)]
    method: Method,
    /// The cluster's configuration (`herald cluster init --protocol rpc` writes it).
    #[arg(long)]
    config: PathBuf,
    /// The node serving the calls.
    #[arg(long, default_value_t = 0)]
    node: u32,
    /// This caller's id, at least the cluster's size (default: drawn from the clock and process id).
    /// The server deduplicates by (caller, sequence 0): reuse an id only to retry the same call.
    #[arg(long)]
    caller: Option<u32>,
    /// How long one attempt waits for the answer, in ms.
    #[arg(long, default_value_t = 1000)]
    deadline_ms: u64,
    /// Attempts; every attempt carries the same request id, so a retried increment counts once.
    #[arg(long, default_value_t = 10)]
    attempts: u32,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub(crate) fn call(args: &CallArgs) -> anyhow::Result<ExitCode> {
    let config = ClusterConfig::load(&args.config)?;
    let entry = config.node(args.node)?;
    let addr = entry.client_addr.with_context(|| format!("invalid `node.client_addr`: n{} has none", args.node))?;
    let n = config.nodes.len() as u32;
    let caller = match args.caller {
        Some(c) if c < n => bail!("invalid `--caller`: {c} is a member's id; callers use ids from {n} up"),
        Some(c) => c,
        None => {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let mixed =
                Rng::derive(u64::from(nanos), u64::from(std::process::id())).between(0, u64::from(u32::MAX - n));
            n + mixed as u32
        }
    };
    if args.attempts == 0 {
        bail!("invalid `--attempts`: at least one");
    }
    let request = match args.method {
        Method::Increment => LikesRequest::Increment,
        Method::Get => LikesRequest::Get,
    };
    let id = rpc::RequestId { client: NodeId(caller), seq: 0 };
    let deadline = Duration::from_millis(args.deadline_ms);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = runtime.block_on(async {
        let mut last = String::from("no attempt made");
        for attempt in 1..=args.attempts {
            let tried = async {
                let mut c = herald_net::client::Caller::connect(addr, config.cluster, args.node, caller).await?;
                c.send(&rpc::Msg::Request { id, attempt, body: herald_core::codec::encode(&request) }).await?;
                loop {
                    if let rpc::Msg::Response { id: got, result, .. } = c.recv::<rpc::Msg>().await? {
                        if got == id {
                            return Ok::<_, herald_net::client::CallerError>(result);
                        }
                    }
                }
            };
            match tokio::time::timeout(deadline, tried).await {
                Ok(Ok(result)) => return Some((attempt, result)),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = format!("no answer within {} ms", args.deadline_ms),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("herald: call failed: {last}");
        None
    });
    let Some((attempts, result)) = outcome else {
        if args.json {
            outln!("{}", serde_json::json!({ "caller": caller, "outcome": "no-response" }));
        }
        return Ok(ExitCode::from(EXIT_LIVENESS));
    };
    let response: LikesResponse = match result {
        Ok(bytes) => herald_core::codec::decode(&bytes).context("the server's response")?,
        Err(e) => bail!("the server refused the call ({}): {}", e.status, e.message),
    };
    let LikesResponse::Count(count) = response;
    if args.json {
        outln!("{}", serde_json::json!({ "caller": caller, "attempts": attempts, "count": count }));
    } else {
        outln!("likes = {count} (caller {caller}, {attempts} attempt(s))");
    }
    Ok(ExitCode::SUCCESS)
}
