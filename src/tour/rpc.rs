//! The tour's second part: from unreliable links to RPC (lecture §1.3, §2.3, §2.4 and [K §5.1]).
//! What can go wrong with a call (F1–F6), what each retry semantics makes of a lost ack (R1–R5),
//! how link layers turn one network model into another, and availability against an SLO.

use crate::cli::{LinkKind, RpcDelivery, RpcFault, RpcWorkload};
use crate::scenarios::links::tally_once;
use crate::scenarios::rpc::{self, Spec, describe};
use herald_core::NodeId;
use herald_protocols::links::Tally;
use herald_sim::availability::{self, downtime_per_year};
use herald_sim::{AdversarySpec, Latency, NetworkModel, SimConfig};
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize)]
pub(super) struct FaultRow {
    id: &'static str,
    fault: &'static str,
    client_saw: String,
    executions: u64,
    likes: u64,
}

#[derive(Serialize)]
pub(super) struct RetryRow {
    label: &'static str,
    lesson: &'static str,
    client_saw: String,
    executions: u64,
    value: String,
}

#[derive(Serialize)]
pub(super) struct LinkRow {
    label: &'static str,
    lesson: &'static str,
    #[serde(flatten)]
    tally: Tally,
}

#[derive(Serialize)]
pub(super) struct AvailabilityRow {
    delivery: &'static str,
    calls: u64,
    within_slo: u64,
    ratio: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Everything the section measured.
#[derive(Serialize)]
pub(super) struct RpcTour {
    faults: Vec<FaultRow>,
    retries: Vec<RetryRow>,
    links: Vec<LinkRow>,
    availability: Vec<AvailabilityRow>,
    /// Whether every lesson showed.
    pub(super) lessons_hold: bool,
}

/// What client 0 saw, attempt by attempt.
fn seen(r: &rpc::Report) -> String {
    let attempts: Vec<String> =
        r.client_outcomes.iter().map(|(t, o)| format!("{} at {:.0} ms", describe(o), *t as f64 / 1e6)).collect();
    if attempts.is_empty() { "nothing".into() } else { attempts.join(", then ") }
}

const LINK_MESSAGES: u64 = 100;

pub(super) fn measure(seed: u64) -> anyhow::Result<RpcTour> {
    let base = SimConfig::new(2);
    let likes = |d, f| rpc::simulate(&base, &Spec::new(RpcWorkload::Likes, d, f), seed);

    // F1–F6 under at-most-once: the raw effect of each fault, no retry to hide it.
    let mut faults = Vec::new();
    for (id, fault, f) in [
        ("F1", "request lost", RpcFault::LoseFirstRequest),
        ("F2", "server crashes before executing", RpcFault::CrashBeforeExecute),
        ("F3", "server executes, crashes before replying", RpcFault::CrashAfterExecute),
        ("F4", "response lost", RpcFault::LoseFirstResponse),
        ("F5", "response delayed past the deadline", RpcFault::DelayFirstResponse),
        ("F6", "request duplicated", RpcFault::DuplicateRequest),
    ] {
        let r = likes(RpcDelivery::AtMostOnce, f)?;
        faults.push(FaultRow {
            id,
            fault,
            client_saw: seen(&r),
            executions: r.server_executions,
            likes: r.final_value,
        });
    }

    // A lost ack (F4) under each retry semantics, and the idempotent alternatives.
    let mut retries = Vec::new();
    let lost_ack = RpcFault::LoseFirstResponse;
    for (label, lesson, d) in [
        ("likes + 1, at-most-once", "R5: no retry, and no way to know", RpcDelivery::AtMostOnce),
        ("likes + 1, at-least-once", "R1: the retry counts twice", RpcDelivery::AtLeastOnce),
        ("likes + 1, exactly-once", "R2: the dedup table answers the retry", RpcDelivery::ExactlyOnce),
    ] {
        let r = likes(d, lost_ack)?;
        let value = format!("{} likes", r.final_value);
        retries.push(RetryRow { label, lesson, client_saw: seen(&r), executions: r.server_executions, value });
    }
    let spec = Spec::new(RpcWorkload::LikeSet, RpcDelivery::AtLeastOnce, lost_ack);
    let r = rpc::simulate(&base, &spec, seed)?;
    retries.push(RetryRow {
        label: "likers ∪ {u}, at-least-once",
        lesson: "R3: idempotent, so the retry is harmless",
        client_saw: seen(&r),
        executions: r.server_executions,
        value: format!("{} likes", r.final_value),
    });
    for (label, lesson, lww) in [
        ("like/unlike race, plain set", "R4: the retried like undoes the unlike", false),
        ("like/unlike race, LWW + tombstones", "R4: the retry's older timestamp loses", true),
    ] {
        let spec = Spec { lww, ..Spec::new(RpcWorkload::LikeRace, RpcDelivery::AtLeastOnce, lost_ack) };
        let r = rpc::simulate(&SimConfig::new(3), &spec, seed)?;
        let liked = r.liked.unwrap_or(false);
        let value = format!(
            "{} likes; user {} {}",
            r.final_value,
            herald_protocols::rpc::LIKES_START,
            if liked { "likes it" } else { "does not" }
        );
        retries.push(RetryRow { label, lesson, client_saw: seen(&r), executions: r.server_executions, value });
    }
    for (label, lesson, d) in [
        ("processPayment £3.99, at-least-once", "the card is charged twice", RpcDelivery::AtLeastOnce),
        ("processPayment £3.99, exactly-once", "charged once", RpcDelivery::ExactlyOnce),
    ] {
        let r = rpc::simulate(&base, &Spec::new(RpcWorkload::Payments, d, lost_ack), seed)?;
        let value = format!("£{:.2} charged", r.final_value as f64 / 100.0);
        retries.push(RetryRow { label, lesson, client_saw: seen(&r), executions: r.server_executions, value });
    }

    // Link layers: three senders' worth of the links workload to node 1.
    let mut link_base = SimConfig::new(3);
    link_base.limits.time_max = Duration::from_secs(2);
    let net = |network: NetworkModel| {
        let mut c = link_base.clone();
        c.model.network = network;
        c
    };
    let fair = net(NetworkModel::FairLoss { loss: 0.3, duplicate: 0.1, duplicates_max: 2, reorder: true });
    let spoof = net(NetworkModel::Arbitrary { adversary: AdversarySpec::SpoofAs { as_node: NodeId(0), ratio: 0.2 } });
    let block = net(NetworkModel::Arbitrary { adversary: AdversarySpec::DropAll });
    let mut links = Vec::new();
    for (label, lesson, config, link) in [
        ("fair-loss 30%, dup 10%, bare", "lost and duplicated", &fair, LinkKind::None),
        ("fair-loss + retry-dedup link", "fair-loss → reliable: exactly once", &fair, LinkKind::RetryDedup),
        ("arbitrary: spoof-as n0, bare", "forged messages delivered", &spoof, LinkKind::None),
        (
            "arbitrary + authenticated link",
            "arbitrary → fair-loss: forgeries rejected",
            &spoof,
            LinkKind::Authenticated,
        ),
        (
            "arbitrary: block all + authenticated",
            "an adversary that blocks defeats it",
            &block,
            LinkKind::Authenticated,
        ),
    ] {
        links.push(LinkRow { label, lesson, tally: tally_once(config, link, LINK_MESSAGES, seed)? });
    }

    // Availability: 200 calls, one every 5 ms, over a fair-loss network.
    let mut lossy = SimConfig::new(2);
    lossy.model.network = NetworkModel::FairLoss { loss: 0.05, duplicate: 0.0, duplicates_max: 0, reorder: true };
    lossy.link.latency = Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(10) };
    let mut availability = Vec::new();
    for (name, d) in [("at-most-once", RpcDelivery::AtMostOnce), ("exactly-once", RpcDelivery::ExactlyOnce)] {
        let mut spec = Spec::new(RpcWorkload::Likes, d, RpcFault::None);
        (spec.calls, spec.interval) = (200, Duration::from_millis(5));
        let r = rpc::simulate(&lossy, &spec, seed)?;
        let slo = availability::evaluate(&spec.slo, &r.samples());
        availability.push(AvailabilityRow {
            delivery: name,
            calls: slo.requests,
            within_slo: slo.good,
            ratio: slo.ratio,
            p50_ms: slo.p50.as_secs_f64() * 1e3,
            p99_ms: slo.p99.as_secs_f64() * 1e3,
        });
    }

