//! [`ActorModel`]: Herald nodes plus a system model, as a [`Model`].
//!
//! The checker runs the very [`Node`] implementations the simulator runs. A state is every node's
//! value, the messages in flight, each node's pending timers and durable storage, and the fault
//! budgets used so far. Actions are what the system model lets happen next:
//!
//! - **Deliver** an in-flight message (weakly fair). On an unordered network any in-flight
//!   message may go next; on an ordered one only the oldest of each link. The network is a
//!   multiset, kept canonical by sorting envelopes by fingerprint.
//! - **Drop** one (fair-loss network only) and **Duplicate** one (at most `duplicates_max`
//!   times): never fair.
//! - **Fire** a pending timer (weakly fair), at most `timer_fires_max` times in all. Under the
//!   *synchronous* timing model a timer fires only when no message is in flight (every message
//!   arrives within the bound) and only if no other pending timer has an earlier deadline, and the
//!   clock jumps to its deadline; under the *asynchronous* model any pending timer may fire at any
//!   time and the clock stays at zero; under the *unbounded-delay* model timers fire in deadline
//!   order and move the clock as under the synchronous one, but messages in flight do not hold
//!   them back (a message may arrive after any number of later timers: no bound on delay);
//!   under the *partially synchronous* model, delay is unbounded (as under unbounded delay) until
//!   an unknown global stabilisation time: **Stabilise** (GST; weakly fair, taken once, nodes are
//!   not told) may happen at any step, and from then on every message in flight or sent later must
//!   arrive within `delay_max` of GST or of its send (its *due* time): a timer fires only if every
//!   message in flight is due after its deadline, and **Wait** (not fair) lets time pass to the
//!   earliest due time, so that messages can arrive as late as the bound allows.
//! - **Crash** an honest node (at most `crashes_max` times; not fair): its in-memory state and
//!   timers are lost. With `recover`, a crashed node may **Recover**: a fresh node from the
//!   factory gets `on_recover` with the durable storage it had persisted.
//! - **Forge**: a Byzantine node sends one message of its finite *domain* (each at most once; not
//!   fair). Byzantine nodes run no code: they are nondeterministic strategies over every message
//!   they could send, so checking covers every behaviour in the domain.
//!
//! Initial states: one per [`Cast`] (who is Byzantine, what the honest nodes are configured with),
//! after every honest node's `on_start`, in id order, at time zero. A node that draws randomness
//! gets the same draws at every step (a fresh stream per node and handler call): the checker
//! explores the nondeterminism of the system model, not of a node's random choices. Raw-byte sends
//! (`SendBytes`) are treated as corrupted and dropped; observations are not part of the state
//! unless [`ActorModel::record_outputs`] is set.

use crate::fingerprint::fingerprint;
use crate::model::{Model, Property};
use herald_core::trace::{DropReason, EventKind, TraceEvent, hex};
use herald_core::{Context, Durable, Effect, Node, NodeId, Rng, Time, codec, time::nanos};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

/// The network semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Every message is eventually delivered (delivery is weakly fair), exactly once unless duplicated.
    Reliable,
    /// Messages may also be lost.
    FairLoss,
}

/// The timing model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Messages arrive before any later timer fires; timers fire in deadline order.
    Synchronous,
    /// No bound: timers and deliveries interleave freely, and the clock stays at zero (for
    /// protocols whose timers only mean "retransmit eventually": time splits no states).
    Asynchronous,
    /// The asynchronous model's unbounded delay with running clocks: timers fire in deadline
    /// order and the clock jumps to each deadline, as under `Synchronous`, but a message in flight
    /// never holds a timer back, so any message may arrive after any number of timers. Timeouts
    /// see time pass without an answer. (Processes stay timely: a subset of the asynchronous
    /// model's runs, so a violation found here is one of the asynchronous model.)
    UnboundedDelay,
    /// Partial synchrony (Dwork, Lynch & Stockmeyer): as `UnboundedDelay` until the global
    /// stabilisation time (GST), a nondeterministic step the checker may take at any point, once,
    /// without telling the nodes; from GST on, a message in flight at GST arrives by GST +
    /// `delay_max` and one sent later by its send time + `delay_max`. Messages may take the whole
    /// bound: the `Wait` action moves the clock to the earliest due time (never past a pending
    /// timer's deadline), and a timer fires only while every message in flight is due after it
    /// (a message due at a timer's deadline arrives first). With `delay_max` zero, after GST this
    /// is `Synchronous`.
    PartiallySynchronous {
        /// The delay bound that holds after GST.
        delay_max: Duration,
    },
}

