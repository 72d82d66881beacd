//! Oral messages, OM(m) (Lamport, Shostak & Pease 1982, §3, pp.387–390).
//!
//! # The algorithm
//!
//! The commander (general 0) sends its order to every lieutenant. In OM(m) with m > 0 each
//! lieutenant then acts as the commander of an OM(m − 1) instance to relay the value it received to
//! the other lieutenants, and finally takes the *majority* of the value it received directly and
//! the values the OM(m − 1) instances gave it for every other lieutenant. OM(0) is just "use what
//! the commander sent, or RETREAT if nothing came" (assumption A3: a missing message is detected,
//! and the default order is [`DEFAULT_ORDER`]).
//!
//! The recursion is run here in its executable EIG-tree form (lecture spec §7.4):
//!
//! - An *instance* is a path σ = ⟨0, j₁, …, j_k⟩ of distinct generals, k ≤ m ([`Path`]). Its
//!   commander is last(σ), its lieutenants are L(σ) = every general not on σ, and its remaining
//!   depth is m − k. The path is the "prefix of lieutenant numbers" of the paper (p.388), and every
//!   message carries it, so a trace shows the paper's Figs. 3 and 4 message by message.
//! - In synchronous round k + 1 (rounds 1 … m+1, built by [`LockStep`]) the commander of every
//!   instance with |σ| = k + 1 sends `(σ, v)` to every ℓ ∈ L(σ). A loyal general sends the original
//!   order for σ = ⟨0⟩, otherwise the value it recorded for parent(σ), or RETREAT if it recorded
//!   none. A traitor sends whatever its strategy picks, or nothing.
//! - Lieutenant ℓ records recv(σ); what has not arrived by the end of the round is RETREAT (A3).
//!   A message whose path is malformed, of the wrong length for its round, does not end with its
//!   real sender (A2: the receiver knows who sent it), or repeats an instance already heard, is
//!   ignored.
//! - In round m + 2 every lieutenant decides: dec(σ) = recv(σ) at depth 0, otherwise
//!   majority(w_j for j ∈ L(σ) in ascending id order) with w_ℓ = recv(σ) and w_j = dec(σ·j);
//!   its decision is dec(⟨0⟩), reported as a [`Decision`] observation.
//!
//! `majority` is either of the paper's two choices ([`Majority`]): the strict majority, else
//! RETREAT (the default), or the median of the ordered values (the lower median for an even count,
//! with ATTACK < RETREAT). Both return v whenever a strict majority of the values is v, which is all
//! the proofs need.
//!
//! # What it guarantees, and what it costs
//!
//! - Theorem 1 (p.390): with n > 3m generals and at most m traitors, IC1 and IC2 hold. With
//!   n = 3, m = 1 no algorithm works (§2, Figs. 1–2), and OM(1) visibly fails.
//! - Lemma 1 (p.389): with at most k traitors and n > 2k + m, IC2 holds.
//! - Rounds: m + 1 rounds of messages, then the decision.
//! - Messages: exactly Σ_{k=0}^{m} P(n − 1, k + 1) = Σ (n−1)(n−2)…(n−1−k) when nobody is silent
//!   ([`message_count`]): 4 for (n, m) = (3, 1), 9 for (4, 1), 156 for (7, 2), 3,609 for (10, 3) —
//!   exponential in m, which is the paper's point in its conclusion (p.400).
//!
//! # Nodes, traitors, and the exhaustive search
//!
//! [`Om`] is a [`RoundNode`]; run it as `LockStep<Om>` ([`lock_step`]) under the synchronous timing
//! model with a round at least `delay_max + step_max` long. Inputs: one `on_round` per round, with
//! the messages of the previous round. Effects: the round's sends, and one [`Decision`] output at
//! the end (the commander reports its own order in round 1).
//!
//! Traitors run [`Traitors`], a [`Strategy`] for `LockStep<Om>`: one value drives every faulty
//! node, keeps an honest shadow node for each (so it knows what a loyal general would send, and
//! when), pools everything any traitor hears, and lets a [`Behaviour`] pick each message: silent,
//! always the opposite, equivocating to split the loyal lieutenants, random per message, a
//! colluding adversary using the pooled knowledge, or a [`Script`] fixing ATTACK, RETREAT or
//! nothing for every message. [`Enumeration`] numbers every script for every traitor placement and
//! commander order, so one case number replays one run.

use super::{COMMANDER, DEFAULT_ORDER, Order, Verdict, judge};
use herald_core::rounds::{Flow, LockStep, Round, RoundNode, Tagged};
use herald_core::{Context, Effect, NodeId, Rng, Strategy};
use serde::{Deserialize, Serialize};
use smallvec::{SmallVec, smallvec};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// An OM instance: the chain of generals a value travelled through, starting with the commander
/// (general 0). Its last general is the instance's commander.
///
/// Paths of up to [`PATH_INLINE`] generals (every instance of OM(m) for m < 8) live inline, so
/// building, cloning and comparing them allocates nothing. On the wire a path is a sequence of
/// general ids, as a `Vec` would be.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(SmallVec<[NodeId; PATH_INLINE]>);

impl Clone for Path {
    /// One copy of the ids (they are `Copy`), where SmallVec's own `clone` pushes them one by one:
    /// a path is cloned for every message OM sends.
    #[inline]
    fn clone(&self) -> Self {
        Self(SmallVec::from_slice(&self.0))
    }
}

/// Generals a [`Path`] holds without allocating.
pub const PATH_INLINE: usize = 8;

impl Serialize for Path {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Path {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Generals;
        impl<'de> serde::de::Visitor<'de> for Generals {
            type Value = Path;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of general ids")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Path, A::Error> {
                // No reservation from the (untrusted) announced length: the path grows as its
                // elements actually arrive. The first PATH_INLINE are gathered in a plain array
                // (cheaper than SmallVec's push, which checks for a spill every time).
                let mut inline = [COMMANDER; PATH_INLINE];
                for (len, slot) in inline.iter_mut().enumerate() {
                    match seq.next_element()? {
                        Some(g) => *slot = g,
                        None => return Ok(Path(SmallVec::from_buf_and_len(inline, len))),
                    }
                }
                let mut generals = SmallVec::from_buf(inline);
                while let Some(g) = seq.next_element()? {
                    generals.push(g);
                }
                Ok(Path(generals))
            }
        }
        d.deserialize_seq(Generals)
    }
}

