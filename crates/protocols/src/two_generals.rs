//! The two generals problem (lecture §2.1; Gray 1978): why no protocol over a lossy channel makes
//! two parties act together with certainty, and what the common strategies buy.
//!
//! # The problem
//!
//! Two armies, led by general G1 (node 0) and general G2 (node 1), can take a city only by
//! attacking together; an army that attacks alone is defeated. They talk only through messengers,
//! who cross enemy ground and may be captured. The requirement is **G1 attacks if and only if G2
//! attacks** — plus non-triviality: when no messenger is captured they attack (always retreating
//! satisfies "iff" trivially). A sender never learns that its messenger arrived unless a reply comes
//! back, and silence cannot tell "nothing was sent" from "every messenger was captured".
//!
//! # Why no finite protocol works
//!
//! **Proof A (a chain of indistinguishable runs; Lynch §5.1).** Suppose a deterministic protocol
//! solves the problem. Start from the run in which nothing is lost: both attack. Remove the *last*
//! delivered messenger. Everything sent after it is already lost, so its sender's view is the same
//! and it decides the same; by agreement so must the receiver. Repeat until every messenger is lost
//! and both still attack. Now neither hears anything, so each would decide the same even if the
//! other had never wanted to attack — which breaks validity. So some step of the chain must break
//! agreement instead: one general attacks alone.
//!
//! **Proof B (the minimal protocol).** Take a run that reaches agreement with the fewest messengers.
//! The sender of the last one decides without knowing whether it arrived, so its decision is the
//! same either way; the receiver must then decide the same either way too, so the last messenger
//! was unnecessary — contradicting minimality. [`LossModel::DropFinalStage`] makes this executable:
//! capture exactly the protocol's last stage, and the sender of that stage attacks alone.
//!
//! Confidence can grow with more messengers and more acknowledgements; certainty never comes. The
//! knowledge view: after j hops the last receiver knows a fact nested j levels deep ("G1 knows that
//! G2 knows that …"), but attacking together needs *common knowledge*, the infinite nesting.
//!
//! # The strategies ([`Strategy`])
//!
//! - `AckChain { stages: d, messengers: k }`: stage 1 goes G1 → G2, stage 2 G2 → G1, and so on
//!   alternately. Each stage is `k` messengers (copies) sent at once; stage s + 1 is sent only when
//!   the first copy of stage s arrives. A general attacks iff, at the deadline, it has received every
//!   stage addressed to it. `d = 1` is `AttackRegardless` (lecture option 1: G1 always attacks);
//!   `d = 2` is lecture option 2 (G1 attacks only when acknowledged).
//! - `RetryUntilAck { interval, deadline }`: G1 sends a messenger every `interval` until one is
//!   acknowledged or the deadline passes; G2 acknowledges every copy. The `d = 2` attack rule.
//! - `RandomizedLevels { rounds: r }` (Varghese–Lynch; Lynch §5.2.2): in each of r synchronous
//!   rounds both generals send their whole state — what they know of the inputs and of each other's
//!   *information level*. G1 draws a secret key uniformly in `1..=r` and it spreads with the
//!   messages. A general attacks iff it knows the key, its level is at least the key, and it knows
//!   both wanted to attack. Levels end at most one apart, so against any loss schedule fixed in
//!   advance (an oblivious adversary) the generals disagree with probability at most 1/r.
//!
//! # Closed forms for `AckChain` under independent loss
//!
//! Each messenger is captured with probability p, independently. A stage succeeds unless all k
//! of its copies are captured: q = 1 − pᵏ. The chain stops at the first failed stage F. The two
//! generals' last expected stages are d and d − 1, so they attack together iff F > d (probability
//! q^d), and one attacks alone iff F = d exactly — the sender of stage d, G1 if d is odd and G2 if d
//! is even (probability q^(d−1)·pᵏ). Otherwise neither attacks: 1 − q^(d−1). Stage s is sent iff
//! stages 1..s − 1 succeeded, so E[messengers] = k·(1 + q + … + q^(d−1)). See [`closed_form`].
//!
//! # Inputs, effects, observations
//!
//! Inputs: `on_start` (G1 sends stage 1; both arm the deadline), `on_message` (a stage's first copy
//! triggers the next stage; levels merge), `on_timer` ([`Timer::Decide`], [`Timer::Retry`],
//! [`Timer::Round`]). Effects: sends and timers, and exactly one [`Decision`] observation per
//! general, at its deadline. [`outcome`] and [`check_agreement`] judge a run by its decisions.

