//! Link layers: the lecture's conversions between network models (lecture §2.3), written as
//! sans-IO nodes that wrap *any* inner [`Node`].
//!
//! Each layer is a `Node` whose messages are an envelope around the inner node's messages, whose
//! timers wrap the inner node's timers, and whose observations are the inner node's. The layer runs
//! the inner node's handlers against a context of its own, then passes the inner node's effects on:
//! sends go through the layer (sequenced, sealed, buffered), timers, persistence and observations go
//! through unchanged (timers wrapped). So layers compose, and the *outermost* type is the layer on
//! the wire: `AuthenticatedLink<RetryDedupLink<N>>` authenticates every transmission and runs
//! retry-dedup above it, turning an arbitrary network (that does not block forever) into a reliable
//! one for `N`; `RetryDedupLink<FifoLink<N>>` gives `N` reliable FIFO links over fair loss. Either
//! nesting type-checks (`RetryDedupLink<AuthenticatedLink<N>>` is a node too), but a layer only
//! converts the network it sits directly on.
//!
//! | layer | conversion | how | limits |
//! |---|---|---|---|
//! | [`RetryDedupLink`] | fair-loss → reliable | per-link `seq`, resend until acknowledged, receiver acks every copy and delivers each `seq` once | needs every partition to end; a sender that crash-stops loses what was unacknowledged; under crash-recovery only with its state persisted |
//! | [`AuthenticatedLink`] | arbitrary → fair-loss | HMAC-SHA256 over `(sender, receiver, seq, payload)` with a per-link key, replays rejected by `seq` | cannot stop blocking: against an adversary that drops everything forever nothing is delivered, and that is not fair-loss |
//! | [`FifoLink`] | reliable → reliable FIFO | the lecture exercise: `lastSent`, `nextReceived`, a buffer | over a lossy network a gap blocks the link for good: put it above `RetryDedupLink` |
//!
//! The payload used by the tests and by `herald sim links` is [`Workload`]: every node except the
//! receiver sends `messages` numbered [`Payload`]s to the receiver, which reports each delivery as a
//! [`Delivery`]. [`tally`] counts what was delivered, duplicated, missed and forged; the checks
//! [`check_exactly_once`], [`check_at_most_once`], [`check_nothing_forged`] and [`check_in_order`]
//! are the properties the layers promise.
//!
//! Raw byte sends of the inner node (`Effect::SendBytes`, which only Byzantine strategies use) have
//! no place in an envelope and are dropped by every layer.

mod authenticated;
mod fifo;
mod retry_dedup;

pub use authenticated::{AuthenticatedConfig, AuthenticatedLink, Sealed};
pub use fifo::{FifoLink, Sequenced};
pub use retry_dedup::{LinkTimer, RetryDedupConfig, RetryDedupLink, RetryDedupMsg};

use herald_core::{Context, Effect, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Runs `f` on an inner node against a context of its own (same id, peers, clock and RNG) and
/// returns the effects it left.
fn run_inner<L: Node, N: Node>(ctx: &mut Context<'_, L>, f: impl FnOnce(&mut Context<'_, N>)) -> Vec<Effect<N>> {
    let mut effects = Vec::new();
    let (id, peers, now) = (ctx.id(), ctx.peers(), ctx.now());
    let mut inner = Context::new(id, peers, now, ctx.rng(), &mut effects);
    f(&mut inner);
    effects
}

/// Passes an inner node's effects to the layer's context: sends through `send`, timers wrapped by
/// `timer`, persistence and observations unchanged, raw bytes dropped.
fn forward<N: Node, L: Node<Output = N::Output>>(
    effects: Vec<Effect<N>>,
    ctx: &mut Context<'_, L>,
    timer: impl Fn(N::Timer) -> L::Timer,
    mut send: impl FnMut(NodeId, N::Msg, &mut Context<'_, L>),
) {
    for effect in effects {
        match effect {
            Effect::Send { to, msg } => send(to, msg, ctx),
            Effect::SendBytes { .. } => {}
            Effect::SetTimer { timer: t, after } => ctx.set_timer(timer(t), after),
            Effect::CancelTimer { timer: t } => ctx.cancel_timer(timer(t)),
            Effect::Persist { key, bytes } => ctx.persist(key, bytes),
            Effect::Output(o) => ctx.output(o),
        }
    }
}

/// Which sequence numbers of one sender were accepted: everything below `watermark`, and `above`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Seen {
    watermark: u64,
    above: BTreeSet<u64>,
}

impl Seen {
    /// Records `seq`; `false` if it was seen before.
    fn insert(&mut self, seq: u64) -> bool {
        if seq < self.watermark || !self.above.insert(seq) {
            return false;
        }
        while self.above.remove(&self.watermark) {
            self.watermark += 1;
        }
        true
    }
}

/// One numbered message of the [`Workload`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Payload {
    /// The node that sent it (what an honest sender writes; a forger cannot change the claimed
    /// sender and the origin together without the link noticing).
    pub origin: NodeId,
    /// Its number, `0..messages`.
    pub n: u64,
}

/// A payload the receiver's application was handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The sender the link claims.
    pub from: NodeId,
    /// The origin written in the payload.
    pub origin: NodeId,
    /// The payload's number.
    pub n: u64,
}

