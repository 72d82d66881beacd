//! Traitors for SM(m): what the faulty generals run instead of the protocol.
//!
//! One [`Traitors`] value drives every faulty general of a run (a
//! [`herald_core::Strategy`]), so they collude through it: they pool every message any of them
//! receives, and they share the signing keys of all traitors ([`TraitorKeys`]) — so any traitor
//! can sign as any other, but never as a loyal general (A4(a)). What a traitor does each round
//! is a [`Tactic`]:
//!
//! - [`Silent`] sends nothing;
//! - [`Mimic`] behaves exactly like a loyal general (a baseline, and what the others build on);
//! - [`Equivocate`]: a traitor commander signs ATTACK for the first half of the lieutenants and
//!   RETREAT for the rest (the paper's Fig. 5); traitor lieutenants mimic loyal ones;
//! - [`ForwardingLiar`]: traitor lieutenants relay the opposite of every order they would relay,
//!   re-signing the links they hold keys for and keeping the others (so a loyal signature on the
//!   flipped order is a forgery, which V4 catches);
//! - [`RandomForger`]: random messages a coalition can actually build — fresh commander orders if
//!   the commander is a traitor, prefixes of chains it has seen, extensions by colluders — sent in
//!   random rounds (the late-delivery attack of SM-3 among them), plus some malformed ones;
//! - [`Scripted`]: one choice in {ATTACK, RETREAT, nothing} per [`Slot`] (traitor, round, loyal
//!   lieutenant), for exhaustive search. To send an order, a traitor builds the longest chain the
//!   coalition can sign (from a fresh commander signature or a chain it has seen, extended by
//!   colluders): the more signatures, the later D1 still lets it in, and the fewer lieutenants the
//!   receiver relays it to. With nothing genuine to build on it sends a forged commander
//!   signature.
//!
//! A traitor acts at the start of each of its rounds 1 … m + 1, like a loyal general; a message it
//! sends in round r is tagged r and arrives in round r.

use super::signing::{PublicKeys, SignedOrder, TraitorKeys};
use super::{Link, Sm, SmConfig};
use crate::byzantine::{COMMANDER, Order};
use herald_core::rounds::{LockStep, RoundEnd, Tagged};
use herald_core::{Context, NodeId, Rng, Strategy};
use std::collections::{BTreeMap, BTreeSet};

/// What the traitors know and share.
#[derive(Clone, Debug)]
pub struct Kit {
    /// The run's parameters.
    pub config: SmConfig,
    /// What a loyal commander would order (a traitor commander may ignore it).
    pub order: Order,
    /// The traitors.
    pub traitors: BTreeSet<NodeId>,
    /// Every general's public key.
    pub public: PublicKeys,
    keys: TraitorKeys,
    /// `ATTACK:0` and `RETREAT:0` signed once, if the commander is a traitor.
    fresh: Option<[SignedOrder; 2]>,
    /// Every message delivered to any traitor: (receiver, round tag, sender, message).
    received: Vec<(NodeId, u32, NodeId, SignedOrder)>,
}

impl Kit {
    /// The traitors' shared knowledge: parameters, public keys, and the traitors' signing keys.
    pub fn new(
        config: SmConfig,
        order: Order,
        traitors: BTreeSet<NodeId>,
        keys: TraitorKeys,
        public: PublicKeys,
    ) -> Self {
        let fresh = keys.get(COMMANDER).map(|key| {
            [Order::Attack, Order::Retreat].map(|v| SignedOrder::issue(config.instance, config.seq, v, COMMANDER, key))
        });
        Self { config, order, traitors, public, keys, fresh, received: Vec::new() }
    }

    /// Whether the coalition can sign as `id`.
    pub fn can_sign(&self, id: NodeId) -> bool {
        self.keys.get(id).is_some()
    }

    /// `order` extended by traitor `signer`'s signature; `None` if `signer` is loyal.
    pub fn sign_as(&self, signer: NodeId, order: &SignedOrder) -> Option<SignedOrder> {
        self.keys.get(signer).map(|key| order.extend(signer, key))
    }

