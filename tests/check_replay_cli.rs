//! `herald check replay`: a simulator trace replayed in the checker from the command line, end to
//! end — the simulator writes a failing trace, the checker confirms it, re-finds the failure and
//! shrinks it to a shortest counterexample written in the same schema — and bad input refused
//! with exit 2 and the problem named.

mod common;
use common::{herald, json, stderr, temp};
use herald_core::trace::{self, EventKind, Source};

fn read(path: &str) -> (trace::TraceHeader, Vec<trace::TraceEvent>) {
    trace::read(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap()
}

/// The first counterexample of `herald generals byzantine --algorithm om` among three generals.
fn om_trace(dir: &str) -> String {
    let out = herald(&[
        "generals",
        "byzantine",
        "--algorithm",
        "om",
        "--generals",
        "3",
        "--traitors",
        "1",
        "--exhaustive",
        "--json",
        "--failures-dir",
        dir,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    json(&out)["counterexample"].as_str().expect("a counterexample trace").to_string()
}

#[test]
fn a_failing_om_simulation_replays_in_the_checker_and_shrinks() {
    let dir = temp("replay-om");
    let dir = dir.to_str().unwrap();
    let simulated = om_trace(dir);
    assert_eq!(read(&simulated).0.source, Source::Sim);
    let out = herald(&[
        "check",
        "replay",
        &simulated,
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
    let replayed = v["replayed_steps"].as_u64().unwrap();
    let at = v["replay_violations"]["IC2"].as_u64().expect("IC2 fails along the simulated run");
    assert!(at > 0 && at <= replayed, "{v}");
    assert_eq!(v["properties"]["IC2"], "violated");
    let shrunk = v["shrunk_steps"].as_u64().unwrap();
    assert!(shrunk > 0 && shrunk < at, "shrunk {shrunk}, failed at {at}");
    for field in ["states", "unique_states", "max_depth", "states_per_sec"] {
        assert!(v[field].as_f64().is_some_and(|x| x > 0.0), "{field}: {v}");
    }
    // The shrunk counterexample is a trace in the same schema, starting with the nodes' start.
    let shrunk_trace = v["counterexample"].as_str().unwrap().to_string();
    let (header, events) = read(&shrunk_trace);
    assert_eq!((header.source, header.nodes), (Source::Check, 3));
    assert!(matches!(events[0].kind, EventKind::Start));
    assert!(events.iter().filter(|e| matches!(e.kind, EventKind::Deliver { .. })).count() as u64 <= shrunk);
    // ... which the checker replays in turn (it is a run of the model, of exactly that length),
    let again = herald(&[
        "check",
        "replay",
        &shrunk_trace,
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
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    let w = json(&again);
    assert_eq!(w["replayed_steps"].as_u64(), Some(shrunk));
    assert_eq!(w["shrunk_steps"].as_u64(), Some(shrunk), "already shortest");
    // ... and the viewer draws.
    let svg = format!("{dir}/shrunk.svg");
    let viz = herald(&["viz", &shrunk_trace, "-o", &svg]);
    assert_eq!(viz.status.code(), Some(0), "{}", stderr(&viz));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn a_duplicating_link_simulation_replays_shrinks_and_explores() {
    let dir = temp("replay-links");
    let dir = dir.to_str().unwrap();
    // The bare workload over a duplicating network: the first seed whose run delivers twice.
    let (trace_file, v) = (0..50)
        .find_map(|seed| {
            let file = format!("{dir}/links-{seed}.jsonl");
            if !bare_links_run_duplicates(seed, &file) {
                return None;
            }
            let out = herald(&[
                "check",
                "replay",
                &file,
                "retry-dedup",
                "--bare",
                "--duplicates",
                "3",
                "--json",
                "--quiet",
                "--failures-dir",
                dir,
            ]);
            assert_eq!(out.status.code(), Some(1), "seed {seed}: {}", stderr(&out));
            Some((file, json(&out)))
        })
        .expect("some seed delivers a payload twice");
    assert_eq!(v["properties"]["at most once"], "violated");
    assert!(v["replay_violations"]["at most once"].as_u64().unwrap() >= 3);
    assert_eq!(v["shrunk_steps"], 3, "one delivery, one duplication, the copy's delivery");
    // Exhaustive checking from every state the simulation reached before it failed.
    let out = herald(&[
        "check",
        "replay",
        &trace_file,
        "retry-dedup",
        "--bare",
        "--duplicates",
        "3",
        "--explore",
        "--json",
        "--quiet",
        "--failures-dir",
        dir,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let e = json(&out);
    assert_eq!(e["explore"], true);
    assert_eq!(e["properties"]["at most once"], "violated");
    assert!(e["shrunk_steps"].is_null());
    assert!(e["unique_states"].as_u64().unwrap() > 1);
}

#[test]
fn replay_refuses_what_it_cannot_follow_with_exit_2() {
    let dir = temp("replay-bad");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.to_str().unwrap();
    let refused = |args: &[&str], needle: &str| {
        let out = herald(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    };
    refused(&["check", "replay", &format!("{dir}/missing.jsonl"), "retry-dedup"], "cannot open");
    let junk = format!("{dir}/junk.jsonl");
    std::fs::write(&junk, "not a trace\n").unwrap();
    refused(&["check", "replay", &junk, "retry-dedup"], "not a Herald trace");
    let om = om_trace(dir);
    // A trace of another protocol.
    refused(&["check", "replay", &om, "retry-dedup"], "scenario `om`");
    // The right protocol, configured for another number of nodes.
    refused(&["check", "replay", &om, "byzantine-om", "--generals", "4"], "3 nodes");
    // A links trace the layer-less model runs, but the RetryDedupLink model cannot decode.
    let file = format!("{dir}/links.jsonl");
    (0..50).find(|seed| bare_links_run_duplicates(*seed, &file)).expect("a duplicating run");
    refused(&["check", "replay", &file, "retry-dedup"], "cannot be decoded");
    // Events the model's system model does not allow: a duplication with no duplication budget.
    refused(&["check", "replay", &file, "retry-dedup", "--bare", "--duplicates", "0"], "not enabled");
}

/// Simulates the bare links workload (no link layer, 2 nodes, 2 messages) over a fair-loss network
/// that duplicates half its packets with `seed`, writing its trace to `file`; whether a payload was
/// delivered twice.
fn bare_links_run_duplicates(seed: u64, file: &str) -> bool {
    let seed = seed.to_string();
    let sim = herald(&[
        "sim",
        "links",
        "--link",
        "none",
        "--nodes",
        "2",
        "--messages",
        "2",
        "--network",
        "fair-loss",
        "--duplicate",
        "0.5",
        "--seed",
        &seed,
        "--trace",
        file,
        "--json",
    ]);
    assert_eq!(sim.status.code(), Some(0), "{}", stderr(&sim));
    json(&sim)["duplicates_delivered"].as_u64().unwrap_or(0) > 0
}

#[test]
fn a_partially_synchronous_counterexample_of_the_checker_replays_with_its_waits() {
    // The fixed timeout under partial synchrony: the checker's counterexample needs GST and time
    // passing (`Wait` steps, not events); replayed from its trace it fails at its last step.
    let dir = temp("replay-fd-partial");
    let dir = dir.to_str().unwrap();
    let model = ["failure-detector", "--timing", "partially-synchronous", "--nodes", "2"];
    let checked = herald(&[&["check"][..], &model[..], &["--json", "--quiet", "--failures-dir", dir]].concat());
    assert_eq!(checked.status.code(), Some(1), "{}", stderr(&checked));
    let c = json(&checked);
    let trace = c["counterexample"].as_str().expect("a counterexample").to_string();
    let (_, events) = read(&trace);
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::Heal)), "GST is in the trace");
    assert!(events.iter().any(|e| e.local.is_some_and(|l| l > 0)), "so is the model's clock");
    let out =
        herald(&[&["check", "replay", &trace][..], &model[..], &["--json", "--quiet", "--failures-dir", dir]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["replayed_steps"], c["max_depth"], "{v}");
    assert_eq!(v["replay_violations"]["eventual strong accuracy"], c["max_depth"], "{v}");
    assert_eq!(v["shrunk_steps"], c["max_depth"], "BFS found it shortest already: {v}");
}
