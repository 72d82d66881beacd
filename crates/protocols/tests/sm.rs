//! SM(m), the signed-messages algorithm, driven through the simulator under the synchronous model:
//! the spec's tests SM-1 … SM-7 (lecture-spec §7.5), and signatures against an active network.

use Order::{Attack, Retreat};
use herald_core::NodeId;
use herald_core::rounds::LockStep;
use herald_protocols::byzantine::sm::{
    DELAY_MAX, Equivocate, ForwardingLiar, Keys, Kit, Mimic, ROUND_LENGTH, RandomForger, Reject, STEP_MAX, Scripted,
    Setup, Silent, Slot, Sm, SmConfig, SmEvent, Tactic, Traitors, signatures_verified,
};
use herald_protocols::byzantine::{COMMANDER, Order, Verdict};
use herald_sim::{AdversarySpec, Latency, NetworkModel, NodeModel, Run, SimConfig, Simulation, TimingModel, sweep};
use std::collections::BTreeSet;
use std::time::Duration;

fn ids(v: &[u32]) -> BTreeSet<NodeId> {
    v.iter().map(|&i| NodeId(i)).collect()
}

/// The synchronous model SM(m) is built for, with `setup`'s traitors Byzantine.
fn sim_config(setup: &Setup, network: NetworkModel) -> SimConfig {
    let mut c = SimConfig::new(setup.config.generals);
    c.model.network = network;
    c.model.timing = TimingModel::Synchronous { delay_max: DELAY_MAX, step_max: STEP_MAX };
    c.model.nodes = NodeModel::Byzantine { faulty: setup.traitors.iter().copied().collect() };
    c.link.latency = Latency::uniform(Duration::from_millis(1), DELAY_MAX);
    c.limits.time_max = ROUND_LENGTH * (setup.config.m as u32 + 3);
    c
}

fn run_on<T: Tactic + Clone>(setup: &Setup, tactic: T, seed: u64, network: NetworkModel) -> Run<LockStep<Sm>> {
    let (nodes, kit) = (setup.clone(), setup.kit());
    Simulation::new(sim_config(setup, network), move |id| nodes.node(id))
        .expect("a valid configuration")
        .with_strategy(move || Traitors::boxed(kit.clone(), tactic.clone()))
        .run(seed)
}

fn run<T: Tactic + Clone>(setup: &Setup, tactic: T, seed: u64) -> Run<LockStep<Sm>> {
    run_on(setup, tactic, seed, NetworkModel::Reliable { fifo: false })
}

fn verdict(setup: &Setup, run: &Run<LockStep<Sm>>) -> Verdict {
    setup.judge(run.outputs.iter().map(|o| (o.node, &o.value)))
}

fn events(run: &Run<LockStep<Sm>>, node: u32) -> Vec<SmEvent> {
    run.outputs.iter().filter(|o| o.node == NodeId(node)).map(|o| o.value.clone()).collect()
}

/// (round, order, signers) of each order `node` accepted.
fn accepted(run: &Run<LockStep<Sm>>, node: u32) -> Vec<(u32, Order, Vec<u32>)> {
    events(run, node)
        .into_iter()
        .filter_map(|e| match e {
            SmEvent::Accepted { round, value, signers, .. } => {
                Some((round, value, signers.iter().map(|s| s.0).collect()))
            }
            _ => None,
        })
        .collect()
}

fn rejected(run: &Run<LockStep<Sm>>, node: u32) -> Vec<(u32, NodeId, Reject)> {
    events(run, node)
        .into_iter()
        .filter_map(|e| match e {
            SmEvent::Rejected { round, from, reason } => Some((round, from, reason)),
            _ => None,
        })
        .collect()
}

fn decision(run: &Run<LockStep<Sm>>, node: u32) -> herald_protocols::byzantine::sm::Decision {
    events(run, node)
        .into_iter()
        .find_map(|e| match e {
            SmEvent::Decided(d) => Some(d),
            _ => None,
        })
        .unwrap_or_else(|| panic!("n{node} decided nothing"))
}

fn slot(traitor: u32, round: u32, to: u32) -> Slot {
    Slot { traitor: NodeId(traitor), round, to: NodeId(to) }
}

