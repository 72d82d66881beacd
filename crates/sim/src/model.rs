//! The system model: network × nodes × timing, in the lecture's vocabulary (lecture-spec §4.3), plus
//! the physical link (latency distribution, bandwidth, MTU) and node clocks.
//!
//! Every field is plain data, so a configuration can be printed, put in a trace header and turned
//! back into a reproduce command. [`SimConfig::validate`] rejects configurations that are not what
//! their names claim, naming the offending field.

use herald_core::NodeId;
use herald_core::trace::CutMode;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Serde helper: durations as whole nanoseconds.
pub(crate) mod ns {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(herald_core::time::nanos(*d))
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_nanos)
    }
}

/// Everything a simulation run needs besides the protocol and the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// How many nodes (ids `0..nodes`).
    pub nodes: usize,
    /// Network, node and timing behaviour, and partitions.
    pub model: SystemModel,
    /// One-way latency, bandwidth and MTU of every link.
    pub link: LinkModel,
    /// Node clocks: offset and drift.
    pub clocks: ClockModel,
    /// When the safety phase ends.
    pub limits: Limits,
    /// After the safety phase, heal every fault and require progress within this bound. `None`
    /// skips the liveness phase.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_ns")]
    pub liveness_bound: Option<Duration>,
}

pub(crate) mod opt_ns {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&herald_core::time::nanos(*d)),
            None => s.serialize_none(),
        }
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_nanos))
    }
}

/// The lecture's three-part system model (lecture §2.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemModel {
    /// Link behaviour.
    pub network: NetworkModel,
    /// Node behaviour.
    pub nodes: NodeModel,
    /// Timing behaviour.
    pub timing: TimingModel,
    /// Scheduled partitions; they apply under every network model.
    #[serde(default)]
    pub partitions: Vec<Partition>,
}

/// Network behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NetworkModel {
    /// A message is received iff it is sent (to a correct node). Reordering is allowed unless `fifo`.
    Reliable {
        /// Deliver each link's messages in send order.
        fifo: bool,
    },
    /// Each transmission is lost independently with probability `loss` (< 1), duplicated with
    /// probability `duplicate` (1 to `duplicates_max` extra copies), and may be reordered unless
    /// `reorder` is false. Nothing is ever created.
    FairLoss {
        /// Loss probability per transmission, in `[0, 1)`.
        loss: f64,
        /// Duplication probability per transmission, in `[0, 1]`.
        duplicate: f64,
        /// Most extra copies of one transmission.
        duplicates_max: u32,
        /// Whether copies may overtake each other.
        reorder: bool,
    },
    /// Every transmission passes through an adversary that may observe, drop, delay, modify,
    /// inject (spoof a sender) or replay.
    Arbitrary {
        /// Which adversary.
        adversary: AdversarySpec,
    },
}

/// A stock adversary for the arbitrary network model, or one supplied in code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AdversarySpec {
    /// Delivers nothing.
    DropAll,
    /// Flips one random bit of each message with probability `ratio`.
    ModifyRandomBit {
        /// Probability per message.
        ratio: f64,
    },
    /// Alongside each real message, injects a copy claiming to come from `as_node`, with
    /// probability `ratio`.
    SpoofAs {
        /// The impersonated node.
        as_node: NodeId,
        /// Probability per message.
        ratio: f64,
    },
    /// Delivers every message, and replays each one once more later.
    ReplayEverything,
    /// Blocks every link for `[start, end)` (dropping what is sent then); `end = None` blocks forever.
    BlockFor {
        /// Window start.
        #[serde(with = "ns")]
        start: Duration,
        /// Window end; `None` for never.
        #[serde(with = "opt_ns")]
        end: Option<Duration>,
    },
    /// An adversary supplied in code with `Simulation::with_adversary`.
    Custom {
        /// Its name, for reports.
        name: String,
    },
}

/// Node behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NodeModel {
    /// Nodes never fail.
    Correct,
    /// A faulty node crashes and never runs again.
    CrashStop {
        /// Scheduled crashes: node and time.
        #[serde(default)]
        crashes: Vec<ScheduledCrash>,
        /// Random crashes: each node crashes at an exponentially distributed time with this rate
        /// per virtual second (0 for none).
        rate_per_sec: f64,
        /// At most this many nodes crash in a run.
        crashes_max: usize,
    },
    /// A node may crash, losing its volatile state and timers, and restart with its durable storage.
    CrashRecovery {
        /// Scheduled crashes, each with its restart delay.
        #[serde(default)]
        crashes: Vec<ScheduledCrash>,
        /// Random crashes per node per virtual second (0 for none).
        rate_per_sec: f64,
        /// Random restart delay, lower bound.
        #[serde(with = "ns")]
        restart_min: Duration,
        /// Random restart delay, upper bound.
        #[serde(with = "ns")]
        restart_max: Duration,
    },
    /// The listed nodes run an adversarial strategy instead of the protocol.
    Byzantine {
        /// The faulty nodes.
        faulty: Vec<NodeId>,
    },
}

