//! The acceptance commands, run against the real `herald` binary: exit codes, JSON fields,
//! byte-identical traces.

mod common;
use common::{herald, json, temp};

#[test]
fn same_seed_same_trace_bytes_and_another_seed_differs() {
    let (a, b, c) = (temp("a.jsonl"), temp("b.jsonl"), temp("c.jsonl"));
    for (seed, path) in [("7", &a), ("7", &b), ("8", &c)] {
        let out = herald(&["sim", "ping-pong", "--nodes", "5", "--seed", seed, "--trace", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (a, b, c) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), std::fs::read(c).unwrap());
    assert!(a.len() > 10_000, "a real trace");
    assert_eq!(a, b, "same seed ⇒ byte-identical trace");
    assert_ne!(a, c, "another seed ⇒ another trace");
    let (header, events) = herald_core::trace::read(&a[..]).expect("the trace reads back");
    assert_eq!(header.seed, Some(7));
    assert!(events.iter().any(|e| e.lamport.is_some() && e.vc.as_ref().is_some_and(|v| v.len() == 5)));
}

#[test]
fn fair_loss_reports_drops_and_duplicates() {
    let out = herald(&[
        "sim",
        "ping-pong",
        "--nodes",
        "5",
        "--network",
        "fair-loss",
        "--loss",
        "0.3",
        "--duplicate",
        "0.1",
        "--seed",
        "3",
        "--json",
    ]);
    assert!(out.status.success());
    let v = json(&out);
    for field in ["sent", "delivered", "dropped", "duplicated"] {
        assert!(v[field].is_u64(), "missing `{field}` in {v}");
    }
    assert!(v["dropped"].as_u64().unwrap() > 0);
    assert!(v["duplicated"].as_u64().unwrap() > 0);
    assert!(v["delivered"].as_u64().unwrap() < v["sent"].as_u64().unwrap() + v["duplicated"].as_u64().unwrap());
}

#[test]
fn loss_one_is_not_fair_loss() {
    let out = herald(&["sim", "ping-pong", "--nodes", "5", "--network", "fair-loss", "--loss", "1.0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`loss`"), "the error names the field: {stderr}");
}

#[test]
fn sweeps_shard_and_merge() {
    let out = herald(&["sim", "ping-pong", "--nodes", "5", "--seeds", "200", "--json"]);
    assert!(out.status.success());
    let whole = json(&out);
    assert_eq!(whole["runs"], 200);
    assert_eq!(whole["failures"], 0);
    let mut files = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = herald(&[
            "sim",
            "ping-pong",
            "--nodes",
            "5",
            "--seeds",
            "200",
            "--shard",
            shard,
            "--json",
            "--threads",
            "1",
        ]);
        let v = json(&out);
        assert_eq!(v["runs"], 100, "shard {shard}");
        let path = temp(&format!("shard-{}.json", &shard[..1]));
        std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
        files.push(path);
    }
    let merged = json(&herald(&["merge", files[0].to_str().unwrap(), files[1].to_str().unwrap()]));
    assert_eq!(merged["runs"], 200);
    assert_eq!(merged["totals"], whole["totals"], "shards add up to the whole sweep, whatever the thread count");
}

