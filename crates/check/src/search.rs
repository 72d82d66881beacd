//! The search engines: breadth-first (shortest counterexamples), depth-first, and seeded random
//! walks, all parallel, all deterministic in what they report.
//!
//! # Determinism across thread counts
//!
//! - **BFS** runs level by level. Workers expand the states of level d in chunks and keep the
//!   successors not seen before level d; one thread then inserts them chunk by chunk, so the first
//!   parent in frontier order wins and level d + 1 has one order whatever the thread count. A
//!   violation stops the search at the end of its level; the counterexample is the first violating
//!   state of that level in frontier order, with its first-found parents. A state limit stops it at
//!   the end of the level that reaches it.
//! - **DFS** shares the visited set between workers that split their stacks on demand. A run that
//!   finishes visits every reachable state once, so its counts and verdicts do not depend on the
//!   schedule. When a property fails, or when a depth or state limit applies (their effect depends
//!   on visiting order), the reported result is that of the sequential DFS, which is re-run when
//!   more than one thread was used.
//! - **Random walks** number the walks; walk i draws from its own stream of the seed, every walk
//!   runs, and the lowest-numbered violating walk supplies the counterexample.
//! - A time limit that is hit stops everything wherever it is (`complete: false`); one not hit
//!   changes nothing.

use crate::liveness;
use crate::model::{Expectation, Model, Path, Property};
use crate::pool::{self, Progress, Stopwatch};
use crate::table::{FpMap, FpSet};
use herald_core::Rng;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How to explore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Breadth-first: counterexamples are shortest.
    Bfs,
    /// Depth-first: the least memory besides the visited set.
    Dfs,
    /// `walks` seeded random walks of at most `length` steps.
    RandomWalks {
        /// How many walks.
        walks: u64,
        /// Steps per walk at most.
        length: u32,
        /// The seed.
        seed: u64,
    },
}

/// Search options. Check them with [`Options::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The search strategy.
    pub strategy: Strategy,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Whether to fingerprint each state's [`Model::representative`].
    pub symmetry: bool,
    /// Do not expand states at this depth.
    pub max_depth: Option<u32>,
    /// Stop once this many unique states are known.
    pub max_states: Option<u64>,
    /// Stop after this much wall time (the result is then marked incomplete).
    pub time_limit: Option<Duration>,
    /// Draw a progress line on standard error.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            strategy: Strategy::Bfs,
            threads: 1,
            symmetry: false,
            max_depth: None,
            max_states: None,
            time_limit: None,
            progress: false,
        }
    }
}

/// A configuration the checker refuses, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field is out of range.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Options {
    /// Checks the options.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, message: &str| Err(ConfigError::Invalid { field, message: message.into() });
        if self.threads == 0 || self.threads > 1024 {
            return bad("threads", "must be between 1 and 1024");
        }
        if let Strategy::RandomWalks { walks, length, .. } = self.strategy {
            if walks == 0 {
                return bad("walks", "must be at least 1");
            }
            if length == 0 {
                return bad("length", "a walk takes at least one step");
            }
        }
        if self.max_states == Some(0) {
            return bad("max_states", "must be at least 1");
        }
        if self.time_limit.is_some_and(|t| t.is_zero()) {
            return bad("time_limit", "must be positive");
        }
        Ok(())
    }
}

/// A property's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Proved for every reachable state (or behaviour).
    Holds,
    /// A counterexample (or, for `sometimes`, the absence of any example) was found.
    Violated,
    /// The search was incomplete and found no counterexample.
    Unknown,
}

/// One property's outcome.
pub struct Outcome<M: Model> {
    /// The property's name.
    pub name: String,
    /// Its expectation.
    pub expectation: Expectation,
    /// The verdict.
    pub verdict: Verdict,
    /// The counterexample of a violated `always` or `eventually` property, or the example of a
    /// `sometimes` property that holds (when the strategy keeps paths).
    pub path: Option<Path<M>>,
}

