//! herald-check: a model checker for plain specifications and for Herald nodes.
//!
//! # Contract
//!
//! - A [`Model`] is initial states, enabled actions and a next-state function, with named
//!   [`Property`]s: `always` (safety), `sometimes` (reachability) and `eventually` (liveness under
//!   weak fairness of the model's fair actions).
//! - [`check`] explores the model breadth-first (shortest counterexamples), depth-first, or by
//!   seeded random walks, on N threads, storing 64-bit fingerprints in a compact visited set of its
//!   own ([`table`]); optional symmetry reduction uses the model's representative function; limits
//!   on depth, unique states and wall time.
//! - Results are pure functions of (model, options): unique states, states generated, verdicts and
//!   the counterexample chosen are the same for every thread count (see [`search`] for how). Only
//!   a time limit that is actually hit, wall times, and DFS's maximum depth depend on the machine.
//! - Liveness is decided on the explored state graph by strongly connected components, not on
//!   acyclic paths ([`liveness`]).
//! - Every counterexample is a replayable [`Path`] that exports to Herald's trace schema
//!   ([`write_trace`]), so the viewer shows it.
//!
//! - A trace of the simulator replays as a path of an [`actor::ActorModel`] over the same nodes
//!   ([`replay`]), and the search can start from any state along it
//!   ([`actor::ActorModel::starting_from`]); `herald check replay` does both from the command line.
//! - Actor models run under synchronous, asynchronous, unbounded-delay or partially synchronous
//!   timing ([`actor::Timing`]: a nondeterministic GST, then a delay bound), and may reduce by
//!   symmetry ([`actor::ActorModel::symmetry`], [`actor::ActorModel::symmetric_nodes`]). Symmetry
//!   is refused with `eventually` properties ([`search::SYMMETRY_AND_LIVENESS`]) and for models
//!   without a representative, rather than ignored.
//!
//! Threads and the wall clock live only in [`pool`]; nothing here does IO except the progress line
//! on standard error and [`write_trace`]'s writer.

pub mod actor;
pub mod fingerprint;
pub mod liveness;
pub mod model;
pub mod models;
pub mod pool;
pub mod replay;
pub mod search;
pub mod table;

pub use model::{Expectation, Model, Path, Property};
pub use search::{ConfigError, Options, Outcome, Report, Stop, Strategy, Verdict, check};

use herald_core::trace::{Source, TRACE_VERSION, TraceHeader, TraceWriter};
use std::io::{self, Write};

/// Writes `path` as a Herald trace (JSON Lines, [`Source::Check`], times are step numbers).
pub fn write_trace<M: Model, W: Write>(
    model: &M,
    path: &Path<M>,
    scenario: &str,
    config: serde_json::Value,
    reproduce: Option<String>,
    out: W,
) -> io::Result<W> {
    let header = TraceHeader {
        herald_trace: TRACE_VERSION,
        source: Source::Check,
        scenario: scenario.to_string(),
        nodes: model.trace_nodes(),
        seed: None,
        model: serde_json::json!({
            "config": config,
            "initial": model.describe_state(&path.states[0]),
            "loop_start": path.loop_start,
        }),
        reproduce,
    };
    let mut w = TraceWriter::new(out, &header)?;
    for e in path.trace_events(model) {
        w.write(e)?;
    }
    w.finish()
}
