//! `herald generals byzantine` (being written).

use clap::Args;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub(crate) struct ByzantineArgs {}

pub(crate) fn run(_: &ByzantineArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("herald generals byzantine is being written")
}
