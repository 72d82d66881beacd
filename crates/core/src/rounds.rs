//! Lock-step rounds on top of the synchronous timing model.
//!
//! Many textbook algorithms (OM(m), SM(m), the two generals in rounds) are stated in synchronous
//! rounds: in round r every node sends, and every message sent in round r is received before round
//! r+1 begins. Under the synchronous model — delays at most `delay_max`, steps at most `step_max`,
//! clocks within a known skew — a node can build such rounds with nothing but its local clock:
//! a round lasts long enough for any message sent at its start to arrive, and a message tagged with
//! round r is accepted only during round r (the absence of a message is then detectable: assumption
//! A3 of the Byzantine generals paper).
//!
//! [`LockStep`] wraps a [`RoundNode`] into an ordinary [`Node`], so every driver runs round-based
//! protocols unchanged. Inputs: `on_round(r, inbox)` once per round r = 1, 2, …, where `inbox` holds
//! the messages tagged r−1 that arrived during round r−1, sorted by sender. Effects: `send`,
//! `broadcast`, `output` through a [`Round`] context.

use crate::{Context, Message, Node, NodeId, Observation, Rng, Time};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A node written in synchronous rounds.
pub trait RoundNode: Sized + 'static {
    /// Messages between nodes.
    type Msg: Message;
    /// Observations.
    type Output: Observation;

    /// Whether `on_round` needs its inbox sorted by sender. A node whose handling of a round's
    /// messages cannot depend on the order between different senders' messages may say `false`:
    /// its inbox then comes in arrival order (which keeps each sender's messages in their order
    /// too), and `LockStep` skips the sort.
    const INBOX_SORTED: bool = true;

    /// How many messages this node expects to receive in round `round`: `LockStep` reserves that
    /// much room for the round's inbox up front instead of growing it message by message. Only a
    /// hint (the default, 0, reserves nothing).
    fn inbox_hint(&self, round: u32) -> usize {
        let _ = round;
        0
    }

    /// A message tagged with the current round `round` arrives. Return it to have it held for the
    /// next round's inbox (the default), or take it now and return `None`: it then does not appear
    /// in any inbox. A node that takes messages must come to the same outcome as if they had come in
    /// the inbox (in arrival order, as with [`Self::INBOX_SORTED`] false): this saves holding a
    /// whole round's messages until the next round begins. Messages that arrived early (tagged with
    /// a later round) are offered when their round begins, after its `on_round`.
    fn on_arrival(&mut self, round: u32, from: NodeId, msg: Self::Msg) -> Option<Self::Msg> {
        let _ = (round, from);
        Some(msg)
    }

    /// Round `round` begins (rounds are numbered from 1). `inbox` holds the messages sent to this
    /// node in round `round - 1`, sorted by sender id (stably; in arrival order if
    /// [`Self::INBOX_SORTED`] is false). Return [`Flow::Done`] to stop taking part.
    fn on_round(&mut self, round: u32, inbox: &[(NodeId, Self::Msg)], ctx: &mut Round<'_, '_, Self>) -> Flow;
}

/// Whether a round node continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Run the next round.
    Continue,
    /// Stop: no further rounds.
    Done,
}

/// A message tagged with the round in which it was sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tagged<M> {
    /// The sender's round.
    pub round: u32,
    /// The payload.
    pub msg: M,
}

/// The timer that ends a round.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoundEnd(pub u32);

/// Adapts a [`RoundNode`] to the [`Node`] contract.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockStep<R: RoundNode> {
    inner: R,
    round_length: Duration,
    round: u32,
    done: bool,
    /// Messages tagged with the current round, received during it.
    inbox: Vec<(NodeId, R::Msg)>,
    /// Messages tagged with a later round (the sender's clock runs ahead), held until that round.
    early: Vec<(u32, NodeId, R::Msg)>,
    late_dropped: u64,
}

