//! `herald sim links`: the link layers of `herald_protocols::links` carrying the test workload
//! (every node but node 1 sends `--messages` numbered messages to node 1) over the configured
//! network, for one seed or a sweep of `--seeds`.
//!
//! Each run is judged by the model oracles and by what the chosen layer promises over the
//! deliveries: `retry-dedup` exactly once (every payload, when every sender stayed correct);
//! `authenticated` nothing forged and nothing twice (it promises fair-loss, so losses are allowed);
//! `fifo` exactly once and in send order; `none` nothing forged (which an active adversary breaks:
//! the demonstration), and exactly once on a reliable network. The JSON report sums the tallies over the runs.

use super::{Failures, Sweep};
use crate::cli::{LinkKind, SimArgs};
use crate::report::{EXIT_USAGE, Outcome};
use herald_core::{Node, NodeId};
use herald_protocols::links::{
    self, AuthenticatedConfig, AuthenticatedLink, Delivery, FifoLink, RetryDedupConfig, RetryDedupLink, Tally, Workload,
};
use herald_sim::oracle::{self, Oracle};
use herald_sim::{NetworkModel, Run, SimConfig, Simulation};
use serde_json::json;
use std::process::ExitCode;

pub(crate) fn run(args: &SimArgs, config: &SimConfig) -> anyhow::Result<ExitCode> {
    if config.nodes < 2 {
        eprintln!("herald: invalid `nodes`: the links scenario sends from node 0 to node 1, so it needs 2 nodes");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let w = Workload::new(args.messages);
    match args.link {
        LinkKind::None => drive(args, config, w, |w| w),
        LinkKind::RetryDedup => drive(args, config, w, |w| RetryDedupLink::new(w, RetryDedupConfig::default())),
        LinkKind::Authenticated => {
            drive(args, config, w, |w| AuthenticatedLink::new(w, AuthenticatedConfig::default()))
        }
        LinkKind::Fifo => drive(args, config, w, FifoLink::new),
    }
}

fn name(link: LinkKind) -> &'static str {
    match link {
        LinkKind::None => "none",
        LinkKind::RetryDedup => "retry-dedup",
        LinkKind::Authenticated => "authenticated",
        LinkKind::Fifo => "fifo",
    }
}

fn tally_of<N: Node<Output = Delivery>>(w: &Workload, run: &Run<N>) -> Tally {
    links::tally(w, run.config.nodes, run.outputs.iter().map(|o| (o.node, &o.value)))
}

/// The model oracles, then what `link` promises over the deliveries.
fn oracles<N: Node<Output = Delivery>>(link: LinkKind, config: &SimConfig, w: &Workload) -> Vec<Box<dyn Oracle<N>>> {
    let mut v = oracle::model_oracles::<N>(config);
    let reliable = matches!(config.model.network, NetworkModel::Reliable { .. });
    let (w1, w2) = (w.clone(), w.clone());
    v.push(oracle::from_fn("nothing-forged", move |run: &Run<N>| links::check_nothing_forged(&tally_of(&w1, run))));
    if link == LinkKind::None && !reliable {
        return v; // a bare fair-loss or arbitrary network may lose and duplicate: only forgery counts
    }
    let exactly_once = match link {
        LinkKind::None => reliable,
        LinkKind::RetryDedup | LinkKind::Fifo => true,
        LinkKind::Authenticated => false,
    };
    v.push(oracle::from_fn(
        if exactly_once { "delivered-exactly-once" } else { "delivered-at-most-once" },
        move |run: &Run<N>| {
            let t = tally_of(&w2, run);
            links::check_at_most_once(&t)?;
            // Messages of a sender that crashed may be lost for good (lecture §2.3).
            let senders_correct =
                NodeId::range(run.config.nodes).filter(|&id| id != w2.receiver).all(|id| run.correct.contains(&id));
            if exactly_once && senders_correct { links::check_exactly_once(&t) } else { Ok(()) }
        },
    ));
    if link == LinkKind::Fifo {
        let w3 = w.clone();
        v.push(oracle::from_fn("fifo-order", move |run: &Run<N>| links::check_in_order(&tally_of(&w3, run))));
    }
    v
}

