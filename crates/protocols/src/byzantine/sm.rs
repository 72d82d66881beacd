//! Signed messages, SM(m) (Lamport, Shostak & Pease 1982, §4; lecture-spec §7.5).
//!
//! With unforgeable signatures (assumption A4) the Byzantine generals problem is solvable for
//! *any* number m of traitors, as long as there are at least m + 2 generals.
//!
//! # The algorithm
//!
//! The commander signs its order and sends it to every lieutenant. Each lieutenant i keeps Vᵢ,
//! the *set of orders* it has received with a valid signature chain (not the set of messages):
//!
//! - **(A)** on `v:0` from the commander with Vᵢ still empty: Vᵢ := {v}, and send `v:0:i` to
//!   every other lieutenant;
//! - **(B)** on `v:0:j₁:…:j_k` with v ∉ Vᵢ: add v to Vᵢ, and if k < m send `v:0:j₁:…:j_k:i` to
//!   every lieutenant other than j₁…j_k;
//! - when no more messages can come, obey `choice(Vᵢ)`.
//!
//! A message whose order is already in Vᵢ is ignored (without checking its signatures); a
//! message that is not "an order followed by a chain of valid signatures" is rejected. A loyal
//! lieutenant that ends with two orders holds the commander's signatures on both: proof that the
//! commander equivocated, which it reports ([`Equivocation`]).
//!
//! # Rounds, and the deadline rule D1
//!
//! The node runs in synchronous rounds ([`herald_core::rounds::LockStep`]): the commander sends in
//! round 1, a lieutenant relays in the round after it accepted, and every lieutenant decides at
//! the end of round m + 1. A message that *arrives in round r* was sent tagged r and reached its
//! receiver during round r. **D1**: a message with s signatures (the commander's included) is
//! accepted only if it arrives no later than round s, and never after round m + 1 — the round
//! form of the paper's "wait until T₀ + k(μ + τ)". A loyal relay always meets it (the chain grows
//! by one signature per round), so only a traitor can miss it, and D1 is what makes the relay
//! argument of IC1 work: without it a colluding traitor can hand a loyal lieutenant a second
//! order in the last round, too late for that lieutenant's relay to reach anybody (test SM-3).
//! The switch that turns D1 off exists for that test only ([`SmConfig::ablate_deadline_for_tests`]).
//!
//! # Validation, cheapest first
//!
//! | rule | check | [`Reject`] |
//! | --- | --- | --- |
//! | — | instance and sequence number are this run's | `WrongInstance` |
//! | V1 | the first signer is the commander | `NotFromCommander` |
//! | — | at most m + 1 signatures (a loyal chain never has more; bounds the work) | `TooLong` |
//! | — | every signer is a general | `UnknownSigner` |
//! | V2 | signers pairwise distinct | `RepeatedSigner` |
//! | V3 | the receiver is not a signer | `SignedByReceiver` |
//! | V5 | the transport sender (A2) is the last signer (\[decision\]: rejects third-party replays) | `SenderNotLastSigner` |
//! | D1 | arrival round ≤ signatures, and ≤ m + 1 | `Deadline` |
//! | — | order already in Vᵢ: ignored, not rejected, signatures not checked | — |
//! | V4 | every signature verifies over the value and all earlier links | `BadSignature` |
//!
//! # Choice
//!
//! `choice({v}) = v` and `choice(∅) = RETREAT`; the default is [`Choice::SingletonOrDefault`]
//! (the single order, otherwise RETREAT), and [`Choice::Median`] takes the lower median.
//!
//! # Inputs, effects, observations
//!
//! [`Sm`] is a [`RoundNode`]: `on_round(r, inbox)` with the messages that arrived in round r − 1.
//! Effects: sends of [`SignedOrder`]s, and [`SmEvent`] observations — `Accepted` for each order
//! added to Vᵢ, `Rejected` for each message refused (with the rule), and one `Decided` per
//! lieutenant at the end of round m + 1 (its order, Vᵢ, equivocation evidence, and the number of
//! signatures it checked). The commander observes nothing. IC1 and IC2 are judged over the
//! `Decided` observations by [`super::judge`]; [`decisions`] extracts them.
//!
//! Traitors run a [`herald_core::Strategy`] instead: see [`Traitors`] and its tactics.