    /// A fresh `value:0`, if the commander is a traitor.
    pub fn fresh(&self, value: Order) -> Option<SignedOrder> {
        self.fresh.as_ref().map(|[attack, retreat]| if value == Order::Attack { attack } else { retreat }.clone())
    }

    /// An attempted forgery of `value:0`: the commander's link signed with a traitor's key. It
    /// verifies only if the commander is that traitor.
    pub fn forged(&self, value: Order) -> SignedOrder {
        let (_, key) = self.keys.any().expect("a run with traitors");
        let mut order = SignedOrder { instance: self.config.instance, seq: self.config.seq, value, chain: Vec::new() };
        order.chain.push(Link { signer: COMMANDER, sig: super::Sig([0; 64]) });
        order.chain[0].sig = key.sign(&order.signing_bytes(0));
        order
    }

    /// Every message any traitor has received so far, in arrival order.
    pub fn seen(&self) -> impl Iterator<Item = &SignedOrder> + '_ {
        self.received.iter().map(|(_, _, _, m)| m)
    }

    /// The messages tagged `round` that traitor `me` received, sorted by sender.
    pub fn inbox(&self, me: NodeId, round: u32) -> Vec<(NodeId, SignedOrder)> {
        let mut inbox: Vec<(NodeId, SignedOrder)> = self
            .received
            .iter()
            .filter(|(to, r, _, _)| *to == me && *r == round)
            .map(|(_, _, from, m)| (*from, m.clone()))
            .collect();
        inbox.sort_by_key(|(from, _)| *from);
        inbox
    }

    /// The loyal lieutenants, in id order.
    pub fn loyal_lieutenants(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.config.lieutenants().filter(|l| !self.traitors.contains(l))
    }

    /// A loyal general's node for traitor `me` to run in its head.
    pub fn shadow(&self, me: NodeId) -> Sm {
        let key = self.keys.get(me).expect("a traitor holds its own key").clone();
        Sm::new(self.config.clone(), me, self.order, key, self.public.clone())
    }

    /// The longest chain for `value` that traitor `me` can send to `to`: it ends with `me` (V5),
    /// leaves `to` out (V3), repeats nobody (V2) and has at most m + 1 signatures. Built on a fresh
    /// commander signature or on a prefix of a chain the coalition has seen, extended by colluders.
    /// The longer, the later D1 still accepts it and the fewer lieutenants its receiver relays it
    /// to. With no genuine commander signature on `value` it returns a forgery ([`Kit::forged`]
    /// extended by `me`), which loyal lieutenants reject.
    pub fn best_chain(&self, value: Order, me: NodeId, to: NodeId) -> SignedOrder {
        let cap = self.config.m + 1;
        let mut bases: Vec<SignedOrder> = self.fresh(value).into_iter().collect();
        for seen in self.seen().filter(|m| m.value == value && self.is_this_run(m)) {
            bases.extend((1..=seen.chain.len()).map(|len| seen.prefix(len)));
        }
        // Plan the signers first, and sign only the chosen plan.
        let mut best: Option<(SignedOrder, Vec<NodeId>)> = None;
        for base in bases {
            let Some(plan) = self.plan(&base, me, to, cap) else { continue };
            let longer = best.as_ref().is_none_or(|(b, p)| base.chain.len() + plan.len() > b.chain.len() + p.len());
            if longer {
                best = Some((base, plan));
            }
        }
        match best {
            Some((base, plan)) => plan.iter().fold(base, |c, &s| self.sign_as(s, &c).expect("planned traitor")),
            None => {
                let forged = self.forged(value);
                self.sign_as(me, &forged).unwrap_or(forged)
            }
        }
    }

    /// The colluders to append to `base`, `me` last, or `None` if `base` cannot be used.
    fn plan(&self, base: &SignedOrder, me: NodeId, to: NodeId, cap: usize) -> Option<Vec<NodeId>> {
        if base.signed_by(to) || base.chain.is_empty() {
            return None;
        }
        if base.chain.last().map(|l| l.signer) == Some(me) {
            // Already `me`'s to send; nobody can sign after it.
            return (base.chain.len() <= cap).then(Vec::new);
        }
        if base.signed_by(me) {
            return None;
        }
        let room = cap.checked_sub(base.chain.len() + 1)?; // `me` takes the last place
        let mut plan: Vec<NodeId> =
            self.traitors.iter().copied().filter(|&h| h != me && h != to && !base.signed_by(h)).take(room).collect();
        plan.push(me);
        Some(plan)
    }

    fn is_this_run(&self, m: &SignedOrder) -> bool {
        m.instance == self.config.instance && m.seq == self.config.seq && !m.chain.is_empty()
    }
}