impl Path {
    /// ⟨0⟩: the top-level instance, OM(m) itself.
    pub fn root() -> Self {
        Self(smallvec![COMMANDER])
    }

    /// The path of these generals. Panics unless it starts with the commander and has no repeats.
    pub fn of(generals: &[u32]) -> Self {
        let path = Self(generals.iter().map(|&g| NodeId(g)).collect());
        assert!(path.is_well_formed(usize::MAX), "{path} is not an OM instance path");
        path
    }

    /// The generals on the path, the commander first.
    pub fn generals(&self) -> &[NodeId] {
        &self.0
    }

    /// How many generals are on the path (k + 1 for an OM(m − k) instance).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a well-formed path; here because `len` is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The instance's commander.
    pub fn last(&self) -> NodeId {
        *self.0.last().expect("a path is never empty")
    }

    /// Whether `general` is on the path (and so not a lieutenant of the instance).
    pub fn contains(&self, general: NodeId) -> bool {
        self.0.contains(&general)
    }

    /// The sub-instance σ·j that lieutenant `j` commands.
    pub fn child(&self, j: NodeId) -> Self {
        debug_assert!(!self.contains(j));
        let mut v = SmallVec::from_slice(&self.0);
        v.push(j);
        Self(v)
    }

    /// The instance this one relays: σ without its last general.
    pub fn parent(&self) -> Option<Self> {
        (self.0.len() > 1).then(|| Self(SmallVec::from_slice(&self.0[..self.0.len() - 1])))
    }

    /// The instance's lieutenants among `generals` generals, in ascending id order.
    pub fn lieutenants(&self, generals: usize) -> impl Iterator<Item = NodeId> + '_ {
        NodeId::range(generals).filter(|g| !self.contains(*g))
    }

    /// Starts with the commander, ids below `generals`, no general twice.
    fn is_well_formed(&self, generals: usize) -> bool {
        if self.0.first() != Some(&COMMANDER) {
            return false;
        }
        if generals <= 64 {
            // One pass with the generals seen so far as a bit set: this check runs for every
            // message a lieutenant receives.
            let mut seen = 0u64;
            return self.0.iter().all(|g| {
                let bit = 1u64 << (g.index() % 64);
                let fresh = g.index() < generals && seen & bit == 0;
                seen |= bit;
                fresh
            });
        }
        let distinct = self.0.iter().enumerate().all(|(i, g)| !self.0[..i].contains(g));
        self.0.iter().all(|g| g.index() < generals) && distinct
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.0.iter().map(|g| g.0.to_string()).collect();
        write!(f, "⟨{}⟩", ids.join(","))
    }
}

/// Every instance path with `len` generals among `generals`, avoiding `without`, in lexicographic
/// order.
pub fn paths(generals: usize, len: usize, without: Option<NodeId>) -> Vec<Path> {
    if len == 0 || without == Some(COMMANDER) {
        return Vec::new();
    }
    let mut level = vec![Path::root()];
    for _ in 1..len {
        level = level
            .iter()
            .flat_map(|p| p.lieutenants(generals).filter(|&j| Some(j) != without).map(|j| p.child(j)))
            .collect();
    }
    level
}

/// The messages of one OM(m) run when nobody is silent: Σ_{k=0}^{m} P(n − 1, k + 1), or `None`
/// if that overflows.
pub fn message_count(generals: usize, m: usize) -> Option<u64> {
    let mut total = 0u64;
    let mut product = 1u64;
    for k in 0..=m {
        // P(n − 1, k + 1) = P(n − 1, k) · (n − 1 − k)
        product = product.checked_mul(generals.saturating_sub(1 + k) as u64)?;
        total = total.checked_add(product)?;
    }
    Some(total)
}

/// One OM message: the instance it belongs to, and the value its commander sends in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OmMsg {
    /// The instance σ; its last general is the sender.
    pub path: Path,
    /// The value.
    pub order: Order,
}

/// The `majority` function of step 3 (p.388).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Majority {
    /// The value a strict majority holds, else RETREAT (the paper's first choice).
    #[default]
    StrictOrDefault,
    /// The lower median of the values, ATTACK < RETREAT (the paper's second choice).
    Median,
}

impl Majority {
    /// majority(values); RETREAT for no values.
    pub fn of(self, values: &[Order]) -> Order {
        self.of_counts(values.iter().filter(|v| **v == Order::Attack).count(), values.len())
    }

    /// majority of `total` values of which `attacks` are ATTACK (both functions depend on the
    /// counts alone).
    pub fn of_counts(self, attacks: usize, total: usize) -> Order {
        let retreats = total - attacks;
        match self {
            Self::StrictOrDefault if 2 * attacks > total => Order::Attack,
            Self::StrictOrDefault if 2 * retreats > total => Order::Retreat,
            Self::StrictOrDefault => DEFAULT_ORDER,
            Self::Median if total == 0 => DEFAULT_ORDER,
            // Sorted, the attacks come first: the lower median is an attack iff its index is.
            Self::Median if (total - 1) / 2 < attacks => Order::Attack,
            Self::Median => Order::Retreat,
        }
    }
}

/// What every general of one OM run agrees on before it starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OmConfig {
    /// n, the commander included.
    pub generals: usize,
    /// The algorithm's parameter m: OM(m) has m + 1 rounds of messages.
    pub m: usize,
    /// The order the commander sends if it is loyal.
    pub order: Order,
    /// The majority function.
    pub majority: Majority,
}

impl OmConfig {
    /// The rounds a lieutenant takes part in: m + 1 of messages, then the decision.
    pub fn rounds(&self) -> u32 {
        u32::try_from(self.m + 2).expect("m fits in u32")
    }

    /// What the paper does not promise for this many traitors (empty: Theorem 1 applies). These
    /// configurations are allowed — the negative tests need them.
    pub fn warnings(&self, traitors: usize) -> Vec<String> {
        let (n, m) = (self.generals, self.m);
        let mut w = Vec::new();
        if n <= 3 * m {
            w.push(format!("n = {n} ≤ 3m = {}: OM({m}) needs more than 3m generals (Theorem 1)", 3 * m));
        }
        if traitors > m {
            w.push(format!("{traitors} traitors > m = {m}: OM({m}) copes with at most m (Theorem 1)"));
        }
        w
    }
}

/// A general's decision: the order it obeys, and the values it took the majority of (for a
/// lieutenant, w_j for every lieutenant j of ⟨0⟩ in id order; empty for the commander).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The order obeyed.
    pub order: Order,
    /// The top-level majority's inputs.
    pub values: Vec<Order>,
}