mod signing;
mod traitors;

pub use signing::{
    ChainError, KEY_STREAM, Keys, Link, PrivateKey, PublicKeys, Sig, SignedOrder, TraitorKeys, sign, verify,
    verify_batch,
};
pub use traitors::{
    Equivocate, ForwardingLiar, Kit, Mimic, RandomForger, Scripted, Silent, Slot, Tactic, Traitors, script_slots,
};

use super::{COMMANDER, DEFAULT_ORDER, Order, Verdict, judge};
use herald_core::NodeId;
use herald_core::rounds::{Flow, LockStep, Round, RoundNode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// The synchronous model's delay bound SM(m) is built for.
pub const DELAY_MAX: Duration = Duration::from_millis(10);
/// The synchronous model's bound on a step.
pub const STEP_MAX: Duration = Duration::from_millis(1);
/// A round: long enough for a message sent at its start to arrive before it ends, with perfect
/// clocks (`ROUND_LENGTH ≥ DELAY_MAX + STEP_MAX + 2 · skew`, with slack for a skew of a few ms).
pub const ROUND_LENGTH: Duration = Duration::from_millis(20);

const _: () = assert!(ROUND_LENGTH.as_nanos() > DELAY_MAX.as_nanos() + STEP_MAX.as_nanos());

/// The choice function applied to Vᵢ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Choice {
    /// The single order if Vᵢ = {v}, otherwise RETREAT (\[decision\]: the default).
    #[default]
    SingletonOrDefault,
    /// The lower median of Vᵢ (orders are ordered `Attack < Retreat`); RETREAT for ∅.
    Median,
}

impl Choice {
    /// `choice(set)`: `choice({v}) = v`, `choice(∅) = RETREAT`.
    pub fn choose(self, set: &BTreeSet<Order>) -> Order {
        match self {
            Self::SingletonOrDefault if set.len() == 1 => *set.first().expect("one element"),
            Self::SingletonOrDefault => DEFAULT_ORDER,
            Self::Median => set.iter().nth(set.len().saturating_sub(1) / 2).copied().unwrap_or(DEFAULT_ORDER),
        }
    }
}

/// The parameters every general of one SM(m) run agrees on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SmConfig {
    /// Number of generals n, the commander (general 0) included.
    pub generals: usize,
    /// The algorithm's parameter m: the most traitors it tolerates, and m + 1 rounds.
    pub m: usize,
    /// Which run; part of everything signed.
    pub instance: u64,
    /// The commander's sequence number in this run; part of everything signed.
    pub seq: u64,
    /// The choice function.
    pub choice: Choice,
    /// How long a round lasts on the local clock.
    pub round_length: Duration,
    deadline: bool,
}

impl SmConfig {
    /// SM(`m`) among `generals` generals, instance 0, sequence 0, the default choice.
    pub fn new(generals: usize, m: usize) -> Self {
        Self { generals, m, instance: 0, seq: 0, choice: Choice::default(), round_length: ROUND_LENGTH, deadline: true }
    }

    /// The same run in instance `instance`.
    pub fn with_instance(mut self, instance: u64) -> Self {
        self.instance = instance;
        self
    }

    /// The same run with another choice function.
    pub fn with_choice(mut self, choice: Choice) -> Self {
        self.choice = choice;
        self
    }

    /// **Test-only ablation**: turns off the "arrives no later than round s" half of D1, to show
    /// (test SM-3) that IC1 fails without it. Nothing but tests may call this.
    #[doc(hidden)]
    pub fn ablate_deadline_for_tests(mut self) -> Self {
        self.deadline = false;
        self
    }

    /// Whether D1 is enforced (always, outside the ablation test).
    pub fn deadline_enforced(&self) -> bool {
        self.deadline
    }

    /// The last round in which a message counts: m + 1. Lieutenants decide when it ends.
    pub fn last_round(&self) -> u32 {
        self.m as u32 + 1
    }

