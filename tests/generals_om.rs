//! `herald generals byzantine --algorithm om`: the acceptance commands against the real
//! binary (the seeded sweep with fewer seeds than the 2,000, to stay quick in debug builds).

use std::path::PathBuf;
use std::process::Output;

mod common;
use common::{herald, json};

/// A fresh directory for one test's counterexamples.
fn failures_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("herald-om-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `herald generals byzantine --algorithm om <args> --failures-dir <dir> --json`.
fn om(args: &[&str], dir: &std::path::Path) -> Output {
    let mut all = vec!["generals", "byzantine", "--algorithm", "om"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--failures-dir", dir.to_str().unwrap(), "--json"]);
    herald(&all)
}

#[test]
fn four_generals_one_traitor_exhaustive_has_no_violation() {
    let dir = failures_dir("four");
    let out = om(&["--generals", "4", "--traitors", "1", "--exhaustive"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["runs"], 54 + 3 * 18, "every traitor placement, order and message choice");
    assert_eq!(v["messages_max"], 9);
    assert!(v.get("reproduce").is_none());
    assert!(!dir.exists(), "no counterexample, no trace");
}

#[test]
fn three_generals_one_traitor_exhaustive_fails_and_the_case_replays() {
    let dir = failures_dir("three");
    let out = om(&["--generals", "3", "--traitors", "1", "--exhaustive"], &dir);
    assert_eq!(out.status.code(), Some(1), "a violation exits with 1");
    let v = json(&out);
    assert!(v["violations"].as_u64().unwrap() > 0);
    let reproduce = v["reproduce"].as_str().expect("a reproduce command");
    assert!(
        reproduce
            .starts_with("herald generals byzantine --algorithm om --generals 3 --traitors 1 --exhaustive --case ")
    );
    let trace_path = PathBuf::from(v["counterexample"].as_str().expect("a counterexample trace"));
    let trace = std::fs::read(&trace_path).expect("the trace was written");
    let (header, events) = herald_core::trace::read(&trace[..]).expect("a valid trace");
    assert_eq!(header.reproduce.as_deref(), Some(reproduce));
    assert!(events.iter().any(
        |e| matches!(&e.kind, herald_core::trace::EventKind::Send { body, .. } if body["msg"]["path"].is_array())
    ));

    // The reproduce command replays exactly that run: one case, violated, the same trace.
    let replay_dir = failures_dir("three-replay");
    let args: Vec<&str> = reproduce.split(' ').skip(5).collect();
    let again = om(&args, &replay_dir);
    assert_eq!(again.status.code(), Some(1));
    let w = json(&again);
    assert_eq!((w["runs"].as_u64(), w["violations"].as_u64()), (Some(1), Some(1)));
    assert_eq!(w["reproduce"].as_str(), Some(reproduce));
    let replayed = std::fs::read(w["counterexample"].as_str().unwrap()).unwrap();
    assert_eq!(replayed, trace, "the replay's trace is byte-identical");
}

#[test]
fn seven_generals_two_traitors_seeded_has_no_violation_whatever_the_threads() {
    let dir = failures_dir("seven");
    let run = |threads: &str| {
        let out = om(&["--generals", "7", "--traitors", "2", "--seeds", "150", "--threads", threads], &dir);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        json(&out)
    };
    let v = run("2");
    assert_eq!(v["violations"], 0);
    assert_eq!(v["runs"], 150);
    assert!(v["messages_max"].as_u64().unwrap() <= 156);
    assert_eq!(v, run("1"), "the result does not depend on the thread count");
}

#[test]
fn seven_generals_om2_without_traitors_sends_156_messages() {
    let dir = failures_dir("count");
    let out = om(&["--generals", "7", "--m", "2", "--traitors", "0", "--seeds", "10"], &dir);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["messages_per_run"], 156.0);
    assert_eq!((v["messages_min"].as_u64(), v["messages_max"].as_u64()), (Some(156), Some(156)));
    assert_eq!(v["violations"], 0);
}

#[test]
fn a_case_without_the_search_and_a_search_too_big_are_usage_errors() {
    let dir = failures_dir("usage");
    let out = om(&["--generals", "4", "--traitors", "1", "--case", "3"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`--case`"));
    let out = om(&["--generals", "7", "--traitors", "2", "--exhaustive"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`--exhaustive`"));
}
