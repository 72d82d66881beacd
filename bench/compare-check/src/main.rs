//! TwoPhase (Lamport's TLA+ spec) on stateright 0.31, in two encodings:
//!
//! - `idiomatic`: the state as stateright's own 2pc example writes it — a `Vec` of RM states, a
//!   `Vec<bool>` of prepared RMs and a `BTreeSet` of messages;
//! - `packed`: the very `u64` packing herald-check's model uses, so the comparison isolates the
//!   checkers' engines (visited set, fingerprinting, scheduling) from the state encoding.
//!
//! Both enable exactly the actions herald-check's `TwoPhase` enables, in the same order, so the
//! state counts must match herald's to the state.
//!
//! Usage: compare-check --rms N --threads T [--encoding idiomatic|packed]
//! Prints one JSON object: states, unique_states, max_depth, elapsed_sec, states_per_sec,
//! peak_rss_bytes.

use stateright::{Checker, Model, Property};
use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Rm {
    Working,
    Prepared,
    Committed,
    Aborted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Tm {
    Init,
    Committed,
    Aborted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Msg {
    Prepared(u8),
    Commit,
    Abort,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    rm: Vec<Rm>,
    tm: Tm,
    tm_prepared: Vec<bool>,
    msgs: BTreeSet<Msg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Action {
    TmRcvPrepared(u8),
    TmCommit,
    TmAbort,
    RmPrepare(u8),
    RmChooseToAbort(u8),
    RmRcvCommitMsg(u8),
    RmRcvAbortMsg(u8),
}

struct Idiomatic {
    rms: usize,
}

impl Model for Idiomatic {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![State { rm: vec![Rm::Working; self.rms], tm: Tm::Init, tm_prepared: vec![false; self.rms], msgs: BTreeSet::new() }]
    }

    fn actions(&self, s: &State, out: &mut Vec<Action>) {
        let init = s.tm == Tm::Init;
        if init && s.tm_prepared.iter().all(|p| *p) {
            out.push(Action::TmCommit);
        }
        if init {
            out.push(Action::TmAbort);
        }
        let commit = s.msgs.contains(&Msg::Commit);
        let abort = s.msgs.contains(&Msg::Abort);
        for rm in 0..self.rms {
            let r = rm as u8;
            if init && s.msgs.contains(&Msg::Prepared(r)) {
                out.push(Action::TmRcvPrepared(r));
            }
            if s.rm[rm] == Rm::Working {
                out.push(Action::RmPrepare(r));
                out.push(Action::RmChooseToAbort(r));
            }
            if commit {
                out.push(Action::RmRcvCommitMsg(r));
            }
            if abort {
                out.push(Action::RmRcvAbortMsg(r));
            }
        }
    }

    fn next_state(&self, s: &State, a: Action) -> Option<State> {
        let mut t = s.clone();
        match a {
            Action::TmRcvPrepared(rm) => t.tm_prepared[rm as usize] = true,
            Action::TmCommit => {
                t.tm = Tm::Committed;
                t.msgs.insert(Msg::Commit);
            }
            Action::TmAbort => {
                t.tm = Tm::Aborted;
                t.msgs.insert(Msg::Abort);
            }
            Action::RmPrepare(rm) => {
                t.rm[rm as usize] = Rm::Prepared;
                t.msgs.insert(Msg::Prepared(rm));
            }
            Action::RmChooseToAbort(rm) | Action::RmRcvAbortMsg(rm) => t.rm[rm as usize] = Rm::Aborted,
            Action::RmRcvCommitMsg(rm) => t.rm[rm as usize] = Rm::Committed,
        }
        Some(t)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("consistent", |_, s: &State| {
                !(s.rm.contains(&Rm::Committed) && s.rm.contains(&Rm::Aborted))
            }),
            Property::sometimes("abort agreement", |_, s: &State| s.rm.iter().all(|r| *r == Rm::Aborted)),
            Property::sometimes("commit agreement", |_, s: &State| s.rm.iter().all(|r| *r == Rm::Committed)),
        ]
    }
}

/// The u64 packing of herald-check's model: 2 bits per RM state, 2 bits TM state, then n bits of
/// tmPrepared, n bits of Prepared messages, a Commit bit and an Abort bit.
struct Packed {
    rms: usize,
}

impl Packed {
    fn rm(&self, s: u64, rm: usize) -> u64 {
        (s >> (2 * rm)) & 3
    }
    fn tm(&self, s: u64) -> u64 {
        (s >> (2 * self.rms)) & 3
    }
    fn tm_prepared(&self, rm: usize) -> u64 {
        1 << (2 * self.rms + 2 + rm)
    }
    fn prepared_msg(&self, rm: usize) -> u64 {
        1 << (3 * self.rms + 2 + rm)
    }
    fn commit(&self) -> u64 {
        1 << (4 * self.rms + 2)
    }
    fn abort(&self) -> u64 {
        1 << (4 * self.rms + 3)
    }
    fn set_rm(&self, s: u64, rm: usize, v: u64) -> u64 {
        (s & !(3 << (2 * rm))) | (v << (2 * rm))
    }
    fn set_tm(&self, s: u64, v: u64) -> u64 {
        (s & !(3 << (2 * self.rms))) | (v << (2 * self.rms))
    }
}

impl Model for Packed {
    type State = u64;
    type Action = Action;

    fn init_states(&self) -> Vec<u64> {
        vec![0]
    }

    fn actions(&self, s: &u64, out: &mut Vec<Action>) {
        let s = *s;
        let init = self.tm(s) == 0;
        let all = ((1u64 << self.rms) - 1) << (2 * self.rms + 2);
        if init && s & all == all {
            out.push(Action::TmCommit);
        }
        if init {
            out.push(Action::TmAbort);
        }
        let (commit, abort) = (s & self.commit() != 0, s & self.abort() != 0);
        for rm in 0..self.rms {
            let r = rm as u8;
            if init && s & self.prepared_msg(rm) != 0 {
                out.push(Action::TmRcvPrepared(r));
            }
            if self.rm(s, rm) == 0 {
                out.push(Action::RmPrepare(r));
                out.push(Action::RmChooseToAbort(r));
            }
            if commit {
                out.push(Action::RmRcvCommitMsg(r));
            }
            if abort {
                out.push(Action::RmRcvAbortMsg(r));
            }
        }
    }

    fn next_state(&self, s: &u64, a: Action) -> Option<u64> {
        let s = *s;
        Some(match a {
            Action::TmRcvPrepared(rm) => s | self.tm_prepared(rm as usize),
            Action::TmCommit => self.set_tm(s, 1) | self.commit(),
            Action::TmAbort => self.set_tm(s, 2) | self.abort(),
            Action::RmPrepare(rm) => self.set_rm(s, rm as usize, 1) | self.prepared_msg(rm as usize),
            Action::RmChooseToAbort(rm) | Action::RmRcvAbortMsg(rm) => self.set_rm(s, rm as usize, 3),
            Action::RmRcvCommitMsg(rm) => self.set_rm(s, rm as usize, 2),
        })
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("consistent", |m: &Self, s: &u64| {
                let any = |v| (0..m.rms).any(|rm| m.rm(*s, rm) == v);
                !(any(2) && any(3))
            }),
            Property::sometimes("abort agreement", |m: &Self, s: &u64| (0..m.rms).all(|rm| m.rm(*s, rm) == 3)),
            Property::sometimes("commit agreement", |m: &Self, s: &u64| (0..m.rms).all(|rm| m.rm(*s, rm) == 2)),
        ]
    }
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<u64>().ok())
        .map_or(0, |k| k * 1024)
}