/// The test payload: every node except `receiver` sends `messages` numbered payloads to it at
/// the start; the receiver reports every delivery. A restarted node sends nothing again (its sends
/// happened at the start), so any duplicate the receiver reports comes from the link.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Workload {
    /// The node that receives.
    pub receiver: NodeId,
    /// Messages per sender.
    pub messages: u64,
}

impl Workload {
    /// Node 1 receives `messages` messages from every other node.
    pub fn new(messages: u64) -> Self {
        Self { receiver: NodeId(1), messages }
    }
}

impl Node for Workload {
    type Msg = Payload;
    type Timer = ();
    type Output = Delivery;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        if me == self.receiver || !ctx.peers().contains(&self.receiver) {
            return;
        }
        for n in 0..self.messages {
            ctx.send(self.receiver, Payload { origin: me, n });
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Payload, ctx: &mut Context<'_, Self>) {
        ctx.output(Delivery { from, origin: msg.origin, n: msg.n });
    }

    fn on_recover(&mut self, _: &herald_core::Durable, _: &mut Context<'_, Self>) {}
}

/// What a [`Workload`] run delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Distinct genuine payloads delivered.
    pub delivered: u64,
    /// Extra deliveries of genuine payloads.
    pub duplicates_delivered: u64,
    /// Genuine payloads never delivered.
    pub missing: u64,
    /// Deliveries of something no sender sent: a claimed sender that is not the origin, a number
    /// out of range, or a delivery at a node other than the receiver.
    pub forged_delivered: u64,
    /// Deliveries of a payload numbered below one already delivered from the same sender.
    pub out_of_order: u64,
}

/// Counts deliveries `(node, delivery)`, in delivery order, of a `nodes`-node cluster running
/// [`Workload`] `workload`.
pub fn tally<'a>(
    workload: &Workload,
    nodes: usize,
    deliveries: impl IntoIterator<Item = (NodeId, &'a Delivery)>,
) -> Tally {
    let senders: Vec<NodeId> = NodeId::range(nodes).filter(|&id| id != workload.receiver).collect();
    let mut t = Tally::default();
    let mut count: BTreeMap<(NodeId, u64), u64> = BTreeMap::new();
    let mut highest: BTreeMap<NodeId, u64> = BTreeMap::new();
    for (at, d) in deliveries {
        let genuine =
            at == workload.receiver && senders.contains(&d.from) && d.origin == d.from && d.n < workload.messages;
        if !genuine {
            t.forged_delivered += 1;
            continue;
        }
        *count.entry((d.from, d.n)).or_default() += 1;
        let top = highest.entry(d.from).or_insert(d.n);
        if d.n < *top {
            t.out_of_order += 1;
        }
        *top = (*top).max(d.n);
    }
    t.delivered = count.len() as u64;
    t.duplicates_delivered = count.values().map(|c| c - 1).sum();
    t.missing = senders.len() as u64 * workload.messages - t.delivered;
    t
}

/// Reliable delivery: every payload delivered exactly once, nothing forged.
pub fn check_exactly_once(t: &Tally) -> Result<(), String> {
    check_nothing_forged(t)?;
    check_at_most_once(t)?;
    if t.missing > 0 {
        return Err(format!("{} payloads never delivered", t.missing));
    }
    Ok(())
}

/// No payload delivered twice.
pub fn check_at_most_once(t: &Tally) -> Result<(), String> {
    if t.duplicates_delivered > 0 {
        return Err(format!("{} duplicate deliveries", t.duplicates_delivered));
    }
    Ok(())
}

/// Nothing delivered that no sender sent.
pub fn check_nothing_forged(t: &Tally) -> Result<(), String> {
    if t.forged_delivered > 0 {
        return Err(format!("{} forged deliveries", t.forged_delivered));
    }
    Ok(())
}

/// Each sender's payloads delivered in send order.
pub fn check_in_order(t: &Tally) -> Result<(), String> {
    if t.out_of_order > 0 {
        return Err(format!("{} deliveries out of send order", t.out_of_order));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keeps_a_watermark() {
        let mut s = Seen::default();
        assert!(s.insert(1));
        assert!(s.insert(0));
        assert!(!s.insert(1));
        assert_eq!((s.watermark, s.above.len()), (2, 0));
        assert!(s.insert(5));
        assert!(!s.insert(5));
        assert!(!s.insert(0));
    }

    #[test]
    fn tally_counts_duplicates_forgeries_and_order() {
        let w = Workload::new(3);
        let d = |from: u32, origin: u32, n| Delivery { from: NodeId(from), origin: NodeId(origin), n };
        let ds = [d(0, 0, 1), d(0, 0, 0), d(0, 0, 1), d(2, 0, 0), d(0, 0, 9), d(2, 2, 0)];
        let t = tally(&w, 3, ds.iter().map(|x| (NodeId(1), x)));
        assert_eq!(
            t,
            Tally { delivered: 3, duplicates_delivered: 1, missing: 3, forged_delivered: 2, out_of_order: 1 }
        );
        assert!(check_exactly_once(&t).is_err());
    }
}