/// Why a search stopped before covering every reachable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// A property failed.
    Violation,
    /// The depth bound cut the search.
    Depth,
    /// The state limit was reached.
    States,
    /// The time limit passed.
    Time,
    /// Random walks cover only what they visit.
    Sampled,
}

/// What a search found.
pub struct Report<M: Model> {
    /// States generated (initial states plus every successor, repeats included).
    pub states: u64,
    /// Distinct states (fingerprints) visited.
    pub unique_states: u64,
    /// The deepest depth at which a new state was found.
    pub max_depth: u32,
    /// Wall time.
    pub elapsed: Duration,
    /// `None` if every reachable state was explored.
    pub stopped: Option<Stop>,
    /// Bytes allocated for the visited set.
    pub visited_bytes: u64,
    /// One outcome per property, in the model's order.
    pub properties: Vec<Outcome<M>>,
}

impl<M: Model> Clone for Outcome<M> {
    fn clone(&self) -> Self {
        Self { name: self.name.clone(), expectation: self.expectation, verdict: self.verdict, path: self.path.clone() }
    }
}

impl<M: Model> std::fmt::Debug for Outcome<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("name", &self.name)
            .field("expectation", &self.expectation)
            .field("verdict", &self.verdict)
            .field("path", &self.path)
            .finish()
    }
}

impl<M: Model> std::fmt::Debug for Report<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("states", &self.states)
            .field("unique_states", &self.unique_states)
            .field("max_depth", &self.max_depth)
            .field("stopped", &self.stopped)
            .field("properties", &self.properties)
            .finish_non_exhaustive()
    }
}

