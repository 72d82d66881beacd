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

#[test]
fn check_byzantine_om_finds_the_n3_violation_and_proves_n4() {
    let dir = common::temp("check-om");
    let dir = dir.to_str().unwrap();
    let out = herald(&[
        "check",
        "byzantine-om",
        "--generals",
        "3",
        "--traitors",
        "1",
        "--json",
        "--quiet",
        "--failures-dir",
        dir,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["properties"]["IC2"], "violated");
    let trace = v["counterexample"].as_str().expect("a counterexample trace");
    let (header, events) =
        herald_core::trace::read(std::io::BufReader::new(std::fs::File::open(trace).unwrap())).unwrap();
    assert_eq!(header.source, herald_core::trace::Source::Check);
    assert_eq!(header.nodes, 3);
    assert!(events.iter().any(|e| matches!(e.kind, herald_core::trace::EventKind::Deliver { .. })));

    let out = herald(&[
        "check",
        "byzantine-om",
        "--generals",
        "4",
        "--traitors",
        "1",
        "--json",
        "--quiet",
        "--failures-dir",
        dir,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    for p in ["IC1", "IC2", "loyal lieutenants decide"] {
        assert_eq!(v["properties"][p], "holds", "{p}");
    }
    assert!(v.get("counterexample").is_none());
    assert_eq!(v["complete"], true);

    let bad = herald(&["check", "byzantine-om", "--generals", "9"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("generals"));
}

#[test]
fn check_retry_dedup_holds_and_the_bare_workload_delivers_twice() {
    let dir = common::temp("check-links");
    let dir = dir.to_str().unwrap();
    let out = herald(&["check", "retry-dedup", "--json", "--quiet", "--failures-dir", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["properties"]["at most once"], "holds");
    let out = herald(&["check", "retry-dedup", "--bare", "--json", "--quiet", "--failures-dir", dir]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["properties"]["at most once"], "violated");
    assert!(v["counterexample"].as_str().unwrap().ends_with(".jsonl"));
}

#[test]
fn check_two_generals_finds_a_lone_attacker() {
    let dir = common::temp("check-two");
    let out = herald(&[
        "check",
        "two-generals",
        "--stages",
        "3",
        "--json",
        "--quiet",
        "--failures-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["properties"]["agreement"], "violated");
    assert_eq!(v["properties"]["both attack"], "holds");
}

#[test]
fn check_byzantine_sm_holds_among_three() {
    let out = herald(&["check", "byzantine-sm", "--generals", "3", "--traitors", "1", "--json", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    for p in ["IC1", "IC2", "loyal lieutenants decide"] {
        assert_eq!(v["properties"][p], "holds", "{p}");
    }
    assert_eq!(v["complete"], true);
    assert!(v.get("counterexample").is_none());
    let bad = herald(&["check", "byzantine-sm", "--generals", "5"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("generals"));
}

#[test]
fn check_failure_detector_is_accurate_only_under_synchrony() {
    let dir = common::temp("check-fd");
    let dir = dir.to_str().unwrap();
    for detector in ["timeout", "eventually-perfect"] {
        let sync = herald(&[
            "check",
            "failure-detector",
            "--timing",
            "synchronous",
            "--detector",
            detector,
            "--crashes",
            "1",
            "--json",
            "--quiet",
        ]);
        assert_eq!(sync.status.code(), Some(0), "{detector}: {}", stderr(&sync));
        assert_eq!(json(&sync)["complete"], true);
        let asynchronous = herald(&[
            "check",
            "failure-detector",
            "--timing",
            "asynchronous",
            "--detector",
            detector,
            "--timer-fires",
            "8",
            "--json",
            "--quiet",
            "--failures-dir",
            dir,
        ]);
        assert_eq!(asynchronous.status.code(), Some(1), "{detector}: {}", stderr(&asynchronous));
        let v = json(&asynchronous);
        let verdicts = v["properties"].as_object().unwrap();
        assert_eq!(verdicts.len(), 1);
        assert!(verdicts.values().all(|p| p == "violated"), "{v}");
        let trace = v["counterexample"].as_str().unwrap();
        let (_, events) =
            herald_core::trace::read(std::io::BufReader::new(std::fs::File::open(trace).unwrap())).unwrap();
        assert!(events.iter().any(|e| matches!(e.kind, herald_core::trace::EventKind::Output { .. })), "a Suspect");
    }
    let bad = herald(&["check", "failure-detector", "--timing", "synchronous", "--nodes", "5"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("nodes"));
}

#[test]
fn check_failure_detector_under_partial_synchrony_separates_the_detectors() {
    let dir = common::temp("check-fd-ps");
    let dir = dir.to_str().unwrap();
    let run = |detector: &str| {
        herald(&[
            "check",
            "failure-detector",
            "--timing",
            "partially-synchronous",
            "--detector",
            detector,
            "--json",
            "--quiet",
            "--failures-dir",
            dir,
        ])
    };
    let ep = run("eventually-perfect");
    assert_eq!(ep.status.code(), Some(0), "{}", stderr(&ep));
    let v = json(&ep);
    assert_eq!(v["properties"]["eventual strong accuracy"], "holds");
    assert_eq!(v["complete"], true);
    assert_eq!(v["config"]["delay_max_after_gst_ms"], 10);
    let fixed = run("timeout");
    assert_eq!(fixed.status.code(), Some(1), "{}", stderr(&fixed));
    let v = json(&fixed);
    assert_eq!(v["properties"]["eventual strong accuracy"], "violated");
    let trace = v["counterexample"].as_str().unwrap();
    let (_, events) = herald_core::trace::read(std::io::BufReader::new(std::fs::File::open(trace).unwrap())).unwrap();
    let gst = events.iter().position(|e| matches!(e.kind, herald_core::trace::EventKind::Heal)).expect("GST drawn");
    let suspicions_after = events[gst..]
        .iter()
        .filter(
            |e| matches!(&e.kind, herald_core::trace::EventKind::Output { value } if value.get("Suspect").is_some()),
        )
        .count();
    assert!(suspicions_after >= 2, "{events:?}");
}

#[test]
fn check_symmetry_reduces_the_failure_detector_and_is_refused_where_unsound_or_absent() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "failure-detector",
            "--timing",
            "synchronous",
            "--nodes",
            "3",
            "--timer-fires",
            "4",
            "--json",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        herald(&args)
    };
    let (full, sym) = (run(&[]), run(&["--symmetry"]));
    assert_eq!(full.status.code(), Some(0), "{}", stderr(&full));
    assert_eq!(sym.status.code(), Some(0), "{}", stderr(&sym));
    let (full, sym) = (json(&full), json(&sym));
    assert!(sym["unique_states"].as_u64().unwrap() < full["unique_states"].as_u64().unwrap());
    assert_eq!(sym["properties"], full["properties"]);
    assert_eq!(sym["symmetry"], true);
    // Liveness on a symmetry-reduced graph would be unsound: refused, naming the flag.
    let live = herald(&["check", "2pc", "--rms", "2", "--liveness", "--symmetry", "--quiet"]);
    assert_eq!(live.status.code(), Some(2), "{}", stderr(&live));
    assert!(stderr(&live).contains("symmetry") && stderr(&live).contains("eventually"), "{}", stderr(&live));
    // A model with no symmetry to reduce by: refused, not ignored.
    let none = herald(&["check", "retry-dedup", "--symmetry", "--quiet"]);
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
    assert!(stderr(&none).contains("symmetry"), "{}", stderr(&none));
}