impl Timing {
    /// Whether the clock runs (timers get deadlines and fire in their order).
    pub fn clocked(self) -> bool {
        self != Self::Asynchronous
    }

    /// The post-GST delay bound (ns), under partial synchrony.
    pub(crate) fn partial(self) -> Option<u64> {
        match self {
            Self::PartiallySynchronous { delay_max } => Some(nanos(delay_max)),
            _ => None,
        }
    }
}

/// Who plays which part in one family of runs.
#[derive(Clone, Debug)]
pub struct Cast<N: Node> {
    /// A name for reports and traces.
    pub name: String,
    /// One entry per node id: the honest node, or `None` for a Byzantine one.
    pub nodes: Vec<Option<N>>,
    /// What the Byzantine nodes may send; every sender must be Byzantine.
    pub domain: Vec<Forgery<N::Msg>>,
}

/// One message a Byzantine node may send, at most once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Forgery<M> {
    /// The Byzantine sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The message.
    pub msg: M,
    /// Under the synchronous timing model: the clock readings (ns, inclusive) at which it may be
    /// sent. A model uses this to skip sending times that cannot make a difference (for lock-step
    /// rounds: a message tagged for round r sent before round r is held until r, one sent after is
    /// dropped, so the start of round r covers every outcome). `None`: any time.
    pub window: Option<(u64, u64)>,
}

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Envelope<M> {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The message.
    pub msg: M,
    /// Under [`Timing::PartiallySynchronous`] after GST: the clock reading (ns) by which it must
    /// be delivered. [`NO_BOUND`] otherwise (it does not split states).
    pub due: u64,
}

/// The due time of a message that has no delay bound.
pub const NO_BOUND: u64 = u64::MAX;

impl<M> Envelope<M> {
    /// An envelope without a delay bound.
    pub fn new(from: NodeId, to: NodeId, msg: M) -> Self {
        Self { from, to, msg, due: NO_BOUND }
    }
}

/// A state of an [`ActorModel`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActorState<N: Node + Clone + Eq + Hash + Debug> {
    /// Which cast this run uses.
    pub cast: u16,
    /// Each node: `None` if Byzantine or crashed.
    pub nodes: Vec<Option<N>>,
    /// Messages in flight: sorted by fingerprint (unordered network) or in send order (ordered).
    pub network: Vec<Envelope<N::Msg>>,
    /// Each node's pending timers with their deadlines (ns), sorted by timer.
    pub timers: Vec<Vec<(N::Timer, u64)>>,
    /// Each node's durable storage.
    pub durable: Vec<Durable>,
    /// The clock (ns); stays 0 under [`Timing::Asynchronous`].
    pub now: u64,
    /// Under [`Timing::PartiallySynchronous`]: the clock reading at GST, once it has happened.
    pub gst: Option<u64>,
    /// Which domain messages the Byzantine nodes have sent.
    pub forged: Vec<bool>,
    /// Crashes so far.
    pub crashes: u8,
    /// Duplications so far.
    pub duplicates: u8,
    /// Timer firings so far.
    pub fires: u32,
    /// Each node's observations so far, encoded with the Herald codec (only with
    /// [`ActorModel::record_outputs`]; empty otherwise, so they do not split states).
    pub outputs: Vec<Vec<Vec<u8>>>,
}

/// An action of an [`ActorModel`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActorAction<M, T> {
    /// Deliver this envelope.
    Deliver(Envelope<M>),
    /// Lose it.
    Drop(Envelope<M>),
    /// Add a copy of it.
    Duplicate(Envelope<M>),
    /// Fire this node's timer.
    Fire(NodeId, T),
    /// Crash this node.
    Crash(NodeId),
    /// Restart this crashed node.
    Recover(NodeId),
    /// A Byzantine node sends domain message `i`.
    Forge(usize),
    /// The global stabilisation time (partial synchrony): from now on delay is bounded.
    Stabilise,
    /// Time passes, to the earliest due time of a message in flight (partial synchrony, after GST).
    Wait,
}

/// A property of an actor system.
pub type ActorProperty<N> = Property<ActorModel<N>>;

/// A representative function for an actor model's symmetry reduction.
pub type Representative<N> = fn(&ActorModel<N>, &ActorState<N>) -> ActorState<N>;

