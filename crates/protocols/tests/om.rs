//! OM(m) under the simulator: the lecture spec's tests OM-1 … OM-9 (§7.4) and the message counts,
//! every outcome computed by running nodes through herald-sim under the synchronous model.

use Order::{Attack, Retreat};
use herald_core::rounds::LockStep;
use herald_core::trace::EventKind;
use herald_core::{NodeId, Rng};
use herald_protocols::byzantine::om::{
    self, Behaviour, Choice, Decision, Enumeration, Majority, Om, OmConfig, Path, Script, Traitors,
};
use herald_protocols::byzantine::{COMMANDER, Order, Verdict};
use herald_sim::oracle::{check_all, model_oracles};
use herald_sim::sweep::sweep;
use herald_sim::{Latency, NodeModel, Run, SimConfig, Simulation, TimingModel};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const DELAY_MAX: Duration = Duration::from_millis(10);
const STEP_MAX: Duration = Duration::from_millis(1);
/// Long enough for any message sent at a round's start to arrive before it ends (no clock skew).
const ROUND: Duration = Duration::from_millis(11);

/// One OM run: what it decided, whether IC1/IC2 held, and what the simulator counted.
struct Outcome {
    decisions: BTreeMap<NodeId, Decision>,
    verdict: Verdict,
    sent: u64,
    traitors: BTreeSet<NodeId>,
    run: Run<LockStep<Om>>,
}

impl Outcome {
    fn order(&self, general: u32) -> Order {
        self.decisions[&NodeId(general)].order
    }
    fn violated(&self) -> bool {
        !(self.verdict.ic1 && self.verdict.ic2)
    }
}

fn config(generals: usize, m: usize, order: Order, majority: Majority) -> OmConfig {
    OmConfig { generals, m, order, majority }
}

fn run(config: &OmConfig, traitors: &BTreeSet<NodeId>, behaviour: Behaviour, seed: u64, record: bool) -> Outcome {
    let mut sim_config = SimConfig::new(config.generals);
    sim_config.model.timing = TimingModel::Synchronous { delay_max: DELAY_MAX, step_max: STEP_MAX };
    sim_config.model.nodes = NodeModel::Byzantine { faulty: traitors.iter().copied().collect() };
    sim_config.link.latency = Latency::uniform(Duration::from_millis(1), DELAY_MAX);
    sim_config.limits.time_max = ROUND * (config.rounds() + 1);
    let (nodes, strategy, faulty) = (config.clone(), config.clone(), traitors.clone());
    let run = Simulation::new(sim_config, move |id| om::lock_step(nodes.clone(), id, ROUND))
        .expect("a valid configuration")
        .with_strategy(move || Box::new(Traitors::new(strategy.clone(), ROUND, faulty.clone(), behaviour.clone())))
        .recording(record)
        .run(seed);
    let decisions: BTreeMap<NodeId, Decision> = run.outputs.iter().map(|o| (o.node, o.value.clone())).collect();
    let orders = decisions.iter().map(|(g, d)| (*g, d.order)).collect();
    let verdict = om::verdict(config, traitors, &orders);
    Outcome { decisions, verdict, sent: run.summary.counters.sent, traitors: traitors.clone(), run }
}

fn ids(v: &[u32]) -> BTreeSet<NodeId> {
    v.iter().map(|&g| NodeId(g)).collect()
}

fn script(entries: &[(&[u32], u32, Choice)]) -> Behaviour {
    Behaviour::Scripted(Script(entries.iter().map(|(p, to, c)| ((Path::of(p), NodeId(*to)), *c)).collect()))
}

/// Every case of the exhaustive search, judged: (case number, violated IC1?, violated IC2?).
fn exhaustive(generals: usize, m: usize, traitors: usize, majority: Majority) -> (Enumeration, Vec<(bool, bool)>) {
    let e = Enumeration::new(generals, m, traitors, 1_000_000).expect("a small search");
    let results = sweep(
        0..e.len(),
        2,
        |i| {
            let case = e.case(i).expect("in range");
            let o = run(
                &config(generals, m, case.order, majority),
                &case.traitors,
                Behaviour::Scripted(case.script),
                i,
                false,
            );
            (!o.verdict.ic1, !o.verdict.ic2)
        },
        |_| {},
    );
    (e, results.into_iter().map(|(_, r)| r).collect())
}

/// A seeded random run: `traitors` traitors placed by the seed (the commander may be one), a random
/// commander order, and random per-message behaviour.
fn random_run(generals: usize, m: usize, traitors: usize, seed: u64) -> Outcome {
    let mut rng = Rng::derive(seed, u64::MAX);
    let mut pool: Vec<NodeId> = NodeId::range(generals).collect();
    let faulty: BTreeSet<NodeId> = (0..traitors).map(|_| pool.remove(rng.index(pool.len()))).collect();
    let order = if rng.chance(0.5) { Attack } else { Retreat };
    run(&config(generals, m, order, Majority::StrictOrDefault), &faulty, Behaviour::Random, seed, false)
}