/// A crash at a known time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledCrash {
    /// Which node.
    pub node: NodeId,
    /// When (global virtual time).
    #[serde(with = "ns")]
    pub at: Duration,
    /// Crash-recovery only: restart this long after the crash.
    #[serde(default, with = "opt_ns")]
    pub restart_after: Option<Duration>,
}

/// Timing behaviour (Dwork, Lynch & Stockmeyer; lecture §2.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TimingModel {
    /// Message latency never exceeds `delay_max`; handlers complete within `step_max` (the
    /// simulator runs handlers in zero virtual time and never pauses nodes).
    Synchronous {
        /// Known upper bound on one-way delay.
        #[serde(with = "ns")]
        delay_max: Duration,
        /// Known upper bound on a handler's execution.
        #[serde(with = "ns")]
        step_max: Duration,
    },
    /// Synchronous except during finitely many asynchronous windows that nodes are not told of.
    /// Inside a window delays and pauses are unbounded, but they end with the window (a message
    /// sent inside arrives by `window end + delay_max`). A single window `[0, gst)` is the DLS
    /// global-stabilisation-time form.
    PartiallySynchronous {
        /// Upper bound on one-way delay outside the windows.
        #[serde(with = "ns")]
        delay_max: Duration,
        /// Upper bound on a step outside the windows.
        #[serde(with = "ns")]
        step_max: Duration,
        /// The asynchronous windows.
        windows: Vec<Window>,
        /// Extra delay inside a window (unbounded distribution).
        async_delay: Latency,
        /// Node pauses inside windows.
        pauses: Pauses,
    },
    /// No bounds: delays come from the link's latency distribution (which may be heavy-tailed) and
    /// nodes may pause for arbitrary durations.
    Asynchronous {
        /// Node pauses (GC, page faults, scheduling).
        pauses: Pauses,
    },
}

/// A half-open window of global virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start.
    #[serde(with = "ns")]
    pub start: Duration,
    /// End.
    #[serde(with = "ns")]
    pub end: Duration,
}

impl Window {
    /// Whether `t` (ns) is inside.
    pub fn contains(&self, t: u64) -> bool {
        herald_core::time::nanos(self.start) <= t && t < herald_core::time::nanos(self.end)
    }
}

/// Random node pauses: each node pauses at exponentially distributed intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pauses {
    /// Pauses per node per virtual second (0 for none).
    pub rate_per_sec: f64,
    /// How long a pause lasts.
    pub duration: Latency,
}

impl Pauses {
    /// No pauses.
    pub fn none() -> Self {
        Self { rate_per_sec: 0.0, duration: Latency::Constant { value: Duration::ZERO } }
    }
}

/// A partition: links between two groups drop or hold every message for a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    /// Start (global virtual time).
    #[serde(with = "ns")]
    pub start: Duration,
    /// End; `None` for never (not allowed under fair-loss or reliable networks).
    #[serde(with = "opt_ns")]
    pub end: Option<Duration>,
    /// One side of the cut.
    pub side_a: Vec<NodeId>,
    /// The other side; empty means every node not in `side_a`.
    pub side_b: Vec<NodeId>,
    /// Both directions are cut; otherwise only `side_a → side_b`.
    pub symmetric: bool,
    /// Drop or hold messages on cut links.
    pub mode: CutMode,
}

/// A latency (or duration) distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Latency {
    /// Always `value`.
    Constant {
        /// The value.
        #[serde(with = "ns")]
        value: Duration,
    },
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound.
        #[serde(with = "ns")]
        min: Duration,
        /// Upper bound.
        #[serde(with = "ns")]
        max: Duration,
    },
    /// `min` plus an exponential with mean `mean` (unbounded).
    Exponential {
        /// Floor.
        #[serde(with = "ns")]
        min: Duration,
        /// Mean of the exponential part.
        #[serde(with = "ns")]
        mean: Duration,
    },
    /// Pareto with scale `min` and tail index `shape` (heavy tail; unbounded; infinite variance for
    /// `shape <= 2`).
    Pareto {
        /// Scale: the minimum value.
        #[serde(with = "ns")]
        min: Duration,
        /// Tail index (> 0).
        shape: f64,
    },
}