impl<M: Model> Report<M> {
    /// Whether every reachable state was explored.
    pub fn complete(&self) -> bool {
        self.stopped.is_none()
    }
    /// The outcome of the property named `name`.
    pub fn property(&self, name: &str) -> Option<&Outcome<M>> {
        self.properties.iter().find(|p| p.name == name)
    }
    /// Whether some property was violated.
    pub fn violated(&self) -> bool {
        self.properties.iter().any(|p| p.verdict == Verdict::Violated)
    }
    /// States generated per second of wall time.
    pub fn states_per_sec(&self) -> f64 {
        self.states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Why [`check`] refuses symmetry reduction for a model with `eventually` properties.
pub const SYMMETRY_AND_LIVENESS: &str = "not with `eventually` properties: liveness is decided under weak \
     fairness of particular actions, and a symmetry-reduced graph merges states whose enabled actions are \
     permuted, so a cycle that is fair in the reduced graph need not be fair in the model, nor the converse; \
     check liveness without symmetry";

/// Checks `model`'s properties. Safety (`always`, `sometimes`) is checked by the chosen strategy;
/// `eventually` properties by a fairness-aware search of the whole state graph
/// ([`liveness`](crate::liveness)), after the safety search. Symmetry reduction is refused for a
/// model without a [`Model::representative`] and for one with `eventually` properties
/// ([`SYMMETRY_AND_LIVENESS`]): both would otherwise be silently ignored.
pub fn check<M: Model>(model: &M, options: &Options) -> Result<Report<M>, ConfigError> {
    options.validate()?;
    let props = model.properties();
    if props.len() > 64 {
        return Err(ConfigError::Invalid { field: "properties", message: "at most 64 per model".into() });
    }
    if options.symmetry && !model.has_symmetry() {
        return Err(ConfigError::Invalid {
            field: "symmetry",
            message: "this model defines no symmetry (its representative is the identity)".into(),
        });
    }
    if options.symmetry && props.iter().any(|p| p.expectation == Expectation::Eventually) {
        return Err(ConfigError::Invalid { field: "symmetry", message: SYMMETRY_AND_LIVENESS.into() });
    }
    let clock = Stopwatch::start();
    let progress = Progress::default();
    let mut report = pool::watch(&progress, options.progress, options.time_limit, || match options.strategy {
        Strategy::Bfs => bfs(model, &props, options, &progress),
        Strategy::Dfs => {
            let sequential = options.threads == 1 || options.max_depth.is_some() || options.max_states.is_some();
            if sequential {
                dfs_sequential(model, &props, options, &progress)
            } else {
                let r = dfs_parallel(model, &props, options, &progress);
                if r.stopped == Some(Stop::Violation) {
                    let again = Progress::default();
                    dfs_sequential(model, &props, options, &again)
                } else {
                    r
                }
            }
        }
        Strategy::RandomWalks { walks, length, seed } => {
            walks_search(model, &props, options, &progress, walks, length, seed)
        }
    });
    if props.iter().any(|p| p.expectation == Expectation::Eventually) {
        let live = pool::watch(&progress, false, options.time_limit.map(|t| t.saturating_sub(clock.elapsed())), || {
            liveness::check(model, &props, options.max_states, &progress)
        });
        for (i, outcome) in live {
            report.properties[i] = outcome;
        }
    }
    report.elapsed = clock.elapsed();
    Ok(report)
}

/// Per-property progress of a safety search.
struct Found {
    /// Bit i: property i is decided (always violated, or sometimes seen).
    decided: u64,
    /// The fingerprint path (or walk) that decided each property.
    paths: Vec<Option<Vec<u64>>>,
}

impl Found {
    fn new(n: usize) -> Self {
        Self { decided: 0, paths: vec![None; n] }
    }
}

/// Bit i set: property i is decided by `state` (an `always` that fails, a `sometimes` that holds).
#[inline]
fn judge<M: Model>(model: &M, props: &[Property<M>], state: &M::State) -> u64 {
    let mut mask = 0;
    for (i, p) in props.iter().enumerate() {
        let decided = match p.expectation {
            Expectation::Always => !(p.condition)(model, state),
            Expectation::Sometimes => (p.condition)(model, state),
            Expectation::Eventually => false,
        };
        if decided {
            mask |= 1 << i;
        }
    }
    mask
}

fn always_mask<M: Model>(props: &[Property<M>]) -> u64 {
    props.iter().enumerate().filter(|(_, p)| p.expectation == Expectation::Always).fold(0, |m, (i, _)| m | 1 << i)
}

#[inline]
fn canon<M: Model>(model: &M, symmetry: bool, state: M::State) -> (u64, M::State) {
    if symmetry {
        let rep = model.representative(&state);
        (model.fingerprint(&rep), rep)
    } else {
        (model.fingerprint(&state), state)
    }
}

fn finish<M: Model>(
    model: &M,
    props: &[Property<M>],
    options: &Options,
    found: Found,
    counts: (u64, u64, u32, u64),
    stopped: Option<Stop>,
    keep_paths: bool,
) -> Report<M> {
    let (states, unique_states, max_depth, visited_bytes) = counts;
    let properties = props
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let decided = found.decided & (1 << i) != 0;
            let verdict = match (p.expectation, decided) {
                (Expectation::Always, true) => Verdict::Violated,
                (Expectation::Sometimes, true) => Verdict::Holds,
                (Expectation::Always, false) if stopped.is_none() => Verdict::Holds,
                (Expectation::Sometimes, false) if stopped.is_none() => Verdict::Violated,
                _ => Verdict::Unknown,
            };
            let path = if keep_paths {
                found.paths[i].as_ref().and_then(|fps| Path::from_fingerprints(model, fps, options.symmetry))
            } else {
                None
            };
            Outcome { name: p.name.clone(), expectation: p.expectation, verdict, path }
        })
        .collect();
    Report { states, unique_states, max_depth, elapsed: Duration::ZERO, stopped, visited_bytes, properties }
}

/// A successor that was not visited before the current level.
struct Candidate<S> {
    fp: u64,
    parent: u64,
    mask: u64,
    state: S,
}

const CHUNK: usize = 512;