    /// The lieutenants, in id order.
    pub fn lieutenants(&self) -> impl Iterator<Item = NodeId> + Clone {
        NodeId::range(self.generals).filter(|&g| g != COMMANDER)
    }

    /// Rejects parameters for which the problem is vacuous or the rounds cannot be built.
    pub fn validate(&self) -> Result<(), SmConfigError> {
        let (n, m) = (self.generals, self.m);
        if n < m + 2 {
            return Err(SmConfigError::new(
                "generals",
                format!(
                    "{n} generals cannot run SM({m}): signed messages need at least m + 2 = {} generals (with fewer the problem is vacuous)",
                    m + 2
                ),
            ));
        }
        if n > u32::MAX as usize / 2 {
            return Err(SmConfigError::new("generals", format!("{n} generals is too many")));
        }
        if self.round_length.is_zero() {
            return Err(SmConfigError::new("round_length", "a round must last some time"));
        }
        Ok(())
    }
}

/// Parameters that do not make sense, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmConfigError {
    /// The offending field.
    pub field: String,
    /// Why.
    pub message: String,
}

impl SmConfigError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), message: message.into() }
    }
}

impl fmt::Display for SmConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for SmConfigError {}

/// Why a lieutenant refused a message (see the table in the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reject {
    /// Another run's (or another order's) message: instance or sequence number differ.
    WrongInstance,
    /// V1: the chain does not start with the commander's signature.
    NotFromCommander,
    /// More than m + 1 signatures.
    TooLong,
    /// A signer that is not a general.
    UnknownSigner,
    /// V2: a general signed twice.
    RepeatedSigner,
    /// V3: the receiver itself is among the signers.
    SignedByReceiver,
    /// V5: the transport-level sender is not the last signer.
    SenderNotLastSigner,
    /// D1: arrived after round s (s signatures), or after round m + 1.
    Deadline,
    /// V4: the signature of link `index` does not verify.
    BadSignature {
        /// The failing link.
        index: usize,
    },
}

/// What a lieutenant observes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmEvent {
    /// An order was added to Vᵢ.
    Accepted {
        /// The round it arrived in.
        round: u32,
        /// The transport-level sender.
        from: NodeId,
        /// The order.
        value: Order,
        /// Its signers, commander first.
        signers: Vec<NodeId>,
    },
    /// A message was refused.
    Rejected {
        /// The round it arrived in.
        round: u32,
        /// The transport-level sender.
        from: NodeId,
        /// The rule it broke.
        reason: Reject,
    },
    /// The lieutenant's decision at the end of round m + 1.
    Decided(Decision),
}

/// A lieutenant's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// `choice(Vᵢ)`: the order it obeys.
    pub order: Order,
    /// Vᵢ.
    pub orders: Vec<Order>,
    /// The commander's signatures on two different orders, if it received both.
    pub equivocation: Option<Equivocation>,
    /// Signature checks it made.
    pub signatures_verified: u64,
}

/// Proof that the commander signed two different orders in one run: the commander's link of two
/// valid chains. Anyone with the public keys can check it ([`Equivocation::verify`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equivocation {
    /// One order and the commander's signature on it.
    pub first: (Order, Sig),
    /// Another order and the commander's signature on it.
    pub second: (Order, Sig),
}

impl Equivocation {
    /// Whether this proves equivocation by the commander of `instance`/`seq`: two different
    /// orders, each with a valid commander signature.
    pub fn verify(&self, keys: &PublicKeys, instance: u64, seq: u64) -> bool {
        let valid = |(value, sig): (Order, Sig)| {
            let order = SignedOrder { instance, seq, value, chain: vec![Link { signer: COMMANDER, sig }] };
            order.verify(keys, &mut 0).is_ok()
        };
        self.first.0 != self.second.0 && valid(self.first) && valid(self.second)
    }
}

/// What one round of a general produces: the sends and observations to apply, and whether it
/// goes on. [`Sm::step`] computes it; [`RoundNode::on_round`] applies it (and traitors mimicking a
/// loyal general call `step` themselves).
#[derive(Clone, Debug)]
pub struct Step {
    /// Messages to send this round.
    pub sends: Vec<(NodeId, SignedOrder)>,
    /// Observations.
    pub events: Vec<SmEvent>,
    /// Whether another round follows.
    pub flow: Flow,
}

