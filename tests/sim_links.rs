//! `herald sim links`: the acceptance commands (S4–S6 through the binary), with message counts kept
//! small enough for a debug build where the acceptance command itself would take half a minute.

mod common;
use common::{herald, json, stderr};

fn links(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["sim", "links", "--json"];
    all.extend_from_slice(args);
    let out = herald(&all);
    (out.status.code(), json(&out))
}

#[test]
fn retry_dedup_over_fair_loss_delivers_exactly_once() {
    let (code, v) = links(&[
        "--link",
        "retry-dedup",
        "--network",
        "fair-loss",
        "--loss",
        "0.5",
        "--duplicate",
        "0.2",
        "--messages",
        "100",
        "--seeds",
        "100",
    ]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["runs"], 100);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["delivered_exactly_once"], true);
    assert_eq!(v["delivered"], 100 * 2 * 100, "two senders (nodes 0 and 2) × 100 messages × 100 runs");
    assert_eq!(v["duplicates_delivered"], 0);
    assert_eq!(v["missing"], 0);
    assert_eq!(v["forged_delivered"], 0);
}

#[test]
fn the_bare_fair_loss_network_loses_and_duplicates() {
    let (code, v) = links(&["--link", "none", "--network", "fair-loss", "--loss", "0.5", "--duplicate", "0.2"]);
    assert_eq!(code, Some(0), "no link layer promises nothing over fair loss but no forgery: {v}");
    assert_eq!(v["delivered_exactly_once"], false);
    assert!(v["missing"].as_u64().unwrap() > 0 && v["duplicates_delivered"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn authenticated_against_spoofing_delivers_nothing_forged_exactly_as_in_the_acceptance_command() {
    let out = herald(&["sim", "links", "--link", "authenticated", "--adversary", "spoof", "--seeds", "100", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["network"]["kind"], "arbitrary", "--adversary implies the arbitrary network");
    assert_eq!(v["forged_delivered"], 0);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["runs"], 100);
    // Without the layer, the same adversary's forgeries are delivered, and that is a violation.
    let (code, bare) = links(&["--link", "none", "--adversary", "spoof", "--seeds", "10"]);
    assert_eq!(code, Some(1));
    assert!(bare["forged_delivered"].as_u64().unwrap() > 0, "{bare}");
    assert!(bare["violations"].as_u64().unwrap() > 0);
}

#[test]
fn authenticated_against_modification_and_replay_and_blocking() {
    for adversary in ["modify-random-bit", "replay-everything"] {
        let (code, v) = links(&["--link", "authenticated", "--adversary", adversary, "--seeds", "10"]);
        assert_eq!(code, Some(0), "{adversary}: {v}");
        assert_eq!(v["forged_delivered"], 0, "{adversary}");
        assert_eq!(v["duplicates_delivered"], 0, "{adversary}: replays are rejected");
        assert!(v["delivered"].as_u64().unwrap() > 0);
    }
    let (_, v) = links(&["--link", "authenticated", "--adversary", "drop-all", "--seeds", "3"]);
    assert_eq!(v["delivered"], 0, "authentication cannot stop blocking: {v}");
    assert_eq!(v["missing"], 3 * 2 * 100);
}

#[test]
fn receiver_restart_keeps_exactly_once() {
    let (code, v) = links(&[
        "--link",
        "retry-dedup",
        "--network",
        "fair-loss",
        "--loss",
        "0.5",
        "--node-model",
        "crash-recovery",
        "--crash",
        "1@15ms+40ms",
        "--messages",
        "50",
        "--seeds",
        "20",
    ]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["delivered_exactly_once"], true);
}

#[test]
fn fifo_delivers_in_send_order_and_the_bare_network_does_not() {
    let (code, v) = links(&["--link", "fifo", "--latency", "uniform:1ms..50ms", "--seeds", "20"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["out_of_order"], 0);
    assert_eq!(v["delivered_exactly_once"], true);
    let (_, bare) = links(&["--link", "none", "--latency", "uniform:1ms..50ms", "--seeds", "5"]);
    assert!(bare["out_of_order"].as_u64().unwrap() > 0, "{bare}");
}

#[test]
fn a_single_node_is_a_usage_error() {
    let out = herald(&["sim", "links", "--nodes", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`nodes`"));
}