/// SM-1, the paper's Fig. 5: a traitor commander signs ATTACK for L1 and RETREAT for L2.
#[test]
fn sm1_a_traitor_commander_is_caught_equivocating_and_both_lieutenants_retreat() {
    let setup = Setup::new(SmConfig::new(3, 1), Attack, ids(&[0]), 1);
    let run = run(&setup, Equivocate::default(), 1);
    assert_eq!(accepted(&run, 1), vec![(1, Attack, vec![0]), (2, Retreat, vec![0, 2])], "L2 relayed RETREAT:0:2");
    assert_eq!(accepted(&run, 2), vec![(1, Retreat, vec![0]), (2, Attack, vec![0, 1])], "L1 relayed ATTACK:0:1");
    for l in [1, 2] {
        let d = decision(&run, l);
        assert_eq!(d.orders, vec![Attack, Retreat]);
        assert_eq!(d.order, Retreat, "choice({{A, R}}) = RETREAT");
        let proof = d.equivocation.expect("two orders signed by the commander");
        assert!(proof.verify(setup.public(), 0, 0), "the evidence checks out with public keys only");
    }
    assert_eq!(verdict(&setup, &run), Verdict { ic1: true, ic2: true });
    assert_eq!(run.summary.counters.sent, 4);
}

/// SM-2: three generals suffice with signatures (contrast OM-5): whatever the traitor L2 does —
/// forward, stay silent, or relay RETREAT under a forged commander signature — L1 obeys ATTACK.
#[test]
fn sm2_three_generals_suffice_a_traitor_lieutenant_cannot_forge_the_commander() {
    let setup = Setup::new(SmConfig::new(3, 1), Attack, ids(&[2]), 2);
    let forwards = run(&setup, Mimic::default(), 2);
    let omits = run(&setup, Silent, 2);
    let lies = run(&setup, ForwardingLiar::default(), 2);
    for r in [&forwards, &omits, &lies] {
        assert_eq!(decision(r, 1).order, Attack);
        assert_eq!(decision(r, 1).orders, vec![Attack]);
        assert_eq!(verdict(&setup, r), Verdict { ic1: true, ic2: true });
    }
    assert_eq!(rejected(&forwards, 1), vec![]);
    assert_eq!(rejected(&lies, 1), vec![(2, NodeId(2), Reject::BadSignature { index: 0 })], "V4 catches the forgery");
}

fn late_delivery_setup(config: SmConfig) -> Setup {
    Setup::new(config, Attack, ids(&[0, 3]), 3)
}

/// The commander (a traitor) orders ATTACK to L1 and L2; its accomplice L3 sends RETREAT:0:3 to L1
/// alone, arriving in `round`.
fn late_delivery(round: u32) -> Scripted {
    Scripted::new([(slot(0, 1, 1), Attack), (slot(0, 1, 2), Attack), (slot(3, round, 1), Retreat)])
}

/// SM-3: the late-delivery attack. With D1 RETREAT:0:3 (two signatures) is refused in round 3;
/// without D1 (the test-only ablation) L1 takes it too late to relay, and IC1 breaks.
#[test]
fn sm3_the_deadline_rule_defeats_the_late_delivery_attack_and_ablating_it_breaks_ic1() {
    let setup = late_delivery_setup(SmConfig::new(4, 2));
    let run = run(&setup, late_delivery(3), 3);
    assert_eq!(rejected(&run, 1), vec![(3, NodeId(3), Reject::Deadline)]);
    assert_eq!((decision(&run, 1).order, decision(&run, 2).order), (Attack, Attack));
    assert_eq!(verdict(&setup, &run), Verdict { ic1: true, ic2: true });

    let ablated = late_delivery_setup(SmConfig::new(4, 2).ablate_deadline_for_tests());
    let run = self::run(&ablated, late_delivery(3), 3);
    assert!(accepted(&run, 1).contains(&(3, Retreat, vec![0, 3])), "accepted in the last round, with no time to relay");
    assert_eq!(decision(&run, 1).orders, vec![Attack, Retreat]);
    assert_eq!(decision(&run, 2).orders, vec![Attack]);
    assert_eq!((decision(&run, 1).order, decision(&run, 2).order), (Retreat, Attack));
    assert!(!verdict(&ablated, &run).ic1, "IC1 violated without D1");
}