/// A loyal general running OM(m).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Om {
    config: OmConfig,
    id: NodeId,
    /// recv(σ) for every instance heard from.
    received: Received,
    /// Messages dropped as malformed, misrouted or repeated.
    ignored: u64,
    decision: Option<Order>,
    /// Whether messages are recorded as they arrive rather than from the next round's inbox.
    taking_arrivals: bool,
}

impl Om {
    /// General `id` of a run of `config`.
    pub fn new(config: OmConfig, id: NodeId) -> Self {
        assert!(id.index() < config.generals, "{id} is not one of {} generals", config.generals);
        let received = Received::new(&config);
        Self { config, id, received, ignored: 0, decision: None, taking_arrivals: false }
    }

    /// This general, recording each message as it arrives ([`RoundNode::on_arrival`]) instead of
    /// from the next round's inbox: the same decisions and counts, without holding a whole round's
    /// messages until the round ends (95,000 of them at once for OM(4) among 13 generals). Not the
    /// default: such a node no longer shows in its state the order in which messages arrived, so a
    /// model checker exploring it would count fewer states.
    pub fn taking_arrivals(self) -> Self {
        Self { taking_arrivals: true, ..self }
    }

    /// The run's configuration.
    pub fn config(&self) -> &OmConfig {
        &self.config
    }

    /// The value recorded for instance `path`, if one arrived.
    pub fn received(&self, path: &Path) -> Option<Order> {
        self.received.get(path)
    }

    /// Messages ignored because they could not belong to this run.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// The decision, once made.
    pub fn decision(&self) -> Option<Order> {
        self.decision
    }

    fn is_commander(&self) -> bool {
        self.id == COMMANDER
    }

    /// Records the messages of round `round` (their paths have `round` generals).
    fn on_inbox(&mut self, round: u32, inbox: &[(NodeId, OmMsg)]) {
        for (from, msg) in inbox {
            self.record(round, *from, msg);
        }
    }

    /// Records one message of round `round` from `from`, or counts it ignored: this runs for every
    /// message a lieutenant gets.
    #[inline]
    fn record(&mut self, round: u32, from: NodeId, msg: &OmMsg) {
        let fresh = if let Received::Dense(table) = &mut self.received {
            // The same checks as below, with well-formedness, the rank and the set of generals on
            // the path found in one pass over it.
            let generals = msg.path.generals();
            let fits = generals.len() == round as usize && generals.last() == Some(&from);
            let me = 1u64 << self.id.index();
            fits && table
                .locate(&msg.path)
                .is_some_and(|(rank, on_path)| on_path & me == 0 && table.insert(generals.len(), rank, msg.order))
        } else {
            let fits = msg.path.len() == round as usize
                && msg.path.is_well_formed(self.config.generals)
                && msg.path.last() == from
                && !msg.path.contains(self.id);
            fits && self.received.insert(&msg.path, msg.order)
        };
        if !fresh {
            self.ignored += 1;
        }
    }

    /// Round `round` ≤ m + 1: command every instance of `round` generals that ends with this one.
    fn send_round(&self, round: u32, ctx: &mut Round<'_, '_, Self>) {
        let n = self.config.generals;
        if round == 1 {
            if self.is_commander() {
                let msg = OmMsg { path: Path::root(), order: self.config.order };
                for to in Path::root().lieutenants(n) {
                    ctx.send(to, msg.clone());
                }
            }
            return;
        }
        if let Received::Dense(table) = &self.received {
            let mut parent = Path::root();
            self.send_dense(table, round as usize - 1, &mut parent, 0, 1 << COMMANDER.index(), ctx);
            return;
        }
        for parent in paths(n, round as usize - 1, Some(self.id)) {
            let order = self.received(&parent).unwrap_or(DEFAULT_ORDER);
            let path = parent.child(self.id);
            for to in path.lieutenants(n) {
                ctx.send(to, OmMsg { path: path.clone(), order });
            }
        }
    }

    /// Commands σ·id for every parent σ of `len` generals that extends `parent` (of rank `rank`,
    /// generals `on_path`) and avoids this general, in lexicographic order of σ as [`paths`] lists
    /// them: the walk carries each σ's rank along instead of building the level and ranking every
    /// path of it again.
    fn send_dense(
        &self,
        table: &Dense,
        len: usize,
        parent: &mut Path,
        rank: usize,
        on_path: u64,
        ctx: &mut Round<'_, '_, Self>,
    ) {
        let n = self.config.generals;
        let me = self.id.index();
        if parent.len() == len {
            let order = table.get(len, rank).unwrap_or(DEFAULT_ORDER);
            let msg = OmMsg { path: parent.child(self.id), order };
            let on_path = on_path | 1 << me;
            for to in (0..n).filter(|&j| on_path & (1 << j) == 0) {
                ctx.send(NodeId(to as u32), msg.clone());
            }
            return;
        }
        // The k-th general off the path is digit k of the child's rank.
        let base = rank * (n - parent.len());
        for (k, j) in (0..n).filter(|&j| on_path & (1 << j) == 0).enumerate() {
            if j != me {
                parent.0.push(NodeId(j as u32));
                self.send_dense(table, len, parent, base + k, on_path | 1 << j, ctx);
                parent.0.pop();
            }
        }
    }

    /// dec(σ) for this lieutenant (which is not on σ).
    fn decide(&self, path: &Path) -> Order {
        if let Received::Dense(table) = &self.received {
            let (rank, on_path) = table.rank(path);
            return self.decide_dense(table, path.len(), rank, on_path);
        }
        if path.len() > self.config.m {
            return self.received(path).unwrap_or(DEFAULT_ORDER);
        }
        // The majority of the inputs, counted as they are computed rather than collected.
        let own = self.received(path).unwrap_or(DEFAULT_ORDER);
        let (mut attacks, mut total) = (0, 0);
        let mut child = path.clone();
        for j in path.lieutenants(self.config.generals) {
            let w = if j == self.id {
                own
            } else {
                child.0.push(j);
                let w = self.decide(&child);
                child.0.pop();
                w
            };
            attacks += usize::from(w == Order::Attack);
            total += 1;
        }
        self.config.majority.of_counts(attacks, total)
    }