/// Nodes plus a system model: see the module documentation.
pub struct ActorModel<N: Node + Clone + Eq + Hash + Debug + Send + Sync>
where
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    casts: Vec<Cast<N>>,
    /// The network semantics.
    pub network: Network,
    /// Whether each link delivers in send order.
    pub ordered: bool,
    /// Duplications allowed in all.
    pub duplicates_max: u8,
    /// Crashes allowed in all.
    pub crashes_max: u8,
    /// Whether crashed nodes may recover (crash-recovery) rather than stay down (crash-stop).
    pub recover: bool,
    /// The timing model.
    pub timing: Timing,
    /// Timer firings allowed in all (`u32::MAX`: no bound).
    pub timer_fires_max: u32,
    /// Keep every node's observations in the state, for properties over them (for example that
    /// nothing is delivered twice). Makes states distinct by history: keep runs short.
    pub record_outputs: bool,
    properties: Vec<fn() -> ActorProperty<N>>,
    /// States to start from instead of the casts' initial states (see [`ActorModel::starting_from`]).
    roots: Vec<ActorState<N>>,
    /// The representative function for symmetry reduction (see [`ActorModel::symmetry`]).
    symmetry: Option<Representative<N>>,
    factory: fn(&Cast<N>, NodeId) -> N,
    peers: Vec<Vec<NodeId>>,
}

impl<N: Node + Clone + Eq + Hash + Debug + Send + Sync> Debug for ActorModel<N>
where
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorModel")
            .field("casts", &self.casts.len())
            .field("network", &self.network)
            .field("ordered", &self.ordered)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

/// Why an actor model cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActorError {
    /// No cast was given.
    #[error("casts: at least one is needed")]
    NoCast,
    /// Casts disagree on the number of nodes, or a cast has none.
    #[error("casts: every cast needs the same number of nodes (at least one), cast {0} differs")]
    Size(usize),
    /// A domain message claims a sender that is not Byzantine in its cast.
    #[error("domain: cast {cast} lets honest node {from} forge messages")]
    HonestForger {
        /// The cast.
        cast: usize,
        /// The sender.
        from: NodeId,
    },
    /// Too many casts.
    #[error("casts: at most 65536")]
    TooMany,
    /// Nodes are not interchangeable in this cast: [`ActorModel::symmetric_nodes`] does not apply.
    #[error("symmetry: nodes of cast {cast} are not interchangeable ({why})")]
    NotSymmetric {
        /// The cast.
        cast: usize,
        /// Why.
        why: &'static str,
    },
}