#[test]
fn a_violated_property_exits_1_and_shrinks_to_the_one_essential_loss() {
    let dir = temp("failures");
    let out = herald(&[
        "sim",
        "broadcast-demo",
        "--nodes",
        "4",
        "--network",
        "fair-loss",
        "--loss",
        "0.2",
        "--seed",
        "1",
        "--shrink",
        "--json",
        "--failures-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["status"], "violated");
    assert_eq!(v["property"], "every-note-once");
    assert!(v["reproduce"].as_str().unwrap().contains("--seed 1"));
    let shrunk = &v["shrunk"];
    assert!(shrunk["faults_before"].as_u64().unwrap() > 5);
    assert_eq!(shrunk["faults"], 1, "one lost note is enough to break best-effort broadcast");
    assert!(shrunk["events"].as_u64().unwrap() < v["events"].as_u64().unwrap());
    let trace = std::fs::read(shrunk["trace"].as_str().unwrap()).unwrap();
    let (_, events) = herald_core::trace::read(&trace[..]).unwrap();
    use herald_core::trace::{DropReason, EventKind};
    let losses = events.iter().filter(|e| matches!(e.kind, EventKind::Drop { reason: DropReason::Loss, .. })).count();
    assert_eq!(losses, 1, "the minimal trace shows the single loss");
}

#[test]
fn liveness_failure_exits_3() {
    // Best-effort broadcast promises no progress once the source is done.
    let out = herald(&["sim", "broadcast-demo", "--nodes", "3", "--liveness", "1s", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["status"], "liveness_failed");
    // Ping-pong with retransmission recovers after the heal.
    let out = herald(&[
        "sim",
        "ping-pong",
        "--nodes",
        "3",
        "--network",
        "fair-loss",
        "--loss",
        "0.5",
        "--liveness",
        "1s",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn bench_reports_deliveries_per_second() {
    let v = json(&herald(&[
        "bench",
        "sim",
        "--nodes",
        "5",
        "--in-flight",
        "20",
        "--deliveries",
        "20000",
        "--repeat",
        "2",
        "--warmup",
        "1",
        "--json",
    ]));
    assert!(v["deliveries_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["deliveries"], 20000);
    assert_eq!(v["warmup_runs"], 1);
    assert_eq!(v["runs_deliveries_per_sec"].as_array().map(Vec::len), Some(2), "warm-up runs are not listed: {v}");
}

/// `herald bench rpc`'s fields, with callers sharing connections and with one connection each; with
/// a busy-poll budget (the default) its two more legs, and without one, none; a connection count
/// the callers cannot fill is refused, naming the flag.
#[test]
fn bench_rpc_reports_latency_and_calls_per_second() {
    for (connections, busy_poll) in [("2", "50"), ("8", "0")] {
        let args = ["bench", "rpc", "--concurrency", "8", "--connections", connections, "--calls", "800"];
        let v = json(&herald(&[&args[..], &["--sequential", "50", "--busy-poll-us", busy_poll, "--json"]].concat()));
        assert_eq!(v["calls"], 800);
        assert_eq!(v["connections"], connections.parse::<u64>().unwrap());
        for field in ["calls_per_sec", "p50_us", "p99_us", "floor_p50_us", "floor_p99_us"] {
            assert!(v[field].as_f64().unwrap() > 0.0, "{field}: {v}");
        }
        assert_eq!(v["busy_poll_us"], busy_poll.parse::<u64>().unwrap());
        for field in ["busy_poll_p50_us", "busy_poll_p99_us", "spin_floor_p50_us", "spin_floor_p99_us"] {
            match busy_poll {
                "0" => assert!(v[field].is_null(), "{field}: {v}"),
                _ => assert!(v[field].as_f64().unwrap() > 0.0, "{field}: {v}"),
            }
        }
        // A share of CPU time, or null when the legs took less than the kernel's clock tick.
        let steal = &v["sequential_steal_fraction"];
        assert!(steal.is_null() || (0.0..=1.0).contains(&steal.as_f64().unwrap()), "{v}");
    }
    let out = herald(&["bench", "rpc", "--concurrency", "4", "--connections", "5", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--connections"));
    let out = herald(&["bench", "rpc", "--sequential", "0", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sequential"));
}

#[test]
fn the_tour_runs_every_model_and_exits_0() {
    let out = herald(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for model in [
        "reliable",
        "fair-loss",
        "arbitrary",
        "crash-stop",
        "crash-recovery",
        "byzantine",
        "synchronous",
        "partially synchronous",
        "asynchronous",
    ] {
        assert!(text.contains(model), "the tour covers {model}");
    }
    let v = json(&herald(&["tour", "--json"]));
    let rows = v["rows"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["model"].as_str().unwrap().starts_with(name)).unwrap().clone();
    assert_eq!(row("reliable")["heard"]["missing"], 0);
    assert!(row("fair-loss 20%")["dropped"].as_u64().unwrap() > 0);
    assert_eq!(row("arbitrary: drop-all")["delivered"], 0);
    assert!(row("arbitrary: replay")["forged"].as_u64().unwrap() > 0);
    // The generals: measured beside closed forms, and the impossibility results visible.
    let generals = &v["generals"];
    for r in generals["two"].as_array().unwrap() {
        let trials = r["trials"].as_f64().unwrap();
        for (measured, expected) in
            [("both", "both_expected"), ("lone", "lone_expected"), ("neither", "neither_expected")]
        {
            let (m, e) = (r[measured].as_f64().unwrap(), r[expected].as_f64().unwrap());
            let se = (e * (1.0 - e) / trials).sqrt().max(1e-9);
            assert!((m - e).abs() <= 5.0 * se + 1e-12, "{measured} {m} vs closed form {e} at d={}", r["stages"]);
        }
    }
    assert!(generals["final_stage_captured"].as_array().unwrap().iter().all(|p| p[1] == 1.0));
    let violations: Vec<u64> =
        generals["byzantine"].as_array().unwrap().iter().map(|r| r["violations"].as_u64().unwrap()).collect();
    assert_eq!(violations[0], 0, "OM(1) with 4 generals tolerates a traitor");
    assert!(violations[1] > 0, "OM(1) with 3 generals does not");
    assert_eq!(violations[2], 0, "SM(1) with 3 generals does");
}