fn bfs<M: Model>(model: &M, props: &[Property<M>], options: &Options, progress: &Progress) -> Report<M> {
    let table = FpMap::new();
    let mut found = Found::new(props.len());
    let stop_mask = always_mask(props);
    let mut states = 0u64;
    let mut frontier: Vec<(u64, M::State)> = Vec::new();
    let decide = |found: &mut Found, fp: u64, mask: u64, table: &FpMap| {
        let fresh = mask & !found.decided;
        if fresh != 0 {
            let path = parents(table, fp);
            for i in 0..props.len() {
                if fresh & (1 << i) != 0 {
                    found.paths[i] = Some(path.clone());
                }
            }
            found.decided |= fresh;
        }
    };
    for s in model.init_states() {
        states += 1;
        let (fp, s) = canon(model, options.symmetry, s);
        if table.insert([fp, fp]) {
            let mask = judge(model, props, &s);
            decide(&mut found, fp, mask, &table);
            frontier.push((fp, s));
        }
    }
    let mut depth = 0u32;
    let mut stopped = None;
    progress.unique.store(table.len(), Ordering::Relaxed);
    loop {
        if found.decided & stop_mask != 0 {
            stopped = Some(Stop::Violation);
            break;
        }
        if frontier.is_empty() {
            break;
        }
        if options.max_depth.is_some_and(|d| depth >= d) {
            stopped = Some(Stop::Depth);
            break;
        }
        if options.max_states.is_some_and(|m| table.len() >= m) {
            stopped = Some(Stop::States);
            break;
        }
        if progress.timed_out.load(Ordering::Acquire) {
            stopped = Some(Stop::Time);
            break;
        }
        // Phase A (parallel): expand the level, keep successors unseen before it.
        let chunks = frontier.len().div_ceil(CHUNK);
        let outputs: Vec<Mutex<Vec<Candidate<M::State>>>> = (0..chunks).map(|_| Mutex::new(Vec::new())).collect();
        let next_chunk = AtomicUsize::new(0);
        let generated = AtomicU64::new(0);
        pool::run(options.threads, |_| {
            let mut actions = Vec::new();
            loop {
                let c = next_chunk.fetch_add(1, Ordering::Relaxed);
                // A level can take minutes: the time limit is honoured between chunks too.
                if c >= chunks || progress.timed_out.load(Ordering::Acquire) {
                    return;
                }
                let mut out = Vec::new();
                let mut n = 0;
                for (pfp, s) in &frontier[c * CHUNK..((c + 1) * CHUNK).min(frontier.len())] {
                    if !model.within_boundary(s) {
                        continue;
                    }
                    actions.clear();
                    model.actions(s, &mut actions);
                    for a in &actions {
                        let Some(next) = model.next_state(s, a) else { continue };
                        n += 1;
                        let (fp, next) = canon(model, options.symmetry, next);
                        if !table.contains(fp) {
                            let mask = judge(model, props, &next);
                            out.push(Candidate { fp, parent: *pfp, mask, state: next });
                        }
                    }
                }
                generated.fetch_add(n, Ordering::Relaxed);
                progress.states.fetch_add(n, Ordering::Relaxed);
                *outputs[c].lock().expect("chunk lock") = out;
            }
        });
        states += generated.load(Ordering::Relaxed);
        if progress.timed_out.load(Ordering::Acquire) {
            // The level is incomplete: its successors are dropped, not half-inserted.
            stopped = Some(Stop::Time);
            break;
        }
        // Phase B (one thread, frontier order): the first parent wins.
        let mut next = Vec::new();
        for out in outputs {
            for cand in out.into_inner().expect("chunk lock") {
                if table.insert([cand.fp, cand.parent]) {
                    decide(&mut found, cand.fp, cand.mask, &table);
                    next.push((cand.fp, cand.state));
                }
            }
        }
        if next.is_empty() {
            break;
        }
        depth += 1;
        progress.see_depth(u64::from(depth));
        progress.unique.store(table.len(), Ordering::Relaxed);
        frontier = next;
    }
    finish(model, props, options, found, (states, table.len(), depth, table.bytes()), stopped, true)
}