use herald_core::{Context, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// General G1, who sends the first messenger.
pub const G1: NodeId = NodeId(0);
/// General G2.
pub const G2: NodeId = NodeId(1);

/// Most messengers per stage a strategy may send (a bound on every loop that sends copies).
pub const MESSENGERS_MAX: u32 = 1_000;
/// Most stages of an acknowledgement chain.
pub const STAGES_MAX: u32 = 1_000;
/// Most rounds of the randomized protocol.
pub const ROUNDS_MAX: u32 = 10_000;
/// Most messengers G1 sends under `RetryUntilAck` (`deadline / interval` must stay below it).
pub const RETRIES_MAX: u64 = 1_000_000;

/// How the generals coordinate. Every strategy but `RandomizedLevels` is deterministic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Strategy {
    /// Lecture option 1: G1 sends `messengers` copies and attacks regardless; G2 attacks iff one
    /// arrives. The same as `AckChain { stages: 1, messengers }`.
    AttackRegardless {
        /// Copies sent.
        messengers: u32,
    },
    /// An acknowledgement chain of `stages` stages, alternating G1 → G2, G2 → G1, …; each stage is
    /// `messengers` copies, and stage s + 1 is sent only once stage s arrived. A general attacks iff
    /// it received every stage addressed to it.
    AckChain {
        /// d, the number of stages.
        stages: u32,
        /// k, copies per stage.
        messengers: u32,
    },
    /// G1 sends a messenger every `interval` until one is acknowledged or `deadline` passes; G2
    /// acknowledges every copy. G1 attacks iff acknowledged, G2 iff a messenger arrived; both decide
    /// at `deadline`.
    RetryUntilAck {
        /// Time between G1's messengers (local clock; nanoseconds in JSON).
        #[serde(with = "nanos")]
        interval: Duration,
        /// When both decide (local clock, from the start; nanoseconds in JSON).
        #[serde(with = "nanos")]
        deadline: Duration,
    },
    /// Varghese–Lynch information levels with a random key, over `rounds` synchronous rounds:
    /// disagreement at most 1/`rounds` against an oblivious adversary.
    RandomizedLevels {
        /// r, the number of rounds.
        rounds: u32,
    },
}

/// Serde helper: durations as whole nanoseconds, as Herald's configurations write them.
mod nanos {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(herald_core::time::nanos(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_nanos)
    }
}

impl Strategy {
    /// Checks the parameters, naming the offending one.
    pub fn validate(&self) -> Result<(), String> {
        let count = |name: &str, value: u32, max: u32| {
            if (1..=max).contains(&value) { Ok(()) } else { Err(format!("{name} = {value}: expected 1 to {max}")) }
        };
        match self {
            Self::AttackRegardless { messengers } => count("messengers", *messengers, MESSENGERS_MAX),
            Self::AckChain { stages, messengers } => {
                count("stages", *stages, STAGES_MAX)?;
                count("messengers", *messengers, MESSENGERS_MAX)
            }
            Self::RetryUntilAck { interval, deadline } => {
                if interval.is_zero() {
                    return Err("interval: G1 must wait some time between messengers".into());
                }
                if deadline.is_zero() {
                    return Err("deadline: the generals need some time to talk".into());
                }
                if deadline.as_nanos() / interval.as_nanos() >= u128::from(RETRIES_MAX) {
                    return Err(format!("interval: deadline / interval must stay below {RETRIES_MAX} messengers"));
                }
                Ok(())
            }
            Self::RandomizedLevels { rounds } => count("rounds", *rounds, ROUNDS_MAX),
        }
    }

    /// `(stages, messengers)` for the acknowledgement-chain family (`AttackRegardless` is `d = 1`).
    pub fn chain(&self) -> Option<(u32, u32)> {
        match *self {
            Self::AttackRegardless { messengers } => Some((1, messengers)),
            Self::AckChain { stages, messengers } => Some((stages, messengers)),
            Self::RetryUntilAck { .. } | Self::RandomizedLevels { .. } => None,
        }
    }

    /// The protocol's last stage: what [`LossModel::DropFinalStage`] captures. For the randomized
    /// protocol a "stage" is a round.
    pub fn final_stage(&self) -> u32 {
        match *self {
            Self::AttackRegardless { .. } => 1,
            Self::AckChain { stages, .. } => stages,
            Self::RetryUntilAck { .. } => 2,
            Self::RandomizedLevels { rounds } => rounds,
        }
    }

    /// Whether the strategy draws random numbers (so that a loss pattern alone does not fix a run).
    pub fn is_randomized(&self) -> bool {
        matches!(self, Self::RandomizedLevels { .. })
    }

    /// The randomized protocol's bound on P(one attacks alone), 1/r, against any loss schedule
    /// fixed before the run; `None` for the deterministic strategies, which some schedule always
    /// breaks.
    pub fn disagreement_bound(&self) -> Option<f64> {
        match *self {
            Self::RandomizedLevels { rounds } => Some(1.0 / f64::from(rounds)),
            _ => None,
        }
    }

    /// The closed-form outcome probabilities under independent loss with probability `loss_ratio`
    /// per messenger; `None` outside the acknowledgement-chain family.
    pub fn closed_form(&self, loss_ratio: f64) -> Option<ClosedForm> {
        self.chain().map(|(stages, messengers)| closed_form(stages, messengers, loss_ratio))
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AttackRegardless { messengers } => write!(f, "attack-regardless k={messengers}"),
            Self::AckChain { stages, messengers } => write!(f, "ack-chain d={stages} k={messengers}"),
            Self::RetryUntilAck { interval, deadline } => {
                write!(f, "retry-until-ack interval={interval:?} deadline={deadline:?}")
            }
            Self::RandomizedLevels { rounds } => write!(f, "randomized-levels r={rounds}"),
        }
    }
}

/// The last stage of a `stages`-stage chain addressed to `general` (0 if none is): G2 receives the
/// odd stages, G1 the even ones.
pub fn last_stage_addressed(general: NodeId, stages: u32) -> u32 {
    let parity = if general == G2 { 1 } else { 0 };
    if stages % 2 == parity { stages } else { stages.saturating_sub(1) }
}