impl<R: RoundNode> LockStep<R> {
    /// Runs `inner` in rounds of `round_length` on the local clock. Choose
    /// `round_length >= delay_max + step_max + 2 * clock skew bound` for the synchronous model.
    pub fn new(inner: R, round_length: Duration) -> Self {
        assert!(!round_length.is_zero(), "a round must last some time");
        Self { inner, round_length, round: 0, done: false, inbox: Vec::new(), early: Vec::new(), late_dropped: 0 }
    }

    /// The wrapped node.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The current round (0 before the first).
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Messages that arrived after their round had ended and were treated as never sent.
    pub fn late_dropped(&self) -> u64 {
        self.late_dropped
    }

    fn begin_round(&mut self, ctx: &mut Context<'_, Self>) {
        self.round += 1;
        let inbox = std::mem::take(&mut self.inbox);
        let inbox = if R::INBOX_SORTED { sort_by_sender(inbox) } else { inbox };
        let round = self.round;
        let mut now_due = Vec::new();
        if !self.early.is_empty() {
            let later;
            (now_due, later) = std::mem::take(&mut self.early).into_iter().partition(|(r, _, _)| *r == round);
            self.early = later;
        }
        let flow = self.inner.on_round(round, &inbox, &mut Round { ctx, round });
        // The next round's inbox grows in this one's buffer rather than from nothing.
        let mut spare = inbox;
        spare.clear();
        self.inbox = spare;
        if flow == Flow::Continue {
            // Messages tagged with this round arrive during it.
            self.inbox.reserve(self.inner.inbox_hint(round).min(INBOX_HINT_MAX));
        }
        // Those that came early first.
        for (_, from, msg) in now_due {
            self.arrive(from, msg);
        }
        match flow {
            Flow::Continue => ctx.set_timer(RoundEnd(round), self.round_length),
            Flow::Done => self.done = true,
        }
    }
}

impl<R: RoundNode> LockStep<R> {
    /// A message of the current round: the node takes it now, or it waits in the inbox.
    #[inline]
    fn arrive(&mut self, from: NodeId, msg: R::Msg) {
        if let Some(msg) = self.inner.on_arrival(self.round, from, msg) {
            self.inbox.push((from, msg));
        }
    }
}

/// The most inbox room a hint reserves at once.
const INBOX_HINT_MAX: usize = 1 << 20;

/// `inbox` stably sorted by sender: a counting sort, since senders are node ids of one cluster
/// (linear in the messages, where a comparison sort of a few hundred messages a round cost more
/// than handling them).
fn sort_by_sender<M>(inbox: Vec<(NodeId, M)>) -> Vec<(NodeId, M)> {
    if inbox.is_sorted_by_key(|(from, _)| *from) {
        return inbox;
    }
    let senders = inbox.iter().map(|(from, _)| from.index()).max().map_or(0, |m| m + 1);
    let mut next = vec![0usize; senders];
    for (from, _) in &inbox {
        next[from.index()] += 1;
    }
    let mut start = 0;
    for n in &mut next {
        (*n, start) = (start, start + *n);
    }
    let mut sorted: Vec<Option<(NodeId, M)>> = std::iter::repeat_with(|| None).take(inbox.len()).collect();
    for item in inbox {
        let at = &mut next[item.0.index()];
        sorted[*at] = Some(item);
        *at += 1;
    }
    sorted.into_iter().map(|item| item.expect("every position is filled once")).collect()
}

impl<R: RoundNode> Node for LockStep<R> {
    type Msg = Tagged<R::Msg>;
    type Timer = RoundEnd;
    type Output = R::Output;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.begin_round(ctx);
    }

    fn on_message(&mut self, from: NodeId, msg: Self::Msg, _ctx: &mut Context<'_, Self>) {
        if self.done || msg.round < self.round {
            self.late_dropped += 1;
        } else if msg.round == self.round {
            self.arrive(from, msg.msg);
        } else {
            self.early.push((msg.round, from, msg.msg));
        }
    }

    fn on_timer(&mut self, timer: RoundEnd, ctx: &mut Context<'_, Self>) {
        if timer.0 == self.round && !self.done {
            self.begin_round(ctx);
        }
    }
}

