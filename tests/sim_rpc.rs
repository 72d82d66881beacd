//! `herald sim rpc`: the acceptance commands (R1 and R2 through the binary), and R5's ambiguity.

mod common;
use common::{herald, json, stderr};

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
