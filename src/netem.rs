//! `herald netem`: the userspace network emulator (`herald-netem`) as a command, for the
//! namespace tests and for anyone whose kernel has no `sch_netem`.

use crate::report::EXIT_USAGE;
use anyhow::Context as _;
use clap::Args;
use herald_netem::Faults;
use std::process::ExitCode;
use std::time::Duration;

/// `herald netem PORT PORT… [faults]`.
///
/// Forwards every Ethernet frame between the ports (a learning switch: ARP and unknown
/// destinations are flooded) and applies the faults to each frame on each output port, as
/// `tc qdisc add dev PORT root netem delay D J loss L duplicate P reorder R` would. Run it in the
/// namespace holding the hub ends of veth pairs, with offloads off on every veth
/// (`ethtool -K DEV tx off tso off gso off gro off`). SIGTERM or SIGINT stops it and it reports.
#[derive(Args, Debug)]
pub(crate) struct NetemArgs {
    /// The interfaces to forward between (at least 2), such as the hub ends of veth pairs.
    #[arg(required = true, num_args = 2..)]
    ports: Vec<String>,
    /// Mean one-way delay, in ms.
    #[arg(long, default_value_t = 0.0)]
    delay_ms: f64,
    /// Each frame's delay is uniform in delay ± jitter (ms): frames closer together are reordered.
    #[arg(long, default_value_t = 0.0)]
    jitter_ms: f64,
    /// Percent of frames dropped.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Percent of frames sent twice.
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    /// Percent of frames sent at once instead of delayed (netem's `reorder`).
    #[arg(long, default_value_t = 0.0)]
    reorder: f64,
    /// Seeds every fault decision.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// On exit, print exactly one JSON object on stdout: what was forwarded, lost, duplicated.
    #[arg(long)]
    json: bool,
}

fn millis(name: &str, ms: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| anyhow::anyhow!("invalid `--{name}`: {ms} ms"))
}

pub(crate) fn run(args: &NetemArgs) -> anyhow::Result<ExitCode> {
    let faults = Faults {
        delay: millis("delay-ms", args.delay_ms)?,
        jitter: millis("jitter-ms", args.jitter_ms)?,
        loss: args.loss / 100.0,
        duplicate: args.duplicate / 100.0,
        reorder: args.reorder / 100.0,
        seed: args.seed,
    };
    if let Err(e) = faults.validate() {
        eprintln!("herald: {e}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let stop = herald_netem::stop_on_signals().context("installing the SIGTERM/SIGINT handlers")?;
    // The line a caller waits for: printed once every port's socket is open.
    let stats = herald_netem::run_with(&args.ports, faults, &stop, || {
        eprintln!(
            "herald netem: forwarding between {} (delay {} ms ± {} ms, loss {}%, duplicate {}%, reorder {}%, seed {})",
            args.ports.join(", "),
            args.delay_ms,
            args.jitter_ms,
            args.loss,
            args.duplicate,
            args.reorder,
            args.seed
        );
    })?;
    if args.json {
        outln!("{}", serde_json::to_string(&stats)?);
    } else {
        outln!(
            "{} frames received · {} copies sent · {} lost · {} duplicated · {} reordered · {} oversized · {} refused by a port that was down",
            stats.received,
            stats.sent,
            stats.lost,
            stats.duplicated,
            stats.reordered,
            stats.oversized,
            stats.send_errors
        );
    }
    Ok(ExitCode::SUCCESS)
}