/// The general who attacks alone when stage `stages` is the first to fail: the sender of that
/// stage, G1 if `stages` is odd and G2 if it is even.
pub fn lone_attacker(stages: u32) -> NodeId {
    if stages % 2 == 1 { G1 } else { G2 }
}

/// What captures the messengers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LossModel {
    /// Each messenger is captured independently with probability `loss_ratio` (fair loss, i.i.d.).
    /// The driver's network decides these captures; [`LossModel::captures`] has no say.
    Iid {
        /// Probability that one messenger is captured.
        loss_ratio: f64,
    },
    /// Captures every copy of the protocol's final stage and nothing else: Proof B, executable.
    DropFinalStage,
    /// Captures every messenger.
    DropAll,
    /// Messenger number i (0-based, in send order) is delivered iff `delivered[i]`; messengers past
    /// the end of the script are delivered. An oblivious schedule, fixed before the run.
    Script(Vec<bool>),
}

impl LossModel {
    /// Whether the adversarial loss model captures messenger number `index` (0-based, in send
    /// order) carrying `msg`; `None` for `Iid`, whose captures are the network's coin flips.
    pub fn captures(&self, strategy: &Strategy, index: u64, msg: &Msg) -> Option<bool> {
        match self {
            Self::Iid { .. } => None,
            Self::DropFinalStage => Some(msg.stage() == strategy.final_stage()),
            Self::DropAll => Some(true),
            Self::Script(delivered) => {
                Some(!usize::try_from(index).ok().and_then(|i| delivered.get(i)).copied().unwrap_or(true))
            }
        }
    }
}

/// A messenger.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// A messenger of stage `stage` (1-based), copy number `copy` of that stage's messengers. Under
    /// `RetryUntilAck`, stage 1 is G1's request and stage 2 G2's acknowledgement of copy `copy`.
    Stage {
        /// The stage.
        stage: u32,
        /// Which copy.
        copy: u32,
    },
    /// `RandomizedLevels`: the sender's whole state, sent once per round.
    Levels {
        /// The round it was sent in (1-based).
        round: u32,
        /// G1's key, if the sender knows it.
        key: Option<u32>,
        /// What the sender knows of each general's information level (−1: nothing).
        levels: [i32; 2],
        /// What the sender knows of each general's input (`true`: wants to attack).
        inputs: [Option<bool>; 2],
    },
}

impl Msg {
    /// The stage (or round) the messenger belongs to.
    pub fn stage(&self) -> u32 {
        match *self {
            Self::Stage { stage, .. } => stage,
            Self::Levels { round, .. } => round,
        }
    }
}

/// Timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// The deadline: decide whether to attack.
    Decide,
    /// `RetryUntilAck`: G1 sends another messenger.
    Retry,
    /// `RandomizedLevels`: round n begins (round `rounds + 1` is the decision).
    Round(u32),
}

/// A general's decision, reported once at its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// Whether this general attacks.
    pub attack: bool,
}

/// One general.
///
/// Inputs: `on_start`, `on_message(Msg)`, `on_timer(Timer)`. Effects: `send` of messengers,
/// `set_timer`/`cancel_timer`, and one `output(Decision)` at the deadline; after deciding, a
/// general ignores everything.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct General {
    strategy: Strategy,
    delay_max: Duration,
    /// The highest stage this general sent (0: none).
    sent: u32,
    /// The highest stage this general received (0: none).
    heard: u32,
    /// `RetryUntilAck`: messengers G1 sent.
    requests: u64,
    /// `RandomizedLevels` state: the key, levels and inputs as this general knows them.
    key: Option<u32>,
    levels: [i32; 2],
    inputs: [Option<bool>; 2],
    decided: Option<bool>,
}

impl General {
    /// A general playing `strategy` in a synchronous system in which a messenger that is not
    /// captured arrives within `delay_max` (the lecture's synchronous model; clocks are assumed
    /// within much less than `delay_max` of each other). Panics on an invalid strategy.
    pub fn new(strategy: Strategy, delay_max: Duration) -> Self {
        if let Err(e) = strategy.validate() {
            panic!("invalid two-generals strategy: {e}");
        }
        assert!(!delay_max.is_zero(), "a messenger takes some time to arrive");
        Self {
            strategy,
            delay_max,
            sent: 0,
            heard: 0,
            requests: 0,
            key: None,
            levels: [-1, -1],
            inputs: [None, None],
            decided: None,
        }
    }

    /// When a general decides, on its local clock from its start. An acknowledgement chain of d
    /// stages finishes within d·`delay_max`; deciding one `delay_max` later leaves room for skew.
    pub fn deadline(strategy: &Strategy, delay_max: Duration) -> Duration {
        match *strategy {
            Strategy::AttackRegardless { .. } | Strategy::AckChain { .. } => {
                let (stages, _) = strategy.chain().expect("a chain");
                delay_max.saturating_mul(stages + 1)
            }
            Strategy::RetryUntilAck { deadline, .. } => deadline,
            Strategy::RandomizedLevels { rounds } => Self::round_length(delay_max).saturating_mul(rounds),
        }
    }