/// A [`Latency`] with its parameters in nanoseconds: what the engine samples from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LatencyNs {
    Constant(u64),
    Uniform(u64, u64),
    /// `min`, `mean`.
    Exponential(u64, f64),
    /// `min`, `1 / shape`.
    Pareto(f64, f64),
}

impl LatencyNs {
    /// Draws a value in nanoseconds. Always inlined: it runs once per transmission, and a call
    /// costs about as much as the uniform draw itself.
    #[inline(always)]
    pub(crate) fn sample(self, rng: &mut herald_core::Rng) -> u64 {
        match self {
            Self::Constant(value) => value,
            Self::Uniform(min, max) => rng.between(min, max),
            Self::Exponential(min, mean) => {
                let u = 1.0 - rng.unit(); // (0, 1]
                min.saturating_add((-u.ln() * mean) as u64)
            }
            Self::Pareto(min, inverse_shape) => {
                let u = 1.0 - rng.unit();
                let x = min / u.powf(inverse_shape);
                if x >= u64::MAX as f64 { u64::MAX / 4 } else { x as u64 }
            }
        }
    }
}

impl Latency {
    /// Uniform between two durations.
    pub fn uniform(min: Duration, max: Duration) -> Self {
        Self::Uniform { min, max }
    }

    /// The largest value this distribution can produce, if bounded.
    pub fn max(&self) -> Option<Duration> {
        match self {
            Self::Constant { value } => Some(*value),
            Self::Uniform { max, .. } => Some(*max),
            Self::Exponential { .. } | Self::Pareto { .. } => None,
        }
    }

    /// Draws a value in nanoseconds.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut herald_core::Rng) -> u64 {
        self.in_nanos().sample(rng)
    }

    /// The distribution with its parameters converted to nanoseconds once, for the hot path.
    pub(crate) fn in_nanos(&self) -> LatencyNs {
        use herald_core::time::nanos;
        match self {
            Self::Constant { value } => LatencyNs::Constant(nanos(*value)),
            Self::Uniform { min, max } => LatencyNs::Uniform(nanos(*min), nanos(*max)),
            Self::Exponential { min, mean } => LatencyNs::Exponential(nanos(*min), nanos(*mean) as f64),
            Self::Pareto { min, shape } => LatencyNs::Pareto(nanos(*min) as f64, 1.0 / shape),
        }
    }

    fn validate(&self, field: &str) -> Result<(), ConfigError> {
        match self {
            Self::Uniform { min, max } if min > max => {
                Err(ConfigError::new(field, format!("uniform min {min:?} exceeds max {max:?}")))
            }
            Self::Exponential { mean, .. } if mean.is_zero() => {
                Err(ConfigError::new(field, "an exponential distribution needs a positive mean"))
            }
            Self::Pareto { shape, min } if shape.is_nan() || *shape <= 0.0 || min.is_zero() => {
                Err(ConfigError::new(field, "a Pareto distribution needs shape > 0 and a positive min"))
            }
            _ => Ok(()),
        }
    }
}

/// The physical link between every pair of nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkModel {
    /// One-way propagation latency.
    pub latency: Latency,
    /// Bits per second per directed link; `None` for unlimited. A message's packets are serialised
    /// onto the link one after another, so a busy link queues.
    pub bandwidth_bps: Option<u64>,
    /// Largest packet payload in bytes; a message is split into `ceil(len / mtu)` packets.
    pub mtu: u32,
    /// Header bytes per packet (counted against bandwidth, not delivered).
    pub packet_header: u32,
}

impl Default for LinkModel {
    fn default() -> Self {
        Self {
            latency: Latency::uniform(Duration::from_millis(1), Duration::from_millis(10)),
            bandwidth_bps: Some(1_000_000_000),
            mtu: 1500,
            packet_header: 28,
        }
    }
}

/// Node clocks: each node's local clock reads `offset + t·(1 + drift/10⁶)` at true time `t`, with
/// offset uniform in `[0, offset_max]` and drift uniform in `[-drift_ppm_max, drift_ppm_max]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClockModel {
    /// Largest initial offset.
    #[serde(with = "ns")]
    pub offset_max: Duration,
    /// Largest drift in parts per million (quartz is within about 50).
    pub drift_ppm_max: f64,
}