/// The context a [`RoundNode`] sees: sends are tagged with the current round.
pub struct Round<'c, 'a, R: RoundNode> {
    ctx: &'c mut Context<'a, LockStep<R>>,
    round: u32,
}

impl<R: RoundNode> Round<'_, '_, R> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.ctx.id()
    }
    /// Every other node.
    pub fn peers(&self) -> &[NodeId] {
        self.ctx.peers()
    }
    /// The local clock.
    pub fn now(&self) -> Time {
        self.ctx.now()
    }
    /// The seeded RNG.
    pub fn rng(&mut self) -> &mut Rng {
        self.ctx.rng()
    }
    /// Sends `msg` to `to` in this round.
    pub fn send(&mut self, to: NodeId, msg: R::Msg) {
        self.ctx.send(to, Tagged { round: self.round, msg });
    }
    /// Sends `msg` to every peer in this round.
    pub fn broadcast(&mut self, msg: &R::Msg) {
        let tagged = Tagged { round: self.round, msg: msg.clone() };
        self.ctx.broadcast(&tagged);
    }
    /// Reports an observation.
    pub fn output(&mut self, observation: R::Output) {
        self.ctx.output(observation);
    }
}

impl<R: RoundNode> std::fmt::Debug for Round<'_, '_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Round").field("round", &self.round).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Effect;

    /// The counting sort is the stable sort by sender: same senders keep their arrival order.
    #[test]
    fn the_inbox_sort_is_stable_and_sorts_by_sender() {
        let mut rng = Rng::new(3);
        for len in [0, 1, 2, 7, 300] {
            let inbox: Vec<(NodeId, u32)> = (0..len).map(|i| (NodeId(rng.between(0, 9) as u32), i)).collect();
            let mut want = inbox.clone();
            want.sort_by_key(|(from, _)| *from);
            assert_eq!(sort_by_sender(inbox), want, "{len} messages");
        }
    }

    /// Counts what it hears; sends its id each round; stops after round 3.
    #[derive(Debug)]
    struct Echo;
    impl RoundNode for Echo {
        type Msg = u32;
        type Output = (u32, Vec<u32>);
        fn on_round(&mut self, round: u32, inbox: &[(NodeId, u32)], ctx: &mut Round<'_, '_, Self>) -> Flow {
            ctx.output((round, inbox.iter().map(|(_, m)| *m).collect()));
            if round == 3 {
                return Flow::Done;
            }
            let me = ctx.id().0;
            ctx.broadcast(&me);
            Flow::Continue
        }
    }

    #[test]
    fn messages_of_round_r_arrive_in_round_r_plus_1_and_late_ones_are_dropped() {
        let peers = [NodeId(1), NodeId(2)];
        let mut rng = Rng::new(0);
        let mut fx = Vec::new();
        let mut node = LockStep::new(Echo, Duration::from_millis(10));
        let mut ctx = Context::new(NodeId(0), &peers, Time::ZERO, &mut rng, &mut fx);
        node.on_start(&mut ctx);
        node.on_message(NodeId(2), Tagged { round: 1, msg: 2 }, &mut ctx);
        node.on_message(NodeId(1), Tagged { round: 1, msg: 1 }, &mut ctx);
        node.on_message(NodeId(1), Tagged { round: 2, msg: 11 }, &mut ctx);
        node.on_timer(RoundEnd(1), &mut ctx);
        node.on_message(NodeId(2), Tagged { round: 1, msg: 99 }, &mut ctx);
        node.on_timer(RoundEnd(2), &mut ctx);
        let outputs: Vec<_> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Output(o) => Some(o.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(outputs, vec![(1, vec![]), (2, vec![1, 2]), (3, vec![11])]);
        assert_eq!(node.late_dropped(), 1);
        let timers = fx.iter().filter(|e| matches!(e, Effect::SetTimer { .. })).count();
        assert_eq!(timers, 2, "no timer after Done");
    }
}
