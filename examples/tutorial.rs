//! The README's five-minute tutorial: write a node, simulate it under a lossy network, check a
//! property over many seeds, and write a trace. Run it with `cargo run --example tutorial`.

use herald_core::{Context, Node, NodeId};
use herald_sim::oracle::{self, Oracle};
use herald_sim::{NetworkModel, Run, SimConfig, Simulation, sweep};
use serde::{Deserialize, Serialize};
use std::time::Duration;

// 1. The messages and timers of the protocol: plain serde types.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Msg {
    /// "Remember this value."
    Store { value: u64 },
    /// "I have it."
    Ack,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
enum Timer {
    Resend,
}

// 2. The node: node 0 sends a value to every peer and resends until each one acknowledges.
#[derive(Debug, Default)]
struct Announcer {
    value: Option<u64>,
    unacked: Vec<NodeId>,
}

impl Node for Announcer {
    type Msg = Msg;
    type Timer = Timer;
    type Output = u64; // what a node reports: the value it learned

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == NodeId(0) {
            self.unacked = ctx.peers().to_vec();
            self.on_timer(Timer::Resend, ctx);
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, ctx: &mut Context<'_, Self>) {
        match msg {
            Msg::Store { value } => {
                if self.value.is_none() {
                    self.value = Some(value);
                    ctx.output(value);
                }
                ctx.send(from, Msg::Ack); // ack every copy: the previous ack may have been lost
            }
            Msg::Ack => self.unacked.retain(|&p| p != from),
        }
    }

    fn on_timer(&mut self, Timer::Resend: Timer, ctx: &mut Context<'_, Self>) {
        for &peer in &self.unacked {
            ctx.send(peer, Msg::Store { value: 42 });
        }
        if !self.unacked.is_empty() {
            ctx.set_timer(Timer::Resend, Duration::from_millis(30));
        }
    }
}

// 3. The property: every node but the sender learns 42, exactly once.
fn everyone_learns(run: &Run<Announcer>) -> Result<(), String> {
    for id in run.correct.iter().filter(|&&id| id != NodeId(0)) {
        let learned: Vec<u64> = run.outputs.iter().filter(|o| o.node == *id).map(|o| o.value).collect();
        if learned != [42] {
            return Err(format!("{id} learned {learned:?}"));
        }
    }
    Ok(())
}

fn main() {
    let failures = check(1_000);
    assert!(failures.is_empty(), "{failures:?}");
    trace_one(7);
}

/// Simulates `seeds` seeds and returns the failures.
fn check(seeds: u64) -> Vec<(u64, String)> {
    // 4. A system model: five nodes, fair-loss links losing half the messages and duplicating some.
    let mut config = SimConfig::new(5);
    config.model.network = NetworkModel::FairLoss { loss: 0.5, duplicate: 0.2, duplicates_max: 2, reorder: true };
    config.limits.time_max = Duration::from_secs(2);

    // 5. Simulate 1,000 seeds on all cores, checking the simulator's own guarantees and ours.
    let results = sweep::sweep(
        0..seeds,
        2,
        |seed| {
            let mut oracles: Vec<Box<dyn Oracle<Announcer>>> = oracle::model_oracles(&config);
            oracles.push(oracle::from_fn("everyone-learns", everyone_learns));
            let run =
                Simulation::new(config.clone(), |_| Announcer::default()).expect("valid").recording(true).run(seed);
            oracle::check_all(&run, &oracles).map_err(|v| format!("{}: {}", v.property, v.detail))
        },
        |_| {},
    );
    let failures: Vec<(u64, String)> = results.into_iter().filter_map(|(seed, r)| Some((seed, r.err()?))).collect();
    println!("{seeds} seeds, {} failures", failures.len());
    failures
}

fn trace_one(seed: u64) {
    let mut config = SimConfig::new(5);
    config.model.network = NetworkModel::FairLoss { loss: 0.5, duplicate: 0.2, duplicates_max: 2, reorder: true };
    // 6. One run as a trace: open it with any JSON Lines tool (and, soon, `herald viz`).
    let run = Simulation::new(config, |_| Announcer::default()).expect("valid").recording(true).run(seed);
    let path = std::env::temp_dir().join("announcer.jsonl");
    run.write_trace(std::fs::File::create(&path).expect("create"), "announcer", None).expect("write");
    println!(
        "seed {seed}: {} sent, {} lost, {} duplicated; trace in {}",
        run.summary.counters.sent,
        run.summary.counters.dropped_loss,
        run.summary.counters.duplicated,
        path.display()
    );
}

#[test]
fn the_tutorial_protocol_survives_fair_loss() {
    assert_eq!(check(200), Vec::new());
}