    /// `RandomizedLevels`: a round lasts twice the delay bound, so a messenger sent at the start of
    /// a round arrives before the round ends.
    pub fn round_length(delay_max: Duration) -> Duration {
        delay_max.saturating_mul(2)
    }

    /// The decision, once made.
    pub fn decision(&self) -> Option<bool> {
        self.decided
    }

    fn other(id: NodeId) -> NodeId {
        if id == G1 { G2 } else { G1 }
    }

    fn send_stage(&mut self, stage: u32, copies: u32, ctx: &mut Context<'_, Self>) {
        let to = Self::other(ctx.id());
        for copy in 0..copies {
            ctx.send(to, Msg::Stage { stage, copy });
        }
        self.sent = stage;
    }

    /// The acknowledgement-chain rule: attack iff every stage addressed to this general arrived
    /// (stages arrive in order, so the last one is enough).
    fn chain_decision(&self, id: NodeId, stages: u32) -> bool {
        self.heard >= last_stage_addressed(id, stages)
    }

    fn send_levels(&self, round: u32, ctx: &mut Context<'_, Self>) {
        let msg = Msg::Levels { round, key: self.key, levels: self.levels, inputs: self.inputs };
        ctx.send(Self::other(ctx.id()), msg);
    }

    fn on_levels(&mut self, me: usize, key: Option<u32>, levels: [i32; 2], inputs: [Option<bool>; 2]) {
        self.key = self.key.or(key);
        for j in 0..2 {
            self.levels[j] = self.levels[j].max(levels[j]);
            self.inputs[j] = self.inputs[j].or(inputs[j]);
        }
        // My level is one more than what I know of the other's: I have heard from it at that level.
        self.levels[me] = self.levels[me].max(self.levels[1 - me] + 1);
    }

    fn levels_decision(&self, me: usize) -> bool {
        let all_attack = self.inputs.iter().all(|i| *i == Some(true));
        all_attack && self.key.is_some_and(|key| i64::from(self.levels[me]) >= i64::from(key))
    }

    fn decide(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        let attack = match self.strategy {
            Strategy::AttackRegardless { .. } | Strategy::AckChain { .. } => {
                let (stages, _) = self.strategy.chain().expect("a chain");
                self.chain_decision(me, stages)
            }
            Strategy::RetryUntilAck { .. } => self.chain_decision(me, 2),
            Strategy::RandomizedLevels { .. } => self.levels_decision(me.index()),
        };
        self.decided = Some(attack);
        if matches!(self.strategy, Strategy::RetryUntilAck { .. }) && me == G1 {
            ctx.cancel_timer(Timer::Retry);
        }
        ctx.output(Decision { attack });
    }
}

impl Node for General {
    type Msg = Msg;
    type Timer = Timer;
    type Output = Decision;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        assert!(me == G1 || me == G2, "the two generals are nodes 0 and 1, not {me}");
        match self.strategy {
            Strategy::AttackRegardless { .. } | Strategy::AckChain { .. } => {
                let (_, messengers) = self.strategy.chain().expect("a chain");
                if me == G1 {
                    self.send_stage(1, messengers, ctx);
                }
                ctx.set_timer(Timer::Decide, Self::deadline(&self.strategy, self.delay_max));
            }
            Strategy::RetryUntilAck { deadline, .. } => {
                if me == G1 {
                    self.on_timer(Timer::Retry, ctx);
                }
                ctx.set_timer(Timer::Decide, deadline);
            }
            Strategy::RandomizedLevels { rounds } => {
                if me == G1 {
                    self.key = Some(ctx.rng().between(1, u64::from(rounds)) as u32);
                }
                self.levels[me.index()] = 0;
                self.inputs[me.index()] = Some(true);
                self.on_timer(Timer::Round(1), ctx);
            }
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        if self.decided.is_some() || from != Self::other(me) {
            return; // the battle is decided, or the messenger is not from the other general
        }
        match (&self.strategy, msg) {
            (Strategy::AttackRegardless { .. } | Strategy::AckChain { .. }, Msg::Stage { stage, .. }) => {
                let (stages, messengers) = self.strategy.chain().expect("a chain");
                // Only the first copy of the next stage addressed to me counts; later copies and
                // stages out of order carry nothing new.
                if stage == self.sent + 1 && stage > self.heard && stage <= stages {
                    self.heard = stage;
                    if stage < stages {
                        self.send_stage(stage + 1, messengers, ctx);
                    }
                }
            }
            (Strategy::RetryUntilAck { .. }, Msg::Stage { stage: 1, copy }) if me == G2 => {
                self.heard = 1;
                ctx.send(from, Msg::Stage { stage: 2, copy });
            }
            (Strategy::RetryUntilAck { .. }, Msg::Stage { stage: 2, .. }) if me == G1 => {
                self.heard = 2;
                ctx.cancel_timer(Timer::Retry);
            }
            (Strategy::RandomizedLevels { .. }, Msg::Levels { key, levels, inputs, .. }) => {
                self.on_levels(me.index(), key, levels, inputs);
            }
            _ => {} // a messenger of another protocol: ignored, and the trace shows it
        }
    }

