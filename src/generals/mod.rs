//! `herald generals`: the two generals and the Byzantine generals (lecture §2.1–2.2).

pub(crate) mod byzantine;
pub(crate) mod om;
pub(crate) mod sm;
pub(crate) mod two;

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub(crate) enum GeneralsCommand {
    /// The two generals over a fair-loss channel: outcome probabilities by Monte Carlo beside
    /// their closed forms, and the impossibility shown by search.
    Two(two::TwoArgs),
    /// The Byzantine generals: OM(m) or SM(m) with traitors, over seeds or exhaustively.
    Byzantine(byzantine::ByzantineArgs),
}

pub(crate) fn run(cmd: &GeneralsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GeneralsCommand::Two(args) => two::run(args),
        GeneralsCommand::Byzantine(args) => byzantine::run(args),
    }
}