/// A loyal general of SM(m): the commander (general 0) or a lieutenant.
#[derive(Clone, Debug)]
pub struct Sm {
    id: NodeId,
    config: SmConfig,
    /// The commander's order; `None` for a lieutenant.
    command: Option<Order>,
    key: PrivateKey,
    keys: PublicKeys,
    /// Vᵢ, each order with the first chain that brought it (the equivocation evidence).
    orders: BTreeMap<Order, SignedOrder>,
    verified: u64,
    decided: Option<Order>,
}

impl Sm {
    /// General `id` of the run `config`, holding its own signing key `key` and everyone's public
    /// keys. `order` is what the commander orders; lieutenants ignore it.
    pub fn new(config: SmConfig, id: NodeId, order: Order, key: PrivateKey, keys: PublicKeys) -> Self {
        assert!(id.index() < config.generals, "{id} is not one of {} generals", config.generals);
        assert_eq!(keys.len(), config.generals, "one public key per general");
        assert_eq!(keys.get(id), Some(&key.verifying_key()), "{id}'s signing key must match its public key");
        let command = (id == COMMANDER).then_some(order);
        Self { id, config, command, key, keys, orders: BTreeMap::new(), verified: 0, decided: None }
    }

    /// Wraps the general into a node of the round-based driver.
    pub fn into_node(self) -> LockStep<Self> {
        let round_length = self.config.round_length;
        LockStep::new(self, round_length)
    }

    /// Vᵢ so far.
    pub fn orders(&self) -> impl Iterator<Item = Order> + '_ {
        self.orders.keys().copied()
    }

    /// The decision, once made.
    pub fn decided(&self) -> Option<Order> {
        self.decided
    }

    /// What this general orders if it is the commander; `None` for a lieutenant.
    pub fn command(&self) -> Option<Order> {
        self.command
    }

    /// Round `round` with the messages that arrived in round `round − 1`, sorted by sender.
    pub fn step(&mut self, round: u32, inbox: &[(NodeId, SignedOrder)]) -> Step {
        let mut step = Step { sends: Vec::new(), events: Vec::new(), flow: Flow::Continue };
        if let Some(order) = self.command {
            // The commander signs its order and sends it to every lieutenant; then it is done.
            let signed = SignedOrder::issue(self.config.instance, self.config.seq, order, self.id, &self.key);
            step.sends.extend(self.config.lieutenants().map(|l| (l, signed.clone())));
            step.flow = Flow::Done;
            return step;
        }
        let arrived = round - 1;
        for (from, msg) in inbox {
            self.receive(round, arrived, *from, msg, &mut step);
        }
        if round > self.config.last_round() {
            let orders: BTreeSet<Order> = self.orders.keys().copied().collect();
            let order = self.config.choice.choose(&orders);
            self.decided = Some(order);
            step.events.push(SmEvent::Decided(Decision {
                order,
                orders: orders.iter().copied().collect(),
                equivocation: self.equivocation(),
                signatures_verified: self.verified,
            }));
            step.flow = Flow::Done;
        }
        debug_assert!(self.orders.len() <= 2, "two orders exist");
        step
    }

    fn receive(&mut self, round: u32, arrived: u32, from: NodeId, msg: &SignedOrder, step: &mut Step) {
        match self.check(arrived, from, msg) {
            Err(reason) => step.events.push(SmEvent::Rejected { round: arrived, from, reason }),
            Ok(false) => {} // its order is already in Vᵢ
            Ok(true) => {
                let first = self.orders.is_empty();
                self.orders.insert(msg.value, msg.clone());
                step.events.push(SmEvent::Accepted {
                    round: arrived,
                    from,
                    value: msg.value,
                    signers: msg.signers().collect(),
                });
                let k = msg.chain.len() - 1; // lieutenant signatures
                // (A) relays the commander's first order even in SM(0); (B) relays while k < m and
                // the relay can still arrive in time.
                let relay = (k == 0 && first) || (k < self.config.m && round <= self.config.last_round());
                if relay {
                    let relayed = msg.extend(self.id, &self.key);
                    debug_assert!(relayed.chain.len() <= self.config.m + 1 || k == 0);
                    for to in self.config.lieutenants().filter(|&l| l != self.id && !msg.signed_by(l)) {
                        step.sends.push((to, relayed.clone()));
                    }
                }
            }
        }
    }

    /// `Ok(true)` to add the order to Vᵢ, `Ok(false)` to ignore a known order, `Err` to reject.
    fn check(&mut self, arrived: u32, from: NodeId, msg: &SignedOrder) -> Result<bool, Reject> {
        let c = &self.config;
        if msg.instance != c.instance || msg.seq != c.seq {
            return Err(Reject::WrongInstance);
        }
        if msg.chain.first().is_none_or(|l| l.signer != COMMANDER) {
            return Err(Reject::NotFromCommander);
        }
        let s = msg.chain.len();
        if s > c.m + 1 {
            return Err(Reject::TooLong);
        }
        if msg.signers().any(|g| g.index() >= c.generals) {
            return Err(Reject::UnknownSigner);
        }
        let distinct: BTreeSet<NodeId> = msg.signers().collect();
        if distinct.len() != s {
            return Err(Reject::RepeatedSigner);
        }
        if distinct.contains(&self.id) {
            return Err(Reject::SignedByReceiver);
        }
        if msg.chain.last().map(|l| l.signer) != Some(from) {
            return Err(Reject::SenderNotLastSigner);
        }
        let late = arrived > c.last_round() || (c.deadline && arrived as usize > s);
        if late {
            return Err(Reject::Deadline);
        }
        if self.orders.contains_key(&msg.value) {
            return Ok(false);
        }
        match msg.verify(&self.keys, &mut self.verified) {
            Ok(()) => Ok(true),
            Err(ChainError::BadSignature { index }) => Err(Reject::BadSignature { index }),
            Err(ChainError::UnknownSigner { .. }) => Err(Reject::UnknownSigner),
        }
    }

    fn equivocation(&self) -> Option<Equivocation> {
        let mut it = self.orders.iter().map(|(v, m)| (*v, m.chain[0].sig));
        match (it.next(), it.next()) {
            (Some(first), Some(second)) => Some(Equivocation { first, second }),
            _ => None,
        }
    }
}