    /// dec(σ) over the dense table, σ given as its length, its rank in its level and the set of
    /// generals on it: the recursion builds no paths and searches no map.
    fn decide_dense(&self, table: &Dense, len: usize, rank: usize, on_path: u64) -> Order {
        let own = table.get(len, rank).unwrap_or(DEFAULT_ORDER);
        if len > self.config.m {
            return own;
        }
        let n = self.config.generals;
        let me = self.id.index();
        // The children σ·j are ranked rank·(n − len) + k for the k-th general j off σ: consecutive.
        let base = rank * (n - len);
        let total = n - len;
        let mut attacks = usize::from(own == Order::Attack);
        if len == self.config.m {
            // The children are leaves, dec(σ·j) = recv(σ·j): count their values in the table
            // directly. This lieutenant's own child σ·me never has one (it is on that path), and
            // its input is `own` instead, counted above.
            let children = &table.values[table.offsets[len] + base..][..total];
            let skip = Dense::digit(on_path, me);
            attacks += children.iter().enumerate().filter(|&(k, &v)| k != skip && v == ATTACK_CODE).count();
            return self.config.majority.of_counts(attacks, total);
        }
        for (k, j) in (0..n).filter(|&j| on_path & (1 << j) == 0).enumerate() {
            if j != me {
                let w = self.decide_dense(table, len + 1, base + k, on_path | (1 << j));
                attacks += usize::from(w == Order::Attack);
            }
        }
        self.config.majority.of_counts(attacks, total)
    }

    /// The majority's inputs at instance σ of depth > 0: w_j for every j ∈ L(σ) in id order, this
    /// lieutenant's own w being the value it received for σ.
    fn inputs(&self, path: &Path) -> Vec<Order> {
        let own = self.received(path).unwrap_or(DEFAULT_ORDER);
        path.lieutenants(self.config.generals)
            .map(|j| if j == self.id { own } else { self.decide(&path.child(j)) })
            .collect()
    }
}

impl RoundNode for Om {
    type Msg = OmMsg;
    type Output = Decision;

    /// `on_inbox` keeps the first value heard for each instance, and a message counts only if it
    /// comes from its instance's commander (last(σ) is the sender): messages that compete for one
    /// instance all come from one sender, whose order arrival order keeps. So the outcome, and the
    /// count of ignored messages, do not depend on the order between senders.
    const INBOX_SORTED: bool = false;

    /// In round r a lieutenant hears every instance of r generals that does not contain it, one
    /// message each: P(n − 2, r − 1) of them. The commander hears nothing.
    fn inbox_hint(&self, round: u32) -> usize {
        let n = self.config.generals;
        if self.taking_arrivals || self.is_commander() || round as usize > self.config.m + 1 {
            return 0;
        }
        (0..round as usize - 1).fold(1usize, |p, i| p.saturating_mul(n.saturating_sub(2 + i)))
    }

    /// With [`Om::taking_arrivals`], records the message now, as `on_inbox` would in the next
    /// round: the inbox is in arrival order anyway (`INBOX_SORTED` is false), and nothing reads the
    /// values of a round's instances before the next round begins.
    fn on_arrival(&mut self, round: u32, from: NodeId, msg: OmMsg) -> Option<OmMsg> {
        if !self.taking_arrivals {
            return Some(msg);
        }
        self.record(round, from, &msg);
        None
    }

    fn on_round(&mut self, round: u32, inbox: &[(NodeId, OmMsg)], ctx: &mut Round<'_, '_, Self>) -> Flow {
        self.on_inbox(round - 1, inbox);
        if self.is_commander() {
            self.send_round(round, ctx);
            self.decision = Some(self.config.order);
            ctx.output(Decision { order: self.config.order, values: Vec::new() });
            return Flow::Done;
        }
        if round < self.config.rounds() {
            self.send_round(round, ctx);
            return Flow::Continue;
        }
        let root = Path::root();
        let (order, values) = if self.config.m == 0 {
            let own = self.received(&root).unwrap_or(DEFAULT_ORDER);
            (own, vec![own])
        } else {
            let values = self.inputs(&root);
            (self.config.majority.of(&values), values)
        };
        self.decision = Some(order);
        ctx.output(Decision { order, values });
        Flow::Done
    }
}

/// recv(σ) for the instances of one run: a dense table in EIG order when it is small, else a map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Received {
    Dense(Dense),
    Sparse(BTreeMap<Path, Order>),
}

/// Every instance of 1..=m+1 generals numbered densely: level k (paths of k + 1 generals) holds
/// P(n − 1, k) instances, ranked in lexicographic order by the mixed-radix number whose i-th digit
/// counts the generals not yet on the path that are below the path's i-th general.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Dense {
    generals: usize,
    /// Where each level starts; `offsets[len - 1]` for paths of `len` generals, and the total last.
    offsets: Vec<usize>,
    /// 0: nothing received; else the order (see [`Dense::code`]).
    values: Vec<u8>,
}

/// [`Dense::code`] of ATTACK.
const ATTACK_CODE: u8 = 1;

/// The largest dense table (entries, one byte each) before falling back to a map.
const DENSE_MAX: usize = 1 << 20;

impl Received {
    fn new(config: &OmConfig) -> Self {
        let n = config.generals;
        let mut offsets = vec![0usize];
        let mut level = 1usize; // P(n − 1, 0)
        let mut fits = n <= 64;
        for k in 0..=config.m {
            match offsets[k].checked_add(level) {
                Some(end) if fits && end <= DENSE_MAX => offsets.push(end),
                _ => {
                    fits = false;
                    break;
                }
            }
            // P(n − 1, k + 1) = P(n − 1, k) · (n − 1 − k)
            level = level.saturating_mul(n.saturating_sub(1 + k));
        }
        if fits {
            let total = *offsets.last().expect("one offset per level and the total");
            Self::Dense(Dense { generals: n, offsets, values: vec![0; total] })
        } else {
            Self::Sparse(BTreeMap::new())
        }
    }

    fn get(&self, path: &Path) -> Option<Order> {
        match self {
            Self::Dense(t) => t.locate(path).and_then(|(rank, _)| t.get(path.len(), rank)),
            Self::Sparse(map) => map.get(path).copied(),
        }
    }

    /// Records recv(σ) unless σ already has a value (or cannot be an instance); whether it did.
    fn insert(&mut self, path: &Path, order: Order) -> bool {
        match self {
            Self::Dense(t) => t.locate(path).is_some_and(|(rank, _)| t.insert(path.len(), rank, order)),
            Self::Sparse(map) => match map.entry(path.clone()) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(order);
                    true
                }
                std::collections::btree_map::Entry::Occupied(_) => false,
            },
        }
    }
}

