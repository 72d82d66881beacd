//! `herald generals byzantine --algorithm sm`, run as a user runs it: the acceptance commands of
//! the SM(m) issue, exit codes, reproduce commands and counterexample traces.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{herald, json, temp};

fn sm(args: &[&str]) -> Output {
    let mut all = vec!["generals", "byzantine", "--algorithm", "sm"];
    all.extend_from_slice(args);
    herald(&all)
}

#[test]
fn exhaustive_three_generals_one_traitor_has_no_violation_whatever_the_thread_count() {
    let out = sm(&["--generals", "3", "--traitors", "1", "--exhaustive", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["violations"], 0);
    // Traitor commander: 4 slots (2 rounds × 2 lieutenants) → 81 scripts; a traitor lieutenant:
    // 2 slots → 9 scripts; each × 2 orders: 162 + 18 + 18.
    assert_eq!(v["runs"], 198);
    assert_eq!(v["algorithm"], "sm");
    assert_eq!((v["generals"].as_u64(), v["m"].as_u64(), v["traitors"].as_u64()), (Some(3), Some(1), Some(1)));
    assert_eq!(v["exhaustive"], true);
    assert!(v.get("reproduce").is_none() && v.get("counterexample").is_none());
    let one = json(&sm(&["--generals", "3", "--traitors", "1", "--exhaustive", "--json", "--threads", "1"]));
    assert_eq!(one, v, "results do not depend on the thread count");
}

#[test]
fn five_generals_three_traitors_over_500_seeds_has_no_violation() {
    let out = sm(&["--generals", "5", "--traitors", "3", "--seeds", "500", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["ic1_violations"], 0);
    assert_eq!(v["ic2_violations"], 0);
    assert_eq!(v["runs"], 500);
    assert_eq!(v["m"], 3);
    let (min, max, mean) = (
        v["messages_min"].as_u64().unwrap(),
        v["messages_max"].as_u64().unwrap(),
        v["messages_per_run"].as_f64().unwrap(),
    );
    assert!(min as f64 <= mean && mean <= max as f64 && max > 0, "{v}");
}

#[test]
fn fewer_than_m_plus_2_generals_exits_2_naming_the_field() {
    let out = sm(&["--generals", "3", "--traitors", "2", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid `generals`") && stderr.contains("m + 2"), "{stderr}");
    assert!(out.stdout.is_empty());
    let out = sm(&["--generals", "4", "--traitors", "1", "--m", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sm(&["--generals", "4", "--traitors", "1", "--case", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`case`"));
}

/// Two traitors against SM(1): the seeded sweep finds violations, names the first, writes its
/// trace, and its reproduce command reproduces it.
#[test]
fn too_many_traitors_exit_1_with_a_reproducible_counterexample() {
    let dir = temp("seeded");
    let out = sm(&[
        "--generals",
        "4",
        "--traitors",
        "2",
        "--m",
        "1",
        "--seeds",
        "100",
        "--json",
        "--failures-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert!(v["violations"].as_u64().unwrap() > 0);
    let reproduce = v["reproduce"].as_str().unwrap();
    assert!(reproduce.contains("--seeds 1") && reproduce.contains("--seed "), "{reproduce}");
    assert_trace(Path::new(v["counterexample"].as_str().unwrap()), 4);
    let again = rerun(reproduce, &dir);
    assert_eq!(again.status.code(), Some(1));
    let w = json(&again);
    assert_eq!(w["runs"], 1);
    assert_eq!(w["first_violation"], v["first_violation"]);
}

/// SM(0) with a traitor commander: the exhaustive search finds the equivocation, and `--case`
/// replays it from the reproduce command.
#[test]
fn exhaustive_finds_a_counterexample_and_case_replays_it() {
    let dir = temp("exhaustive");
    let out = sm(&[
        "--generals",
        "3",
        "--traitors",
        "1",
        "--m",
        "0",
        "--exhaustive",
        "--json",
        "--failures-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["runs"], 30, "commander: 9 scripts, each lieutenant: 3, each × 2 orders");
    assert!(v["ic1_violations"].as_u64().unwrap() > 0);
    assert_eq!(v["ic2_violations"], 0, "a traitor lieutenant cannot forge the commander's order");
    let reproduce = v["reproduce"].as_str().unwrap();
    assert!(reproduce.contains("--exhaustive --case "), "{reproduce}");
    assert!(v["first_violation"].as_str().unwrap().contains("IC1"));
    let again = rerun(reproduce, &dir);
    assert_eq!(again.status.code(), Some(1));
    let w = json(&again);
    assert_eq!(w["runs"], 1);
    assert_eq!(w["first_violation"], v["first_violation"]);
    assert_trace(Path::new(w["counterexample"].as_str().unwrap()), 3);
}

/// Runs a printed reproduce command (plus `--json` and the failures directory).
fn rerun(reproduce: &str, dir: &Path) -> Output {
    let mut words: Vec<&str> = reproduce.split_whitespace().collect();
    assert_eq!(words.remove(0), "herald");
    words.extend(["--json", "--failures-dir", dir.to_str().unwrap()]);
    herald(&words)
}

/// A readable trace whose sends show the signer chains and whose outputs show the decisions.
fn assert_trace(path: &Path, nodes: u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (header, events) = herald_core::trace::read(&bytes[..]).expect("the trace reads back");
    assert_eq!(header.nodes, nodes);
    assert!(header.reproduce.is_some());
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("\"chain\"") && text.contains("\"signer\""), "sends carry their signer chains");
    assert!(text.contains("\"decided\""), "outputs carry the decisions");
    assert!(!events.is_empty());
}

/// The switch that turns the deadline rule off is for tests only: no code outside the SM module
/// and test files names it.
#[test]
fn the_deadline_ablation_is_used_by_tests_only() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("src")];
    for krate in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        dirs.push(krate.path().join("src"));
    }
    let mut offenders = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("byzantine/sm.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("ablate_deadline") {
                    offenders.push(path.display().to_string());
                }
            }
        }
    }
    assert!(offenders.is_empty(), "the D1 ablation used outside tests: {offenders:?}");
}
