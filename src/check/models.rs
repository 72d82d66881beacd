//! The models `herald check` ships, and their flags.

use super::{SearchArgs, run_model, usage};
use clap::Args as ClapArgs;
use herald_check::models::two_phase::TwoPhase;
use serde_json::json;
use std::process::ExitCode;

/// `herald check 2pc`.
#[derive(ClapArgs, Debug)]
pub(crate) struct TwoPcArgs {
    /// Resource managers (1–15).
    #[arg(long, default_value_t = 3)]
    rms: usize,
    /// Also check that every RM eventually commits or aborts, under weak fairness of every action
    /// (builds the whole state graph: keep --rms small).
    #[arg(long)]
    liveness: bool,
    #[command(flatten)]
    search: SearchArgs,
}

pub(crate) fn two_pc(args: &TwoPcArgs) -> anyhow::Result<ExitCode> {
    let model = match TwoPhase::new(args.rms, args.liveness) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let liveness = if args.liveness { " --liveness" } else { "" };
    let command = format!("herald check 2pc --rms {}{liveness}", args.rms);
    let config = json!({"rms": args.rms, "liveness": args.liveness});
    run_model(&model, "2pc", &format!("2pc-rms{}", args.rms), config, &command, &args.search)
}