impl Dense {
    fn code(order: Order) -> u8 {
        match order {
            Order::Attack => ATTACK_CODE,
            Order::Retreat => 2,
        }
    }

    /// The value of the instance of `len` generals ranked `rank`.
    fn get(&self, len: usize, rank: usize) -> Option<Order> {
        match self.values[self.offsets[len - 1] + rank] {
            ATTACK_CODE => Some(Order::Attack),
            2 => Some(Order::Retreat),
            _ => None,
        }
    }

    /// Records the value of the instance of `len` generals ranked `rank` unless it has one; whether
    /// it did.
    fn insert(&mut self, len: usize, rank: usize, order: Order) -> bool {
        let slot = &mut self.values[self.offsets[len - 1] + rank];
        let first = *slot == 0;
        if first {
            *slot = Self::code(order);
        }
        first
    }

    /// A path's rank in its level and the set of its generals, or `None` unless it is well formed
    /// (see [`Path::is_well_formed`]) and has a level in the table: the check and the rank in one
    /// pass.
    fn locate(&self, path: &Path) -> Option<(usize, u64)> {
        let generals = path.generals();
        if generals.first() != Some(&COMMANDER) || generals.len() >= self.offsets.len() {
            return None;
        }
        let n = self.generals;
        let (mut rank, mut on_path) = (0, 1u64 << COMMANDER.index());
        for (i, g) in generals.iter().enumerate().skip(1) {
            let j = g.index();
            if j >= n || on_path & (1 << j) != 0 {
                return None;
            }
            rank = rank * (n - i) + Self::digit(on_path, j);
            on_path |= 1 << j;
        }
        Some((rank, on_path))
    }

    /// How many generals not on the path (`on_path`, a bit set) are below `j`.
    fn digit(on_path: u64, j: usize) -> usize {
        j - (on_path & ((1u64 << j) - 1)).count_ones() as usize
    }

    /// A well-formed path's rank in its level, and the set of its generals.
    fn rank(&self, path: &Path) -> (usize, u64) {
        let n = self.generals;
        let (mut rank, mut on_path) = (0, 1u64 << COMMANDER.index());
        for (i, g) in path.generals().iter().enumerate().skip(1) {
            rank = rank * (n - i) + Self::digit(on_path, g.index());
            on_path |= 1 << g.index();
        }
        (rank, on_path)
    }
}

/// General `id` of `config` as a node: OM in lock-step rounds of `round_length`.
pub fn lock_step(config: OmConfig, id: NodeId, round_length: Duration) -> LockStep<Om> {
    LockStep::new(Om::new(config, id), round_length)
}

/// What a traitor does with one message slot: send ATTACK, send RETREAT, or send nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Choice {
    /// Send ATTACK.
    Attack,
    /// Send RETREAT.
    Retreat,
    /// Send nothing (the receiver will use RETREAT, by A3).
    Omit,
}

impl Choice {
    /// The three choices, in case-numbering order (digit 0, 1, 2).
    pub const ALL: [Self; 3] = [Self::Attack, Self::Retreat, Self::Omit];

    /// The order sent, if any.
    pub fn order(self) -> Option<Order> {
        match self {
            Self::Attack => Some(Order::Attack),
            Self::Retreat => Some(Order::Retreat),
            Self::Omit => None,
        }
    }
}

/// One message a traitor could send: the instance and the receiver (the sender is the path's last
/// general).
pub type Slot = (Path, NodeId);

/// A fixed choice per message slot. Slots it does not mention are sent honestly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Script(pub BTreeMap<Slot, Choice>);

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|((path, to), c)| {
                let c = match c {
                    Choice::Attack => "A",
                    Choice::Retreat => "R",
                    Choice::Omit => "-",
                };
                format!("{path}→{to}:{c}")
            })
            .collect();
        f.write_str(&parts.join(" "))
    }
}

/// How the traitors pick each message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Send nothing at all.
    Silent,
    /// Send the opposite of what a loyal general would.
    Opposite,
    /// Split the loyal lieutenants: ATTACK to the lower half by id, RETREAT to the rest, in every
    /// message (honest to fellow traitors).
    Equivocate,
    /// ATTACK, RETREAT or nothing, uniformly at random per message.
    Random,
    /// Collude through pooled knowledge: with a loyal commander, every traitor contradicts the
    /// order the commander sent (which some traitor heard); with a traitor commander, equivocate.
    Collude,
    /// A fixed choice per message.
    Scripted(Script),
}

impl Behaviour {
    /// The stock behaviours, without a script.
    pub fn stock() -> [Self; 5] {
        [Self::Silent, Self::Opposite, Self::Equivocate, Self::Random, Self::Collude]
    }

    /// A short name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::Opposite => "opposite",
            Self::Equivocate => "equivocate",
            Self::Random => "random",
            Self::Collude => "collude",
            Self::Scripted(_) => "scripted",
        }
    }

    /// What traitor `from` sends to `to` in instance `path`, where a loyal general would send
    /// `honest`; `None` sends nothing.
    fn choose(&self, view: &View<'_>, slot: &Slot, honest: Order, rng: &mut Rng) -> Option<Order> {
        match self {
            Self::Silent => None,
            Self::Opposite => Some(opposite(honest)),
            Self::Equivocate => Some(view.split(slot.1).unwrap_or(honest)),
            Self::Random => Choice::ALL[rng.index(3)].order(),
            Self::Collude => match view.loyal_commanders_order() {
                Some(order) => Some(opposite(order)),
                None => Some(view.split(slot.1).unwrap_or(honest)),
            },
            Self::Scripted(script) => script.0.get(slot).map_or(Some(honest), |c| c.order()),
        }
    }
}

fn opposite(order: Order) -> Order {
    match order {
        Order::Attack => Order::Retreat,
        Order::Retreat => Order::Attack,
    }
}

/// What the traitors know together.
struct View<'a> {
    generals: usize,
    faulty: &'a BTreeSet<NodeId>,
    heard: &'a BTreeMap<Slot, Order>,
}

