//! Node clocks (`ClockModel { offset_max, drift_ppm_max }`): a probe that reports `ctx.now()` on
//! every event shows each local clock starts within the offset bound and runs at a rate within
//! ±drift_ppm_max of global time, and that a timer set for d local nanoseconds fires once the
//! local clock has advanced by at least d (and by no more than rounding).

mod common;

use common::*;
use herald_core::trace::EventKind;
use herald_core::{Context, Node, NodeId};
use herald_sim::{ClockModel, Simulation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Poke;

/// A timer that carries the local time it was set at and its local duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct Wake {
    set_at: u64,
    after: u64,
}

/// What the probe reports: its local clock on every event.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum Reading {
    Start { now: u64 },
    Fired { now: u64, set_at: u64, after: u64 },
    Got { now: u64 },
}

impl Reading {
    fn now(self) -> u64 {
        match self {
            Self::Start { now } | Self::Fired { now, .. } | Self::Got { now } => now,
        }
    }
}

/// Sets `timers` timers one after another, each for a random number of local nanoseconds, and
/// pokes a random peer whenever one fires.
#[derive(Debug)]
struct Probe {
    timers: u32,
}

impl Probe {
    fn arm(&mut self, ctx: &mut Context<'_, Self>) {
        let after = ctx.rng().between(1_000_000, 40_000_000);
        let set_at = ctx.now().as_nanos();
        ctx.set_timer(Wake { set_at, after }, Duration::from_nanos(after));
    }
}

impl Node for Probe {
    type Msg = Poke;
    type Timer = Wake;
    type Output = Reading;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.output(Reading::Start { now: ctx.now().as_nanos() });
        self.arm(ctx);
    }

    fn on_message(&mut self, _: NodeId, _: Poke, ctx: &mut Context<'_, Self>) {
        ctx.output(Reading::Got { now: ctx.now().as_nanos() });
    }

    fn on_timer(&mut self, Wake { set_at, after }: Wake, ctx: &mut Context<'_, Self>) {
        ctx.output(Reading::Fired { now: ctx.now().as_nanos(), set_at, after });
        let peers = ctx.peers();
        let to = peers[ctx.rng().index(peers.len())];
        ctx.send(to, Poke);
        self.timers -= 1;
        if self.timers > 0 {
            self.arm(ctx);
        }
    }
}

/// Rounding allowed per clock reading, in ns.
const ROUNDING: f64 = 2.0;

#[test]
fn local_clocks_keep_their_offset_and_drift_bounds_and_timers_fire_on_local_time() {
    // Perfect clocks, quartz, a large offset, and absurd drift (30 %) that makes any rate error
    // stand out.
    let models = [
        ClockModel::default(),
        ClockModel { offset_max: Duration::from_secs(1), drift_ppm_max: 50.0 },
        ClockModel { offset_max: ms(5), drift_ppm_max: 1_000.0 },
        ClockModel { offset_max: Duration::ZERO, drift_ppm_max: 300_000.0 },
    ];
    let results = all_ok(sweep2(0..1000, |seed| {
        let clocks = models[(seed % models.len() as u64) as usize].clone();
        let mut cfg = small(3);
        cfg.limits.time_max = ms(500);
        cfg.clocks = clocks.clone();
        let mut sim = Simulation::new(cfg, |_| Probe { timers: 6 }).unwrap().recording(true);
        let run = sim.run(seed);
        check_models(&run)?;
        let (offset_max, drift_max) = (ns(clocks.offset_max), clocks.drift_ppm_max);
        let mut fired = 0;
        let mut largest_drift: f64 = 0.0;
        for node in NodeId::range(3) {
            let (offset, drift) = run.clocks[node.index()];
            ensure(offset <= offset_max && drift.abs() <= drift_max, || {
                format!("seed {seed}: {node}'s clock has offset {offset} and drift {drift} ppm")
            })?;
            largest_drift = largest_drift.max(drift.abs());
            let readings: Vec<_> = run.outputs.iter().filter(|o| o.node == node).collect();
            let first = readings.first().expect("every node starts");
            ensure(first.t == 0 && first.value == Reading::Start { now: offset }, || {
                format!("seed {seed}: {node} started at {} reading {:?}, offset {offset}", first.t, first.value)
            })?;
            for pair in readings.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let (dt, dl) = ((b.t - a.t) as f64, b.value.now() as f64 - a.value.now() as f64);
                // The rate is within the model's bound, and is this clock's own drift.
                ensure((dl - dt).abs() <= dt * drift_max / 1e6 + ROUNDING, || {
                    format!("seed {seed}: {node}'s clock moved {dl}ns in {dt}ns of global time")
                })?;
                ensure((dl - dt * (1.0 + drift / 1e6)).abs() <= ROUNDING, || {
                    format!("seed {seed}: {node}'s clock moved {dl}ns in {dt}ns, not at {drift} ppm")
                })?;
            }
            for o in &readings {
                if let Reading::Fired { now, set_at, after } = o.value {
                    fired += 1;
                    let advanced = now - set_at;
                    ensure(advanced >= after && advanced <= after + ROUNDING as u64, || {
                        format!("seed {seed}: {node}'s timer for {after}ns fired after {advanced}ns local")
                    })?;
                }
            }
        }
        ensure(fired == 3 * 6, || format!("seed {seed}: {fired} timers fired"))?;
        if seed % 10 == 0 && (offset_max > 0 || drift_max > 0.0) {
            // The trace's `local` stamps are the clocks the nodes read.
            let locals: Vec<_> =
                run.trace_events().filter(|e| matches!(e.kind, EventKind::Output { .. })).map(|e| e.local).collect();
            let read: Vec<_> = run.outputs.iter().map(|o| Some(o.value.now())).collect();
            ensure(locals == read, || format!("seed {seed}: trace locals {locals:?} ≠ readings {read:?}"))?;
        }
        Ok(largest_drift / drift_max.max(1.0))
    }));
    // The drifts actually spread over the allowed range.
    let near_bound = results.iter().filter(|&&r| r > 0.9).count();
    assert!(near_bound > 50, "only {near_bound} runs drew a drift near the bound");
}
