//! Reliable → reliable FIFO: the lecture's exercise.
//!
//! The sender numbers its messages per link (`lastSent`); the receiver keeps, per sender, the next
//! number it expects (`nextReceived`) and a buffer. A message numbered `nextReceived` is delivered
//! at once, followed by every buffered successor; a later one waits in the buffer; an earlier one
//! is a duplicate and is dropped.
//!
//! Limits: it needs a reliable network. Over a lossy one, a lost message leaves a gap that blocks
//! every later message of that link for good: compose it above [`super::RetryDedupLink`]. Its state
//! is not persisted, so under crash-recovery a restarted node renumbers from zero.
//!
//! Inputs: the inner node's inputs, `Sequenced` messages. Effects: `Sequenced` sends and the inner
//! node's effects (its timers unchanged).

use super::{forward, run_inner};
use herald_core::{Context, Durable, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The layer's envelope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sequenced<M> {
    /// Per-link sequence number.
    pub seq: u64,
    /// The inner node's message.
    pub payload: M,
}

/// Reliable → FIFO, around an inner node `N`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FifoLink<N: Node> {
    inner: N,
    /// Per peer: the number of messages sent to it (the next `seq`).
    last_sent: BTreeMap<NodeId, u64>,
    /// Per peer: the next `seq` to deliver from it.
    next_received: BTreeMap<NodeId, u64>,
    /// Messages that arrived early, by (sender, seq).
    buffer: BTreeMap<(NodeId, u64), N::Msg>,
}

impl<N: Node> FifoLink<N> {
    /// Wraps `inner`.
    pub fn new(inner: N) -> Self {
        Self { inner, last_sent: BTreeMap::new(), next_received: BTreeMap::new(), buffer: BTreeMap::new() }
    }

    /// The inner node.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// Messages waiting for a predecessor.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn send(&mut self, to: NodeId, payload: N::Msg, ctx: &mut Context<'_, Self>) {
        let last = self.last_sent.entry(to).or_default();
        let seq = *last;
        *last += 1;
        ctx.send(to, Sequenced { seq, payload });
    }

    fn with_inner(&mut self, ctx: &mut Context<'_, Self>, f: impl FnOnce(&mut N, &mut Context<'_, N>)) {
        let inner = &mut self.inner;
        let effects = run_inner(ctx, |c| f(inner, c));
        forward(effects, ctx, |t| t, |to, msg, ctx| self.send(to, msg, ctx));
    }
}

impl<N: Node> Node for FifoLink<N> {
    type Msg = Sequenced<N::Msg>;
    type Timer = N::Timer;
    type Output = N::Output;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.with_inner(ctx, |n, c| n.on_start(c));
    }

    fn on_message(&mut self, from: NodeId, msg: Self::Msg, ctx: &mut Context<'_, Self>) {
        let next = self.next_received.get(&from).copied().unwrap_or(0);
        if msg.seq < next {
            return; // a duplicate
        }
        self.buffer.insert((from, msg.seq), msg.payload);
        let mut next = next;
        while let Some(payload) = self.buffer.remove(&(from, next)) {
            next += 1;
            self.next_received.insert(from, next);
            self.with_inner(ctx, |n, c| n.on_message(from, payload, c));
        }
    }

    fn on_timer(&mut self, timer: N::Timer, ctx: &mut Context<'_, Self>) {
        self.with_inner(ctx, |n, c| n.on_timer(timer, c));
    }

    fn on_recover(&mut self, durable: &Durable, ctx: &mut Context<'_, Self>) {
        self.with_inner(ctx, |n, c| n.on_recover(durable, c));
    }

    fn invariants(&self) {
        for &(from, seq) in self.buffer.keys() {
            assert!(
                seq > self.next_received.get(&from).copied().unwrap_or(0),
                "a deliverable message sits in the buffer"
            );
        }
        self.inner.invariants();
    }
}