impl View<'_> {
    /// The equivocation target for `to`: ATTACK for the lower half of the loyal lieutenants,
    /// RETREAT for the upper; `None` for a traitor.
    fn split(&self, to: NodeId) -> Option<Order> {
        let loyal: Vec<NodeId> =
            NodeId::range(self.generals).filter(|g| *g != COMMANDER && !self.faulty.contains(g)).collect();
        let at = loyal.iter().position(|g| *g == to)?;
        Some(if 2 * at < loyal.len() { Order::Attack } else { Order::Retreat })
    }

    /// The order a loyal commander sent, as some traitor heard it.
    fn loyal_commanders_order(&self) -> Option<Order> {
        if self.faulty.contains(&COMMANDER) {
            return None;
        }
        let root = Path::root();
        self.heard.iter().find(|((path, _), _)| *path == root).map(|(_, order)| *order)
    }
}

/// The Byzantine strategy of OM: one value for all the traitors of a run.
///
/// Each traitor gets an honest shadow `LockStep<Om>`, fed every message the traitor receives and
/// its round timers, so the strategy keeps the traitor in step and knows, for every message a loyal
/// general would send, its instance, receiver and honest value. The [`Behaviour`] then rewrites or
/// suppresses it. What any traitor hears is pooled for all of them.
#[derive(Debug)]
pub struct Traitors {
    config: OmConfig,
    round_length: Duration,
    faulty: BTreeSet<NodeId>,
    behaviour: Behaviour,
    shadows: BTreeMap<NodeId, LockStep<Om>>,
    /// Every value any traitor heard, by (instance, receiving traitor); the first copy wins.
    heard: BTreeMap<Slot, Order>,
}

impl Traitors {
    /// The traitors `faulty` of a run of `config` in rounds of `round_length`, behaving as
    /// `behaviour`.
    pub fn new(config: OmConfig, round_length: Duration, faulty: BTreeSet<NodeId>, behaviour: Behaviour) -> Self {
        Self { config, round_length, faulty, behaviour, shadows: BTreeMap::new(), heard: BTreeMap::new() }
    }

    /// Runs `input` on the acting traitor's shadow, then sends what the behaviour makes of its
    /// sends. Timers pass through; the shadow's decision is not reported.
    fn drive(
        &mut self,
        ctx: &mut Context<'_, LockStep<Om>>,
        input: impl FnOnce(&mut LockStep<Om>, &mut Context<'_, LockStep<Om>>),
    ) {
        let id = ctx.id();
        let shadow = self.shadows.entry(id).or_insert_with(|| lock_step(self.config.clone(), id, self.round_length));
        let (peers, now) = (ctx.peers(), ctx.now());
        let mut effects = Vec::new();
        input(shadow, &mut Context::new(id, peers, now, ctx.rng(), &mut effects));
        let view = View { generals: self.config.generals, faulty: &self.faulty, heard: &self.heard };
        for effect in effects {
            match effect {
                Effect::Send { to, msg: Tagged { round, msg } } => {
                    let slot = (msg.path, to);
                    if let Some(order) = self.behaviour.choose(&view, &slot, msg.order, ctx.rng()) {
                        ctx.send(to, Tagged { round, msg: OmMsg { path: slot.0, order } });
                    }
                }
                Effect::SetTimer { timer, after } => ctx.set_timer(timer, after),
                Effect::CancelTimer { timer } => ctx.cancel_timer(timer),
                Effect::SendBytes { .. } | Effect::Persist { .. } | Effect::Output(_) => {}
            }
        }
    }
}

impl Strategy<LockStep<Om>> for Traitors {
    fn name(&self) -> &str {
        self.behaviour.name()
    }

    fn on_start(&mut self, ctx: &mut Context<'_, LockStep<Om>>) {
        debug_assert!(self.faulty.contains(&ctx.id()), "{} is not one of the traitors", ctx.id());
        self.drive(ctx, herald_core::Node::on_start);
    }

    fn on_message(&mut self, from: NodeId, msg: Tagged<OmMsg>, ctx: &mut Context<'_, LockStep<Om>>) {
        if msg.msg.path.last() == from {
            self.heard.entry((msg.msg.path.clone(), ctx.id())).or_insert(msg.msg.order);
        }
        self.drive(ctx, |shadow, c| herald_core::Node::on_message(shadow, from, msg, c));
    }

    fn on_timer(&mut self, timer: herald_core::rounds::RoundEnd, ctx: &mut Context<'_, LockStep<Om>>) {
        self.drive(ctx, |shadow, c| herald_core::Node::on_timer(shadow, timer, c));
    }
}

/// Every message traitors `faulty` send to loyal generals in OM(m) among `generals` generals, in
/// canonical order: by round, then instance path, then receiver. Messages between traitors are
/// left out: no loyal general ever sees them, so they cannot change a loyal decision, and
/// [`Behaviour::Scripted`] sends them honestly.
pub fn traitor_slots(generals: usize, m: usize, faulty: &BTreeSet<NodeId>) -> Vec<Slot> {
    let mut slots = Vec::new();
    for len in 1..=m + 1 {
        for path in paths(generals, len, None) {
            if faulty.contains(&path.last()) {
                for to in path.lieutenants(generals).filter(|g| !faulty.contains(g)) {
                    slots.push((path.clone(), to));
                }
            }
        }
    }
    slots
}

/// The exhaustive search: every placement of the traitors (the commander included), every
/// commander order, and every script over the traitors' messages to loyal generals, numbered.
///
/// Case numbers run placement by placement (placements in lexicographic order of their sorted
/// ids), then ATTACK before RETREAT, then scripts in base-3 order with the first slot of
/// [`traitor_slots`] as the most significant digit (0 ATTACK, 1 RETREAT, 2 omit). A placement with
/// T slots has 2·3^T cases.
#[derive(Clone, Debug)]
pub struct Enumeration {
    generals: usize,
    m: usize,
    placements: Vec<Placement>,
    total: u64,
}

#[derive(Clone, Debug)]
struct Placement {
    traitors: BTreeSet<NodeId>,
    slots: Vec<Slot>,
    first: u64,
    scripts: u64,
}

/// One numbered case of an [`Enumeration`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The case number.
    pub index: u64,
    /// The traitors.
    pub traitors: BTreeSet<NodeId>,
    /// The order a loyal commander sends.
    pub order: Order,
    /// What the traitors send.
    pub script: Script,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let traitors: Vec<String> = self.traitors.iter().map(ToString::to_string).collect();
        write!(
            f,
            "case {}: traitors [{}], order {:?}, script {}",
            self.index,
            traitors.join(","),
            self.order,
            self.script
        )
    }
}