#[test]
fn message_counts_follow_the_formula() {
    for ((n, m), expected) in [((3, 1), 4), ((4, 1), 9), ((7, 2), 156), ((10, 3), 3609)] {
        let o = run(&config(n, m, Attack, Majority::StrictOrDefault), &BTreeSet::new(), Behaviour::Silent, 1, false);
        assert_eq!(o.sent, expected, "n={n}, m={m}");
        assert_eq!(Some(o.sent), om::message_count(n, m), "Σ P(n−1, k+1) for n={n}, m={m}");
        assert!(o.decisions.values().all(|d| d.order == Attack), "no traitors: everyone attacks");
    }
}

#[test]
fn rounds_are_lock_step_under_the_synchronous_model_and_traces_carry_paths() {
    let c = config(4, 1, Attack, Majority::StrictOrDefault);
    let a = run(&c, &ids(&[3]), Behaviour::Opposite, 9, true);
    let oracles = model_oracles(&a.run.config);
    assert!(check_all(&a.run, &oracles).is_ok(), "the simulator kept the synchronous model's promises");
    let mut trace = Vec::new();
    a.run.write_trace(&mut trace, "om", None).unwrap();
    let b = run(&c, &ids(&[3]), Behaviour::Opposite, 9, true);
    let mut again = Vec::new();
    b.run.write_trace(&mut again, "om", None).unwrap();
    assert_eq!(trace, again, "same seed, same trace");
    let relayed: Vec<_> = a
        .run
        .trace_events()
        .filter_map(|e| match e.kind {
            EventKind::Send { to, body, .. } if body["msg"]["path"] == json!([0, 3]) => Some((to, body)),
            _ => None,
        })
        .collect();
    assert_eq!(relayed.len(), 2, "the traitor relays ⟨0,3⟩ to L1 and L2: {relayed:?}");
    assert!(relayed.iter().all(|(_, b)| b["round"] == json!(2) && b["msg"]["order"] == json!("Retreat")));
}

/// OM-1, paper Fig. 4: a traitor commander sends x, y, z = ATTACK, RETREAT, ATTACK.
#[test]
fn om1_traitor_commander_cannot_split_four_generals() {
    let c = config(4, 1, Attack, Majority::StrictOrDefault);
    let b = script(&[(&[0], 1, Choice::Attack), (&[0], 2, Choice::Retreat), (&[0], 3, Choice::Attack)]);
    let o = run(&c, &ids(&[0]), b, 1, false);
    for l in 1..=3 {
        assert_eq!(o.decisions[&NodeId(l)].values, vec![Attack, Retreat, Attack], "L{l} holds (x, y, z)");
        assert_eq!(o.order(l), Attack, "majority(x, y, z)");
    }
    assert_eq!(o.sent, 9);
    assert!(o.verdict.ic1);
}

/// OM-2: a traitor commander sends ATTACK, RETREAT and nothing; L3 uses RETREAT (A3).
#[test]
fn om2_a_missing_order_is_retreat() {
    let c = config(4, 1, Attack, Majority::StrictOrDefault);
    let b = script(&[(&[0], 1, Choice::Attack), (&[0], 2, Choice::Retreat), (&[0], 3, Choice::Omit)]);
    let o = run(&c, &ids(&[0]), b, 2, false);
    assert_eq!(o.decisions[&NodeId(1)].values, vec![Attack, Retreat, Retreat]);
    assert!((1..=3).all(|l| o.order(l) == Retreat));
    assert_eq!(o.sent, 2 + 6, "the commander sent two orders; every lieutenant relayed to two others");
    assert!(o.verdict.ic1);
}

/// OM-3, paper Fig. 3: a loyal commander orders ATTACK; traitor L3 tells L1 and L2 "RETREAT".
#[test]
fn om3_a_traitor_lieutenant_is_outvoted() {
    let c = config(4, 1, Attack, Majority::StrictOrDefault);
    let b = script(&[(&[0, 3], 1, Choice::Retreat), (&[0, 3], 2, Choice::Retreat)]);
    let o = run(&c, &ids(&[3]), b, 3, false);
    assert_eq!(o.decisions[&NodeId(1)].values, vec![Attack, Attack, Retreat], "majority(v, v, x)");
    assert_eq!(o.order(1), Attack);
    assert_eq!(o.order(2), Attack);
    assert_eq!(o.verdict, Verdict { ic1: true, ic2: true });
}

/// OM-4: every single-traitor placement, commander order and traitor message choice for n=4, m=1.
#[test]
fn om4_exhaustive_four_generals_one_traitor_never_fails() {
    let (e, results) = exhaustive(4, 1, 1, Majority::StrictOrDefault);
    let sizes: Vec<(Vec<NodeId>, u64)> =
        e.placements().map(|(t, r)| (t.iter().copied().collect(), r.end - r.start)).collect();
    assert_eq!(sizes[0], (vec![COMMANDER], 27 * 2), "the commander has 3 messages");
    assert!(sizes[1..].iter().all(|(_, k)| *k == 9 * 2), "a lieutenant has 2 messages to loyal generals");
    assert_eq!(sizes.len(), 4);
    assert_eq!(results.len() as u64, 54 + 3 * 18);
    assert_eq!(results.iter().filter(|(a, b)| *a || *b).count(), 0);
}

