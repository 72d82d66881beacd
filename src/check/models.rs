//! The models `herald check` ships, and their flags.

use super::replay::ReplayOpts;
use super::{Meta, SearchArgs, run_actor, run_model, usage};
use clap::Args as ClapArgs;
use herald_check::models::{failure_detector as fd, links, om, sm, two_generals, two_phase::TwoPhase};
use herald_protocols::byzantine::om::Majority;
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

/// `herald check byzantine-om`.
#[derive(ClapArgs, Debug)]
pub(crate) struct OmArgs {
    /// Generals n, the commander included (3–7).
    #[arg(long, default_value_t = 4)]
    generals: usize,
    /// Traitors (any placement, the commander included, is checked).
    #[arg(long, default_value_t = 1)]
    traitors: usize,
    /// The algorithm's m (1 or 2).
    #[arg(long, default_value_t = 1)]
    m: usize,
    /// Use the median instead of the strict majority.
    #[arg(long)]
    median: bool,
    #[command(flatten)]
    search: SearchArgs,
}

pub(crate) fn byzantine_om(args: &OmArgs, replay: Option<&ReplayOpts>) -> anyhow::Result<ExitCode> {
    let majority = if args.median { Majority::Median } else { Majority::StrictOrDefault };
    let model = match om::model(args.generals, args.traitors, args.m, majority) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let median = if args.median { " --median" } else { "" };
    let command = format!(
        "herald check byzantine-om --generals {} --traitors {} --m {}{median}",
        args.generals, args.traitors, args.m
    );
    let config = json!({"generals": args.generals, "traitors": args.traitors, "m": args.m, "median": args.median,
        "timing": "synchronous", "network": "reliable"});
    let stem = format!("om-n{}-m{}-t{}{median}", args.generals, args.m, args.traitors).replace(' ', "");
    let meta = Meta { name: "byzantine-om", stem, config, command, scenarios: &["om", "byzantine-om"] };
    run_actor(model, meta, &args.search, replay)
}

/// `herald check byzantine-sm`.
#[derive(ClapArgs, Debug)]
pub(crate) struct SmArgs {
    /// Generals n, the commander included (3 or 4).
    #[arg(long, default_value_t = 3)]
    generals: usize,
    /// Traitors (any placement, the commander included, is checked).
    #[arg(long, default_value_t = 1)]
    traitors: usize,
    #[command(flatten)]
    search: SearchArgs,
}

pub(crate) fn byzantine_sm(args: &SmArgs, replay: Option<&ReplayOpts>) -> anyhow::Result<ExitCode> {
    let model = match sm::model(args.generals, args.traitors) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let command = format!("herald check byzantine-sm --generals {} --traitors {}", args.generals, args.traitors);
    let config = json!({"generals": args.generals, "traitors": args.traitors, "m": 1,
        "timing": "synchronous", "network": "reliable"});
    let stem = format!("sm-n{}-m1-t{}", args.generals, args.traitors);
    let meta = Meta { name: "byzantine-sm", stem, config, command, scenarios: &["generals-sm", "byzantine-sm"] };
    run_actor(model, meta, &args.search, replay)
}

/// `herald check retry-dedup`.
#[derive(ClapArgs, Debug)]
pub(crate) struct LinkArgs {
    /// Payloads node 0 sends to node 1 (1–4).
    #[arg(long, default_value_t = 2)]
    messages: u64,
    /// Duplications the network may make in all (0–3).
    #[arg(long, default_value_t = 1)]
    duplicates: u8,
    /// Retransmission timer firings allowed in all (0–6).
    #[arg(long, default_value_t = 3)]
    timer_fires: u32,
    /// Check the bare workload without the link layer (the control).
    #[arg(long)]
    bare: bool,
    #[command(flatten)]
    search: SearchArgs,
}

pub(crate) fn retry_dedup(args: &LinkArgs, replay: Option<&ReplayOpts>) -> anyhow::Result<ExitCode> {
    let bare = if args.bare { " --bare" } else { "" };
    let command = format!(
        "herald check retry-dedup --messages {} --duplicates {} --timer-fires {}{bare}",
        args.messages, args.duplicates, args.timer_fires
    );
    let config = json!({"messages": args.messages, "duplicates": args.duplicates, "timer_fires": args.timer_fires,
        "bare": args.bare, "network": "fair_loss", "timing": "asynchronous"});
    let stem = format!("retry-dedup-m{}-d{}{}", args.messages, args.duplicates, if args.bare { "-bare" } else { "" });
    let meta = Meta { name: "retry-dedup", stem, config, command, scenarios: &["links", "retry-dedup"] };
    if args.bare {
        match links::bare(args.messages, args.duplicates) {
            Ok(m) => run_actor(m, meta, &args.search, replay),
            Err(e) => usage(e),
        }
    } else {
        match links::retry_dedup(args.messages, args.duplicates, args.timer_fires) {
            Ok(m) => run_actor(m, meta, &args.search, replay),
            Err(e) => usage(e),
        }
    }
}