/// SM-4: the same message one round earlier is on time; L1 relays it with three signatures and
/// both lieutenants end with {A, R}.
#[test]
fn sm4_an_on_time_second_order_is_relayed_and_both_lieutenants_agree() {
    let setup = late_delivery_setup(SmConfig::new(4, 2));
    let run = run(&setup, late_delivery(2), 4);
    assert!(accepted(&run, 1).contains(&(2, Retreat, vec![0, 3])));
    assert!(accepted(&run, 2).contains(&(3, Retreat, vec![0, 3, 1])), "RETREAT:0:3:1, three signatures, on time");
    for l in [1, 2] {
        assert_eq!(decision(&run, l).orders, vec![Attack, Retreat]);
        assert_eq!(decision(&run, l).order, Retreat);
    }
    assert_eq!(verdict(&setup, &run), Verdict { ic1: true, ic2: true });
}

/// What a random SM-5 case is: traitors (any number up to m, the commander a candidate), order,
/// tactic, all drawn from the seed.
fn random_case(n: usize, seed: u64, config: SmConfig, keys: &Keys) -> (Setup, u8) {
    let mut rng = herald_core::Rng::derive(seed, 0xca5e);
    let m = config.m;
    let count = rng.between(0, m as u64) as usize;
    let mut pool: Vec<NodeId> = NodeId::range(n).collect();
    let mut traitors = BTreeSet::new();
    for _ in 0..count {
        traitors.insert(pool.swap_remove(rng.index(pool.len())));
    }
    let order = if rng.chance(0.5) { Attack } else { Retreat };
    let tactic = rng.index(8) as u8;
    (Setup::with_keys(config, order, traitors, keys.clone()), tactic)
}

fn run_random(setup: &Setup, tactic: u8, seed: u64) -> Run<LockStep<Sm>> {
    match tactic {
        0 => run(setup, Silent, seed),
        1 if setup.traitors.contains(&COMMANDER) => run(setup, Equivocate::default(), seed),
        2 => run(setup, ForwardingLiar::default(), seed),
        _ => run(setup, RandomForger::default(), seed),
    }
}

#[derive(Default, Debug)]
struct Tally {
    runs: u64,
    violations: u64,
    equivocations: u64,
    late: u64,
    forged: u64,
    other_rejections: u64,
}

fn sweep_random(n: usize, seeds: u64, config: impl Fn() -> SmConfig + Sync) -> Tally {
    // One PKI and one instance for the whole sweep, memoized: the same few hundred chains recur
    // across runs, so this keeps 12,000 runs of real Ed25519 fast in debug builds.
    let keys = Keys::derive(n as u64, n).memoized();
    let results = sweep::sweep(
        0..seeds,
        2,
        |seed| {
            let (setup, tactic) = random_case(n, seed, config(), &keys);
            let run = run_random(&setup, tactic, seed);
            let v = verdict(&setup, &run);
            let mut t = Tally { runs: 1, violations: u64::from(!(v.ic1 && v.ic2)), ..Tally::default() };
            for o in &run.outputs {
                match &o.value {
                    SmEvent::Decided(d) => t.equivocations += u64::from(d.equivocation.is_some()),
                    SmEvent::Rejected { reason: Reject::Deadline, .. } => t.late += 1,
                    SmEvent::Rejected { reason: Reject::BadSignature { .. }, .. } => t.forged += 1,
                    SmEvent::Rejected { .. } => t.other_rejections += 1,
                    SmEvent::Accepted { .. } => {}
                }
            }
            t
        },
        |_| {},
    );
    results.into_iter().fold(Tally::default(), |mut a, (_, t)| {
        a.runs += t.runs;
        a.violations += t.violations;
        a.equivocations += t.equivocations;
        a.late += t.late;
        a.forged += t.forged;
        a.other_rejections += t.other_rejections;
        a
    })
}

/// SM-5: random colluding traitors (up to m = n − 2 of them, the commander a candidate), random
/// forgeable messages in random rounds: never a violation, for n = 3 … 6 over 3,000 seeds each.
#[test]
fn sm5_random_traitors_never_break_ic1_or_ic2() {
    for n in 3..=6 {
        let t = sweep_random(n, 3_000, || SmConfig::new(n, n - 2));
        assert_eq!(t.runs, 3_000);
        assert_eq!(t.violations, 0, "n = {n}: {t:?}");
        // The adversary had teeth: it equivocated, delivered late, forged, and sent malformed chains.
        assert!(t.equivocations > 0 && t.late > 0 && t.forged > 0 && t.other_rejections > 0, "n = {n}: {t:?}");
    }
}

