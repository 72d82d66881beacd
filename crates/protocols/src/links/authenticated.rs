//! Arbitrary → fair-loss by authentication (lecture §2.3; this layer stands in for TLS).
//!
//! Every directed link `a → b` has its own key, derived deterministically from the cluster's
//! secret: `key(a, b) = HMAC-SHA256(secret, "herald/link-key" ‖ a ‖ b)`. The sender numbers its
//! messages per link and seals each as `Sealed { seq, payload, mac }` with
//! `mac = HMAC-SHA256(key(a, b), codec(a, b, seq, payload))`. The receiver recomputes the MAC for
//! the sender the network claims and drops the message if it does not verify (a modified message,
//! or one spoofed from another sender), and drops a `seq` it already accepted from that sender (a
//! replay). What is left behaves as fair-loss: messages may still be lost or reordered, never
//! forged, modified or replayed.
//!
//! Limits:
//! - Authentication cannot stop blocking. An adversary that drops everything, forever, leaves a
//!   network on which nothing is delivered, which is not fair-loss; the conversion holds only if the
//!   adversary does not block forever.
//! - Eavesdropping is out of scope: payloads are authenticated, not encrypted.
//! - The per-link sequence numbers are not persisted: a sender restarted under crash-recovery reuses
//!   sequence numbers its receivers have already accepted, and they are rejected as replays.
//!
//! Inputs: the inner node's inputs, `Sealed` messages. Effects: `Sealed` sends and the inner node's
//! effects (its timers unchanged).

use super::{Seen, forward, run_inner};
use herald_core::{Context, Durable, Node, NodeId, codec};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

type HmacSha256 = Hmac<Sha256>;

/// Parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthenticatedConfig {
    /// The cluster's secret, from which every link key is derived.
    pub secret: Vec<u8>,
}

impl Default for AuthenticatedConfig {
    fn default() -> Self {
        Self { secret: b"herald cluster secret".to_vec() }
    }
}

/// The layer's envelope: an inner message, its per-link sequence number and its MAC.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sealed<M> {
    /// Per-link sequence number.
    pub seq: u64,
    /// The inner node's message.
    pub payload: M,
    /// HMAC-SHA256 over `(sender, receiver, seq, payload)`.
    pub mac: [u8; 32],
}

/// Arbitrary → fair-loss, around an inner node `N`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthenticatedLink<N: Node> {
    inner: N,
    config: AuthenticatedConfig,
    next_seq: BTreeMap<NodeId, u64>,
    seen: BTreeMap<NodeId, Seen>,
    rejected_macs: u64,
    rejected_replays: u64,
}

fn link_key(secret: &[u8], from: NodeId, to: NodeId) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"herald/link-key");
    mac.update(&from.0.to_le_bytes());
    mac.update(&to.0.to_le_bytes());
    mac.finalize().into_bytes().into()
}

fn keyed(secret: &[u8], from: NodeId, to: NodeId, seq: u64, payload: &impl Serialize) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(&link_key(secret, from, to)).expect("HMAC takes keys of any length");
    mac.update(&codec::encode(&(from, to, seq, payload)));
    mac
}

impl<N: Node> AuthenticatedLink<N> {
    /// Wraps `inner`.
    pub fn new(inner: N, config: AuthenticatedConfig) -> Self {
        Self { inner, config, next_seq: BTreeMap::new(), seen: BTreeMap::new(), rejected_macs: 0, rejected_replays: 0 }
    }

    /// The inner node.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// Messages dropped because their MAC did not verify.
    pub fn rejected_macs(&self) -> u64 {
        self.rejected_macs
    }

    /// Messages dropped as replays.
    pub fn rejected_replays(&self) -> u64 {
        self.rejected_replays
    }

    fn send(&mut self, to: NodeId, payload: N::Msg, ctx: &mut Context<'_, Self>) {
        let next = self.next_seq.entry(to).or_default();
        let seq = *next;
        *next += 1;
        let mac = keyed(&self.config.secret, ctx.id(), to, seq, &payload).finalize().into_bytes().into();
        ctx.send(to, Sealed { seq, payload, mac });
    }

    fn with_inner(&mut self, ctx: &mut Context<'_, Self>, f: impl FnOnce(&mut N, &mut Context<'_, N>)) {
        let inner = &mut self.inner;
        let effects = run_inner(ctx, |c| f(inner, c));
        forward(effects, ctx, |t| t, |to, msg, ctx| self.send(to, msg, ctx));
    }
}

impl<N: Node> Node for AuthenticatedLink<N> {
    type Msg = Sealed<N::Msg>;
    type Timer = N::Timer;
    type Output = N::Output;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.with_inner(ctx, |n, c| n.on_start(c));
    }

    fn on_message(&mut self, from: NodeId, msg: Self::Msg, ctx: &mut Context<'_, Self>) {
        let Sealed { seq, payload, mac } = msg;
        if keyed(&self.config.secret, from, ctx.id(), seq, &payload).verify_slice(&mac).is_err() {
            self.rejected_macs += 1;
            return;
        }
        if !self.seen.entry(from).or_default().insert(seq) {
            self.rejected_replays += 1;
            return;
        }
        self.with_inner(ctx, |n, c| n.on_message(from, payload, c));
    }

    fn on_timer(&mut self, timer: N::Timer, ctx: &mut Context<'_, Self>) {
        self.with_inner(ctx, |n, c| n.on_timer(timer, c));
    }

    fn on_recover(&mut self, durable: &Durable, ctx: &mut Context<'_, Self>) {
        self.with_inner(ctx, |n, c| n.on_recover(durable, c));
    }

    fn invariants(&self) {
        self.inner.invariants();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_directed_link_and_macs_bind_every_field() {
        let s = b"secret";
        let (a, b) = (NodeId(0), NodeId(1));
        assert_ne!(link_key(s, a, b), link_key(s, b, a));
        assert_ne!(link_key(s, a, b), link_key(b"other", a, b));
        let tag: [u8; 32] = keyed(s, a, b, 3, &7u64).finalize().into_bytes().into();
        assert!(keyed(s, a, b, 3, &7u64).verify_slice(&tag).is_ok());
        assert!(keyed(s, a, b, 4, &7u64).verify_slice(&tag).is_err());
        assert!(keyed(s, a, b, 3, &8u64).verify_slice(&tag).is_err());
        assert!(keyed(s, NodeId(2), b, 3, &7u64).verify_slice(&tag).is_err());
    }
}