/// The fingerprints from an initial state to `fp`, following first-found parents.
fn parents(table: &FpMap, mut fp: u64) -> Vec<u64> {
    let mut path = vec![fp];
    loop {
        let [_, parent] = table.get(fp).expect("every visited state has an entry");
        if parent == fp {
            break;
        }
        path.push(parent);
        fp = parent;
    }
    path.reverse();
    path
}

fn dfs_sequential<M: Model>(model: &M, props: &[Property<M>], options: &Options, progress: &Progress) -> Report<M> {
    let table = FpSet::new();
    let mut found = Found::new(props.len());
    let stop_mask = always_mask(props);
    let mut states = 0u64;
    let mut max_depth = 0u32;
    let mut stopped = None;
    let mut stack: Vec<(u64, M::State, u32)> = Vec::new();
    let mut path: Vec<u64> = Vec::new();
    let decide = |found: &mut Found, mask: u64, path: &[u64], fp: u64| {
        let fresh = mask & !found.decided;
        if fresh != 0 {
            let mut p = path.to_vec();
            p.push(fp);
            for i in 0..props.len() {
                if fresh & (1 << i) != 0 {
                    found.paths[i] = Some(p.clone());
                }
            }
            found.decided |= fresh;
        }
    };
    let mut inits = Vec::new();
    for s in model.init_states() {
        states += 1;
        let (fp, s) = canon(model, options.symmetry, s);
        if table.insert(fp) {
            decide(&mut found, judge(model, props, &s), &[], fp);
            inits.push((fp, s, 0));
        }
    }
    stack.extend(inits.into_iter().rev());
    let mut actions = Vec::new();
    let mut pops = 0u64;
    'search: while let Some((fp, s, d)) = stack.pop() {
        if found.decided & stop_mask != 0 {
            stopped = Some(Stop::Violation);
            break;
        }
        pops += 1;
        if pops % 4096 == 0 {
            progress.states.store(states, Ordering::Relaxed);
            progress.unique.store(table.len(), Ordering::Relaxed);
            progress.see_depth(u64::from(max_depth));
            if progress.timed_out.load(Ordering::Acquire) {
                stopped = Some(Stop::Time);
                break;
            }
        }
        path.truncate(d as usize);
        path.push(fp);
        if options.max_depth.is_some_and(|m| d >= m) {
            stopped = Some(Stop::Depth);
            continue;
        }
        if !model.within_boundary(&s) {
            continue;
        }
        actions.clear();
        model.actions(&s, &mut actions);
        let mark = stack.len();
        for a in &actions {
            let Some(next) = model.next_state(&s, a) else { continue };
            states += 1;
            let (nfp, next) = canon(model, options.symmetry, next);
            if table.insert(nfp) {
                max_depth = max_depth.max(d + 1);
                decide(&mut found, judge(model, props, &next), &path, nfp);
                if found.decided & stop_mask != 0 {
                    stopped = Some(Stop::Violation);
                    break 'search;
                }
                if options.max_states.is_some_and(|m| table.len() >= m) {
                    stopped = Some(Stop::States);
                    break 'search;
                }
                stack.push((nfp, next, d + 1));
            }
        }
        // Explore the first action's successor first.
        stack[mark..].reverse();
    }
    finish(model, props, options, found, (states, table.len(), max_depth, table.bytes()), stopped, true)
}

/// Work shared between DFS workers.
struct Shared<S> {
    batches: Vec<Vec<(S, u32)>>,
    idle: usize,
}