/// When the safety phase ends: at `time_max` of virtual time, after `events_max` events, or when
/// nothing is left to happen, whichever comes first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Virtual time limit.
    #[serde(with = "ns")]
    pub time_max: Duration,
    /// Event limit (`u64::MAX` for none).
    pub events_max: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { time_max: Duration::from_secs(10), events_max: u64::MAX }
    }
}

/// The most nodes a simulation may have: the engine keeps bandwidth and FIFO state for every
/// directed link, n² entries.
pub const NODES_MAX: usize = 1024;

impl SimConfig {
    /// A reliable, synchronous-enough default: `nodes` correct nodes, reliable links, the default
    /// link, perfect clocks, 10 s of virtual time.
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes,
            model: SystemModel {
                network: NetworkModel::Reliable { fifo: false },
                nodes: NodeModel::Correct,
                timing: TimingModel::Asynchronous { pauses: Pauses::none() },
                partitions: Vec::new(),
            },
            link: LinkModel::default(),
            clocks: ClockModel::default(),
            limits: Limits::default(),
            liveness_bound: None,
        }
    }

    /// Checks that the configuration means what its names say.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let n = self.nodes;
        if n == 0 || n > NODES_MAX {
            return Err(ConfigError::new(
                "nodes",
                format!("{n} nodes: expected 1 to {NODES_MAX} (the simulator keeps state per directed link)"),
            ));
        }
        let node_ok = |field: &str, id: NodeId| {
            if id.index() < n {
                Ok(())
            } else {
                Err(ConfigError::new(field, format!("{id} is not a node of this {n}-node cluster")))
            }
        };
        self.validate_network()?;
        self.validate_nodes(&node_ok)?;
        self.validate_timing()?;
        self.validate_partitions(&node_ok)?;
        self.link.latency.validate("link.latency")?;
        if self.link.mtu <= self.link.packet_header || self.link.mtu < 64 {
            return Err(ConfigError::new("link.mtu", "the MTU must be at least 64 bytes and exceed the packet header"));
        }
        if self.link.bandwidth_bps == Some(0) {
            return Err(ConfigError::new(
                "link.bandwidth",
                "a link with zero bandwidth carries nothing; omit it for unlimited",
            ));
        }
        let drift = self.clocks.drift_ppm_max;
        if !(0.0..1e6).contains(&drift) {
            return Err(ConfigError::new(
                "clocks.drift_ppm_max",
                format!("{drift} ppm: expected 0 ≤ drift < 1,000,000"),
            ));
        }
        if self.limits.time_max.is_zero() {
            return Err(ConfigError::new("limits.time_max", "a run needs some virtual time"));
        }
        if self.liveness_bound.is_some_and(|b| b.is_zero()) {
            return Err(ConfigError::new("liveness_bound", "the liveness bound must be positive"));
        }
        Ok(())
    }

    fn validate_network(&self) -> Result<(), ConfigError> {
        match &self.model.network {
            NetworkModel::Reliable { .. } => Ok(()),
            NetworkModel::FairLoss { loss, duplicate, duplicates_max, .. } => {
                if !(0.0..1.0).contains(loss) {
                    return Err(ConfigError::new(
                        "loss",
                        format!(
                            "{loss} is not fair-loss: the loss probability must be in [0, 1), or no retransmission would ever get through"
                        ),
                    ));
                }
                if !(0.0..=1.0).contains(duplicate) {
                    return Err(ConfigError::new("duplicate", format!("{duplicate}: a probability must be in [0, 1]")));
                }
                if *duplicate > 0.0 && *duplicates_max == 0 {
                    return Err(ConfigError::new(
                        "duplicates_max",
                        "duplication is on but at most 0 copies are allowed",
                    ));
                }
                Ok(())
            }
            NetworkModel::Arbitrary { adversary } => match adversary {
                AdversarySpec::ModifyRandomBit { ratio } | AdversarySpec::SpoofAs { ratio, .. }
                    if !(0.0..=1.0).contains(ratio) =>
                {
                    Err(ConfigError::new("adversary.ratio", format!("{ratio}: a probability must be in [0, 1]")))
                }
                AdversarySpec::SpoofAs { as_node, .. } if as_node.index() >= self.nodes => {
                    Err(ConfigError::new("adversary.as_node", format!("{as_node} is not a node")))
                }
                AdversarySpec::BlockFor { start, end: Some(end) } if end <= start => {
                    Err(ConfigError::new("adversary.end", "the blocking window ends before it starts"))
                }
                _ => Ok(()),
            },
        }
    }

    fn validate_nodes(&self, node_ok: &dyn Fn(&str, NodeId) -> Result<(), ConfigError>) -> Result<(), ConfigError> {
        match &self.model.nodes {
            NodeModel::Correct => Ok(()),
            NodeModel::CrashStop { crashes, rate_per_sec, .. } => {
                crashes.iter().try_for_each(|c| node_ok("nodes.crashes", c.node))?;
                rate_ok(*rate_per_sec, "nodes.rate")
            }
            NodeModel::CrashRecovery { crashes, rate_per_sec, restart_min, restart_max } => {
                crashes.iter().try_for_each(|c| node_ok("nodes.crashes", c.node))?;
                rate_ok(*rate_per_sec, "nodes.rate")?;
                if restart_min > restart_max {
                    return Err(ConfigError::new("nodes.restart", "restart_min exceeds restart_max"));
                }
                Ok(())
            }
            NodeModel::Byzantine { faulty } => {
                faulty.iter().try_for_each(|&id| node_ok("nodes.faulty", id))?;
                if faulty.len() >= self.nodes {
                    return Err(ConfigError::new("nodes.faulty", "every node is faulty: nothing is left to check"));
                }
                Ok(())
            }
        }
    }

    fn validate_timing(&self) -> Result<(), ConfigError> {
        let bounded = |delay_max: &Duration| -> Result<(), ConfigError> {
            if delay_max.is_zero() {
                return Err(ConfigError::new("timing.delay_max", "a synchronous delay bound must be positive"));
            }
            match self.link.latency.max() {
                Some(max) if max <= *delay_max => Ok(()),
                Some(max) => Err(ConfigError::new(
                    "latency",
                    format!("latency up to {max:?} exceeds the synchronous bound timing.delay_max = {delay_max:?}"),
                )),
                None => Err(ConfigError::new(
                    "latency",
                    "an unbounded latency distribution cannot be synchronous: use constant or uniform latency",
                )),
            }
        };
        match &self.model.timing {
            TimingModel::Synchronous { delay_max, .. } => bounded(delay_max),
            TimingModel::PartiallySynchronous { delay_max, windows, async_delay, pauses, .. } => {
                bounded(delay_max)?;
                async_delay.validate("timing.async_delay")?;
                pauses.duration.validate("timing.pauses.duration")?;
                rate_ok(pauses.rate_per_sec, "timing.pauses.rate")?;
                for w in windows {
                    if w.end <= w.start {
                        return Err(ConfigError::new(
                            "timing.windows",
                            "an asynchronous window must end after it starts",
                        ));
                    }
                }
                Ok(())
            }
            TimingModel::Asynchronous { pauses } => {
                pauses.duration.validate("timing.pauses.duration")?;
                rate_ok(pauses.rate_per_sec, "timing.pauses.rate")
            }
        }
    }

    fn validate_partitions(
        &self,
        node_ok: &dyn Fn(&str, NodeId) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError> {
        for (i, p) in self.model.partitions.iter().enumerate() {
            let field = format!("partitions[{i}]");
            if p.side_a.is_empty() {
                return Err(ConfigError::new(&format!("{field}.side_a"), "a partition needs nodes on its first side"));
            }
            for &id in p.side_a.iter().chain(&p.side_b) {
                node_ok(&field, id)?;
            }
            if p.side_a.iter().any(|id| p.side_b.contains(id)) {
                return Err(ConfigError::new(&field, "a node cannot be on both sides of a partition"));
            }
            if let Some(end) = p.end {
                if end <= p.start {
                    return Err(ConfigError::new(&format!("{field}.end"), "the partition ends before it starts"));
                }
            }
            match (&self.model.network, p.end, p.mode) {
                (NetworkModel::FairLoss { .. }, None, _) => {
                    return Err(ConfigError::new(
                        &format!("{field}.end"),
                        "a partition that never ends is not fair-loss: under fair loss a partition lasts a finite time",
                    ));
                }
                (NetworkModel::Reliable { .. }, None, _) | (NetworkModel::Reliable { .. }, _, CutMode::Drop) => {
                    return Err(ConfigError::new(
                        &format!("{field}.mode"),
                        "a reliable network delivers every message: a partition there must hold messages and end",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn rate_ok(rate: f64, field: &str) -> Result<(), ConfigError> {
    if rate >= 0.0 && rate.is_finite() {
        Ok(())
    } else {
        Err(ConfigError::new(field, format!("{rate}: a rate must be finite and non-negative")))
    }
}

/// A configuration that does not mean what it says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {message}")]
pub struct ConfigError {
    /// The offending field.
    pub field: String,
    /// Why it is invalid.
    pub message: String,
}

impl ConfigError {
    /// An error about `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), message: message.into() }
    }
}
