//! `herald check`: the acceptance commands against the real binary.

mod common;
use common::{herald, json, stderr};

#[test]
fn check_2pc_reports_the_known_state_counts_and_verdicts() {
    // 288 distinct states for three RMs is TLC's count for TwoPhase (also derived independently in
    // crates/check/tests/two_phase.rs).
    let out = herald(&["check", "2pc", "--rms", "3", "--threads", "2", "--json", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["unique_states"], 288);
    assert_eq!(v["properties"]["consistent"], "holds");
    assert!(v["states_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["max_depth"].as_u64().unwrap() > 0);
    assert!(v.get("counterexample").is_none());
    let dfs = json(&herald(&["check", "2pc", "--rms", "3", "--dfs", "--threads", "1", "--json", "--quiet"]));
    assert_eq!(dfs["unique_states"], 288);
    assert_eq!(dfs["states"], v["states"]);
    let sym = json(&herald(&["check", "2pc", "--rms", "5", "--symmetry", "--json", "--quiet"]));
    let full = json(&herald(&["check", "2pc", "--rms", "5", "--json", "--quiet"]));
    assert!(sym["unique_states"].as_u64().unwrap() < full["unique_states"].as_u64().unwrap());
}

#[test]
fn check_2pc_liveness_and_bad_input() {
    let out = herald(&["check", "2pc", "--rms", "2", "--liveness", "--json", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["properties"]["all decide"], "holds");
    let bad = herald(&["check", "2pc", "--rms", "16"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("rms"), "{}", stderr(&bad));
    let bad = herald(&["check", "2pc", "--threads", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("threads"), "{}", stderr(&bad));
}