impl Enumeration {
    /// The search for `traitors` traitors in OM(m) among `generals` generals, or `None` if it has
    /// more than `cases_max` cases.
    pub fn new(generals: usize, m: usize, traitors: usize, cases_max: u64) -> Option<Self> {
        let mut placements = Vec::new();
        let mut total = 0u64;
        for set in combinations(generals, traitors, cases_max)? {
            let slots = traitor_slots(generals, m, &set);
            let scripts = u32::try_from(slots.len()).ok().and_then(|t| 3u64.checked_pow(t))?;
            let first = total;
            total = total.checked_add(scripts.checked_mul(2)?).filter(|t| *t <= cases_max)?;
            placements.push(Placement { traitors: set, slots, first, scripts });
        }
        Some(Self { generals, m, placements, total })
    }

    /// The number of cases.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether there are no cases (never: there is always at least one placement).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The generals and m the search is for.
    pub fn shape(&self) -> (usize, usize) {
        (self.generals, self.m)
    }

    /// Each traitor placement with its case numbers.
    pub fn placements(&self) -> impl Iterator<Item = (&BTreeSet<NodeId>, std::ops::Range<u64>)> {
        self.placements.iter().map(|p| (&p.traitors, p.first..p.first + 2 * p.scripts))
    }

    /// Case `index`, or `None` past the end.
    pub fn case(&self, index: u64) -> Option<Case> {
        let p = self.placements.iter().take_while(|p| p.first <= index).last()?;
        let local = index.checked_sub(p.first).filter(|l| *l < 2 * p.scripts)?;
        let order = if local < p.scripts { Order::Attack } else { Order::Retreat };
        let mut digits = local % p.scripts;
        let mut script = BTreeMap::new();
        for slot in p.slots.iter().rev() {
            script.insert(slot.clone(), Choice::ALL[(digits % 3) as usize]);
            digits /= 3;
        }
        Some(Case { index, traitors: p.traitors.clone(), order, script: Script(script) })
    }
}

