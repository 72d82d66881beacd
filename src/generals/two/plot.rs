//! `--plot FILE.svg`: the measured probability that one general attacks alone against its closed
//! form q^(d−1)·pᵏ, one panel per stage count d, messengers k on the x axis, a log y axis, one
//! colour per loss ratio p. The lesson it draws: the risk falls exponentially in the messengers of
//! the last stage, and never reaches zero.

use anyhow::anyhow;
use plotters::prelude::*;
use std::path::Path;

/// One measured row of the acknowledgement-chain family under independent loss.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Point {
    pub(crate) loss: f64,
    pub(crate) stages: u32,
    pub(crate) messengers: u32,
    /// The measured fraction of lone attacks.
    pub(crate) measured: f64,
    /// Its closed form.
    pub(crate) expected: f64,
}

/// Draws `points` into an SVG at `path`. `trials` (per row, `None` for exact values) sets the
/// bottom of the y axis: a Monte Carlo estimate cannot see below 1/trials.
pub(crate) fn draw(path: &Path, points: &[Point], trials: Option<u64>) -> anyhow::Result<()> {
    anyhow::ensure!(!points.is_empty(), "nothing to plot");
    let mut stage_counts: Vec<u32> = points.iter().map(|p| p.stages).collect();
    stage_counts.sort_unstable();
    stage_counts.dedup();
    let mut losses: Vec<f64> = points.iter().map(|p| p.loss).collect();
    losses.sort_by(f64::total_cmp);
    losses.dedup();
    let smallest = points.iter().flat_map(|p| [p.measured, p.expected]).filter(|&x| x > 0.0).fold(1.0, f64::min);
    let floor = match trials {
        Some(n) => 0.2 / n as f64,
        None => smallest.max(1e-12) / 2.0,
    };
    let (k_min, k_max) = points.iter().fold((u32::MAX, 0), |(lo, hi), p| (lo.min(p.messengers), hi.max(p.messengers)));
    let (k_lo, k_hi) = if k_min == k_max { (k_min.saturating_sub(1), k_max + 1) } else { (k_min, k_max) };

    let columns = stage_counts.len().min(3);
    let rows = stage_counts.len().div_ceil(columns);
    let size = (460 * columns as u32, 360 * rows as u32 + 60);
    let root = SVGBackend::new(path, size).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = match trials {
        Some(n) => {
            format!("Two generals: P(one attacks alone), {n} simulated trials per point (dots) vs q^(d-1)·p^k (lines)")
        }
        None => "Two generals: P(one attacks alone), exact enumeration (dots) vs q^(d-1)·p^k (lines)".to_string(),
    };
    let root = root.titled(&title, ("sans-serif", 20)).map_err(|e| err(&e))?;
    for (panel, &stages) in root.split_evenly((rows, columns)).iter().zip(&stage_counts) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("d = {stages} stage{}", if stages == 1 { "" } else { "s" }), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(k_lo..k_hi, (floor..1.0).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("messengers per stage (k)")
            .y_desc("P(lone attack)")
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, &loss) in losses.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let mut series: Vec<Point> =
                points.iter().filter(|p| p.stages == stages && p.loss == loss).copied().collect();
            series.sort_by_key(|p| p.messengers);
            let line = series.iter().filter(|p| p.expected >= floor).map(|p| (p.messengers, p.expected));
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(format!("p = {loss}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
            // A zero estimate has no place on a log axis: those points are left out.
            let dots = series.iter().filter(|p| p.measured >= floor).map(|p| (p.messengers, p.measured));
            chart.draw_series(dots.map(|xy| Circle::new(xy, 4, colour.filled()))).map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