/// What a traitor does in a round.
pub trait Tactic: 'static {
    /// A short name for reports.
    fn name(&self) -> &str;
    /// What traitor `me` sends at the start of `round` (each message arrives in that round).
    /// `rng` is `me`'s seeded stream.
    fn on_round(&mut self, me: NodeId, round: u32, kit: &Kit, rng: &mut Rng, out: &mut Vec<(NodeId, SignedOrder)>);
}

/// The strategy that runs a [`Tactic`] for every faulty general of a run.
#[derive(Debug)]
pub struct Traitors<T: Tactic> {
    kit: Kit,
    tactic: T,
}

impl<T: Tactic> Traitors<T> {
    /// The coalition `kit` playing `tactic`.
    pub fn new(kit: Kit, tactic: T) -> Self {
        Self { kit, tactic }
    }

    /// The strategy, boxed for `Simulation::with_strategy`.
    pub fn boxed(kit: Kit, tactic: T) -> Box<dyn Strategy<LockStep<Sm>>> {
        Box::new(Self::new(kit, tactic))
    }

    fn act(&mut self, round: u32, ctx: &mut Context<'_, LockStep<Sm>>) {
        let me = ctx.id();
        let mut out = Vec::new();
        self.tactic.on_round(me, round, &self.kit, ctx.rng(), &mut out);
        for (to, msg) in out {
            if to != me && to.index() < self.kit.config.generals {
                ctx.send(to, Tagged { round, msg });
            }
        }
        if round < self.kit.config.last_round() {
            ctx.set_timer(RoundEnd(round), self.kit.config.round_length);
        }
    }
}

impl<T: Tactic> Strategy<LockStep<Sm>> for Traitors<T> {
    fn name(&self) -> &str {
        self.tactic.name()
    }
    fn on_start(&mut self, ctx: &mut Context<'_, LockStep<Sm>>) {
        self.act(1, ctx);
    }
    fn on_message(&mut self, from: NodeId, msg: Tagged<SignedOrder>, ctx: &mut Context<'_, LockStep<Sm>>) {
        self.kit.received.push((ctx.id(), msg.round, from, msg.msg));
    }
    fn on_timer(&mut self, timer: RoundEnd, ctx: &mut Context<'_, LockStep<Sm>>) {
        self.act(timer.0 + 1, ctx);
    }
}

/// Sends nothing: the traitor the absence rule (A3, RETREAT by default) is for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Tactic for Silent {
    fn name(&self) -> &str {
        "silent"
    }
    fn on_round(&mut self, _: NodeId, _: u32, _: &Kit, _: &mut Rng, _: &mut Vec<(NodeId, SignedOrder)>) {}
}

/// Behaves exactly like a loyal general, by running one in its head.
#[derive(Clone, Debug, Default)]
pub struct Mimic {
    shadows: BTreeMap<NodeId, Sm>,
}

impl Mimic {
    /// What loyal general `me` would send this round.
    fn sends(&mut self, me: NodeId, round: u32, kit: &Kit) -> Vec<(NodeId, SignedOrder)> {
        let shadow = self.shadows.entry(me).or_insert_with(|| kit.shadow(me));
        if shadow.decided().is_some() {
            return Vec::new();
        }
        let inbox = kit.inbox(me, round.saturating_sub(1));
        shadow.step(round, &inbox).sends
    }
}

impl Tactic for Mimic {
    fn name(&self) -> &str {
        "mimic"
    }
    fn on_round(&mut self, me: NodeId, round: u32, kit: &Kit, _: &mut Rng, out: &mut Vec<(NodeId, SignedOrder)>) {
        if me == COMMANDER && round > 1 {
            return;
        }
        out.extend(self.sends(me, round, kit));
    }
}