/// The `k`-subsets of `0..n` in lexicographic order, or `None` if there are more than `max`.
fn combinations(n: usize, k: usize, max: u64) -> Option<Vec<BTreeSet<NodeId>>> {
    let mut count = 1u128;
    for i in 0..k.min(n) {
        count = count * (n - i) as u128 / (i + 1) as u128;
        if count > u128::from(max) {
            return None;
        }
    }
    if k > n {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    let mut pick: Vec<usize> = (0..k).collect();
    loop {
        out.push(pick.iter().map(|&i| NodeId::from(i)).collect());
        let Some(i) = (0..k).rev().find(|&i| pick[i] < n - k + i) else { return Some(out) };
        pick[i] += 1;
        for j in i + 1..k {
            pick[j] = pick[j - 1] + 1;
        }
    }
}

/// IC1 and IC2 for one run, from the generals' decisions (traitors' are ignored).
pub fn verdict(config: &OmConfig, traitors: &BTreeSet<NodeId>, decisions: &BTreeMap<NodeId, Order>) -> Verdict {
    judge(config.generals, traitors, config.order, decisions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_ranks_number_each_level_in_lexicographic_order() {
        for (n, m) in [(4, 1), (7, 2), (10, 3)] {
            let config = OmConfig { generals: n, m, order: Order::Attack, majority: Majority::StrictOrDefault };
            let Received::Dense(table) = Received::new(&config) else { panic!("small runs are dense") };
            for len in 1..=m + 1 {
                let ranks: Vec<usize> = paths(n, len, None).iter().map(|p| table.rank(p).0).collect();
                assert_eq!(ranks, (0..ranks.len()).collect::<Vec<_>>(), "n={n} len={len}");
                assert_eq!(table.offsets[len] - table.offsets[len - 1], ranks.len());
            }
        }
        let huge = OmConfig { generals: 40, m: 6, order: Order::Attack, majority: Majority::StrictOrDefault };
        assert!(matches!(Received::new(&huge), Received::Sparse(_)), "too big for a table");
    }

    #[test]
    fn locating_a_path_checks_and_ranks_it() {
        for (n, m) in [(7, 2), (16, 2), (17, 2), (20, 1)] {
            let config = OmConfig { generals: n, m, order: Order::Attack, majority: Majority::StrictOrDefault };
            let Received::Dense(table) = Received::new(&config) else { panic!("small runs are dense") };
            for len in 1..=m + 1 {
                for (rank, p) in paths(n, len, None).iter().enumerate() {
                    assert_eq!(table.locate(p), Some(table.rank(p)), "n={n} {p}");
                    assert_eq!(table.rank(p).0, rank, "n={n} {p}");
                }
            }
            assert_eq!(table.locate(&Path(smallvec![COMMANDER, NodeId(n as u32 - 1), NodeId(n as u32 - 1)])), None);
        }
    }

    #[test]
    fn dense_and_sparse_tables_decide_alike() {
        let mut rng = Rng::new(7);
        for majority in [Majority::StrictOrDefault, Majority::Median] {
            let config = OmConfig { generals: 7, m: 2, order: Order::Attack, majority };
            for _ in 0..50 {
                let mut dense = Om::new(config.clone(), NodeId(3));
                let mut sparse = Om { received: Received::Sparse(BTreeMap::new()), ..dense.clone() };
                for len in 1..=3 {
                    // A random value, or none, for every instance this lieutenant can hear.
                    let mut inbox: Vec<(NodeId, OmMsg)> = Vec::new();
                    for path in paths(7, len, Some(NodeId(3))) {
                        if rng.chance(0.8) {
                            let order = if rng.chance(0.5) { Order::Attack } else { Order::Retreat };
                            inbox.push((path.last(), OmMsg { path, order }));
                        }
                    }
                    dense.on_inbox(len as u32, &inbox);
                    sparse.on_inbox(len as u32, &inbox);
                }
                assert_eq!(dense.inputs(&Path::root()), sparse.inputs(&Path::root()));
                for p in paths(7, 2, Some(NodeId(3))) {
                    assert_eq!(dense.received(&p), sparse.received(&p));
                    assert_eq!(dense.decide(&p), sparse.decide(&p), "{p}");
                }
            }
        }
    }

    #[test]
    fn paths_marshal_as_sequences_and_distrust_the_announced_length() {
        use herald_core::codec;
        let long = Path::of(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // beyond the inline capacity
        for p in [Path::root(), Path::of(&[0, 3, 1]), long] {
            let bytes = codec::encode(&p);
            assert_eq!(bytes, codec::encode(&p.generals().iter().map(|g| g.0).collect::<Vec<u32>>()));
            assert_eq!(codec::decode::<Path>(&bytes).unwrap(), p);
        }
        // A length prefix announcing 2^32 − 1 generals, then two: an error, not a huge reservation.
        let forged = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01];
        assert!(codec::decode::<Path>(&forged).is_err());
    }
    use Order::{Attack, Retreat};

    #[test]
    fn both_majorities_return_a_strict_majority_value() {
        for len in 0..=7u32 {
            for bits in 0..1u32 << len {
                let values: Vec<Order> = (0..len).map(|i| if bits >> i & 1 == 1 { Retreat } else { Attack }).collect();
                let retreats = bits.count_ones() as usize;
                let attacks = values.len() - retreats;
                for maj in [Majority::StrictOrDefault, Majority::Median] {
                    let got = maj.of(&values);
                    if 2 * attacks > values.len() {
                        assert_eq!(got, Attack, "{maj:?} {values:?}");
                    }
                    if 2 * retreats > values.len() {
                        assert_eq!(got, Retreat, "{maj:?} {values:?}");
                    }
                }
            }
        }
        assert_eq!(Majority::StrictOrDefault.of(&[Attack, Retreat]), Retreat, "a tie is the default");
        assert_eq!(Majority::Median.of(&[Attack, Retreat]), Attack, "the lower median of a tie");
        assert_eq!(Majority::Median.of(&[]), DEFAULT_ORDER);
    }

    #[test]
    fn paths_count_the_instances_and_messages_follow_the_formula() {
        assert_eq!(paths(4, 1, None), vec![Path::root()]);
        assert_eq!(paths(4, 2, None), vec![Path::of(&[0, 1]), Path::of(&[0, 2]), Path::of(&[0, 3])]);
        assert_eq!(paths(4, 2, Some(NodeId(2))), vec![Path::of(&[0, 1]), Path::of(&[0, 3])]);
        assert_eq!(paths(7, 3, None).len(), 30, "P(6, 2) instances of OM(0) in OM(2)");
        let formula = |n: usize, m: usize| -> usize {
            (0..=m).map(|k| paths(n, k + 1, None).iter().map(|p| p.lieutenants(n).count()).sum::<usize>()).sum()
        };
        for (n, m) in [(3, 1), (4, 1), (7, 2), (10, 3)] {
            assert_eq!(message_count(n, m), Some(formula(n, m) as u64));
        }
        assert_eq!(message_count(10, 3), Some(3609));
        assert_eq!(Path::of(&[0, 3, 1]).to_string(), "⟨0,3,1⟩");
        assert_eq!(Path::of(&[0, 3, 1]).parent(), Some(Path::of(&[0, 3])));
    }

    #[test]
    fn the_commander_sends_its_order_in_round_one_and_is_done() {
        use herald_core::Node;
        let config = OmConfig { generals: 3, m: 1, order: Attack, majority: Majority::default() };
        let peers = [NodeId(1), NodeId(2)];
        let mut rng = Rng::new(0);
        let mut fx = Vec::new();
        let mut node = lock_step(config, COMMANDER, Duration::from_millis(20));
        node.on_start(&mut Context::new(COMMANDER, &peers, herald_core::Time::ZERO, &mut rng, &mut fx));
        let msg = |to| Effect::Send {
            to: NodeId(to),
            msg: Tagged { round: 1, msg: OmMsg { path: Path::root(), order: Attack } },
        };
        assert_eq!(fx, vec![msg(1), msg(2), Effect::Output(Decision { order: Attack, values: vec![] })]);
    }

    #[test]
    fn a_lieutenant_relays_defaults_for_missing_values_and_ignores_forged_paths() {
        let config = OmConfig { generals: 4, m: 1, order: Attack, majority: Majority::default() };
        let mut l1 = Om::new(config, NodeId(1));
        // n2 claims to relay for ⟨0,3⟩: A2 says the receiver knows the real sender.
        l1.on_inbox(1, &[(NodeId(2), OmMsg { path: Path::of(&[0]), order: Attack })]);
        l1.on_inbox(2, &[(NodeId(2), OmMsg { path: Path::of(&[0, 3]), order: Retreat })]);
        assert_eq!(l1.ignored(), 2);
        assert_eq!(l1.received(&Path::root()), None);
        assert_eq!(l1.decide(&Path::root()), Retreat, "nothing heard: RETREAT everywhere");
    }

    #[test]
    fn cases_decode_in_order_and_cover_every_script() {
        let e = Enumeration::new(4, 1, 1, u64::MAX).unwrap();
        assert_eq!(e.len(), 2 * 27 + 3 * 2 * 9);
        let first = e.case(0).unwrap();
        assert_eq!(first.traitors, BTreeSet::from([COMMANDER]));
        assert_eq!(first.order, Attack);
        assert!(first.script.0.values().all(|c| *c == Choice::Attack));
        let last_of_first = e.case(53).unwrap();
        assert_eq!(last_of_first.order, Retreat);
        assert!(last_of_first.script.0.values().all(|c| *c == Choice::Omit));
        let second = e.case(54).unwrap();
        assert_eq!(second.traitors, BTreeSet::from([NodeId(1)]));
        assert_eq!(second.script.0.keys().cloned().collect::<Vec<_>>(), traitor_slots(4, 1, &second.traitors));
        assert_eq!(
            e.case(1).unwrap().script.0[&(Path::root(), NodeId(3))],
            Choice::Retreat,
            "last slot is least significant"
        );
        assert!(e.case(e.len()).is_none());
        let scripts: BTreeSet<_> = (0..e.len()).map(|i| e.case(i).unwrap().script).collect();
        assert_eq!(scripts.len() as u64, 27 + 3 * 9, "every script once per placement, for both orders");
        assert!(Enumeration::new(7, 2, 2, 1_000_000).is_none(), "too many cases");
    }

    #[test]
    fn combinations_are_lexicographic() {
        let c = combinations(4, 2, 100).unwrap();
        let as_ids: Vec<Vec<u32>> = c.iter().map(|s| s.iter().map(|g| g.0).collect()).collect();
        assert_eq!(as_ids, vec![vec![0, 1], vec![0, 2], vec![0, 3], vec![1, 2], vec![1, 3], vec![2, 3]]);
        assert_eq!(combinations(3, 0, 1).unwrap().len(), 1);
        assert!(combinations(20, 10, 1000).is_none());
    }
}