/// The same random adversary finds the late-delivery attack on its own once D1 is ablated.
#[test]
fn sm5_the_random_adversary_breaks_ic1_without_the_deadline_rule() {
    let t = sweep_random(4, 400, || SmConfig::new(4, 2).ablate_deadline_for_tests());
    assert!(t.violations > 0, "{t:?}");
}

/// A traitor that signs RETREAT in the commander's name with its own key (SM-6, first part).
#[derive(Clone, Copy, Debug)]
struct ForgesLoyalLieutenant;

impl Tactic for ForgesLoyalLieutenant {
    fn name(&self) -> &str {
        "forges-loyal-lieutenant"
    }
    /// Traitor 0 (the commander) orders ATTACK; in round 3 traitor 3 sends RETREAT:0:2:3 to L1,
    /// where the loyal L2's link is signed with 3's key: L2 never signed RETREAT.
    fn on_round(
        &mut self,
        me: NodeId,
        round: u32,
        kit: &Kit,
        _: &mut herald_core::Rng,
        out: &mut Vec<(NodeId, herald_protocols::byzantine::sm::SignedOrder)>,
    ) {
        match (me.0, round) {
            (0, 1) => out.extend([1, 2].map(|l| (NodeId(l), kit.fresh(Attack).unwrap()))),
            (3, 3) => {
                let by_three = kit.sign_as(NodeId(3), &kit.fresh(Retreat).unwrap()).unwrap();
                let mut forged = by_three.clone();
                forged.chain[1].signer = NodeId(2);
                out.push((NodeId(1), kit.sign_as(NodeId(3), &forged).unwrap()));
            }
            _ => {}
        }
    }
}

/// SM-6: a chain carrying a loyal general's signature on an order it never signed is rejected by
/// V4 and adds nothing to Vᵢ — whether the forged link is the commander's or a lieutenant's.
#[test]
fn sm6_a_forged_loyal_signature_is_rejected_and_not_added() {
    // The loyal commander's link forged: the traitor has no genuine RETREAT:0 to build on.
    let setup = Setup::new(SmConfig::new(4, 2), Attack, ids(&[3]), 6);
    let run = run(&setup, Scripted::new([(slot(3, 2, 1), Retreat)]), 6);
    assert_eq!(rejected(&run, 1), vec![(2, NodeId(3), Reject::BadSignature { index: 0 })]);
    assert_eq!(decision(&run, 1).orders, vec![Attack]);

    // A loyal lieutenant's link forged, on an order the (traitor) commander really signed.
    let setup = Setup::new(SmConfig::new(4, 2), Attack, ids(&[0, 3]), 6);
    let run = self::run(&setup, ForgesLoyalLieutenant, 6);
    assert_eq!(rejected(&run, 1), vec![(3, NodeId(3), Reject::BadSignature { index: 1 })]);
    assert_eq!(decision(&run, 1).orders, vec![Attack]);
    assert_eq!(verdict(&setup, &run), Verdict { ic1: true, ic2: true });
}

/// SM-7: with fewer than m + 2 generals the problem is vacuous, and validation says which field.
#[test]
fn sm7_fewer_than_m_plus_2_generals_is_refused_naming_the_field() {
    for (n, m) in [(2, 1), (3, 2), (5, 4), (1, 0)] {
        let e = SmConfig::new(n, m).validate().unwrap_err();
        assert_eq!(e.field, "generals", "n = {n}, m = {m}");
        assert!(e.to_string().contains("m + 2"), "{e}");
    }
    for (n, m) in [(2, 0), (3, 1), (6, 4)] {
        assert!(SmConfig::new(n, m).validate().is_ok(), "n = {n}, m = {m}");
    }
}