/// A traitor commander tells the first half of the lieutenants ATTACK and the rest RETREAT, each
/// with its real signature; traitor lieutenants mimic loyal ones.
#[derive(Clone, Debug, Default)]
pub struct Equivocate {
    lieutenants: Mimic,
}

impl Tactic for Equivocate {
    fn name(&self) -> &str {
        "equivocate"
    }
    fn on_round(&mut self, me: NodeId, round: u32, kit: &Kit, rng: &mut Rng, out: &mut Vec<(NodeId, SignedOrder)>) {
        if me != COMMANDER {
            return self.lieutenants.on_round(me, round, kit, rng, out);
        }
        if round != 1 {
            return;
        }
        let lieutenants: Vec<NodeId> = kit.config.lieutenants().collect();
        let half = lieutenants.len().div_ceil(2);
        for (i, &l) in lieutenants.iter().enumerate() {
            let value = if i < half { Order::Attack } else { Order::Retreat };
            out.push((l, kit.fresh(value).expect("the commander is a traitor")));
        }
    }
}

/// Traitor lieutenants relay the opposite of what a loyal general would; a traitor commander
/// behaves.
#[derive(Clone, Debug, Default)]
pub struct ForwardingLiar {
    honest: Mimic,
}

impl ForwardingLiar {
    /// `order` with the other value: links the coalition can sign are signed anew, the others keep
    /// their (now invalid) signatures.
    fn flip(kit: &Kit, order: &SignedOrder) -> SignedOrder {
        let value = match order.value {
            Order::Attack => Order::Retreat,
            Order::Retreat => Order::Attack,
        };
        let mut out = SignedOrder { instance: order.instance, seq: order.seq, value, chain: Vec::new() };
        for link in &order.chain {
            out = kit.sign_as(link.signer, &out).unwrap_or_else(|| {
                let mut kept = out.clone();
                kept.chain.push(*link);
                kept
            });
        }
        out
    }
}

impl Tactic for ForwardingLiar {
    fn name(&self) -> &str {
        "forwarding-liar"
    }
    fn on_round(&mut self, me: NodeId, round: u32, kit: &Kit, rng: &mut Rng, out: &mut Vec<(NodeId, SignedOrder)>) {
        let mut honest = Vec::new();
        self.honest.on_round(me, round, kit, rng, &mut honest);
        if me == COMMANDER {
            out.extend(honest);
        } else {
            out.extend(honest.iter().map(|(to, m)| (*to, Self::flip(kit, m))));
        }
    }
}

/// Random messages the coalition can build, in random rounds, to every loyal lieutenant; some of
/// them deliberately malformed.
#[derive(Clone, Copy, Debug)]
pub struct RandomForger {
    /// Probability that a traitor sends something to a given loyal lieutenant in a given round.
    pub intensity: f64,
}

impl Default for RandomForger {
    fn default() -> Self {
        Self { intensity: 0.4 }
    }
}