    fn on_timer(&mut self, timer: Timer, ctx: &mut Context<'_, Self>) {
        if self.decided.is_some() {
            return;
        }
        match (timer, &self.strategy) {
            (Timer::Decide, _) => self.decide(ctx),
            // Retry until acknowledged (RETRIES_MAX bounds the loop even if the deadline is huge).
            (Timer::Retry, Strategy::RetryUntilAck { interval, .. })
                if self.heard < 2 && self.requests < RETRIES_MAX =>
            {
                let copy = u32::try_from(self.requests).unwrap_or(u32::MAX);
                self.requests += 1;
                self.sent = 1;
                ctx.send(G2, Msg::Stage { stage: 1, copy });
                ctx.set_timer(Timer::Retry, *interval);
            }
            (Timer::Round(round), Strategy::RandomizedLevels { rounds }) => {
                if round > *rounds {
                    self.decide(ctx);
                } else {
                    self.send_levels(round, ctx);
                    ctx.set_timer(Timer::Round(round + 1), Self::round_length(self.delay_max));
                }
            }
            _ => {}
        }
    }

    fn invariants(&self) {
        if let Some((stages, _)) = self.strategy.chain() {
            assert!(self.sent <= stages, "sent stage {} of a {stages}-stage chain", self.sent);
            assert!(self.heard <= stages, "heard stage {} of a {stages}-stage chain", self.heard);
            assert!(self.heard == 0 || self.heard.abs_diff(self.sent) == 1, "stages alternate between the generals");
        }
        assert!(self.requests <= RETRIES_MAX);
        assert!(self.levels.iter().all(|l| *l >= -1));
        if let (Strategy::RandomizedLevels { rounds }, Some(key)) = (&self.strategy, self.key) {
            assert!((1..=*rounds).contains(&key), "the key {key} is outside 1..={rounds}");
        }
    }
}

/// How a run ended for the two armies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Both attack: the city is taken.
    BothAttack,
    /// G1 attacks alone and is defeated.
    OnlyG1,
    /// G2 attacks alone and is defeated.
    OnlyG2,
    /// Neither attacks: nothing happens.
    Neither,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Self; 4] = [Self::BothAttack, Self::OnlyG1, Self::OnlyG2, Self::Neither];

    /// The outcome of two decisions.
    pub fn of(g1_attacks: bool, g2_attacks: bool) -> Self {
        match (g1_attacks, g2_attacks) {
            (true, true) => Self::BothAttack,
            (true, false) => Self::OnlyG1,
            (false, true) => Self::OnlyG2,
            (false, false) => Self::Neither,
        }
    }

    /// Whether exactly one general attacks.
    pub fn is_lone(self) -> bool {
        matches!(self, Self::OnlyG1 | Self::OnlyG2)
    }

    /// The general who attacks alone, if one does.
    pub fn lone_attacker(self) -> Option<NodeId> {
        match self {
            Self::OnlyG1 => Some(G1),
            Self::OnlyG2 => Some(G2),
            Self::BothAttack | Self::Neither => None,
        }
    }

    /// This outcome's index in [`Outcome::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BothAttack => "both attack",
            Self::OnlyG1 => "G1 attacks alone",
            Self::OnlyG2 => "G2 attacks alone",
            Self::Neither => "neither attacks",
        })
    }
}

/// The outcome of a run, from its observations; `Err` unless each general decided exactly once.
pub fn outcome<'a>(decisions: impl IntoIterator<Item = (NodeId, &'a Decision)>) -> Result<Outcome, String> {
    let mut seen: [Option<bool>; 2] = [None, None];
    for (node, decision) in decisions {
        let slot = seen.get_mut(node.index()).ok_or_else(|| format!("{node} is not one of the two generals"))?;
        if slot.replace(decision.attack).is_some() {
            return Err(format!("{node} decided twice"));
        }
    }
    match seen {
        [Some(g1), Some(g2)] => Ok(Outcome::of(g1, g2)),
        [None, _] => Err(format!("{G1} never decided")),
        [_, None] => Err(format!("{G2} never decided")),
    }
}

/// The lecture's requirement, as a property of a run's decisions: G1 attacks iff G2 attacks.
pub fn check_agreement<'a>(decisions: impl IntoIterator<Item = (NodeId, &'a Decision)>) -> Result<(), String> {
    match outcome(decisions)? {
        lone @ (Outcome::OnlyG1 | Outcome::OnlyG2) => Err(format!("{lone}: the requirement is G1 attacks iff G2 does")),
        Outcome::BothAttack | Outcome::Neither => Ok(()),
    }
}

/// The closed-form outcome probabilities of `AckChain { stages: d, messengers: k }` when each
/// messenger is captured independently with probability p (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClosedForm {
    /// P(both attack) = q^d, with q = 1 − pᵏ.
    pub both: f64,
    /// P(one attacks alone) = q^(d−1)·pᵏ.
    pub lone: f64,
    /// P(neither attacks) = 1 − q^(d−1).
    pub neither: f64,
    /// Who attacks alone when one does: the sender of stage d.
    pub lone_attacker: NodeId,
    /// E[messengers sent] = k·(1 + q + … + q^(d−1)).
    pub messengers_mean: f64,
}

impl ClosedForm {
    /// The probability of one outcome.
    pub fn probability(&self, outcome: Outcome) -> f64 {
        match outcome {
            Outcome::BothAttack => self.both,
            Outcome::Neither => self.neither,
            lone => {
                if lone.lone_attacker() == Some(self.lone_attacker) {
                    self.lone
                } else {
                    0.0
                }
            }
        }
    }
}

