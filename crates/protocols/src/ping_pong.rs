//! All-to-all ping-pong: the workload of Herald's simulator benchmark, and the smallest protocol
//! that shows latency, loss and retransmission.
//!
//! Every node keeps `in_flight` pings outstanding to each peer. A node that receives `Ping { seq }`
//! answers `Pong { seq }`; a node that receives the pong of an outstanding ping counts a round trip
//! and sends its next ping to that peer. With `retransmit` set, a node re-sends pings that have gone
//! unanswered for that long, so the workload survives a fair-loss network (lecture §2.3: "if you
//! keep retrying, a message eventually gets through"); without it, lost pings shrink the window.
//!
//! Under crash-recovery a restarted node must not mistake a pong meant for its previous
//! incarnation for an answer to a new ping with the same number: each node persists an
//! *incarnation* number, bumps it in `on_recover`, and tags its pings with it; pongs of other
//! incarnations are ignored. (Without this, a restarted node double-counts round trips.)
//!
//! Inputs: `on_start` (send the first window), `on_message` (Ping → Pong; Pong → next Ping),
//! `on_timer(Retransmit(peer))`, `on_recover` (new incarnation, then as `on_start`). Effects:
//! sends, the retransmission timer, `persist` of the incarnation, and (with `report`) one
//! [`RoundTrip`] observation per completed round trip.

use herald_core::{Context, Node, NodeId, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PingPongConfig {
    /// Pings outstanding per peer.
    pub in_flight: u32,
    /// Stop after this many pings to each peer (`None`: forever).
    pub pings_max: Option<u64>,
    /// Re-send pings unanswered for this long (`None`: never).
    pub retransmit: Option<Duration>,
    /// Report each round trip as an observation.
    pub report: bool,
}

impl Default for PingPongConfig {
    fn default() -> Self {
        Self { in_flight: 1, pings_max: None, retransmit: Some(Duration::from_millis(50)), report: true }
    }
}

/// Messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Please answer.
    Ping {
        /// The sender's incarnation.
        incarnation: u32,
        /// Per-link sequence number.
        seq: u64,
    },
    /// The answer to a ping.
    Pong {
        /// The ping's incarnation.
        incarnation: u32,
        /// The ping's sequence number.
        seq: u64,
    },
}

/// Timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// Re-send this peer's unanswered pings.
    Retransmit(NodeId),
}

/// A completed round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTrip {
    /// The peer that answered.
    pub peer: NodeId,
    /// This node's incarnation (bumped at every restart).
    pub incarnation: u32,
    /// The ping's sequence number.
    pub seq: u64,
    /// Local time from the ping's (last) send to its pong, ns.
    pub rtt_ns: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct PeerState {
    next_seq: u64,
    /// seq → local send time; only tracked when retransmitting or reporting.
    outstanding: BTreeMap<u64, Time>,
    completed: u64,
}

/// One ping-pong node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PingPong {
    config: PingPongConfig,
    peers: Vec<PeerState>,
    tracking: bool,
    incarnation: u32,
}

/// The durable key holding a node's incarnation.
pub const INCARNATION_KEY: &str = "ping-pong/incarnation";

impl PingPong {
    /// A node of a cluster of `nodes` nodes.
    pub fn new(config: PingPongConfig, nodes: usize) -> Self {
        let tracking = config.retransmit.is_some() || config.report;
        Self { config, peers: vec![PeerState::default(); nodes], tracking, incarnation: 0 }
    }

    /// Round trips completed with `peer`.
    pub fn completed(&self, peer: NodeId) -> u64 {
        self.peers[peer.index()].completed
    }

    #[inline]
    fn send_ping(&mut self, peer: NodeId, ctx: &mut Context<'_, Self>) {
        let state = &mut self.peers[peer.index()];
        if self.config.pings_max.is_some_and(|max| state.next_seq >= max) {
            return;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        if self.tracking {
            state.outstanding.insert(seq, ctx.now());
        }
        ctx.send(peer, Msg::Ping { incarnation: self.incarnation, seq });
    }
}

impl Node for PingPong {
    type Msg = Msg;
    type Timer = Timer;
    type Output = RoundTrip;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        for &peer in ctx.peers() {
            for _ in 0..self.config.in_flight {
                self.send_ping(peer, ctx);
            }
            if let Some(rto) = self.config.retransmit {
                ctx.set_timer(Timer::Retransmit(peer), rto);
            }
        }
    }

    #[inline]
    fn on_message(&mut self, from: NodeId, msg: Msg, ctx: &mut Context<'_, Self>) {
        match msg {
            Msg::Ping { incarnation, seq } => ctx.send(from, Msg::Pong { incarnation, seq }),
            Msg::Pong { incarnation, seq } => {
                if incarnation != self.incarnation {
                    return; // an answer to a previous life
                }
                let Some(state) = self.peers.get_mut(from.index()) else {
                    return;
                };
                if self.tracking {
                    // A duplicate or stray pong answers nothing.
                    let Some(sent) = state.outstanding.remove(&seq) else {
                        return;
                    };
                    if self.config.report {
                        ctx.output(RoundTrip {
                            peer: from,
                            incarnation,
                            seq,
                            rtt_ns: (ctx.now() - sent).as_nanos() as u64,
                        });
                    }
                }
                state.completed += 1;
                self.send_ping(from, ctx);
            }
        }
    }

