//! `herald generals two` against the real binary: the acceptance command's JSON contract, the
//! closed forms beside the estimates, thread-count independence, exact enumeration, the
//! impossibility search and its traces, the table and the plot, and usage errors naming the flag.
//!
//! Debug builds run about 2,500 trials a second, so these commands use a few thousand trials at
//! most; the statistical tolerances below are derived from the trial counts.

use herald_protocols::two_generals::{closed_form, lone_attacker};
use serde_json::Value;
use std::process::Output;

mod common;
use common::{herald, stderr, temp};
/// Exactly one JSON object on stdout, from a successful run.
fn json(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), stderr(out));
    common::json(out)
}

fn number(v: &Value, field: &str) -> f64 {
    v[field].as_f64().unwrap_or_else(|| panic!("`{field}` is not a number in {v}"))
}

/// The acceptance command (`--loss 0.3 --messengers 3 --stages 2 --json`) with 2,500 trials
/// instead of 200,000.
#[test]
fn acceptance_json_has_estimates_closed_forms_and_intervals() {
    let trials = 2_500;
    let t = trials.to_string();
    let args = ["generals", "two", "--loss", "0.3", "--messengers", "3", "--stages", "2", "--trials", &t, "--json"];
    let v = json(&herald(&args));
    assert_eq!(v["trials"].as_u64(), Some(trials));
    let c = closed_form(2, 3, 0.3);
    let fields = [("both_attack", c.both), ("one_attacks", c.lone), ("neither", c.neither)];
    let mut total = 0.0;
    for (field, expected) in fields {
        let measured = number(&v, field);
        total += measured;
        let shown = number(&v, &format!("{field}_expected"));
        assert!((shown - expected).abs() < 1e-12, "{field}_expected is the closed form: {shown} vs {expected}");
        let ci = v[format!("{field}_ci95")].as_array().unwrap_or_else(|| panic!("{field}_ci95 in {v}"));
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(lo <= measured && measured <= hi, "{field}: {measured} outside its own interval [{lo}, {hi}]");
        assert!(hi - lo < 0.03, "{field}: a 95% interval over {trials} trials is narrower than [{lo}, {hi}]");
        // 4.5 standard errors of the closed form: a correct simulator fails this with probability
        // below 10⁻⁵ per field.
        let tolerance = 4.5 * (expected * (1.0 - expected) / trials as f64).sqrt();
        assert!((measured - expected).abs() <= tolerance, "{field}: measured {measured}, closed form {expected}");
    }
    assert!((total - 1.0).abs() < 1e-9, "the three outcomes partition the trials");
    assert_eq!(number(&v, "only_g1"), 0.0, "with two stages only G2 can attack alone");
    assert_eq!(v["lone_attacker_expected"], "G2");
    assert!((number(&v, "messengers_expected") - c.messengers_mean).abs() < 1e-12);
    assert!(number(&v, "messengers_mean") > 3.0 && number(&v, "messengers_mean") <= 6.0);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let run = |threads: &str| {
        let out = herald(&[
            "generals",
            "two",
            "--loss",
            "0.5",
            "--messengers",
            "2",
            "--stages",
            "3",
            "--trials",
            "600",
            "--seed",
            "42",
            "--threads",
            threads,
            "--json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        out.stdout
    };
    let one = run("1");
    assert_eq!(one, run("2"), "same seeds, same output, whatever the thread count");
    assert!(
        json(&herald(&[
            "generals",
            "two",
            "--loss",
            "0.5",
            "--messengers",
            "2",
            "--stages",
            "3",
            "--trials",
            "600",
            "--seed",
            "43",
            "--json"
        ])) != serde_json::from_slice::<Value>(&one).unwrap(),
        "other seeds, other estimates"
    );
}

#[test]
fn exact_enumeration_reproduces_the_closed_forms() {
    let v =
        json(&herald(&["generals", "two", "--exact", "--loss", "0.5", "--messengers", "3", "--stages", "3", "--json"]));
    assert_eq!(v["method"], "exact");
    assert_eq!(v["patterns"].as_u64(), Some(1 + 7 + 49 + 343), "one run per loss pattern");
    for field in ["both_attack", "one_attacks", "neither", "messengers"] {
        let (got, want) = if field == "messengers" {
            (number(&v, "messengers_mean"), number(&v, "messengers_expected"))
        } else {
            (number(&v, field), number(&v, &format!("{field}_expected")))
        };
        assert!((got - want).abs() < 1e-12, "{field}: enumerated {got}, closed form {want}");
    }
    assert!((number(&v, "both_attack") - 0.669921875).abs() < 1e-12, "lecture-spec §8.3 test vector");
}

#[test]
fn search_finds_a_lone_attack_in_every_chain_and_writes_its_trace() {
    let dir = temp("search");
    let out = herald(&[
        "generals",
        "two",
        "--search",
        "--stages-max",
        "3",
        "--messengers-max",
        "2",
        "--trace-dir",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let v = json(&out);
    assert_eq!(v["every_protocol_broken"], true);
    let found = v["search"].as_array().expect("one entry per protocol");
    assert_eq!(found.len(), 3 * 2);
    for entry in found {
        let d = entry["strategy"]["stages"].as_u64().unwrap() as u32;
        let k = entry["strategy"]["messengers"].as_u64().unwrap() as u32;
        let alone = if lone_attacker(d).0 == 0 { "only_g1" } else { "only_g2" };
        assert_eq!(entry["outcome"], alone, "d={d} k={k}: the sender of the last stage attacks alone");
        let script = entry["script"].as_str().unwrap();
        assert_eq!(script.len(), (d * k) as usize);
        assert!(script.ends_with(&"0".repeat(k as usize)), "d={d} k={k}: the last stage is captured ({script})");
        let trace = std::fs::read(entry["trace"].as_str().unwrap()).unwrap();
        let (header, events) = herald_core::trace::read(&trace[..]).expect("the trace reads back");
        assert_eq!(header.nodes, 2);
        let outputs: Vec<_> =
            events.iter().filter(|e| matches!(e.kind, herald_core::trace::EventKind::Output { .. })).collect();
        assert_eq!(outputs.len(), 2, "both generals decide");
        assert!(entry["replay"].as_str().unwrap().contains(&format!("--script {script}")));
    }
    // The replay command's run is the counterexample.
    let replay = herald(&[
        "generals",
        "two",
        "--stages",
        "2",
        "--messengers",
        "2",
        "--loss-model",
        "script",
        "--script",
        "1100",
        "--trials",
        "1",
        "--json",
    ]);
    let v = json(&replay);
    assert_eq!(number(&v, "only_g2"), 1.0);
}

#[test]
fn adversarial_loss_models() {
    let v = json(&herald(&[
        "generals",
        "two",
        "--stages",
        "4",
        "--messengers",
        "2",
        "--loss-model",
        "drop-final-stage",
        "--trials",
        "5",
        "--json",
    ]));
    assert_eq!(number(&v, "only_g2"), 1.0, "Proof B: the sender of stage 4 attacks alone");
    assert_eq!(number(&v, "messengers_mean"), 8.0);
    let v = json(&herald(&[
        "generals",
        "two",
        "--strategy",
        "attack-regardless",
        "--messengers",
        "3",
        "--loss-model",
        "drop-all",
        "--trials",
        "5",
        "--json",
    ]));
    assert_eq!(number(&v, "only_g1"), 1.0);
    let v = json(&herald(&[
        "generals",
        "two",
        "--stages",
        "2",
        "--messengers",
        "3",
        "--loss-model",
        "drop-all",
        "--trials",
        "5",
        "--json",
    ]));
    assert_eq!(number(&v, "neither"), 1.0);
}

#[test]
fn table_and_plot() {
    let svg = temp("curves.svg");
    let out = herald(&[
        "generals",
        "two",
        "--loss",
        "0.1,0.5",
        "--messengers",
        "1..3",
        "--stages",
        "1,2",
        "--trials",
        "300",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows = stdout.lines().filter(|l| l.starts_with("ack-chain d=")).count();
    assert_eq!(rows, 2 * 3 * 2, "one row per (p, k, d): {stdout}");
    assert!(stdout.contains("closed forms inside their 95% Wilson interval"));
    let drawing = std::fs::read_to_string(&svg).unwrap();
    assert!(drawing.contains("<svg"), "an SVG file");
    for panel in ["d = 1 stage", "d = 2 stages", "p = 0.1", "p = 0.5"] {
        assert!(drawing.contains(panel), "the plot shows `{panel}`");
    }
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--loss", "1.0"], "--loss"),
        (&["--stages", "0"], "--stages"),
        (&["--messengers", "x"], "--messengers"),
        (&["--interval", "5ms"], "--interval"),
        (&["--loss-model", "script"], "--script"),
        (&["--strategy", "retry-until-ack", "--stages", "2"], "--stages"),
        (&["--loss-model", "drop-all", "--loss", "0.3"], "--loss"),
        (&["--search", "--strategy", "randomized-levels"], "--search"),
        (&["--trials", "0"], "--trials"),
        (&["--exact", "--strategy", "randomized-levels"], "--exact"),
    ];
    for (flags, named) in cases {
        let mut args = vec!["generals", "two"];
        args.extend_from_slice(flags);
        let out = herald(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(named), "{flags:?}: the message names {named}: {}", stderr(&out));
    }
}
