//! Shared helpers for the simulator's model-guarantee tests: a tiny chatter protocol, sweeps on two
//! threads, and the model-oracle check every recorded run goes through.
#![allow(dead_code, unreachable_pub)]

use herald_core::{Context, Node, NodeId};
use herald_sim::oracle::{check_all, model_oracles};
use herald_sim::record::RecordKind;
use herald_sim::sweep::sweep;
use herald_sim::{Latency, Run, SimConfig};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::time::Duration;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn ns(d: Duration) -> u64 {
    herald_core::time::nanos(d)
}

/// Runs `run_one` for every seed on two worker threads, in seed order.
pub fn sweep2<R: Send>(seeds: Range<u64>, run_one: impl Fn(u64) -> R + Sync) -> Vec<(u64, R)> {
    sweep(seeds, 2, run_one, |_| {})
}

/// Checks every model oracle that applies to the run's configuration; the run must be recorded.
pub fn check_models<N: Node>(run: &Run<N>) -> Result<(), String> {
    assert!(!run.records.is_empty(), "model oracles need a recorded run (Simulation::recording(true))");
    check_all(run, &model_oracles::<N>(&run.config))
        .map_err(|v| format!("seed {}: model oracle {} failed: {}", run.seed, v.property, v.detail))
}

/// Like [`check_models`], panicking with the violation.
pub fn assert_models<N: Node>(run: &Run<N>) {
    if let Err(e) = check_models(run) {
        panic!("{e}");
    }
}

/// A small default: `nodes` nodes, uniform 1–10 ms latency (and the default 1 Gbit/s links), 200 ms
/// of virtual time.
pub fn small(nodes: usize) -> SimConfig {
    let mut c = SimConfig::new(nodes);
    c.link.latency = Latency::uniform(ms(1), ms(10));
    c.limits.time_max = ms(200);
    c
}

/// Global-time `(send t, deliver t)` of every delivery, with the link.
pub fn deliveries<N: Node>(run: &Run<N>) -> Vec<(NodeId, NodeId, u64, u64, u64)> {
    run.records
        .iter()
        .filter_map(|r| match r.kind {
            RecordKind::Deliver { from, to, msg, sent_at } => Some((from, to, msg, sent_at, r.t)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Chatter: every node sends one numbered note to every peer each `interval`, `ticks` times, with a
// random padding of up to `pad_max` bytes; receivers report every note they are handed.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Note {
    pub origin: u32,
    pub seq: u32,
    /// Padding, to make messages big (a string: it marshals in one copy, even in debug builds).
    pub pad: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tick;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Got {
    pub from: NodeId,
    pub origin: u32,
    pub seq: u32,
}

#[derive(Clone, Debug)]
pub struct Chatter {
    pub ticks: u32,
    pub interval: Duration,
    pub pad_max: u64,
    next: u32,
}

impl Chatter {
    pub fn new(ticks: u32, interval: Duration) -> Self {
        Self { ticks, interval, pad_max: 0, next: 0 }
    }
    pub fn padded(mut self, pad_max: u64) -> Self {
        self.pad_max = pad_max;
        self
    }
}

impl Node for Chatter {
    type Msg = Note;
    type Timer = Tick;
    type Output = Got;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if self.ticks > 0 {
            ctx.set_timer(Tick, self.interval);
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Note, ctx: &mut Context<'_, Self>) {
        ctx.output(Got { from, origin: msg.origin, seq: msg.seq });
    }

    fn on_timer(&mut self, _: Tick, ctx: &mut Context<'_, Self>) {
        let seq = self.next;
        self.next += 1;
        let origin = ctx.id().0;
        for &peer in ctx.peers() {
            let len = if self.pad_max > 0 { ctx.rng().between(0, self.pad_max) as usize } else { 0 };
            ctx.send(peer, Note { origin, seq, pad: "x".repeat(len) });
        }
        if self.next < self.ticks {
            ctx.set_timer(Tick, self.interval);
        }
    }
}

/// Unwraps every seed's result, panicking with the first failure (and how many seeds failed).
pub fn all_ok<R>(results: Vec<(u64, Result<R, String>)>) -> Vec<R> {
    let failures: Vec<&String> = results.iter().filter_map(|(_, r)| r.as_ref().err()).collect();
    if let Some(first) = failures.first() {
        panic!("{} of {} seeds failed; first: {first}", failures.len(), results.len());
    }
    results.into_iter().map(|(_, r)| r.unwrap_or_else(|e| unreachable!("{e}"))).collect()
}

/// `Err(message)` unless `cond`.
pub fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(message()) }
}
