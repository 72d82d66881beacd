//! `herald sim failure-detector` against the real binary: where the perfect detector is refused,
//! and what each detector's sweep reports.

mod common;
use common::{herald, json, stderr};

#[test]
fn the_perfect_detector_is_refused_under_asynchronous_timing() {
    let out = herald(&["sim", "failure-detector", "--detector", "perfect", "--timing", "asynchronous"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`timing`") && err.contains("asynchronous timing"), "names the timing model: {err}");
}

#[test]
fn the_perfect_detector_is_refused_outside_synchronous_crash_stop_reliable() {
    let cases: [(&[&str], &str); 3] = [
        (&["--timing", "partially-synchronous", "--gst", "100ms"], "`timing`"),
        (&["--timing", "synchronous", "--node-model", "crash-recovery"], "`node_model`"),
        (&["--timing", "synchronous", "--network", "fair-loss", "--loss", "0.1"], "`network`"),
    ];
    for (flags, field) in cases {
        let mut args = vec!["sim", "failure-detector", "--detector", "perfect"];
        args.extend_from_slice(flags);
        let out = herald(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(field), "{flags:?} names {field}: {}", stderr(&out));
    }
}

#[test]
fn the_perfect_detector_is_perfect_where_it_exists() {
    let out = herald(&[
        "sim",
        "failure-detector",
        "--detector",
        "perfect",
        "--timing",
        "synchronous",
        "--node-model",
        "crash-stop",
        "--crash",
        "2@300ms",
        "--time",
        "600ms",
        "--seeds",
        "100",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["runs"], 100);
    assert_eq!(v["completeness_violations"], 0);
    assert_eq!(v["accuracy_violations"], 0);
    assert_eq!(v["eventual_accuracy_violations"], 0);
    assert_eq!(v["false_suspicions"], 0);
    // ping_interval (20 ms) + 2·delay_max (10 ms) + 2·step_max (1 ms).
    let detection = v["detection_time_max_ns"].as_u64().expect("a crash was detected");
    assert!(detection > 0 && detection <= 42_000_000, "{v}");
}

#[test]
fn a_short_fixed_timeout_suspects_falsely_but_promises_only_completeness() {
    let out = herald(&[
        "sim",
        "failure-detector",
        "--detector",
        "timeout",
        "--timeout",
        "5ms",
        "--timing",
        "synchronous",
        "--node-model",
        "crash-stop",
        "--crash",
        "1@200ms",
        "--time",
        "500ms",
        "--seeds",
        "20",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "accuracy is only measured: {}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["completeness_violations"], 0);
    assert!(v["accuracy_violations"].as_u64().unwrap() > 0, "{v}");
    assert!(v["false_suspicions"].as_u64().unwrap() > 0, "{v}");
    assert!(v["first_accuracy_violation"]["seed"].is_u64(), "the first violation names its seed: {v}");
}

#[test]
fn the_eventually_perfect_detector_settles_after_the_asynchronous_window() {
    let out = herald(&[
        "sim",
        "failure-detector",
        "--detector",
        "eventually-perfect",
        "--timeout",
        "5ms",
        "--timing",
        "partially-synchronous",
        "--async-window",
        "100ms..400ms",
        "--node-model",
        "crash-stop",
        "--crash-rate",
        "1",
        "--seeds",
        "50",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert!(v["false_suspicions"].as_u64().unwrap() > 0, "fooled at first: {v}");
    assert_eq!(v["eventual_accuracy_violations"], 0, "{v}");
    assert_eq!(v["completeness_violations"], 0, "{v}");
}

#[test]
fn a_promised_property_violated_exits_1_and_names_the_seed() {
    // Heavy-tailed asynchrony: the crashed node's last pings and pongs arrive seconds late, each one
    // trusting it again, so "suspected for good within the bound" (here 1.05 s) fails.
    let out = herald(&[
        "sim",
        "failure-detector",
        "--detector",
        "timeout",
        "--timing",
        "asynchronous",
        "--latency",
        "pareto:1ms,0.3",
        "--node-model",
        "crash-stop",
        "--crash",
        "2@200ms",
        "--time",
        "5s",
        "--seeds",
        "10",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert!(v["completeness_violations"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["promised"], serde_json::json!(["strong-completeness"]));
    let first = &v["first_completeness_violation"];
    assert!(first["seed"].is_u64() && first["t_ns"].is_u64() && first["node"] == 2, "{v}");
}

#[test]
fn a_single_run_writes_its_trace_with_the_crash_and_the_suspicion() {
    let path = common::temp("fd.jsonl");
    let p = path.to_str().unwrap();
    let out = herald(&[
        "sim",
        "failure-detector",
        "--detector",
        "perfect",
        "--timing",
        "synchronous",
        "--node-model",
        "crash-stop",
        "--crash",
        "2@300ms",
        "--trace",
        p,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let trace = std::fs::read_to_string(&path).unwrap();
    assert!(trace.lines().next().unwrap().contains("\"scenario\":\"failure-detector\""));
    assert!(trace.contains("\"crash\""), "the crash is in the trace");
    assert!(trace.contains("\"output\""), "so are the detectors' suspicions");
}
