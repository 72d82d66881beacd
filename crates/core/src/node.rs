use crate::{Context, Durable, NodeId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::hash::Hash;

/// What a node may send: a value that can be cloned, compared, hashed (so the model checker can
/// deduplicate states) and marshalled to bytes by the one Herald [`codec`](crate::codec).
pub trait Message: Clone + Debug + Eq + Hash + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Debug + Eq + Hash + Serialize + DeserializeOwned + 'static> Message for T {}

/// A protocol's timer names: usually a small enum. Setting a timer that is already pending replaces
/// it, so a timer value names *one* pending deadline.
pub trait TimerId: Message + Ord {}
impl<T: Message + Ord> TimerId for T {}

/// What a node reports to the outside world: decisions, deliveries, round trips. Oracles judge a run
/// by its observations, and traces show them.
pub trait Observation: Clone + Debug + PartialEq + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Debug + PartialEq + Serialize + DeserializeOwned + 'static> Observation for T {}

/// A protocol node: a deterministic, sans-IO state machine.
///
/// # Inputs and their order
///
/// A driver calls, for each node:
/// 1. [`on_start`](Node::on_start) once, at the start of the run;
/// 2. then, in any interleaving the system model allows, [`on_message`](Node::on_message) for each
///    delivered message and [`on_timer`](Node::on_timer) for each timer that fires;
/// 3. after a crash (crash-recovery model only), a *fresh* node value built by the protocol's factory
///    gets [`on_recover`](Node::on_recover) with what the crashed node had persisted, and then step 2
///    resumes. In-memory state and pending timers of the crashed node are gone.
///
/// # Effects
///
/// Handlers return nothing; they push effects through the [`Context`]: `send`, `set_timer`,
/// `cancel_timer`, `persist`, `output`. A handler must be a pure function of the node's state, its
/// input, `ctx.now()` and `ctx.rng()`: drivers rely on that to replay runs bit for bit.
///
/// # What a node must not do
///
/// Read a clock, open a socket, spawn a thread, use OS randomness, or iterate a `HashMap` where the
/// order can leak into its effects. The tidy test enforces this for the crates in this workspace.
pub trait Node: Sized + 'static {
    /// Messages between nodes of this protocol.
    type Msg: Message;
    /// Names of this node's timers.
    type Timer: TimerId;
    /// Observations this node reports.
    type Output: Observation;

    /// The run starts. `ctx.peers()` lists every other node.
    fn on_start(&mut self, ctx: &mut Context<'_, Self>);

    /// `msg` from `from` was delivered. `from` is what the network claims; under the arbitrary
    /// network model it may be forged.
    fn on_message(&mut self, from: NodeId, msg: Self::Msg, ctx: &mut Context<'_, Self>);

    /// A timer set with `ctx.set_timer` fired.
    fn on_timer(&mut self, timer: Self::Timer, ctx: &mut Context<'_, Self>) {
        let _ = (timer, ctx);
    }

    /// The node restarts after a crash with only its durable storage. The default starts afresh,
    /// which is right for protocols that persist nothing.
    fn on_recover(&mut self, durable: &Durable, ctx: &mut Context<'_, Self>) {
        let _ = durable;
        self.on_start(ctx);
    }

    /// Asserts the node's internal invariants. Drivers call it after every handler in debug builds
    /// and in tests; it must not have side effects.
    fn invariants(&self) {}
}

/// A Byzantine strategy: what the faulty nodes run *instead of* the protocol.
///
/// One strategy value drives every faulty node of a run, so faulty nodes collude through its
/// fields, and it may know the protocol (it sends the protocol's own message type, and may build
/// honest nodes internally to mimic them). `ctx.id()` tells which faulty node is acting.
pub trait Strategy<N: Node>: 'static {
    /// A short name for traces and reports.
    fn name(&self) -> &str;
    /// The faulty node `ctx.id()` starts.
    fn on_start(&mut self, ctx: &mut Context<'_, N>);
    /// A message reached the faulty node `ctx.id()`.
    fn on_message(&mut self, from: NodeId, msg: N::Msg, ctx: &mut Context<'_, N>);
    /// A timer of the faulty node `ctx.id()` fired.
    fn on_timer(&mut self, timer: N::Timer, ctx: &mut Context<'_, N>) {
        let _ = (timer, ctx);
    }
}