/// The timing model of `herald check failure-detector`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum FdTimingArg {
    /// Every message arrives before the next timer fires.
    Synchronous,
    /// No bound on delay: a message may arrive after any number of timers.
    Asynchronous,
    /// Unbounded delay until a global stabilisation time the checker picks, then delay at most
    /// 10 ms (checked for eventual strong accuracy).
    PartiallySynchronous,
}

/// The detector of `herald check failure-detector`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum FdDetectorArg {
    /// A fixed timeout (checked for strong accuracy).
    Timeout,
    /// A timeout that doubles after each false suspicion (checked for accuracy once it grew).
    EventuallyPerfect,
}

/// `herald check failure-detector`.
#[derive(ClapArgs, Debug)]
pub(crate) struct FdArgs {
    /// The timing model.
    #[arg(long, value_enum)]
    timing: FdTimingArg,
    /// The detector.
    #[arg(long, value_enum, default_value = "timeout")]
    detector: FdDetectorArg,
    /// Nodes, each pinging every other (2 or 3).
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    /// Timer firings allowed in all (1–8).
    #[arg(long, default_value_t = 6)]
    timer_fires: u32,
    /// Crash-stop crashes allowed in all (fewer than --nodes).
    #[arg(long, default_value_t = 0)]
    crashes: u8,
    #[command(flatten)]
    search: SearchArgs,
}

pub(crate) fn failure_detector(args: &FdArgs, replay: Option<&ReplayOpts>) -> anyhow::Result<ExitCode> {
    let (timing, timing_name) = match args.timing {
        FdTimingArg::Synchronous => (fd::FdTiming::Synchronous, "synchronous"),
        FdTimingArg::Asynchronous => (fd::FdTiming::Asynchronous, "asynchronous"),
        FdTimingArg::PartiallySynchronous => (fd::FdTiming::PartiallySynchronous, "partially-synchronous"),
    };
    let (kind, detector_name) = match args.detector {
        FdDetectorArg::Timeout => (fd::Kind::Timeout, "timeout"),
        FdDetectorArg::EventuallyPerfect => (fd::Kind::EventuallyPerfect, "eventually-perfect"),
    };
    let model = match fd::model(kind, timing, args.nodes, args.timer_fires, args.crashes) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let command = format!(
        "herald check failure-detector --timing {timing_name} --detector {detector_name} --nodes {} --timer-fires {} --crashes {}",
        args.nodes, args.timer_fires, args.crashes
    );
    let mut config = json!({"timing": timing_name, "detector": detector_name, "nodes": args.nodes,
        "timer_fires": args.timer_fires, "crashes": args.crashes, "network": "reliable",
        "ping_interval_ms": fd::PING_INTERVAL.as_millis() as u64, "timeout_ms": fd::TIMEOUT.as_millis() as u64});
    if matches!(args.timing, FdTimingArg::PartiallySynchronous) {
        config["delay_max_after_gst_ms"] = json!(fd::DELAY_MAX.as_millis() as u64);
    }
    let stem = format!("fd-{detector_name}-{timing_name}-n{}", args.nodes);
    let meta = Meta { name: "failure-detector", stem, config, command, scenarios: &["failure-detector"] };
    run_actor(model, meta, &args.search, replay)
}

/// `herald check two-generals`.
#[derive(ClapArgs, Debug)]
pub(crate) struct TwoGeneralsArgs {
    /// Stages of the acknowledgement chain (1–6).
    #[arg(long, default_value_t = 3)]
    stages: u32,
    /// Messengers (copies) per stage (1–3).
    #[arg(long, default_value_t = 1)]
    messengers: u32,
    #[command(flatten)]
    search: SearchArgs,
}

pub(crate) fn two_generals(args: &TwoGeneralsArgs, replay: Option<&ReplayOpts>) -> anyhow::Result<ExitCode> {
    let model = match two_generals::ack_chain(args.stages, args.messengers) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let command = format!("herald check two-generals --stages {} --messengers {}", args.stages, args.messengers);
    let config =
        json!({"stages": args.stages, "messengers": args.messengers, "network": "fair_loss", "timing": "synchronous"});
    let stem = format!("two-generals-d{}-k{}", args.stages, args.messengers);
    let meta = Meta { name: "two-generals", stem, config, command, scenarios: &["two-generals"] };
    run_actor(model, meta, &args.search, replay)
}