/// Under the arbitrary network, spoofed senders and flipped bits never get an order accepted that
/// the loyal generals did not sign: spoofs fail V5, modified messages fail to decode or fail a
/// signature (or V1/V2/D1/…), and with a loyal commander no lieutenant ever holds anything but
/// its order. Spoofing only adds copies, so nothing can go wrong. Bit flips can *destroy* loyal
/// messages, which breaks assumption A1 (no algorithm survives losing every copy of the order);
/// so there the claim is that a violation can only be a lieutenant left with nothing — never one
/// obeying an order it was tricked into.
#[test]
fn spoofed_and_modified_orders_are_rejected_by_the_signature_checks() {
    let adversaries = [
        AdversarySpec::SpoofAs { as_node: NodeId(1), ratio: 0.5 },
        AdversarySpec::SpoofAs { as_node: COMMANDER, ratio: 0.5 },
        AdversarySpec::ModifyRandomBit { ratio: 0.1 },
    ];
    for adversary in adversaries {
        let spoofing = matches!(adversary, AdversarySpec::SpoofAs { .. });
        let (mut rejections, mut tampered, mut violations) = (0, 0, 0);
        for seed in 0..150 {
            let order = if seed % 2 == 0 { Attack } else { Retreat };
            let setup = Setup::new(SmConfig::new(4, 2).with_instance(seed), order, BTreeSet::new(), seed);
            let run = run_on(&setup, Silent, seed, NetworkModel::Arbitrary { adversary: adversary.clone() });
            let c = &run.summary.counters;
            tampered += c.injected + c.modified;
            let mut left_with_nothing = false;
            for o in &run.outputs {
                match &o.value {
                    SmEvent::Accepted { value, signers, from, .. } => {
                        assert_eq!(*value, order, "{adversary:?} seed {seed}: only the commander's order");
                        assert_eq!(signers[0], COMMANDER);
                        assert_eq!(signers.last(), Some(from), "accepted only from its last signer");
                    }
                    SmEvent::Rejected { .. } => rejections += 1,
                    SmEvent::Decided(d) => {
                        assert!(d.orders.len() <= 1 && d.equivocation.is_none());
                        left_with_nothing |= d.orders.is_empty();
                    }
                }
            }
            let v = verdict(&setup, &run);
            if !(v.ic1 && v.ic2) {
                violations += 1;
                assert!(!spoofing, "{adversary:?} seed {seed}: spoofed copies cannot break SM");
                assert!(left_with_nothing, "{adversary:?} seed {seed}: a violation without a destroyed order");
            }
        }
        assert!(tampered > 100 && rejections > 0, "{adversary:?}: tampered {tampered}, rejected {rejections}");
        assert!(violations <= 2, "{adversary:?}: {violations} runs lost every copy of the order somewhere");
    }
}

/// Cost with a loyal commander and no traitors: the commander's n − 1 messages, then one relay per
/// lieutenant to the n − 2 others; every later copy of the order is ignored (spec §7.5: n = 3 → 4,
/// n = 4 → 9, n = 7 → 36). SM(0) relays too, in step (A), though nobody is listening any more.
#[test]
fn a_loyal_run_costs_n_minus_1_plus_n_minus_1_times_n_minus_2_messages() {
    for (n, m, want) in [(3, 1, 4), (4, 1, 9), (7, 2, 36), (7, 5, 36), (3, 0, 4)] {
        let setup = Setup::new(SmConfig::new(n, m), Attack, BTreeSet::new(), 7);
        let run = run(&setup, Silent, 7);
        assert_eq!(run.summary.counters.sent, want, "n = {n}, m = {m}");
        assert_eq!(verdict(&setup, &run), Verdict { ic1: true, ic2: true });
        let checks = signatures_verified(run.outputs.iter().map(|o| (o.node, &o.value)));
        assert_eq!(checks, n as u64 - 1, "one check per lieutenant: the commander's signature");
    }
}

/// A run is a pure function of its seed: keys, traitors' choices and every observation.
#[test]
fn same_seed_same_run() {
    let setup = Setup::new(SmConfig::new(5, 3), Attack, ids(&[0, 2]), 11);
    let a = run(&setup, RandomForger::default(), 11);
    let b = run(&setup, RandomForger::default(), 11);
    assert_eq!(a.outputs, b.outputs);
    assert_eq!(a.summary.counters, b.summary.counters);
    assert!(signatures_verified(a.outputs.iter().map(|o| (o.node, &o.value))) > 0);
}