impl<N: Node + Clone + Eq + Hash + Debug + Send + Sync> ActorModel<N>
where
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    /// An actor model over `casts`, on a reliable unordered network with the asynchronous timing
    /// model, no faults and no timer bound. `factory` builds the fresh node that recovers after a
    /// crash.
    pub fn new(casts: Vec<Cast<N>>, factory: fn(&Cast<N>, NodeId) -> N) -> Result<Self, ActorError> {
        let n = casts.first().ok_or(ActorError::NoCast)?.nodes.len();
        if casts.len() > usize::from(u16::MAX) + 1 {
            return Err(ActorError::TooMany);
        }
        for (i, c) in casts.iter().enumerate() {
            if c.nodes.len() != n || n == 0 {
                return Err(ActorError::Size(i));
            }
            for f in &c.domain {
                if c.nodes.get(f.from.index()).is_none_or(Option::is_some) {
                    return Err(ActorError::HonestForger { cast: i, from: f.from });
                }
            }
        }
        let peers = (0..n).map(|i| NodeId::range(n).filter(|p| p.index() != i).collect()).collect();
        Ok(Self {
            casts,
            network: Network::Reliable,
            ordered: false,
            duplicates_max: 0,
            crashes_max: 0,
            recover: false,
            timing: Timing::Asynchronous,
            timer_fires_max: u32::MAX,
            record_outputs: false,
            properties: Vec::new(),
            roots: Vec::new(),
            symmetry: None,
            factory,
            peers,
        })
    }

    /// Adds a property (a constructor, so the model stays `Sync` and cheap to build).
    pub fn property(mut self, p: fn() -> ActorProperty<N>) -> Self {
        self.properties.push(p);
        self
    }

    /// Symmetry reduction: with [`Options::symmetry`](crate::Options::symmetry) the search
    /// fingerprints `representative(state)` instead of the state. It must map every state of an
    /// equivalence class to one member of it, and equivalent states must satisfy the same
    /// properties and have equivalent successors (for interchangeable nodes: relabelling node ids
    /// consistently in nodes, messages, timers, storage and observations). For that case use
    /// [`ActorModel::symmetric_nodes`], which builds the representative and checks the casts.
    pub fn symmetry(mut self, representative: Representative<N>) -> Self {
        self.symmetry = Some(representative);
        self
    }

    /// The same model explored from `states` (reached states of this model, for example a prefix
    /// of a counterexample) instead of the casts' initial states: exhaustive checking from the
    /// middle of a run. Traces of paths from such a state start at that state (no `Start` events),
    /// unless it is its cast's initial state.
    pub fn starting_from(mut self, states: Vec<ActorState<N>>) -> Self {
        assert!(states.iter().all(|s| usize::from(s.cast) < self.casts.len()), "states of this model's casts");
        self.roots = states;
        self
    }

    /// Cast `c`'s initial state: every honest node's `on_start`, in id order, at time zero.
    pub fn initial_of(&self, c: usize) -> ActorState<N> {
        let cast = &self.casts[c];
        let n = cast.nodes.len();
        let mut s = ActorState {
            cast: c as u16,
            nodes: cast.nodes.clone(),
            network: Vec::new(),
            timers: vec![Vec::new(); n],
            durable: vec![Durable::default(); n],
            now: 0,
            gst: None,
            forged: vec![false; cast.domain.len()],
            crashes: 0,
            duplicates: 0,
            fires: 0,
            outputs: vec![Vec::new(); n],
        };
        for i in 0..n {
            self.run(&mut s, i, |node, ctx| node.on_start(ctx));
        }
        s
    }

    /// The casts.
    pub fn casts(&self) -> &[Cast<N>] {
        &self.casts
    }

    /// The cast of `state`.
    pub fn cast_of(&self, state: &ActorState<N>) -> &Cast<N> {
        &self.casts[usize::from(state.cast)]
    }

    /// Node `id`'s recorded observations (see [`ActorModel::record_outputs`]), decoded.
    pub fn outputs(&self, state: &ActorState<N>, id: NodeId) -> Vec<N::Output> {
        state.outputs[id.index()].iter().filter_map(|b| codec::decode(b).ok()).collect()
    }

    /// Runs `input` on node `id` of `state` and applies its effects; returns them.
    fn run(
        &self,
        state: &mut ActorState<N>,
        id: usize,
        input: impl FnOnce(&mut N, &mut Context<'_, N>),
    ) -> Vec<Effect<N>> {
        let Some(node) = state.nodes[id].as_mut() else { return Vec::new() };
        let mut rng = Rng::derive(0, id as u64);
        let mut effects = Vec::new();
        let mut ctx = Context::new(NodeId(id as u32), &self.peers[id], Time(state.now), &mut rng, &mut effects);
        input(node, &mut ctx);
        node.invariants();
        for e in &effects {
            match e {
                Effect::Send { to, msg } if to.index() < state.nodes.len() => {
                    let due = self.due_of(state);
                    state.network.push(Envelope { from: NodeId(id as u32), to: *to, msg: msg.clone(), due });
                }
                Effect::Output(o) if self.record_outputs => state.outputs[id].push(codec::encode(o)),
                Effect::Send { .. } | Effect::SendBytes { .. } | Effect::Output(_) => {}
                Effect::SetTimer { timer, after } => {
                    let at = if self.timing.clocked() { state.now.saturating_add(nanos(*after)) } else { 0 };
                    let timers = &mut state.timers[id];
                    timers.retain(|(t, _)| t != timer);
                    let pos = timers.partition_point(|(t, _)| t < timer);
                    timers.insert(pos, (timer.clone(), at));
                }
                Effect::CancelTimer { timer } => state.timers[id].retain(|(t, _)| t != timer),
                Effect::Persist { key, bytes } => state.durable[id].put(key.clone(), bytes.clone()),
            }
        }
        self.canonicalise(state);
        effects
    }

    /// The due time of a message sent now.
    fn due_of(&self, state: &ActorState<N>) -> u64 {
        match (self.timing.partial(), state.gst) {
            (Some(delay), Some(_)) => state.now.saturating_add(delay),
            _ => NO_BOUND,
        }
    }

    /// Whether a timer with deadline `at` may fire in `state` as far as messages in flight go.
    fn messages_allow(&self, state: &ActorState<N>, at: u64) -> bool {
        match self.timing {
            Timing::Synchronous => state.network.is_empty(),
            Timing::PartiallySynchronous { .. } => state.network.iter().all(|e| e.due > at),
            Timing::Asynchronous | Timing::UnboundedDelay => true,
        }
    }

    /// Under partial synchrony after GST: the time `Wait` moves the clock to, if it may.
    pub(crate) fn wait_until(&self, state: &ActorState<N>) -> Option<u64> {
        state.gst?;
        let due = state.network.iter().map(|e| e.due).min()?;
        let timers_first = state.timers.iter().flatten().any(|(_, at)| *at < due);
        (due > state.now && due != NO_BOUND && !timers_first).then_some(due)
    }

    fn canonicalise(&self, state: &mut ActorState<N>) {
        if !self.ordered {
            state.network.sort_by_cached_key(fingerprint);
        }
    }

    /// Whether `env` may be delivered next (ordered links deliver their oldest message first).
    fn deliverable(&self, state: &ActorState<N>, i: usize) -> bool {
        let env = &state.network[i];
        !self.ordered || !state.network[..i].iter().any(|e| e.from == env.from && e.to == env.to)
    }

    fn remove(state: &mut ActorState<N>, env: &Envelope<N::Msg>) -> bool {
        match state.network.iter().position(|e| e == env) {
            Some(i) => {
                state.network.remove(i);
                true
            }
            None => false,
        }
    }

    /// The effects of `action` from `state`, for traces.
    pub(crate) fn effects_of(&self, state: &ActorState<N>, action: &ActorAction<N::Msg, N::Timer>) -> Vec<Effect<N>> {
        let mut s = state.clone();
        self.apply(&mut s, action).unwrap_or_default()
    }

    fn apply(&self, s: &mut ActorState<N>, action: &ActorAction<N::Msg, N::Timer>) -> Option<Vec<Effect<N>>> {
        Some(match action {
            ActorAction::Deliver(env) => {
                if !Self::remove(s, env) {
                    return None;
                }
                let (from, msg) = (env.from, env.msg.clone());
                self.run(s, env.to.index(), |n, ctx| n.on_message(from, msg, ctx))
            }
            ActorAction::Drop(env) => {
                if !Self::remove(s, env) {
                    return None;
                }
                Vec::new()
            }
            ActorAction::Duplicate(env) => {
                s.network.push(env.clone());
                s.duplicates += 1;
                self.canonicalise(s);
                Vec::new()
            }
            ActorAction::Fire(node, timer) => {
                let i = node.index();
                let pos = s.timers[i].iter().position(|(t, _)| t == timer)?;
                let (_, at) = s.timers[i].remove(pos);
                s.now = s.now.max(at);
                s.fires += 1;
                let timer = timer.clone();
                self.run(s, i, |n, ctx| n.on_timer(timer, ctx))
            }
            ActorAction::Crash(node) => {
                let i = node.index();
                s.nodes[i] = None;
                s.timers[i].clear();
                s.crashes += 1;
                Vec::new()
            }
            ActorAction::Recover(node) => {
                let i = node.index();
                s.nodes[i] = Some((self.factory)(self.cast_of(s), *node));
                let durable = s.durable[i].clone();
                self.run(s, i, |n, ctx| n.on_recover(&durable, ctx))
            }
            ActorAction::Forge(k) => {
                let f = &self.cast_of(s).domain[*k];
                let env = Envelope { from: f.from, to: f.to, msg: f.msg.clone(), due: self.due_of(s) };
                s.forged[*k] = true;
                s.network.push(env);
                self.canonicalise(s);
                Vec::new()
            }
            ActorAction::Stabilise => {
                let delay = self.timing.partial()?;
                if s.gst.is_some() {
                    return None;
                }
                s.gst = Some(s.now);
                let due = s.now.saturating_add(delay);
                s.network.iter_mut().for_each(|e| e.due = due);
                self.canonicalise(s);
                Vec::new()
            }
            ActorAction::Wait => {
                s.now = self.wait_until(s)?;
                Vec::new()
            }
        })
    }

    fn is_byzantine(&self, state: &ActorState<N>, i: usize) -> bool {
        self.cast_of(state).nodes[i].is_none()
    }

    fn message_events(&self, step: u64, node: u32, effects: &[Effect<N>], out: &mut Vec<TraceEvent>) {
        for e in effects {
            let kind = match e {
                Effect::Send { to, msg } => send_event(NodeId(node), *to, msg),
                Effect::SendBytes { to, bytes } => {
                    EventKind::Drop { to: to.0, msg: bytes_id(&(node, to, bytes)), reason: DropReason::Corrupt }
                }
                Effect::SetTimer { timer, .. } => EventKind::TimerSet { timer: codec::to_json(timer), at: step + 1 },
                Effect::CancelTimer { timer } => EventKind::TimerCancel { timer: codec::to_json(timer) },
                Effect::Persist { key, bytes } => EventKind::Persist { key: key.clone(), size: bytes.len() as u32 },
                Effect::Output(o) => EventKind::Output { value: codec::to_json(o) },
            };
            out.push(TraceEvent::new(step, node, kind));
        }
    }
}