    let f1_to_f5_alike = faults[..5].iter().all(|f| f.client_saw == faults[0].client_saw);
    let lessons_hold = f1_to_f5_alike
        && faults[..5].iter().map(|f| f.executions).eq([0, 0, 1, 1, 1])
        && faults[5].executions == 2
        && retries.iter().map(|r| r.executions).take(3).eq([1, 2, 1])
        && retries[4].value.contains("likes it")
        && retries[5].value.contains("does not")
        && links[0].tally.missing > 0
        && (links[1].tally.missing, links[1].tally.duplicates_delivered) == (0, 0)
        && links[2].tally.forged_delivered > 0
        && links[3].tally.forged_delivered == 0
        && links[4].tally.delivered == 0
        && availability[1].ratio > availability[0].ratio;
    Ok(RpcTour { faults, retries, links, availability, lessons_hold })
}

pub(super) fn print(t: &RpcTour) -> std::io::Result<()> {
    outln!("");
    outln!("What can go wrong with an RPC (§1.3): the likes counter (12,300) gets one `likes + 1` call,");
    outln!("at-most-once, with one fault on its first attempt. The client's view of F1–F5 is identical;");
    outln!("only the server knows whether the call ran.");
    for f in &t.faults {
        outln!(
            "  {} {:<42} client saw {:<30} server ran it {}×, likes {}",
            f.id,
            f.fault,
            f.client_saw,
            f.executions,
            f.likes
        );
    }
    outln!("");
    outln!("Retrying after a lost acknowledgement ([K §5.1]):");
    for r in &t.retries {
        outln!("  {:<38} ran {}× → {:<34} {}", r.label, r.executions, r.value, r.lesson);
    }
    outln!("");
    outln!(
        "Link layers turn one network model into another (§2.3): {LINK_MESSAGES} messages from each of n0 and n2 to n1."
    );
    outln!("  {:<38} {:>9} {:>8} {:>6} {:>7}", "", "delivered", "missing", "dups", "forged");
    for l in &t.links {
        let x = &l.tally;
        outln!(
            "  {:<38} {:>9} {:>8} {:>6} {:>7}  {}",
            l.label,
            x.delivered,
            x.missing,
            x.duplicates_delivered,
            x.forged_delivered,
            l.lesson
        );
    }
    outln!("");
    outln!("Availability (§2.4): 200 calls over a network losing 5% of messages; SLO: 99.9% answered within 200 ms");
    outln!("(99.9% allows {:.2} hours of downtime a year).", downtime_per_year(0.999).as_secs_f64() / 3600.0);
    for a in &t.availability {
        outln!(
            "  {:<14} {:>3}/{} within the SLO ({:.1}%) · p50 {:.1} ms · p99 {:.1} ms",
            a.delivery,
            a.within_slo,
            a.calls,
            a.ratio * 100.0,
            a.p50_ms,
            a.p99_ms
        );
    }
    outln!("Try one: herald sim rpc --workload likes --delivery at-least-once --fault lose-first-response");
    Ok(())
}