/// Two generals are equal when they hold the same state under the same keys (compared by their
/// public halves), so a model checker can merge equal states.
impl PartialEq for Sm {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.config == other.config
            && self.command == other.command
            && self.orders == other.orders
            && self.verified == other.verified
            && self.decided == other.decided
            && self.key.verifying_key() == other.key.verifying_key()
            && self.keys == other.keys
    }
}

impl Eq for Sm {}

/// Hashes the state and not the keys (fixed for a run; equal generals have equal keys).
impl std::hash::Hash for Sm {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.config.hash(state);
        self.command.hash(state);
        self.orders.hash(state);
        self.verified.hash(state);
        self.decided.hash(state);
    }
}

impl RoundNode for Sm {
    type Msg = SignedOrder;
    type Output = SmEvent;

    fn on_round(&mut self, round: u32, inbox: &[(NodeId, SignedOrder)], ctx: &mut Round<'_, '_, Self>) -> Flow {
        let step = self.step(round, inbox);
        for (to, msg) in step.sends {
            ctx.send(to, msg);
        }
        for event in step.events {
            ctx.output(event);
        }
        step.flow
    }
}

/// Everything one SM(m) run needs besides a driver: the parameters, the commander's order, who
/// the traitors are, and the keys. It builds the loyal nodes and the traitors' [`Kit`], and
/// judges the observations.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The parameters.
    pub config: SmConfig,
    /// What a loyal commander orders.
    pub order: Order,
    /// The traitors.
    pub traitors: BTreeSet<NodeId>,
    keys: Keys,
}

impl Setup {
    /// A run whose keys are derived from `key_seed`.
    pub fn new(config: SmConfig, order: Order, traitors: BTreeSet<NodeId>, key_seed: u64) -> Self {
        let keys = Keys::derive(key_seed, config.generals);
        Self::with_keys(config, order, traitors, keys)
    }

