//! Failure detectors under the simulator: the lecture-spec tests S1–S3 (§4.3).

use herald_core::{NodeId, Rng};
use herald_protocols::failure_detector::properties::{self, History};
use herald_protocols::failure_detector::{
    Change, Detector, EventuallyPerfectDetector, FdMsg, FdNode, Growth, PerfectDetector, TimeoutDetector,
};
use herald_sim::adversary::{Action, Adversary, Packet};
use herald_sim::{
    AdversarySpec, FaultKind, Latency, NetworkModel, NodeModel, Pauses, Run, ScheduledCrash, SimConfig, Simulation,
    TimingModel, Window, sweep,
};
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);
const INTERVAL: Duration = Duration::from_millis(20);

type Changes = Vec<(u64, NodeId, Change)>;

/// The run's detector changes and crash-stop crashes, as the properties take them.
fn history(run: &Run<FdNode>) -> (Changes, Vec<(NodeId, u64)>) {
    let changes = run.outputs.iter().map(|o| (o.t, o.node, o.value)).collect();
    let crashes = run
        .faults
        .iter()
        .filter_map(|f| match f.kind {
            FaultKind::Crash(n) => Some((n, f.t)),
            _ => None,
        })
        .collect();
    (changes, crashes)
}

fn config(timing: TimingModel, time: Duration) -> SimConfig {
    let mut c = SimConfig::new(3);
    c.model.timing = timing;
    c.link.latency = Latency::uniform(MS, 10 * MS);
    c.limits.time_max = time;
    c
}

fn sync() -> TimingModel {
    TimingModel::Synchronous { delay_max: 10 * MS, step_max: MS }
}

fn simulation(config: SimConfig, detector: Detector) -> Simulation<FdNode> {
    let n = config.nodes;
    Simulation::new(config, move |_| FdNode::new(detector, n)).expect("a valid configuration")
}

/// S1: synchronous + crash-stop + reliable, the perfect detector, 3 nodes, one crash at a random
/// time per seed: never a false suspicion, and every correct node suspects the crashed one for good
/// within ping_interval + timeout of the crash.
#[test]
fn s1_the_perfect_detector_is_perfect_in_the_synchronous_crash_stop_model() {
    let perfect = PerfectDetector { ping_interval: INTERVAL, delay_max: 10 * MS, step_max: MS };
    let bound = perfect.timeout() + INTERVAL;
    let base = config(sync(), Duration::from_millis(300));
    let results = sweep::sweep_with(
        0..2_000,
        2,
        || simulation(base.clone(), Detector::Perfect(perfect)),
        |sim, seed| {
            // One crash per seed: a random node at a random time in the first 200 ms.
            let mut rng = Rng::derive(seed, 1_000);
            let node = NodeId(rng.between(0, 2) as u32);
            let at = Duration::from_nanos(rng.between(0, 200_000_000));
            let mut c = base.clone();
            c.model.nodes = NodeModel::CrashStop {
                crashes: vec![ScheduledCrash { node, at, restart_after: None }],
                rate_per_sec: 0.0,
                crashes_max: 1,
            };
            sim.set_config(c).expect("valid");
            let run = sim.run(seed);
            let (changes, crashes) = history(&run);
            assert_eq!(crashes.len(), 1, "seed {seed}: exactly one crash");
            let h = History { seed, changes: &changes, crashes: &crashes, nodes: 3, end_ns: run.summary.virtual_ns };
            let max_detection = properties::detection_times(&h).into_iter().max();
            (
                properties::strong_accuracy(&h),
                properties::strong_completeness(&h, herald_core::time::nanos(bound)),
                properties::detection_times(&h).len(),
                max_detection,
            )
        },
        |_| {},
    );
    for (seed, (accuracy, completeness, detected, max_detection)) in &results {
        assert_eq!(accuracy, &Ok(()), "seed {seed}");
        assert_eq!(completeness, &Ok(()), "seed {seed}");
        assert_eq!(*detected, 2, "seed {seed}: both correct nodes suspect the crashed one");
        assert!(max_detection.is_some_and(|d| d <= herald_core::time::nanos(bound)), "seed {seed}");
    }
}

fn partially_synchronous(window: Window) -> TimingModel {
    TimingModel::PartiallySynchronous {
        delay_max: 10 * MS,
        step_max: MS,
        windows: vec![window],
        async_delay: Latency::Exponential { min: 50 * MS, mean: 50 * MS },
        pauses: Pauses::none(),
    }
}

const WINDOW: Window = Window { start: Duration::from_millis(200), end: Duration::from_millis(500) };

fn false_suspicions_after(detector: Detector, seeds: u64, after: Duration) -> Vec<(u64, usize, usize)> {
    let base = config(partially_synchronous(WINDOW), Duration::from_millis(1_500));
    let after = herald_core::time::nanos(after);
    let results = sweep::sweep_with(
        0..seeds,
        2,
        || simulation(base.clone(), detector),
        |sim, seed| {
            let run = sim.run(seed);
            let (changes, crashes) = history(&run);
            let h = History { seed, changes: &changes, crashes: &crashes, nodes: 3, end_ns: run.summary.virtual_ns };
            let late = properties::false_suspicion_list(&h).filter(|&(t, _, _)| t >= after).count();
            (properties::false_suspicions(&h), late)
        },
        |_| {},
    );
    results.into_iter().map(|(seed, (all, late))| (seed, all, late)).collect()
}

