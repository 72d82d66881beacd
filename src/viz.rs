//! `herald viz TRACE`: render a trace file as the HTML explorer, an SVG diagram, a ShiViz log, or
//! a latency histogram. Thin glue over `herald-viz`.

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use herald_core::trace::{self, TraceEvent, TraceHeader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A self-contained HTML explorer: step, scrub, zoom, filter, click for contents.
    Html,
    /// A static SVG space-time diagram.
    Svg,
    /// ShiViz's log format (regex line, delimiter line, then event and host/vector-clock lines).
    Shiviz,
    /// An SVG histogram of the delivered messages' one-way delays.
    Latency,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Svg => "svg",
            Self::Shiviz => "log",
            Self::Latency => "latency.svg",
        }
    }
}

/// `herald viz`.
#[derive(Args, Debug, Clone)]
pub(crate) struct VizArgs {
    /// The trace (JSON Lines, as `--trace` writes it).
    trace: PathBuf,
    /// Where to write (default: the trace's path with the format's extension).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// What to write (default: from the output's extension, `.svg` ⇒ svg, else html).
    #[arg(long, value_enum)]
    format: Option<Format>,
}

pub(crate) fn read(path: &Path) -> anyhow::Result<(TraceHeader, Vec<TraceEvent>)> {
    let file = std::fs::File::open(path).with_context(|| format!("invalid `trace`: cannot open {}", path.display()))?;
    let read = trace::read_detailed(std::io::BufReader::new(file))
        .with_context(|| format!("invalid `trace` {}", path.display()))?;
    if let Some(torn) = read.torn_tail {
        eprintln!(
            "warning: {}: skipped the torn last line {} ({} bytes without a newline: its writer stopped mid-line, as after kill -9)",
            path.display(),
            torn.line,
            torn.bytes
        );
    }
    Ok((read.header, read.events))
}

pub(crate) fn run(args: &VizArgs) -> anyhow::Result<ExitCode> {
    let format = args.format.unwrap_or(match args.output.as_ref().and_then(|o| o.extension()) {
        Some(e) if e == "svg" => Format::Svg,
        Some(e) if e == "log" => Format::Shiviz,
        _ => Format::Html,
    });
    let output = args.output.clone().unwrap_or_else(|| args.trace.with_extension(format.extension()));
    let (header, events) = read(&args.trace)?;
    if format == Format::Svg && events.len() > 20_000 {
        eprintln!(
            "note: the static SVG draws all {} events; `--format html` opens big runs a window at a time",
            events.len()
        );
    }
    let text = match format {
        Format::Html => herald_viz::html::page(&header, &events),
        Format::Svg => herald_viz::svg::diagram(&header, &events),
        Format::Shiviz => herald_viz::shiviz::export(&header, &events)?,
        Format::Latency => {
            let layout = herald_viz::Layout::new(&header, &events);
            let delays: Vec<u64> = layout.arrows.iter().map(|a| a.t_recv.saturating_sub(a.t_send)).collect();
            herald_viz::plot::latency_histogram(&header.scenario, &delays, 40)?
        }
    };
    std::fs::write(&output, text).with_context(|| format!("writing {}", output.display()))?;
    eprintln!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}
