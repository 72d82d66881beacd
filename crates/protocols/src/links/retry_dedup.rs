//! Fair-loss → reliable by retry and deduplication (lecture §2.3).
//!
//! The sender gives each message to a peer the next per-link `seq`, keeps it unacknowledged, and
//! resends every unacknowledged message every `retransmit` until its `Ack { seq }` arrives. The
//! receiver acknowledges every copy (an ack may be lost too) and hands a `(sender, seq)` to the
//! inner node once, dropping later copies. Under fair loss every message resent forever gets
//! through, and every partition ends, so every message is eventually delivered exactly once.
//!
//! Limits:
//! - A sender that crash-stops loses its unacknowledged messages for good (lecture: "a sender that
//!   crashes while retransmitting can lose the message").
//! - Under crash-recovery the layer must persist `next_seq`, the unacknowledged buffer and the
//!   receiver's delivered set (a watermark and the set above it): a receiver that forgets what it
//!   delivered delivers retransmissions again, and a sender that forgets its buffer stops
//!   retransmitting. [`RetryDedupConfig::persist`] turns persistence off, for the negative test.
//!
//! Inputs: the inner node's inputs, `Data`/`Ack`, the `Retransmit` timer. Effects: `Data`, `Ack`,
//! the timer, with `persist` the keys under `link/retry-dedup/`, and the inner node's effects.

use super::{Seen, forward, run_inner};
use herald_core::{Context, Durable, Node, NodeId, codec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RetryDedupConfig {
    /// Resend unacknowledged messages this often.
    pub retransmit: Duration,
    /// Persist the layer's state so that it survives crash-recovery.
    pub persist: bool,
}

impl Default for RetryDedupConfig {
    fn default() -> Self {
        Self { retransmit: Duration::from_millis(20), persist: true }
    }
}

/// The layer's envelope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RetryDedupMsg<M> {
    /// An inner message with its per-link sequence number.
    Data {
        /// Per-link sequence number.
        seq: u64,
        /// The inner node's message.
        payload: M,
    },
    /// `seq` arrived.
    Ack {
        /// The acknowledged sequence number.
        seq: u64,
    },
}

/// The layer's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LinkTimer<T> {
    /// Resend what is unacknowledged.
    Retransmit,
    /// A timer of the inner node.
    Inner(T),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Outbox<M> {
    next_seq: u64,
    unacked: BTreeMap<u64, M>,
}

impl<M> Default for Outbox<M> {
    fn default() -> Self {
        Self { next_seq: 0, unacked: BTreeMap::new() }
    }
}

const PREFIX: &str = "link/retry-dedup/";

fn next_key(peer: NodeId) -> String {
    format!("{PREFIX}next/{}", peer.0)
}
fn unacked_key(peer: NodeId, seq: u64) -> String {
    format!("{PREFIX}unacked/{}/{seq}", peer.0)
}
fn delivered_key(peer: NodeId) -> String {
    format!("{PREFIX}delivered/{}", peer.0)
}

/// Fair-loss → reliable, around an inner node `N`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RetryDedupLink<N: Node> {
    inner: N,
    config: RetryDedupConfig,
    out: BTreeMap<NodeId, Outbox<N::Msg>>,
    seen: BTreeMap<NodeId, Seen>,
    armed: bool,
}

impl<N: Node> RetryDedupLink<N> {
    /// Wraps `inner`.
    pub fn new(inner: N, config: RetryDedupConfig) -> Self {
        Self { inner, config, out: BTreeMap::new(), seen: BTreeMap::new(), armed: false }
    }

    /// The inner node.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// Messages sent and not yet acknowledged, over every link.
    pub fn unacked(&self) -> usize {
        self.out.values().map(|o| o.unacked.len()).sum()
    }

    fn arm(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.armed && self.unacked() > 0 {
            self.armed = true;
            ctx.set_timer(LinkTimer::Retransmit, self.config.retransmit);
        }
    }

