//! SVG plots for experiments (plotters, SVG backend, rendered into a string): the two generals'
//! lone-attack probability against its closed form, latency histograms, and sweep results (one
//! measured series per name with an optional expected curve).

use plotters::prelude::*;

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlotError {
    /// There is nothing to draw.
    #[error("nothing to plot: {0}")]
    Empty(&'static str),
    /// The drawing backend failed.
    #[error("drawing the plot: {0}")]
    Draw(String),
}

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// One measured row of the two generals' acknowledgement-chain family under independent loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoGeneralsPoint {
    /// Probability a messenger is captured.
    pub loss: f64,
    /// Stages in the chain (d).
    pub stages: u32,
    /// Messengers per stage (k).
    pub messengers: u32,
    /// The measured fraction of lone attacks.
    pub measured: f64,
    /// Its closed form q^(d−1)·pᵏ.
    pub expected: f64,
}

/// The measured probability that one general attacks alone against its closed form, one panel per
/// stage count d, messengers k on the x axis, a log y axis, one colour per loss ratio p. `trials`
/// (per point; `None` for exact values) sets the bottom of the axis: a Monte Carlo estimate cannot
/// see below 1/trials.
pub fn two_generals(points: &[TwoGeneralsPoint], trials: Option<u64>) -> Result<String, PlotError> {
    if points.is_empty() {
        return Err(PlotError::Empty("no two-generals points"));
    }
    let mut stage_counts: Vec<u32> = points.iter().map(|p| p.stages).collect();
    stage_counts.sort_unstable();
    stage_counts.dedup();
    let mut losses: Vec<f64> = points.iter().map(|p| p.loss).collect();
    losses.sort_by(f64::total_cmp);
    losses.dedup();
    let smallest = points.iter().flat_map(|p| [p.measured, p.expected]).filter(|&x| x > 0.0).fold(1.0, f64::min);
    let floor = match trials {
        Some(n) => 0.2 / n.max(1) as f64,
        None => smallest.max(1e-12) / 2.0,
    };
    let (k_min, k_max) = points.iter().fold((u32::MAX, 0), |(lo, hi), p| (lo.min(p.messengers), hi.max(p.messengers)));
    let (k_lo, k_hi) = if k_min == k_max { (k_min.saturating_sub(1), k_max + 1) } else { (k_min, k_max) };
    let columns = stage_counts.len().min(3);
    let rows = stage_counts.len().div_ceil(columns);
    let size = (460 * columns as u32, 360 * rows as u32 + 60);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let title = match trials {
            Some(n) => format!(
                "Two generals: P(one attacks alone), {n} simulated trials per point (dots) vs q^(d-1)·p^k (lines)"
            ),
            None => "Two generals: P(one attacks alone), exact enumeration (dots) vs q^(d-1)·p^k (lines)".to_string(),
        };
        let root = root.titled(&title, ("sans-serif", 20)).map_err(draw_err)?;
        for (panel, &stages) in root.split_evenly((rows, columns)).iter().zip(&stage_counts) {
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("d = {stages} stage{}", if stages == 1 { "" } else { "s" }), ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(k_lo..k_hi, (floor..1.0).log_scale())
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc("messengers per stage (k)")
                .y_desc("P(lone attack)")
                .y_label_formatter(&|y| format!("{y:.0e}"))
                .draw()
                .map_err(draw_err)?;
            for (i, &loss) in losses.iter().enumerate() {
                let colour = Palette99::pick(i).to_rgba();
                let mut series: Vec<TwoGeneralsPoint> =
                    points.iter().filter(|p| p.stages == stages && p.loss == loss).copied().collect();
                series.sort_by_key(|p| p.messengers);
                let line = series.iter().filter(|p| p.expected >= floor).map(|p| (p.messengers, p.expected));
                chart
                    .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                    .map_err(draw_err)?
                    .label(format!("p = {loss}"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
                // A zero estimate has no place on a log axis: those points are left out.
                let dots = series.iter().filter(|p| p.measured >= floor).map(|p| (p.messengers, p.measured));
                chart.draw_series(dots.map(|xy| Circle::new(xy, 4, colour.filled()))).map_err(draw_err)?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// A histogram of `samples` (nanoseconds) in `buckets` equal-width bins from 0 to the largest
/// sample, with the p50, p99 and max marked.
pub fn latency_histogram(title: &str, samples: &[u64], buckets: usize) -> Result<String, PlotError> {
    if samples.is_empty() {
        return Err(PlotError::Empty("no latency samples"));
    }
    let buckets = buckets.max(1);
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let max = *sorted.last().unwrap_or(&0);
    let quantile = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let (p50, p99) = (quantile(0.5), quantile(0.99));
    let width_ns = (max / buckets as u64).max(1);
    let mut counts = vec![0u64; buckets];
    for &s in &sorted {
        counts[((s / width_ns) as usize).min(buckets - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1) as f64 * 1.1;
    let ms = |ns: u64| ns as f64 / 1e6;
    let x_max = ms(width_ns * buckets as u64).max(1e-6);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{title}: {} messages · p50 {:.2} ms · p99 {:.2} ms · max {:.2} ms",
                    samples.len(),
                    ms(p50),
                    ms(p99),
                    ms(max)
                ),
                ("sans-serif", 16),
            )
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, 0.0..top)
            .map_err(draw_err)?;
        chart.configure_mesh().x_desc("one-way delay (ms)").y_desc("messages").draw().map_err(draw_err)?;
        let bar = RGBColor(31, 95, 191);
        chart
            .draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
                let x0 = ms(width_ns * i as u64);
                Rectangle::new([(x0, 0.0), (x0 + ms(width_ns), c as f64)], bar.mix(0.7).filled())
            }))
            .map_err(draw_err)?;
        for (label, at, colour) in [("p50", p50, GREEN), ("p99", p99, RED), ("max", max, BLACK)] {
            let x = ms(at);
            chart
                .draw_series(LineSeries::new([(x, 0.0), (x, top)], colour.stroke_width(1)))
                .map_err(draw_err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// One named series of a sweep: measured points, and optionally the curve theory expects.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Measured (x, y), drawn as dots joined by a thin line.
    pub measured: Vec<(f64, f64)>,
    /// Expected (x, y), drawn as a dashed-looking thick line; empty for none.
    pub expected: Vec<(f64, f64)>,
}

/// Sweep results: y against the swept parameter x, one colour per series.
pub fn sweep(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Result<String, PlotError> {
    let all = || series.iter().flat_map(|s| s.measured.iter().chain(&s.expected));
    if all().next().is_none() {
        return Err(PlotError::Empty("no sweep points"));
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let pad = |lo: f64, hi: f64| {
        let d = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.5 };
        (lo - d, hi + d)
    };
    let ((x0, x1), (y0, y1)) = (pad(x0, x1), pad(y0.min(0.0), y1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err)?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(draw_err)?;
        for (i, s) in series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            if !s.expected.is_empty() {
                chart
                    .draw_series(LineSeries::new(s.expected.iter().copied(), colour.mix(0.5).stroke_width(3)))
                    .map_err(draw_err)?;
            }
            chart
                .draw_series(LineSeries::new(s.measured.iter().copied(), colour.stroke_width(1)))
                .map_err(draw_err)?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
            chart.draw_series(s.measured.iter().map(|&xy| Circle::new(xy, 4, colour.filled()))).map_err(draw_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_svg_and_deterministic() {
        let p = TwoGeneralsPoint { loss: 0.3, stages: 2, messengers: 3, measured: 0.02, expected: 0.0189 };
        let a = two_generals(&[p], Some(1000)).unwrap();
        assert!(a.starts_with("<svg") && a.contains("d = 2 stages"));
        assert_eq!(a, two_generals(&[p], Some(1000)).unwrap());
        let h = latency_histogram("t", &[1_000_000, 2_000_000, 2_500_000, 9_000_000], 10).unwrap();
        assert!(h.contains("4 messages") && h.contains("<rect"), "{h}");
        let s = Series { name: "both".into(), measured: vec![(1.0, 0.5), (2.0, 0.6)], expected: vec![(1.0, 0.49)] };
        assert!(sweep("s", "x", "y", &[s]).unwrap().contains("both"));
        assert_eq!(two_generals(&[], None), Err(PlotError::Empty("no two-generals points")));
        assert!(latency_histogram("t", &[], 10).is_err());
    }
}