impl RandomForger {
    fn craft(kit: &Kit, me: NodeId, to: NodeId, rng: &mut Rng) -> SignedOrder {
        let value = if rng.chance(0.5) { Order::Attack } else { Order::Retreat };
        let seen: Vec<&SignedOrder> = kit.seen().filter(|m| !m.chain.is_empty()).collect();
        let pick = rng.unit();
        let mut order = if pick < 0.45 && kit.can_sign(COMMANDER) {
            kit.fresh(value).expect("the commander is a traitor")
        } else if pick < 0.85 && !seen.is_empty() {
            let m = seen[rng.index(seen.len())];
            m.prefix(1 + rng.index(m.chain.len()))
        } else if pick < 0.93 {
            kit.forged(value)
        } else {
            // A genuine chain with its value flipped: every signature on it is now wrong.
            let mut m = seen.first().map_or_else(|| kit.forged(value), |m| (*m).clone());
            m.value = if m.value == Order::Attack { Order::Retreat } else { Order::Attack };
            m
        };
        // Colluders vouch for it, then `me` signs last (usually).
        for _ in 0..rng.index(3) {
            let helpers: Vec<NodeId> =
                kit.traitors.iter().copied().filter(|&t| t != me && t != to && !order.signed_by(t)).collect();
            if helpers.is_empty() {
                break;
            }
            order = kit.sign_as(helpers[rng.index(helpers.len())], &order).expect("a traitor");
        }
        let ends_with_me = order.chain.last().is_some_and(|l| l.signer == me);
        if !ends_with_me && rng.chance(0.9) {
            order = kit.sign_as(me, &order).expect("me is a traitor");
        }
        if rng.chance(0.05) {
            // Malformed on purpose: sign the receiver's id (V3) or repeat a signer (V2).
            let who = if rng.chance(0.5) { to } else { order.chain[0].signer };
            let mut bad = order.clone();
            bad.chain.push(Link { signer: who, sig: super::Sig([7; 64]) });
            order = kit.sign_as(me, &bad).unwrap_or(bad);
        }
        order
    }
}

impl Tactic for RandomForger {
    fn name(&self) -> &str {
        "random-forger"
    }
    fn on_round(&mut self, me: NodeId, _: u32, kit: &Kit, rng: &mut Rng, out: &mut Vec<(NodeId, SignedOrder)>) {
        let targets: Vec<NodeId> = kit.loyal_lieutenants().collect();
        for to in targets {
            if rng.chance(self.intensity) {
                out.push((to, Self::craft(kit, me, to, rng)));
            }
        }
    }
}

/// One decision point of a scripted traitor: traitor `traitor` may send one message to the loyal
/// lieutenant `to` in `round`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    /// The traitor.
    pub traitor: NodeId,
    /// The round the message arrives in.
    pub round: u32,
    /// The loyal lieutenant it goes to.
    pub to: NodeId,
}

/// Every slot of a run, in enumeration order: by traitor, then round 1 … m + 1, then receiver.
pub fn script_slots(config: &SmConfig, traitors: &BTreeSet<NodeId>) -> Vec<Slot> {
    let mut slots = Vec::new();
    for &traitor in traitors {
        for round in 1..=config.last_round() {
            for to in config.lieutenants().filter(|l| !traitors.contains(l)) {
                slots.push(Slot { traitor, round, to });
            }
        }
    }
    slots
}

/// Traitors that follow a script: for each [`Slot`], ATTACK, RETREAT or nothing. To send an order
/// a traitor uses [`Kit::best_chain`].
#[derive(Clone, Debug, Default)]
pub struct Scripted {
    picks: BTreeMap<Slot, Order>,
}

impl Scripted {
    /// The script with these picks; every other slot sends nothing.
    pub fn new(picks: impl IntoIterator<Item = (Slot, Order)>) -> Self {
        Self { picks: picks.into_iter().collect() }
    }

    /// Script number `index` of the `3^slots.len()` scripts over `slots`: digit i (base 3, least
    /// significant first) is slot i's pick — 0 nothing, 1 ATTACK, 2 RETREAT.
    pub fn nth(slots: &[Slot], index: u64) -> Self {
        let mut rest = index;
        let mut picks = BTreeMap::new();
        for slot in slots {
            match rest % 3 {
                1 => {
                    picks.insert(*slot, Order::Attack);
                }
                2 => {
                    picks.insert(*slot, Order::Retreat);
                }
                _ => {}
            }
            rest /= 3;
        }
        Self { picks }
    }

    /// The picks.
    pub fn picks(&self) -> &BTreeMap<Slot, Order> {
        &self.picks
    }
}

impl Tactic for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn on_round(&mut self, me: NodeId, round: u32, kit: &Kit, _: &mut Rng, out: &mut Vec<(NodeId, SignedOrder)>) {
        let from = Slot { traitor: me, round, to: NodeId(0) };
        let until = Slot { traitor: me, round: round + 1, to: NodeId(0) };
        for (slot, value) in self.picks.range(from..until) {
            out.push((slot.to, kit.best_chain(*value, me, slot.to)));
        }
    }
}