/// A message's trace id: the fingerprint of (sender, receiver, message), within JSON's exact
/// integers. The due time is not part of it: the send and the delivery of one message share it.
fn msg_id<M: Hash>(env: &Envelope<M>) -> u64 {
    fingerprint(&(env.from, env.to, &env.msg)) & ((1 << 53) - 1)
}

/// A raw-bytes send's trace id.
fn bytes_id<T: Hash + ?Sized>(send: &T) -> u64 {
    fingerprint(send) & ((1 << 53) - 1)
}

fn send_event<M: herald_core::Message>(from: NodeId, to: NodeId, msg: &M) -> EventKind {
    let bytes = codec::encode(msg);
    EventKind::Send {
        to: to.0,
        msg: msg_id(&Envelope::new(from, to, msg.clone())),
        size: bytes.len() as u32,
        body: codec::to_json(msg),
        bytes: Some(hex(&bytes)),
    }
}

impl<N: Node + Clone + Eq + Hash + Debug + Send + Sync> Model for ActorModel<N>
where
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    type State = ActorState<N>;
    type Action = ActorAction<N::Msg, N::Timer>;

    fn init_states(&self) -> Vec<Self::State> {
        if !self.roots.is_empty() {
            return self.roots.clone();
        }
        (0..self.casts.len()).map(|c| self.initial_of(c)).collect()
    }

    fn actions(&self, s: &Self::State, out: &mut Vec<Self::Action>) {
        for i in 0..s.network.len() {
            if i > 0 && s.network[i] == s.network[i - 1] {
                continue; // identical copies: one action
            }
            if !self.deliverable(s, i) {
                continue;
            }
            let env = &s.network[i];
            out.push(ActorAction::Deliver(env.clone()));
            if self.network == Network::FairLoss {
                out.push(ActorAction::Drop(env.clone()));
            }
            if s.duplicates < self.duplicates_max {
                out.push(ActorAction::Duplicate(env.clone()));
            }
        }
        if s.fires < self.timer_fires_max {
            let earliest = s.timers.iter().flatten().map(|(_, at)| *at).min();
            let clocked = self.timing.clocked();
            if earliest.is_some_and(|at| self.messages_allow(s, at)) {
                for (i, timers) in s.timers.iter().enumerate() {
                    for (t, at) in timers {
                        if !clocked || Some(*at) == earliest {
                            out.push(ActorAction::Fire(NodeId(i as u32), t.clone()));
                        }
                    }
                }
            }
        }
        if self.timing.partial().is_some() {
            if s.gst.is_none() {
                out.push(ActorAction::Stabilise);
            } else if self.wait_until(s).is_some() {
                out.push(ActorAction::Wait);
            }
        }
        for i in 0..s.nodes.len() {
            if self.is_byzantine(s, i) {
                continue;
            }
            let id = NodeId(i as u32);
            if s.nodes[i].is_some() && s.crashes < self.crashes_max {
                out.push(ActorAction::Crash(id));
            }
            if s.nodes[i].is_none() && self.recover {
                out.push(ActorAction::Recover(id));
            }
        }
        let domain = &self.cast_of(s).domain;
        for (k, forged) in s.forged.iter().enumerate() {
            let in_window = domain[k].window.is_none_or(|(lo, hi)| (lo..=hi).contains(&s.now));
            if !forged && in_window {
                out.push(ActorAction::Forge(k));
            }
        }
    }

    fn next_state(&self, s: &Self::State, a: &Self::Action) -> Option<Self::State> {
        let mut t = s.clone();
        self.apply(&mut t, a)?;
        Some(t)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties.iter().map(|p| p()).collect()
    }

    fn representative(&self, s: &Self::State) -> Self::State {
        match self.symmetry {
            Some(f) => f(self, s),
            None => s.clone(),
        }
    }

    fn has_symmetry(&self) -> bool {
        self.symmetry.is_some()
    }

    fn is_fair(&self, a: &Self::Action) -> bool {
        matches!(a, ActorAction::Deliver(_) | ActorAction::Fire(..) | ActorAction::Stabilise)
    }

    fn describe_state(&self, s: &Self::State) -> Value {
        json!({
            "cast": self.cast_of(s).name,
            "nodes": s.nodes.iter().map(|n| n.as_ref().map(|n| format!("{n:?}"))).collect::<Vec<_>>(),
            "in_flight": s.network.len(),
            "now_ns": s.now,
            "gst_ns": s.gst,
        })
    }

    fn trace_nodes(&self) -> u32 {
        self.peers.len() as u32
    }

    fn trace_prelude(&self, init: &Self::State) -> Vec<TraceEvent> {
        if !self.roots.is_empty() && *init != self.initial_of(usize::from(init.cast)) {
            return Vec::new(); // the run started before the root state
        }
        let cast = self.cast_of(init);
        let mut s = ActorState { nodes: cast.nodes.clone(), network: Vec::new(), ..init.clone() };
        s.timers.iter_mut().for_each(Vec::clear);
        let mut out = Vec::new();
        for i in 0..cast.nodes.len() {
            if cast.nodes[i].is_none() {
                continue;
            }
            out.push(TraceEvent::new(0, i as u32, EventKind::Start));
            let effects = self.run(&mut s, i, |node, ctx| node.on_start(ctx));
            self.message_events(0, i as u32, &effects, &mut out);
        }
        out
    }

    fn trace_step(&self, step: u64, from: &Self::State, action: &Self::Action, to: &Self::State) -> Vec<TraceEvent> {
        let mut out = Vec::new();
        let effects = self.effects_of(from, action);
        match action {
            ActorAction::Deliver(env) => {
                let id = msg_id(env);
                out.push(TraceEvent::new(step, env.to.0, EventKind::Deliver { from: env.from.0, msg: id }));
                self.message_events(step, env.to.0, &effects, &mut out);
            }
            ActorAction::Drop(env) => out.push(TraceEvent::new(
                step,
                env.from.0,
                EventKind::Drop { to: env.to.0, msg: msg_id(env), reason: DropReason::Loss },
            )),
            ActorAction::Duplicate(env) => {
                out.push(TraceEvent::new(step, env.from.0, EventKind::Duplicate { to: env.to.0, msg: msg_id(env) }))
            }
            ActorAction::Fire(node, timer) => {
                out.push(TraceEvent::new(step, node.0, EventKind::TimerFire { timer: codec::to_json(timer) }));
                self.message_events(step, node.0, &effects, &mut out);
            }
            ActorAction::Crash(node) => {
                out.push(TraceEvent::new(step, node.0, EventKind::Crash { recovers: self.recover }));
            }
            ActorAction::Recover(node) => {
                let d = &from.durable[node.index()];
                let keys = d.len() as u32;
                out.push(TraceEvent::new(step, node.0, EventKind::Recover { keys, digest: d.digest() }));
                self.message_events(step, node.0, &effects, &mut out);
            }
            ActorAction::Forge(k) => {
                let f = &self.cast_of(from).domain[*k];
                out.push(TraceEvent::new(step, f.from.0, send_event(f.from, f.to, &f.msg)));
            }
            // GST is the end of the asynchronous period: the schema's `heal`.
            ActorAction::Stabilise => out.push(TraceEvent::new(step, 0, EventKind::Heal)),
            ActorAction::Wait => {}
        }
        // A trace's time is the step; under partial synchrony the model's clock matters too (it
        // sets the due times of messages sent), so node events carry it as the node's clock
        // reading, and a replay takes the `Wait` steps that the trace does not show.
        if self.timing.partial().is_some() {
            for e in out.iter_mut().filter(|e| e.kind.is_node_event()) {
                e.local = Some(to.now);
            }
        }
        out
    }
}