    fn send(&mut self, to: NodeId, payload: N::Msg, ctx: &mut Context<'_, Self>) {
        let out = self.out.entry(to).or_default();
        let seq = out.next_seq;
        out.next_seq += 1;
        if self.config.persist {
            ctx.persist_value(next_key(to), &out.next_seq);
            ctx.persist_value(unacked_key(to, seq), &payload);
        }
        out.unacked.insert(seq, payload.clone());
        ctx.send(to, RetryDedupMsg::Data { seq, payload });
        self.arm(ctx);
    }

    fn with_inner(&mut self, ctx: &mut Context<'_, Self>, f: impl FnOnce(&mut N, &mut Context<'_, N>)) {
        let inner = &mut self.inner;
        let effects = run_inner(ctx, |c| f(inner, c));
        forward(effects, ctx, LinkTimer::Inner, |to, msg, ctx| self.send(to, msg, ctx));
    }

    fn restore(&mut self, durable: &Durable) {
        for (key, bytes) in durable.iter() {
            let Some(rest) = key.strip_prefix(PREFIX) else { continue };
            let parts: Vec<&str> = rest.split('/').collect();
            let num = |i: usize| parts.get(i).and_then(|s| s.parse::<u64>().ok());
            match (parts.first().copied(), num(1), num(2)) {
                (Some("next"), Some(peer), None) => {
                    if let Ok(next) = codec::decode::<u64>(bytes) {
                        self.out.entry(NodeId(peer as u32)).or_default().next_seq = next;
                    }
                }
                // An empty value marks an acknowledged message (durable storage has no delete).
                (Some("unacked"), Some(peer), Some(seq)) if !bytes.is_empty() => {
                    if let Ok(m) = codec::decode::<N::Msg>(bytes) {
                        self.out.entry(NodeId(peer as u32)).or_default().unacked.insert(seq, m);
                    }
                }
                (Some("delivered"), Some(peer), None) => {
                    if let Ok(seen) = codec::decode::<Seen>(bytes) {
                        self.seen.insert(NodeId(peer as u32), seen);
                    }
                }
                _ => {}
            }
        }
    }
}

impl<N: Node> Node for RetryDedupLink<N> {
    type Msg = RetryDedupMsg<N::Msg>;
    type Timer = LinkTimer<N::Timer>;
    type Output = N::Output;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.with_inner(ctx, |n, c| n.on_start(c));
    }

    fn on_message(&mut self, from: NodeId, msg: Self::Msg, ctx: &mut Context<'_, Self>) {
        match msg {
            RetryDedupMsg::Data { seq, payload } => {
                ctx.send(from, RetryDedupMsg::Ack { seq });
                let seen = self.seen.entry(from).or_default();
                if !seen.insert(seq) {
                    return;
                }
                if self.config.persist {
                    ctx.persist_value(delivered_key(from), seen);
                }
                self.with_inner(ctx, |n, c| n.on_message(from, payload, c));
            }
            RetryDedupMsg::Ack { seq } => {
                let Some(out) = self.out.get_mut(&from) else { return };
                if out.unacked.remove(&seq).is_some() && self.config.persist {
                    ctx.persist(unacked_key(from, seq), Vec::new());
                }
            }
        }
    }

    fn on_timer(&mut self, timer: Self::Timer, ctx: &mut Context<'_, Self>) {
        match timer {
            LinkTimer::Retransmit => {
                self.armed = false;
                for (&to, out) in &self.out {
                    for (&seq, payload) in &out.unacked {
                        ctx.send(to, RetryDedupMsg::Data { seq, payload: payload.clone() });
                    }
                }
                self.arm(ctx);
            }
            LinkTimer::Inner(t) => self.with_inner(ctx, |n, c| n.on_timer(t, c)),
        }
    }

    fn on_recover(&mut self, durable: &Durable, ctx: &mut Context<'_, Self>) {
        if self.config.persist {
            self.restore(durable);
        }
        self.arm(ctx);
        self.with_inner(ctx, |n, c| n.on_recover(durable, c));
    }

    fn invariants(&self) {
        for out in self.out.values() {
            assert!(out.unacked.keys().all(|&s| s < out.next_seq), "an unacknowledged seq was never issued");
        }
        self.inner.invariants();
    }
}
