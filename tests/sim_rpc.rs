//! `herald sim rpc`: the acceptance commands (R1 and R2 through the binary), R3–R5, the payments
//! example, sweeps judged by the delivery semantics, availability, traces, and bad input.

mod common;
use common::{herald, json, stderr, temp};

fn rpc(delivery: &str, fault: &str) -> serde_json::Value {
    let out = herald(&["sim", "rpc", "--workload", "likes", "--delivery", delivery, "--fault", fault, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out)
}

#[test]
fn lost_ack_counts_twice_at_least_once_and_once_exactly_once() {
    let v = rpc("at-least-once", "lose-first-response");
    assert_eq!(v["final_value"], 12_302, "{v}");
    assert_eq!(v["server_executions"], 2);
    assert_eq!(v["delivery"], "at-least-once");
    assert_eq!(v["fault"], "lose-first-response");
    let seen = v["client_outcomes"].as_array().unwrap();
    assert_eq!(seen.len(), 2, "one failure, then Ok: {v}");
    assert_eq!(seen[0]["outcome"], "NoResponse");
    assert_eq!(seen[1]["outcome"]["Ok"]["Count"], 12_302);
    let v = rpc("exactly-once", "lose-first-response");
    assert_eq!(v["final_value"], 12_301, "{v}");
    assert_eq!(v["server_executions"], 1);
}

#[test]
fn at_most_once_no_response_is_ambiguous() {
    let lost_request = rpc("at-most-once", "lose-first-request");
    let lost_ack = rpc("at-most-once", "lose-first-response");
    assert_eq!(lost_request["client_outcomes"], lost_ack["client_outcomes"], "the client cannot tell them apart");
    assert_eq!(lost_request["outcome"], "NoResponse");
    assert_eq!((lost_request["final_value"].as_u64(), lost_ack["final_value"].as_u64()), (Some(12_300), Some(12_301)));
}

fn sim(args: &[&str]) -> serde_json::Value {
    let out = herald(&[&["sim", "rpc", "--json"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out)
}

#[test]
fn idempotent_set_and_the_race_with_and_without_tombstones() {
    let v = sim(&["--workload", "like-set", "--fault", "lose-first-response"]);
    assert_eq!((v["final_value"].as_u64(), v["server_executions"].as_u64()), (Some(12_301), Some(2)), "R3: {v}");
    let plain = sim(&["--workload", "like-race", "--fault", "lose-first-response"]);
    assert_eq!(plain["liked"], true, "R4 without timestamps: the like comes back: {plain}");
    let lww = sim(&["--workload", "like-race", "--fault", "lose-first-response", "--lww"]);
    assert_eq!(lww["liked"], false, "R4 with timestamps and tombstones: {lww}");
    assert_eq!(lww["calls"].as_array().map(Vec::len), Some(3), "f, then g's read and unlike");
}

#[test]
fn payments_speak_json_and_a_retry_charges_twice() {
    let twice = sim(&["--workload", "payments", "--delivery", "at-least-once", "--fault", "lose-first-response"]);
    assert_eq!(twice["final_value"], 798, "{twice}");
    assert_eq!(twice["outcome"]["Ok"]["result"], "success");
    let once = sim(&["--workload", "payments", "--delivery", "exactly-once", "--fault", "lose-first-response"]);
    assert_eq!(once["final_value"], 399, "{once}");
}

#[test]
fn a_lossy_sweep_keeps_exactly_once_and_reports_availability() {
    let args = ["--calls", "40", "--call-interval", "5ms", "--network", "fair-loss", "--loss", "0.2"];
    let v = sim(&[&args[..], &["--duplicate", "0.1", "--delivery", "exactly-once", "--seeds", "50"]].concat());
    assert_eq!((v["runs"].as_u64(), v["violations"].as_u64()), (Some(50), Some(0)), "{v}");
    let a = &v["availability"];
    assert_eq!(a["requests"], 2_000);
    let ratio = a["ratio"].as_f64().unwrap();
    assert!(ratio > 0.5 && ratio < 1.0, "retries answer most calls, not all within 200 ms: {a}");
    assert!(a["p99_us"].as_f64() > a["p50_us"].as_f64(), "{a}");
    // At-most-once over the same network answers fewer calls.
    let amo = sim(&[&args[..], &["--delivery", "at-most-once", "--seeds", "50"]].concat());
    assert!(amo["availability"]["ratio"].as_f64().unwrap() < ratio, "{amo}");
}

#[test]
fn a_single_run_writes_its_trace() {
    let path = temp("rpc.jsonl");
    let p = path.to_str().unwrap();
    sim(&["--fault", "crash-after-execute", "--delivery", "exactly-once", "--trace", p]);
    let trace = std::fs::read_to_string(&path).unwrap();
    assert!(trace.lines().next().unwrap().contains("\"scenario\":\"rpc\""));
    assert!(trace.contains("crash") && trace.contains("recover"), "the F3 crash is in the trace");
}

#[test]
fn a_meaningless_slo_is_rejected_naming_the_field() {
    let out = herald(&["sim", "rpc", "--slo-ratio", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("slo_ratio"), "{}", stderr(&out));
}
