//! `herald generals two` (being written).

use clap::Args;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub(crate) struct TwoArgs {}

pub(crate) fn run(_: &TwoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("herald generals two is being written")
}