    /// A run with keys made beforehand (one PKI for many runs: the instance number in every
    /// signature keeps their signatures apart).
    pub fn with_keys(config: SmConfig, order: Order, traitors: BTreeSet<NodeId>, keys: Keys) -> Self {
        assert_eq!(keys.public().len(), config.generals, "one key pair per general");
        Self { config, order, traitors, keys }
    }

    /// The public keys.
    pub fn public(&self) -> &PublicKeys {
        self.keys.public()
    }

    /// The loyal node `id` (with its own key only).
    pub fn node(&self, id: NodeId) -> LockStep<Sm> {
        let key = self.keys.signing(id).clone();
        Sm::new(self.config.clone(), id, self.order, key, self.keys.public().clone()).into_node()
    }

    /// What the traitors know and share: the public keys and the traitors' signing keys.
    pub fn kit(&self) -> Kit {
        Kit::new(
            self.config.clone(),
            self.order,
            self.traitors.clone(),
            self.keys.of_traitors(&self.traitors),
            self.keys.public().clone(),
        )
    }

    /// IC1 and IC2 over the observations of a run.
    pub fn judge<'a>(&self, observations: impl IntoIterator<Item = (NodeId, &'a SmEvent)>) -> Verdict {
        judge(self.config.generals, &self.traitors, self.order, &decisions(observations))
    }
}

/// The decisions among `observations` (one per lieutenant that decided).
pub fn decisions<'a>(observations: impl IntoIterator<Item = (NodeId, &'a SmEvent)>) -> BTreeMap<NodeId, Order> {
    observations
        .into_iter()
        .filter_map(|(node, e)| match e {
            SmEvent::Decided(d) => Some((node, d.order)),
            _ => None,
        })
        .collect()
}