fn dfs_parallel<M: Model>(model: &M, props: &[Property<M>], options: &Options, progress: &Progress) -> Report<M> {
    let table = FpSet::new();
    let stop_mask = always_mask(props);
    let decided = AtomicU64::new(0);
    let states = AtomicU64::new(0);
    let max_depth = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let timed_out = AtomicBool::new(false);
    let hungry = AtomicUsize::new(0);
    let threads = options.threads;
    let mut first = Vec::new();
    for s in model.init_states() {
        states.fetch_add(1, Ordering::Relaxed);
        let (fp, s) = canon(model, options.symmetry, s);
        if table.insert(fp) {
            decided.fetch_or(judge(model, props, &s), Ordering::Relaxed);
            first.push((s, 0u32));
        }
    }
    if decided.load(Ordering::Relaxed) & stop_mask != 0 {
        stop.store(true, Ordering::Relaxed);
    }
    let shared = Mutex::new(Shared { batches: vec![first], idle: 0 });
    let wake = Condvar::new();
    let halt = || {
        stop.store(true, Ordering::Release);
        let _guard = shared.lock().expect("work lock");
        wake.notify_all();
    };
    pool::run(threads, |_| {
        let mut stack: Vec<(M::State, u32)> = Vec::new();
        let mut actions = Vec::new();
        let mut successors: Vec<(u64, M::State)> = Vec::new();
        let mut toucher = table.toucher();
        let (mut local_states, mut local_depth) = (0u64, 0u32);
        let flush = |n: &mut u64, d: u32| {
            states.fetch_add(*n, Ordering::Relaxed);
            progress.states.fetch_add(*n, Ordering::Relaxed);
            max_depth.fetch_max(u64::from(d), Ordering::Relaxed);
            progress.see_depth(u64::from(d));
            *n = 0;
        };
        loop {
            let mut pops = 0u32;
            while let Some((s, d)) = stack.pop() {
                pops = pops.wrapping_add(1);
                if pops % 1024 == 0 {
                    flush(&mut local_states, local_depth);
                    progress.unique.store(table.len(), Ordering::Relaxed);
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    if progress.timed_out.load(Ordering::Acquire) {
                        timed_out.store(true, Ordering::Release);
                        halt();
                        return;
                    }
                    if hungry.load(Ordering::Relaxed) > 0 && stack.len() >= 2 {
                        // Give away the bottom half: the shallowest entries, the largest subtrees.
                        let donated: Vec<_> = stack.drain(..stack.len() / 2).collect();
                        let mut work = shared.lock().expect("work lock");
                        work.batches.push(donated);
                        wake.notify_one();
                    }
                }
                if !model.within_boundary(&s) {
                    continue;
                }
                actions.clear();
                model.actions(&s, &mut actions);
                // All successors first, then their home slots touched in one tight loop (so the
                // cache misses overlap: see `Toucher`), then the inserts, in the same order.
                successors.clear();
                for a in &actions {
                    let Some(next) = model.next_state(&s, a) else { continue };
                    local_states += 1;
                    successors.push(canon(model, options.symmetry, next));
                }
                for (fp, _) in &successors {
                    toucher.touch(*fp);
                }
                for (fp, next) in successors.drain(..) {
                    if toucher.insert(fp) {
                        local_depth = local_depth.max(d + 1);
                        let mask = judge(model, props, &next);
                        if mask != 0 && {
                            decided.fetch_or(mask, Ordering::AcqRel);
                            mask & stop_mask != 0
                        } {
                            flush(&mut local_states, local_depth);
                            halt();
                            return;
                        }
                        stack.push((next, d + 1));
                    }
                }
            }
            flush(&mut local_states, local_depth);
            let mut work = shared.lock().expect("work lock");
            work.idle += 1;
            hungry.fetch_add(1, Ordering::Relaxed);
            loop {
                if stop.load(Ordering::Acquire) {
                    return;
                }
                if let Some(batch) = work.batches.pop() {
                    work.idle -= 1;
                    hungry.fetch_sub(1, Ordering::Relaxed);
                    stack = batch;
                    break;
                }
                if work.idle == threads {
                    wake.notify_all();
                    return;
                }
                work = wake.wait(work).expect("work lock");
            }
        }
    });
    let stopped = if decided.load(Ordering::Relaxed) & stop_mask != 0 {
        Some(Stop::Violation)
    } else if timed_out.load(Ordering::Relaxed) {
        Some(Stop::Time)
    } else {
        None
    };
    let found = Found { decided: decided.load(Ordering::Relaxed), paths: vec![None; props.len()] };
    let counts = (states.load(Ordering::Relaxed), table.len(), max_depth.load(Ordering::Relaxed) as u32, table.bytes());
    finish(model, props, options, found, counts, stopped, false)
}