/// Every subset of `0..n` with `k` members, in lexicographic order.
pub fn subsets(n: usize, k: usize) -> Vec<BTreeSet<NodeId>> {
    fn go(from: usize, n: usize, k: usize, cur: &mut Vec<NodeId>, out: &mut Vec<BTreeSet<NodeId>>) {
        if cur.len() == k {
            out.push(cur.iter().copied().collect());
            return;
        }
        for i in from..n {
            cur.push(NodeId(i as u32));
            go(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(0, n, k, &mut Vec::new(), &mut out);
    out
}

/// A value that names nodes, relabelled by a permutation of node ids: `perm[i]` is node `i`'s new
/// id. Implemented by the nodes, messages, timers and observations of a protocol whose nodes are
/// interchangeable, for [`ActorModel::symmetric_nodes`].
pub trait Relabel {
    /// `self` with every node id `i` it holds replaced by `perm[i]`.
    #[must_use]
    fn relabel(&self, perm: &[NodeId]) -> Self;
}

/// The most nodes [`ActorModel::symmetric_nodes`] permutes (it tries every permutation: 5! = 120).
pub const SYMMETRIC_NODES_MAX: usize = 5;

impl<N: Node + Clone + Eq + Hash + Debug + Send + Sync + Relabel> ActorModel<N>
where
    N::Msg: Send + Sync + Relabel,
    N::Timer: Send + Sync + Relabel,
    N::Output: Relabel,
{
    /// Symmetry reduction for interchangeable nodes: the representative of a state is the
    /// relabelling of its node ids (in nodes, messages in flight, timers, durable storage and
    /// recorded observations, consistently) with the least fingerprint, over every permutation.
    /// Refused unless every node of every cast is honest and every cast's initial state is
    /// unchanged by every relabelling; the nodes must also not draw randomness (a node's stream
    /// follows its id) — the caller's promise.
    pub fn symmetric_nodes(self) -> Result<Self, ActorError> {
        let n = self.peers.len();
        if n > SYMMETRIC_NODES_MAX {
            return Err(ActorError::NotSymmetric { cast: 0, why: "more than 5 nodes" });
        }
        let perms = permutations(n);
        for (c, cast) in self.casts.iter().enumerate() {
            if cast.nodes.iter().any(Option::is_none) || !cast.domain.is_empty() {
                return Err(ActorError::NotSymmetric { cast: c, why: "it has Byzantine nodes" });
            }
            let init = self.initial_of(c);
            if perms.iter().any(|p| relabelled(&self, &init, p) != init) {
                return Err(ActorError::NotSymmetric { cast: c, why: "relabelling changes its initial state" });
            }
        }
        Ok(self.symmetry(canonical_relabelling::<N>))
    }
}

/// Every permutation of `0..n`, as `perm[i]` = node i's new id.
fn permutations(n: usize) -> Vec<Vec<NodeId>> {
    fn go(rest: &mut Vec<NodeId>, cur: &mut Vec<NodeId>, out: &mut Vec<Vec<NodeId>>) {
        if rest.is_empty() {
            out.push(cur.clone());
            return;
        }
        for i in 0..rest.len() {
            let x = rest.remove(i);
            cur.push(x);
            go(rest, cur, out);
            cur.pop();
            rest.insert(i, x);
        }
    }
    let mut out = Vec::new();
    go(&mut NodeId::range(n).collect(), &mut Vec::new(), &mut out);
    out
}

/// `s` with node `i` renamed `perm[i]` everywhere.
fn relabelled<N>(model: &ActorModel<N>, s: &ActorState<N>, perm: &[NodeId]) -> ActorState<N>
where
    N: Node + Clone + Eq + Hash + Debug + Send + Sync + Relabel,
    N::Msg: Send + Sync + Relabel,
    N::Timer: Send + Sync + Relabel,
    N::Output: Relabel,
{
    let n = s.nodes.len();
    let mut t = s.clone();
    for i in 0..n {
        let j = perm[i].index();
        t.nodes[j] = s.nodes[i].as_ref().map(|node| node.relabel(perm));
        let mut timers: Vec<_> = s.timers[i].iter().map(|(tm, at)| (tm.relabel(perm), *at)).collect();
        timers.sort_by(|a, b| a.0.cmp(&b.0));
        t.timers[j] = timers;
        t.durable[j] = s.durable[i].clone();
        t.outputs[j] = s.outputs[i]
            .iter()
            .map(|b| codec::decode::<N::Output>(b).map_or_else(|_| b.clone(), |o| codec::encode(&o.relabel(perm))))
            .collect();
    }
    for e in &mut t.network {
        *e = Envelope { from: perm[e.from.index()], to: perm[e.to.index()], msg: e.msg.relabel(perm), due: e.due };
    }
    model.canonicalise(&mut t);
    t
}

/// The relabelling of `s` with the least fingerprint (the representative [`ActorModel::symmetric_nodes`]
/// installs).
pub fn canonical_relabelling<N>(model: &ActorModel<N>, s: &ActorState<N>) -> ActorState<N>
where
    N: Node + Clone + Eq + Hash + Debug + Send + Sync + Relabel,
    N::Msg: Send + Sync + Relabel,
    N::Timer: Send + Sync + Relabel,
    N::Output: Relabel,
{
    permutations(s.nodes.len())
        .iter()
        .map(|p| relabelled(model, s, p))
        .min_by_key(fingerprint)
        .expect("at least the identity")
}