/// Signature checks made by the loyal lieutenants, from their decisions.
pub fn signatures_verified<'a>(observations: impl IntoIterator<Item = (NodeId, &'a SmEvent)>) -> u64 {
    observations
        .into_iter()
        .map(|(_, e)| match e {
            SmEvent::Decided(d) => d.signatures_verified,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Order::*;

    fn lieutenant(config: &SmConfig, keys: &Keys, id: u32) -> Sm {
        let id = NodeId(id);
        Sm::new(config.clone(), id, Attack, keys.signing(id).clone(), keys.public().clone())
    }

    fn signed(keys: &Keys, value: Order, signers: &[u32]) -> SignedOrder {
        let mut c = SignedOrder::issue(0, 0, value, NodeId(signers[0]), keys.signing(NodeId(signers[0])));
        for &s in &signers[1..] {
            c = c.extend(NodeId(s), keys.signing(NodeId(s)));
        }
        c
    }

    fn rejected(step: &Step) -> Vec<Reject> {
        step.events
            .iter()
            .filter_map(|e| match e {
                SmEvent::Rejected { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn choice_functions_meet_the_two_requirements() {
        for choice in [Choice::SingletonOrDefault, Choice::Median] {
            assert_eq!(choice.choose(&BTreeSet::new()), Retreat);
            assert_eq!(choice.choose(&BTreeSet::from([Attack])), Attack);
            assert_eq!(choice.choose(&BTreeSet::from([Retreat])), Retreat);
        }
        assert_eq!(Choice::SingletonOrDefault.choose(&BTreeSet::from([Attack, Retreat])), Retreat);
        assert_eq!(Choice::Median.choose(&BTreeSet::from([Attack, Retreat])), Attack, "the lower median");
    }

    #[test]
    fn each_rule_rejects_its_own_malformation() {
        let config = SmConfig::new(5, 2);
        let keys = Keys::derive(1, 5);
        let mut l1 = lieutenant(&config, &keys, 1);
        let good = signed(&keys, Attack, &[0, 2]);
        let mut other_instance = good.clone();
        other_instance.instance = 1;
        let cases: Vec<(NodeId, SignedOrder, Reject)> = vec![
            (NodeId(2), other_instance, Reject::WrongInstance),
            (NodeId(2), signed(&keys, Attack, &[2]), Reject::NotFromCommander),
            (NodeId(4), signed(&keys, Attack, &[0, 2, 3, 4]), Reject::TooLong),
            (NodeId(2), signed(&keys, Attack, &[0, 2, 2]), Reject::RepeatedSigner),
            (NodeId(2), signed(&keys, Attack, &[0, 1, 2]), Reject::SignedByReceiver),
            (NodeId(3), good.clone(), Reject::SenderNotLastSigner),
            (
                NodeId(2),
                signed(&keys, Attack, &[0, 2]).extend(NodeId(3), keys.signing(NodeId(2))),
                Reject::SenderNotLastSigner,
            ),
        ];
        for (from, msg, want) in cases {
            let step = l1.step(2, &[(from, msg.clone())]);
            assert_eq!(rejected(&step), vec![want], "{msg:?}");
        }
        let mut stranger = good.clone();
        stranger.chain[1].signer = NodeId(7);
        assert_eq!(rejected(&l1.step(2, &[(NodeId(7), stranger)])), vec![Reject::UnknownSigner]);
        // V4: the last link is signed with a traitor's key in 3's name.
        let forged = signed(&keys, Attack, &[0]).extend(NodeId(3), keys.signing(NodeId(4)));
        assert_eq!(rejected(&l1.step(2, &[(NodeId(3), forged)])), vec![Reject::BadSignature { index: 1 }]);
        assert_eq!(l1.orders().count(), 0, "nothing malformed was accepted");
        // D1: two signatures in round 3 are late; in round 2 on time.
        let late = l1.step(4, &[(NodeId(2), good.clone())]);
        assert_eq!(rejected(&late), vec![Reject::Deadline]);
        let on_time = l1.step(3, &[(NodeId(2), good)]);
        assert!(rejected(&on_time).is_empty());
        assert_eq!(l1.orders().collect::<Vec<_>>(), vec![Attack]);
    }

    #[test]
    fn a_lieutenant_relays_once_per_order_to_those_not_in_the_chain_and_decides_after_m_plus_1() {
        let config = SmConfig::new(5, 2);
        let keys = Keys::derive(2, 5);
        let mut l2 = lieutenant(&config, &keys, 2);
        assert!(l2.step(1, &[]).sends.is_empty());
        let from_commander = signed(&keys, Attack, &[0]);
        let step = l2.step(2, &[(COMMANDER, from_commander.clone())]);
        let to: Vec<u32> = step.sends.iter().map(|(t, _)| t.0).collect();
        assert_eq!(to, vec![1, 3, 4]);
        assert!(step.sends.iter().all(|(_, m)| m.signers().map(|s| s.0).collect::<Vec<_>>() == vec![0, 2]));
        // The same order again is ignored without a signature check; a new one is relayed on.
        let verified_before = l2.verified;
        let step =
            l2.step(3, &[(NodeId(1), signed(&keys, Attack, &[0, 1])), (NodeId(3), signed(&keys, Retreat, &[0, 3]))]);
        assert_eq!(l2.verified, verified_before + 2, "only the new order's two links were checked");
        let to: Vec<u32> = step.sends.iter().map(|(t, _)| t.0).collect();
        assert_eq!(to, vec![1, 4], "not back to 3, which signed");
        assert_eq!(step.sends[0].1.chain.len(), 3);
        let step = l2.step(4, &[]);
        match &step.events[..] {
            [SmEvent::Decided(d)] => {
                assert_eq!(d.order, Retreat);
                assert_eq!(d.orders, vec![Attack, Retreat]);
                assert!(d.equivocation.as_ref().unwrap().verify(keys.public(), 0, 0));
            }
            other => panic!("expected a decision, got {other:?}"),
        }
        assert_eq!(step.flow, Flow::Done);
    }

    #[test]
    fn validate_names_the_field_when_the_problem_is_vacuous() {
        assert!(SmConfig::new(3, 1).validate().is_ok());
        let e = SmConfig::new(3, 2).validate().unwrap_err();
        assert_eq!(e.field, "generals");
        assert!(e.to_string().starts_with("invalid `generals`"), "{e}");
    }
}