/// The closed forms for `stages` = d stages of `messengers` = k copies under independent loss
/// `loss_ratio` = p.
pub fn closed_form(stages: u32, messengers: u32, loss_ratio: f64) -> ClosedForm {
    assert!(stages >= 1 && messengers >= 1, "a chain has at least one stage of at least one messenger");
    assert!((0.0..=1.0).contains(&loss_ratio), "a loss ratio is a probability");
    let stage_lost = loss_ratio.powi(messengers as i32);
    let q = 1.0 - stage_lost;
    let reach_last = q.powi(stages as i32 - 1);
    // The sum form stays exact when pᵏ is too small for 1 − q to be computed.
    let stages_sent: f64 = (0..stages).map(|s| q.powi(s as i32)).sum();
    ClosedForm {
        both: reach_last * q,
        lone: reach_last * stage_lost,
        neither: 1.0 - reach_last,
        lone_attacker: lone_attacker(stages),
        messengers_mean: f64::from(messengers) * stages_sent,
    }
}

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval at 95% for `successes` out of `trials` (`(0, 1)` for no trials). It
/// stays inside [0, 1] and is honest near 0 and 1, where the normal approximation is not.
pub fn wilson(successes: u64, trials: u64) -> (f64, f64) {
    assert!(successes <= trials, "{successes} successes out of {trials} trials");
    if trials == 0 {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0 or `trials` successes the matching bound is exactly 0 or 1; rounding would miss it.
    let lo = if successes == 0 { 0.0 } else { (center - half).max(0.0) };
    let hi = if successes == trials { 1.0 } else { (center + half).min(1.0) };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::{Effect, Rng, Time};

    /// Drives one general's handler and returns its effects.
    fn step(
        general: &mut General,
        id: NodeId,
        input: impl FnOnce(&mut General, &mut Context<'_, General>),
    ) -> Vec<Effect<General>> {
        let peers = [General::other(id)];
        let mut rng = Rng::new(1);
        let mut effects = Vec::new();
        let mut ctx = Context::new(id, &peers, Time::ZERO, &mut rng, &mut effects);
        input(general, &mut ctx);
        general.invariants();
        effects
    }

    fn sends(effects: &[Effect<General>]) -> Vec<Msg> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { msg, .. } => Some(msg.clone()),
                _ => None,
            })
            .collect()
    }

    fn decision(effects: &[Effect<General>]) -> Option<bool> {
        effects.iter().find_map(|e| match e {
            Effect::Output(d) => Some(d.attack),
            _ => None,
        })
    }

    const DELAY: Duration = Duration::from_millis(10);

    #[test]
    fn ack_chain_sends_the_next_stage_on_the_first_copy_only() {
        let strategy = Strategy::AckChain { stages: 3, messengers: 2 };
        let mut g1 = General::new(strategy.clone(), DELAY);
        let mut g2 = General::new(strategy, DELAY);
        let fx = step(&mut g1, G1, |g, ctx| g.on_start(ctx));
        assert_eq!(sends(&fx), vec![Msg::Stage { stage: 1, copy: 0 }, Msg::Stage { stage: 1, copy: 1 }]);
        assert!(fx.contains(&Effect::SetTimer { timer: Timer::Decide, after: DELAY * 4 }));
        assert!(sends(&step(&mut g2, G2, |g, ctx| g.on_start(ctx))).is_empty(), "G2 waits for G1");
        let fx = step(&mut g2, G2, |g, ctx| g.on_message(G1, Msg::Stage { stage: 1, copy: 1 }, ctx));
        assert_eq!(sends(&fx), vec![Msg::Stage { stage: 2, copy: 0 }, Msg::Stage { stage: 2, copy: 1 }]);
        let fx = step(&mut g2, G2, |g, ctx| g.on_message(G1, Msg::Stage { stage: 1, copy: 0 }, ctx));
        assert!(sends(&fx).is_empty(), "a second copy of a stage triggers nothing");
        let fx = step(&mut g1, G1, |g, ctx| g.on_message(G2, Msg::Stage { stage: 2, copy: 0 }, ctx));
        assert_eq!(sends(&fx), vec![Msg::Stage { stage: 3, copy: 0 }, Msg::Stage { stage: 3, copy: 1 }]);
        // G2 never got stage 3, the last stage addressed to it: G1 (the sender of stage 3) attacks
        // alone.
        assert_eq!(decision(&step(&mut g1, G1, |g, ctx| g.on_timer(Timer::Decide, ctx))), Some(true));
        assert_eq!(decision(&step(&mut g2, G2, |g, ctx| g.on_timer(Timer::Decide, ctx))), Some(false));
        let fx = step(&mut g2, G2, |g, ctx| g.on_message(G1, Msg::Stage { stage: 3, copy: 0 }, ctx));
        assert!(fx.is_empty(), "after deciding a general ignores messengers");
        assert_eq!(g2.decision(), Some(false));
    }

    #[test]
    fn attack_regardless_is_the_one_stage_chain() {
        for messengers in 1..4 {
            let a = Strategy::AttackRegardless { messengers };
            let b = Strategy::AckChain { stages: 1, messengers };
            assert_eq!(a.chain(), b.chain());
            assert_eq!(a.final_stage(), b.final_stage());
            let (mut ga, mut gb) = (General::new(a, DELAY), General::new(b, DELAY));
            let fa = step(&mut ga, G1, |g, ctx| g.on_start(ctx));
            let fb = step(&mut gb, G1, |g, ctx| g.on_start(ctx));
            assert_eq!(fa, fb);
            assert_eq!(sends(&fa).len(), messengers as usize);
            assert_eq!(decision(&step(&mut ga, G1, |g, ctx| g.on_timer(Timer::Decide, ctx))), Some(true));
        }
    }

    #[test]
    fn stages_addressed_alternate() {
        assert_eq!(last_stage_addressed(G1, 1), 0, "with one stage G1 waits for nothing");
        assert_eq!(last_stage_addressed(G2, 1), 1);
        assert_eq!(last_stage_addressed(G1, 4), 4);
        assert_eq!(last_stage_addressed(G2, 4), 3);
        assert_eq!(lone_attacker(1), G1);
        assert_eq!(lone_attacker(4), G2);
    }

    #[test]
    fn retry_until_ack_retries_until_acknowledged_and_acks_every_copy() {
        let strategy =
            Strategy::RetryUntilAck { interval: Duration::from_millis(5), deadline: Duration::from_millis(50) };
        let mut g1 = General::new(strategy.clone(), DELAY);
        let mut g2 = General::new(strategy, DELAY);
        let fx = step(&mut g1, G1, |g, ctx| g.on_start(ctx));
        assert_eq!(sends(&fx), vec![Msg::Stage { stage: 1, copy: 0 }]);
        let fx = step(&mut g1, G1, |g, ctx| g.on_timer(Timer::Retry, ctx));
        assert_eq!(sends(&fx), vec![Msg::Stage { stage: 1, copy: 1 }]);
        for copy in [1, 0] {
            let fx = step(&mut g2, G2, |g, ctx| g.on_message(G1, Msg::Stage { stage: 1, copy }, ctx));
            assert_eq!(sends(&fx), vec![Msg::Stage { stage: 2, copy }]);
        }
        let fx = step(&mut g1, G1, |g, ctx| g.on_message(G2, Msg::Stage { stage: 2, copy: 1 }, ctx));
        assert!(fx.contains(&Effect::CancelTimer { timer: Timer::Retry }));
        assert!(sends(&step(&mut g1, G1, |g, ctx| g.on_timer(Timer::Retry, ctx))).is_empty());
        assert_eq!(decision(&step(&mut g1, G1, |g, ctx| g.on_timer(Timer::Decide, ctx))), Some(true));
        assert_eq!(decision(&step(&mut g2, G2, |g, ctx| g.on_timer(Timer::Decide, ctx))), Some(true));
    }

    #[test]
    fn randomized_levels_climb_one_per_round_trip() {
        let strategy = Strategy::RandomizedLevels { rounds: 3 };
        let mut g1 = General::new(strategy.clone(), DELAY);
        let mut g2 = General::new(strategy, DELAY);
        step(&mut g1, G1, |g, ctx| g.on_start(ctx));
        step(&mut g2, G2, |g, ctx| g.on_start(ctx));
        let key = g1.key.expect("G1 draws the key");
        assert!((1..=3).contains(&key));
        assert_eq!(g2.key, None, "G2 learns the key only from G1");
        // Every message delivered: levels reach the number of rounds, which is at least the key.
        for round in 1..=3 {
            let to_g2 = Msg::Levels { round, key: g1.key, levels: g1.levels, inputs: g1.inputs };
            let to_g1 = Msg::Levels { round, key: g2.key, levels: g2.levels, inputs: g2.inputs };
            step(&mut g2, G2, |g, ctx| g.on_message(G1, to_g2, ctx));
            step(&mut g1, G1, |g, ctx| g.on_message(G2, to_g1, ctx));
            assert_eq!(g1.levels[0], round as i32);
            assert_eq!(g2.levels[1], round as i32);
        }
        assert_eq!(decision(&step(&mut g1, G1, |g, ctx| g.on_timer(Timer::Round(4), ctx))), Some(true));
        assert_eq!(decision(&step(&mut g2, G2, |g, ctx| g.on_timer(Timer::Round(4), ctx))), Some(true));
        // A general that heard nothing does not know the other wants to attack.
        let mut alone = General::new(Strategy::RandomizedLevels { rounds: 3 }, DELAY);
        step(&mut alone, G1, |g, ctx| g.on_start(ctx));
        assert_eq!(decision(&step(&mut alone, G1, |g, ctx| g.on_timer(Timer::Round(4), ctx))), Some(false));
    }

    #[test]
    fn loss_models_capture_what_they_say() {
        let chain = Strategy::AckChain { stages: 3, messengers: 2 };
        let stage = |stage| Msg::Stage { stage, copy: 0 };
        assert_eq!(LossModel::Iid { loss_ratio: 0.5 }.captures(&chain, 0, &stage(1)), None);
        assert_eq!(LossModel::DropFinalStage.captures(&chain, 0, &stage(3)), Some(true));
        assert_eq!(LossModel::DropFinalStage.captures(&chain, 0, &stage(2)), Some(false));
        assert_eq!(LossModel::DropAll.captures(&chain, 9, &stage(1)), Some(true));
        let script = LossModel::Script(vec![true, false]);
        assert_eq!(script.captures(&chain, 0, &stage(1)), Some(false));
        assert_eq!(script.captures(&chain, 1, &stage(1)), Some(true));
        assert_eq!(script.captures(&chain, 2, &stage(2)), Some(false), "past the script: delivered");
    }

    #[test]
    fn closed_forms_match_the_spec_test_vectors_and_add_up() {
        // lecture-spec §8.3, computed independently there: (d, k, p, both, lone, lone attacker, neither).
        let vectors = [
            (1, 3, 0.5, 0.875, 0.125, G1, 0.0),
            (2, 3, 0.5, 0.765625, 0.109375, G2, 0.125),
            (3, 3, 0.5, 0.669921875, 0.095703125, G1, 0.234375),
            (2, 1, 0.1, 0.81, 0.09, G2, 0.1),
            (4, 2, 0.3, 0.68574961, 0.06782139, G2, 0.246429),
        ];
        for (d, k, p, both, lone, attacker, neither) in vectors {
            let c = closed_form(d, k, p);
            assert!((c.both - both).abs() < 1e-8, "both for d={d} k={k} p={p}: {}", c.both);
            assert!((c.lone - lone).abs() < 1e-8, "lone for d={d} k={k} p={p}: {}", c.lone);
            assert!((c.neither - neither).abs() < 1e-6, "neither for d={d} k={k} p={p}: {}", c.neither);
            assert_eq!(c.lone_attacker, attacker);
            assert!((c.both + c.lone + c.neither - 1.0).abs() < 1e-12);
            let total: f64 = Outcome::ALL.iter().map(|o| c.probability(*o)).sum();
            assert!((total - 1.0).abs() < 1e-12);
        }
        let lossless = closed_form(4, 3, 0.0);
        assert_eq!((lossless.both, lossless.lone, lossless.neither), (1.0, 0.0, 0.0));
        assert_eq!(lossless.messengers_mean, 12.0, "k·d when nothing is lost");
        let tiny = closed_form(6, 10, 0.01);
        assert!(tiny.lone > 0.0 && tiny.lone < 1.1e-20, "pᵏ survives even when q rounds to 1");
        assert_eq!(tiny.messengers_mean, 60.0);
        // E[messengers] = k(1 − q^d)/(1 − q) where that is computable.
        let c = closed_form(3, 2, 0.5);
        let q: f64 = 0.75;
        assert!((c.messengers_mean - 2.0 * (1.0 - q.powi(3)) / (1.0 - q)).abs() < 1e-12);
    }

    #[test]
    fn wilson_intervals_cover_and_stay_in_bounds() {
        let (lo, hi) = wilson(50, 100);
        assert!(lo < 0.5 && 0.5 < hi);
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3, "({lo}, {hi})");
        let (lo, hi) = wilson(0, 1000);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 0.004, "an honest upper bound at zero successes: {hi}");
        let (lo, hi) = wilson(1000, 1000);
        assert!(lo > 0.996 && hi == 1.0);
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn outcomes_come_from_exactly_two_decisions() {
        let yes = Decision { attack: true };
        let no = Decision { attack: false };
        assert_eq!(outcome([(G1, &yes), (G2, &no)]), Ok(Outcome::OnlyG1));
        assert_eq!(outcome([(G2, &yes), (G1, &no)]), Ok(Outcome::OnlyG2));
        assert!(outcome([(G1, &yes)]).is_err());
        assert!(outcome([(G1, &yes), (G1, &yes), (G2, &yes)]).is_err());
        assert!(check_agreement([(G1, &yes), (G2, &yes)]).is_ok());
        assert!(check_agreement([(G1, &no), (G2, &no)]).is_ok());
        assert!(check_agreement([(G1, &no), (G2, &yes)]).is_err());
    }

    #[test]
    fn strategies_render_as_json_with_durations_in_nanoseconds() {
        let retry = Strategy::RetryUntilAck { interval: Duration::from_millis(10), deadline: Duration::from_secs(1) };
        let json = herald_core::codec::to_json(&retry);
        assert_eq!(json["kind"], "retry-until-ack");
        assert_eq!(json["interval"], 10_000_000);
        assert_eq!(json["deadline"], 1_000_000_000);
        let json = herald_core::codec::to_json(&Strategy::AckChain { stages: 2, messengers: 3 });
        assert_eq!((json["stages"].as_u64(), json["messengers"].as_u64()), (Some(2), Some(3)));
    }

    #[test]
    fn invalid_strategies_name_the_parameter() {
        let e = Strategy::AckChain { stages: 0, messengers: 1 }.validate().unwrap_err();
        assert!(e.starts_with("stages"), "{e}");
        let e = Strategy::AttackRegardless { messengers: 0 }.validate().unwrap_err();
        assert!(e.starts_with("messengers"), "{e}");
        let e = Strategy::RetryUntilAck { interval: Duration::ZERO, deadline: DELAY }.validate().unwrap_err();
        assert!(e.starts_with("interval"), "{e}");
        assert!(Strategy::RandomizedLevels { rounds: 10 }.validate().is_ok());
    }
}
