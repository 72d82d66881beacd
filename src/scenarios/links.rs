//! `herald sim links` (being written).

use crate::cli::SimArgs;
use herald_sim::SimConfig;
use std::process::ExitCode;

pub(crate) fn run(_args: &SimArgs, _config: &SimConfig) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this scenario is being written")
}