/// The walk index that decided a property, and its fingerprints.
type WalkPath = (u64, Vec<u64>);

#[allow(clippy::too_many_arguments)]
fn walks_search<M: Model>(
    model: &M,
    props: &[Property<M>],
    options: &Options,
    progress: &Progress,
    walks: u64,
    length: u32,
    seed: u64,
) -> Report<M> {
    let table = FpSet::new();
    let inits = model.init_states();
    let next_walk = AtomicU64::new(0);
    let states = AtomicU64::new(0);
    let max_depth = AtomicU64::new(0);
    // Per property: the lowest walk index that decided it, and its path.
    let best: Mutex<Vec<Option<WalkPath>>> = Mutex::new(vec![None; props.len()]);
    let timed_out = AtomicBool::new(false);
    pool::run(options.threads, |_| {
        let mut actions = Vec::new();
        loop {
            let w = next_walk.fetch_add(1, Ordering::Relaxed);
            if w >= walks || inits.is_empty() {
                return;
            }
            if progress.timed_out.load(Ordering::Acquire) {
                timed_out.store(true, Ordering::Relaxed);
                return;
            }
            let mut rng = Rng::derive(seed, w);
            let mut s = inits[rng.index(inits.len())].clone();
            let mut fps = Vec::new();
            let mut decided = 0u64;
            let mut n = 1u64;
            for step in 0..=length {
                let (fp, _) = canon(model, options.symmetry, s.clone());
                fps.push(fp);
                if table.insert(fp) {
                    max_depth.fetch_max(u64::from(step), Ordering::Relaxed);
                }
                let mask = judge(model, props, &s) & !decided;
                if mask != 0 {
                    decided |= mask;
                    let mut best = best.lock().expect("walk lock");
                    for (i, slot) in best.iter_mut().enumerate() {
                        if mask & (1 << i) != 0 && slot.as_ref().is_none_or(|(bw, _)| *bw > w) {
                            *slot = Some((w, fps.clone()));
                        }
                    }
                }
                if step == length || options.max_depth.is_some_and(|m| step >= m) || !model.within_boundary(&s) {
                    break;
                }
                actions.clear();
                model.actions(&s, &mut actions);
                let successors: Vec<M::State> = actions.iter().filter_map(|a| model.next_state(&s, a)).collect();
                if successors.is_empty() {
                    break;
                }
                s = successors[rng.index(successors.len())].clone();
                n += 1;
            }
            states.fetch_add(n, Ordering::Relaxed);
            progress.states.fetch_add(n, Ordering::Relaxed);
            progress.unique.store(table.len(), Ordering::Relaxed);
        }
    });
    let best = best.into_inner().expect("walk lock");
    let mut found = Found::new(props.len());
    for (i, b) in best.into_iter().enumerate() {
        if let Some((_, fps)) = b {
            found.decided |= 1 << i;
            found.paths[i] = Some(fps);
        }
    }
    let stopped = if timed_out.load(Ordering::Relaxed) { Some(Stop::Time) } else { Some(Stop::Sampled) };
    let counts = (states.load(Ordering::Relaxed), table.len(), max_depth.load(Ordering::Relaxed) as u32, table.bytes());
    finish(model, props, options, found, counts, stopped, true)
}
