//! herald-viz: see a run. Renders any Herald trace (one schema for every driver,
//! [`herald_core::trace`]) the way the lecture draws runs, and draws experiment plots.
//!
//! - [`svg::diagram`]: a space-time (Lamport) diagram as one SVG document — a line per node, an arrow
//!   per delivered message with its slope showing the delay, lost messages ending in ×, duplicated,
//!   modified, injected and replayed messages marked, crashes, recoveries and pauses on the node
//!   lines, partition windows shaded, timers, outputs labelled, and each event's Lamport timestamp
//!   and vector clock in its `<title>` and `data-` attributes.
//! - [`html::page`]: a self-contained HTML explorer of the same diagram (step, scrub, zoom, filter,
//!   click for contents), windowed so that 100,000-event traces stay usable.
//! - [`shiviz::export`]: ShiViz's log format.
//! - [`plot`]: SVG plots (two generals against closed forms, latency histograms, sweep results).
//!
//! Contract: every function is a pure function of its arguments — no file, network or clock access,
//! no randomness; the same trace renders to the same bytes. Nothing it produces makes a network
//! request when viewed: no `http:`/`https:` resource is ever referenced. Bad input (events that do
//! not pair, unknown node ids) is drawn as what it is, never a panic. Depends on `herald-core` only.
#![warn(missing_docs)]

pub mod html;
pub mod layout;
pub mod plot;
pub mod report;
pub mod shiviz;
pub mod svg;
mod text;

pub use layout::{Layout, Mark};