fn run<M: Model + Send + Sync + 'static>(model: M, threads: usize, dfs: bool) -> (usize, usize, usize)
where
    M::State: std::hash::Hash + Send + Sync + std::fmt::Debug + Clone + PartialEq + 'static,
    M::Action: Send + Sync + std::fmt::Debug + Clone + PartialEq,
{
    let builder = model.checker().threads(threads);
    if dfs {
        let c = builder.spawn_dfs().join();
        (c.state_count(), c.unique_state_count(), c.max_depth())
    } else {
        let c = builder.spawn_bfs().join();
        (c.state_count(), c.unique_state_count(), c.max_depth())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let rms: usize = get("--rms").and_then(|v| v.parse().ok()).unwrap_or(5);
    let threads: usize = get("--threads").and_then(|v| v.parse().ok()).unwrap_or(2);
    let encoding = get("--encoding").unwrap_or_else(|| "idiomatic".into());
    let dfs = !args.iter().any(|a| a == "--bfs");
    let start = Instant::now();
    let (states, unique, depth) = match encoding.as_str() {
        "packed" => run(Packed { rms }, threads, dfs),
        "idiomatic" => run(Idiomatic { rms }, threads, dfs),
        other => {
            eprintln!("--encoding: expected idiomatic or packed, got {other}");
            std::process::exit(2);
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{{\"checker\":\"stateright-0.31\",\"encoding\":\"{encoding}\",\"rms\":{rms},\"threads\":{threads},\"states\":{states},\"unique_states\":{unique},\"max_depth\":{depth},\"elapsed_sec\":{elapsed},\"states_per_sec\":{},\"peak_rss_bytes\":{}}}",
        states as f64 / elapsed,
        peak_rss_bytes()
    );
}