/// OM-5, paper Fig. 1: three generals; traitor L2 tells L1 "RETREAT" although the commander said
/// ATTACK. L1 holds (ATTACK, RETREAT), has no strict majority, retreats: IC2 fails.
#[test]
fn om5_three_generals_fail_ic2() {
    let c = config(3, 1, Attack, Majority::StrictOrDefault);
    let o = run(&c, &ids(&[2]), script(&[(&[0, 2], 1, Choice::Retreat)]), 5, false);
    assert_eq!(o.decisions[&NodeId(1)].values, vec![Attack, Retreat]);
    assert_eq!(o.order(1), Retreat);
    assert!(!o.verdict.ic2, "IC2 violated");
    assert_eq!(o.sent, 4);
}

/// OM-5b: the exhaustive n=3, m=1 search finds violations for both majority functions; with the
/// default, a traitor lieutenant wins 2 of its 6 cases and a traitor commander none.
#[test]
fn om5b_exhaustive_three_generals_always_finds_a_violation() {
    let (e, results) = exhaustive(3, 1, 1, Majority::StrictOrDefault);
    let per_placement: Vec<(Vec<NodeId>, u64, usize)> = e
        .placements()
        .map(|(t, r)| {
            let bad = results[r.start as usize..r.end as usize].iter().filter(|(a, b)| *a || *b).count();
            (t.iter().copied().collect(), r.end - r.start, bad)
        })
        .collect();
    assert_eq!(
        per_placement,
        vec![(vec![NodeId(0)], 18, 0), (vec![NodeId(1)], 6, 2), (vec![NodeId(2)], 6, 2)],
        "(traitor, cases, violations)"
    );
    let (_, median) = exhaustive(3, 1, 1, Majority::Median);
    assert!(median.iter().any(|(a, b)| *a || *b), "the median cannot save three generals either");
}

/// OM-6: n=7, m=2, two traitors placed at random with random per-message behaviour: Theorem 1.
#[test]
fn om6_seven_generals_two_random_traitors_never_fail() {
    let slots = |faulty: &BTreeSet<NodeId>| om::traitor_slots(7, 2, faulty).len() as u64;
    let results = sweep(
        0..3_000,
        2,
        |seed| {
            let o = random_run(7, 2, 2, seed);
            (o.violated(), o.sent, 156 - slots(&o.traitors))
        },
        |_| {},
    );
    for (seed, (violated, sent, floor)) in results {
        assert!(!violated, "seed {seed} broke IC1 or IC2");
        assert!((floor..=156).contains(&sent), "seed {seed}: {sent} messages, only traitors' may be missing");
    }
}

/// OM-7: n=6, m=2 (n ≤ 3m): a random search finds a violation.
#[test]
fn om7_six_generals_two_traitors_can_fail() {
    let found = (0..500).find(|&seed| random_run(6, 2, 2, seed).violated());
    assert!(found.is_some(), "no violation in 500 random runs");
}

/// OM-8: n=7 with OM(1) and 2 traitors (more than m): a random search finds a violation.
#[test]
fn om8_more_traitors_than_m_can_fail() {
    let found = (0..500).find(|&seed| random_run(7, 1, 2, seed).violated());
    assert!(found.is_some(), "no violation in 500 random runs");
}

/// OM-9, Lemma 1: with a loyal commander and k = 2 traitor lieutenants, OM(1) keeps IC2 when
/// n > 2k + m = 5 — over every choice of the traitors' messages — and not when n = 5.
#[test]
fn om9_lemma_one_ic2_needs_n_above_2k_plus_m() {
    let ic2_holds_everywhere = |generals: usize| {
        let e = Enumeration::new(generals, 1, 2, 1_000_000).unwrap();
        // The traitors are two lieutenants; by symmetry (relabelling lieutenants), L1 and L2 stand
        // for every such pair.
        let (_, range) = e.placements().find(|(t, _)| **t == ids(&[1, 2])).unwrap();
        let results = sweep(
            range,
            2,
            |i| {
                let case = e.case(i).unwrap();
                let c = config(generals, 1, case.order, Majority::StrictOrDefault);
                run(&c, &case.traitors, Behaviour::Scripted(case.script), i, false).verdict.ic2
            },
            |_| {},
        );
        results.iter().all(|(_, ic2)| *ic2)
    };
    assert!(ic2_holds_everywhere(6), "n = 6 > 5: IC2 always holds");
    assert!(!ic2_holds_everywhere(5), "n = 5 = 2k + m: some script breaks IC2");
}