/// What each sweep worker keeps: its simulation and the oracles.
type Worker<N> = (Simulation<N>, Vec<Box<dyn Oracle<N>>>);

struct Judged {
    tally: Tally,
    outcome: Outcome,
}

fn drive<N: Node<Output = Delivery>>(
    args: &SimArgs,
    config: &SimConfig,
    w: Workload,
    make: impl Fn(Workload) -> N + Clone + Send + Sync + 'static,
) -> anyhow::Result<ExitCode> {
    let build = || -> anyhow::Result<Worker<N>> {
        let (w2, make) = (w.clone(), make.clone());
        let sim = Simulation::new(config.clone(), move |_| make(w2.clone()))?.recording(true);
        Ok((sim, oracles(args.link, config, &w)))
    };
    let Sweep { seeds, results, wall_ms } = super::sweep(args, build, |(sim, oracles), seed| {
        let run = sim.run(seed);
        super::trace_single(args, &run, "links", seed);
        Judged { tally: tally_of(&w, &run), outcome: Outcome::of(&run, oracles) }
    })?;
    let mut sum = Tally::default();
    let mut exactly_once = true;
    for (_, j) in &results {
        let t = &j.tally;
        sum.delivered += t.delivered;
        sum.duplicates_delivered += t.duplicates_delivered;
        sum.missing += t.missing;
        sum.forged_delivered += t.forged_delivered;
        sum.out_of_order += t.out_of_order;
        exactly_once &= links::check_exactly_once(t).is_ok();
    }
    let failures = Failures::of(results.iter().map(|(seed, j)| (*seed, &j.outcome)))?;
    let v = json!({
        "scenario": "links",
        "link": name(args.link),
        "network": &config.model.network,
        "nodes": config.nodes,
        "messages_per_sender": args.messages,
        "seed": args.seed,
        "runs": results.len(),
        "violations": failures.violations,
        "liveness_failures": failures.liveness_failures,
        "delivered_exactly_once": exactly_once,
        "delivered": sum.delivered,
        "duplicates_delivered": sum.duplicates_delivered,
        "missing": sum.missing,
        "forged_delivered": sum.forged_delivered,
        "out_of_order": sum.out_of_order,
        "failed_seeds": failures.failed,
        "wall_ms": wall_ms,
    });
    if args.json {
        outln!("{v}");
    } else {
        outln!(
            "herald sim links · link {} · seeds {}..{} · {} runs in {:.1} s",
            name(args.link),
            seeds.start,
            seeds.end,
            results.len(),
            wall_ms / 1e3
        );
        outln!("  violations  {} (liveness failures {})", failures.violations, failures.liveness_failures);
        outln!(
            "  delivered   {} · duplicates {} · missing {} · forged {} · out of order {}",
            sum.delivered,
            sum.duplicates_delivered,
            sum.missing,
            sum.forged_delivered,
            sum.out_of_order
        );
        outln!("  exactly once in every run: {exactly_once}");
        failures.print()?;
    }
    Ok(failures.exit_code())
}

/// One run of the links workload (`messages` from every node but node 1 to node 1) over `link`
/// with `seed`: what the receiver got. The tour's link rows.
pub(crate) fn tally_once(config: &SimConfig, link: LinkKind, messages: u64, seed: u64) -> anyhow::Result<Tally> {
    fn once<N: Node<Output = Delivery>>(
        config: &SimConfig,
        w: Workload,
        make: impl Fn(Workload) -> N + 'static,
        seed: u64,
    ) -> anyhow::Result<Tally> {
        let w2 = w.clone();
        let run = Simulation::new(config.clone(), move |_| make(w2.clone()))?.run(seed);
        Ok(tally_of(&w, &run))
    }
    let w = Workload::new(messages);
    match link {
        LinkKind::None => once(config, w, |w| w, seed),
        LinkKind::RetryDedup => once(config, w, |w| RetryDedupLink::new(w, RetryDedupConfig::default()), seed),
        LinkKind::Authenticated => once(config, w, |w| AuthenticatedLink::new(w, AuthenticatedConfig::default()), seed),
        LinkKind::Fifo => once(config, w, FifoLink::new, seed),
    }
}