    fn on_timer(&mut self, Timer::Retransmit(peer): Timer, ctx: &mut Context<'_, Self>) {
        let Some(rto) = self.config.retransmit else {
            return;
        };
        let now = ctx.now();
        let state = &mut self.peers[peer.index()];
        for (&seq, sent) in state.outstanding.iter_mut() {
            if now - *sent >= rto {
                *sent = now;
                ctx.send(peer, Msg::Ping { incarnation: self.incarnation, seq });
            }
        }
        ctx.set_timer(Timer::Retransmit(peer), rto);
    }

    fn on_recover(&mut self, durable: &herald_core::Durable, ctx: &mut Context<'_, Self>) {
        // An unreadable record counts as incarnation 0: the node then starts as if new.
        let previous: u32 = durable.get_value(INCARNATION_KEY).ok().flatten().unwrap_or(0);
        self.incarnation = previous + 1;
        ctx.persist_value(INCARNATION_KEY, &self.incarnation);
        self.on_start(ctx);
    }

    fn invariants(&self) {
        for p in &self.peers {
            assert!(p.completed <= p.next_seq, "more round trips than pings");
            assert!(p.outstanding.len() as u64 <= p.next_seq);
        }
    }
}

/// The property ping-pong promises: every reported round trip answers a distinct ping that was
/// sent (no round trip counted twice, none invented).
pub fn check_round_trips<'a>(observations: impl IntoIterator<Item = (NodeId, &'a RoundTrip)>) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for (node, rt) in observations {
        if !seen.insert((node, rt.incarnation, rt.peer, rt.seq)) {
            return Err(format!(
                "{node} (incarnation {}) counted the round trip of ping {} to {} twice",
                rt.incarnation, rt.seq, rt.peer
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::{Effect, Rng};

    #[test]
    fn ping_answers_pong_and_pong_sends_next_ping_once() {
        let peers = [NodeId(1)];
        let mut rng = Rng::new(0);
        let mut fx = Vec::new();
        let config = PingPongConfig { in_flight: 2, pings_max: Some(3), retransmit: None, report: true };
        let mut node = PingPong::new(config, 2);
        let mut ctx = Context::new(NodeId(0), &peers, Time::ZERO, &mut rng, &mut fx);
        node.on_start(&mut ctx);
        node.on_message(NodeId(1), Msg::Ping { incarnation: 3, seq: 9 }, &mut ctx);
        node.on_message(NodeId(1), Msg::Pong { incarnation: 0, seq: 0 }, &mut ctx);
        node.on_message(NodeId(1), Msg::Pong { incarnation: 0, seq: 0 }, &mut ctx);
        node.on_message(NodeId(1), Msg::Pong { incarnation: 1, seq: 1 }, &mut ctx);
        node.on_message(NodeId(1), Msg::Pong { incarnation: 0, seq: 1 }, &mut ctx);
        let sends: Vec<_> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Send { msg, .. } => Some(*msg),
                _ => None,
            })
            .collect();
        assert_eq!(
            sends,
            vec![
                Msg::Ping { incarnation: 0, seq: 0 },
                Msg::Ping { incarnation: 0, seq: 1 },
                Msg::Pong { incarnation: 3, seq: 9 },
                Msg::Ping { incarnation: 0, seq: 2 },
            ],
            "the duplicate pong and another incarnation's pong send nothing; pings_max stops at 3"
        );
        assert_eq!(node.completed(NodeId(1)), 2);
    }

    #[test]
    fn round_trip_property_rejects_double_counting() {
        let rt = RoundTrip { peer: NodeId(1), incarnation: 0, seq: 4, rtt_ns: 10 };
        assert!(check_round_trips([(NodeId(0), &rt)]).is_ok());
        assert!(check_round_trips([(NodeId(0), &rt), (NodeId(0), &rt)]).is_err());
    }
}

/// A Byzantine strategy for ping-pong: faulty nodes answer every ping with the pong of a ping that
/// was never sent, and send unsolicited pongs. They collude through one shared counter so that no
/// two faulty nodes forge the same sequence number.
#[derive(Debug, Default)]
pub struct Liar {
    forged: u64,
}

impl herald_core::Strategy<PingPong> for Liar {
    fn name(&self) -> &str {
        "liar"
    }
    fn on_start(&mut self, ctx: &mut Context<'_, PingPong>) {
        for &peer in ctx.peers() {
            self.forged += 1;
            ctx.send(peer, Msg::Pong { incarnation: 0, seq: u64::MAX - self.forged });
        }
    }
    fn on_message(&mut self, from: NodeId, msg: Msg, ctx: &mut Context<'_, PingPong>) {
        if let Msg::Ping { incarnation, seq } = msg {
            self.forged += 1;
            ctx.send(from, Msg::Pong { incarnation, seq: seq.wrapping_add(self.forged) });
        }
    }
}
