//! `herald`: the command-line front end. Thin glue: it parses arguments into library
//! configurations, runs them, and prints tables or JSON. Logic lives in the library crates.
//!
//! Exit codes: 0 ok · 1 a property was violated · 2 usage or configuration error · 3 liveness failed.

/// `println!` that returns an error instead of panicking when stdout is closed (`herald … | head`),
/// so that a broken pipe ends the program quietly with success.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod bench;
mod bench_rpc;
mod check;
mod cli;
mod cluster;
mod generals;
mod netem;
mod parse;
mod report;
mod scenario;
mod scenarios;
mod tour;
mod tour_report;
mod viz;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("herald: {e:#}");
            ExitCode::from(report::EXIT_USAGE)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
