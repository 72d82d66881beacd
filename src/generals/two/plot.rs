//! `--plot FILE.svg`: the measured probability that one general attacks alone against its closed
//! form q^(d−1)·pᵏ, drawn by `herald_viz::plot::two_generals` (one panel per stage count d,
//! messengers k on the x axis, a log y axis, one colour per loss ratio p). The lesson it draws:
//! the risk falls exponentially in the messengers of the last stage, and never reaches zero.

use anyhow::Context as _;
use std::path::Path;

pub(crate) use herald_viz::plot::TwoGeneralsPoint as Point;

/// Draws `points` into an SVG at `path`. `trials` (per row, `None` for exact values) sets the
/// bottom of the y axis: a Monte Carlo estimate cannot see below 1/trials.
pub(crate) fn draw(path: &Path, points: &[Point], trials: Option<u64>) -> anyhow::Result<()> {
    let svg = herald_viz::plot::two_generals(points, trials)?;
    std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))
}