/// S2, first half: a fixed timeout below the delays inside an asynchronous window suspects correct
/// nodes falsely.
#[test]
fn s2_a_fixed_timeout_suspects_falsely_in_an_asynchronous_window() {
    let detector = Detector::Timeout(TimeoutDetector { ping_interval: INTERVAL, timeout: 30 * MS });
    let results = false_suspicions_after(detector, 50, Duration::ZERO);
    assert!(results.iter().any(|&(_, all, _)| all > 0), "some seed shows a false suspicion");
    // Below the synchronous round trip, it keeps suspecting falsely after the window too.
    let short = Detector::Timeout(TimeoutDetector { ping_interval: INTERVAL, timeout: 5 * MS });
    let after = WINDOW.end + Duration::from_millis(500);
    assert!(false_suspicions_after(short, 20, after).iter().all(|&(_, _, late)| late > 0));
}

/// S2, second half: the eventually perfect detector, even starting from a timeout below the
/// synchronous round trip, stops suspecting correct nodes a bound after the last window ends.
#[test]
fn s2_the_eventually_perfect_detector_stops_suspecting_after_the_last_window() {
    // From the last window's end: 2·delay_max until in-window replies are in, then at most four
    // doublings (5 → 80 ms) of ping_interval + timeout each.
    let after = WINDOW.end + Duration::from_millis(500);
    for initial in [30 * MS, 5 * MS] {
        let detector = Detector::EventuallyPerfect(EventuallyPerfectDetector {
            ping_interval: INTERVAL,
            timeout_initial: initial,
            growth: Growth::Double,
        });
        let results = false_suspicions_after(detector, 200, after);
        assert!(results.iter().any(|&(_, all, _)| all > 0), "the window fools it at first ({initial:?})");
        for (seed, _, late) in results {
            assert_eq!(late, 0, "seed {seed}, initial timeout {initial:?}: a false suspicion after {after:?}");
        }
    }
}

/// Delays the first reply from node 1 to node 0 by `extra`; everything else passes untouched.
struct DelayOneReply {
    extra: Duration,
    done: bool,
}

impl Adversary for DelayOneReply {
    fn name(&self) -> &str {
        "delay-one-reply"
    }
    fn on_packet(&mut self, p: Packet<'_>, _: &mut Rng, out: &mut Vec<Action>) {
        let is_reply = matches!(herald_core::codec::decode::<FdMsg>(p.bytes), Ok(FdMsg::Pong { .. }));
        if !self.done && is_reply && p.from == NodeId(1) && p.to == NodeId(0) {
            self.done = true;
            out.push(Action::Deliver { extra: self.extra });
        }
    }
}

/// S3: asynchronous, with a scheduler that delays one reply by T + 1: whatever the fixed timeout T,
/// node 0 falsely suspects node 1. Timeouts mean nothing here.
#[test]
fn s3_under_asynchrony_any_timeout_is_fooled_by_one_late_reply() {
    // Timeouts above every honest round trip (at most 2 × 10 ms here): below it, any timeout
    // suspects falsely without help.
    for t in [25 * MS, 100 * MS, Duration::from_secs(1), Duration::from_secs(10)] {
        let detectors = [
            Detector::Timeout(TimeoutDetector { ping_interval: INTERVAL, timeout: t }),
            Detector::EventuallyPerfect(EventuallyPerfectDetector {
                ping_interval: INTERVAL,
                timeout_initial: t,
                growth: Growth::Double,
            }),
        ];
        for detector in detectors {
            let mut c = config(TimingModel::Asynchronous { pauses: Pauses::none() }, t + Duration::from_millis(200));
            c.model.network =
                NetworkModel::Arbitrary { adversary: AdversarySpec::Custom { name: "delay-one-reply".into() } };
            let extra = t + Duration::from_nanos(1);
            let mut sim =
                simulation(c, detector).with_adversary(move || Box::new(DelayOneReply { extra, done: false }));
            for seed in 0..5 {
                let run = sim.run(seed);
                let (changes, crashes) = history(&run);
                assert!(crashes.is_empty());
                let h =
                    History { seed, changes: &changes, crashes: &crashes, nodes: 3, end_ns: run.summary.virtual_ns };
                let v = properties::strong_accuracy(&h).expect_err("a false suspicion");
                assert_eq!((v.observer, v.node), (NodeId(0), NodeId(1)), "T = {t:?}, {}: {v}", detector.name());
                let false_ones: Vec<_> = properties::false_suspicion_list(&h).collect();
                assert_eq!(false_ones.len(), 1, "exactly the delayed reply fools it: {false_ones:?}");
            }
        }
    }
}
