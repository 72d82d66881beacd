//! `herald cluster` and `herald run` as real processes on loopback: the acceptance
//! commands, a cluster started by hand, and a node that is sent 1 MiB of random bytes.

mod common;
use common::{Procs, herald, json, node_report as report, stderr, temp};
use herald_core::trace::EventKind;
use serde_json::Value;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn om_with_one_traitor_among_four_processes_agrees() {
    let dir = temp("up-om");
    let out = herald(&[
        "cluster",
        "up",
        "--nodes",
        "4",
        "--protocol",
        "byzantine-om",
        "--traitors",
        "1",
        "--json",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["processes"], 4);
    assert_eq!(v["reported"], 4);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["messages"].as_u64(), Some(9 - silent_share(&v)), "OM(1) among 4 sends 9 messages: {v}");
    let (_, events) = herald_core::trace::read(std::fs::read(dir.join("trace.jsonl")).unwrap().as_slice()).unwrap();
    assert!(events.iter().any(|e| matches!(e.kind, herald_core::trace::EventKind::Deliver { .. })));
}

/// A silent traitor sends nothing: a silent commander's 3 orders, or a silent lieutenant's 2
/// relays, are missing from the count (loyal lieutenants relay RETREAT for a missing order).
fn silent_share(v: &Value) -> u64 {
    match (v["behaviour"].as_str(), v["traitors"][0].as_u64()) {
        (Some("silent"), Some(0)) => 3,
        (Some("silent"), _) => 2,
        _ => 0,
    }
}

#[test]
fn sm_with_two_traitors_among_four_processes_agrees() {
    let dir = temp("up-sm");
    let out = herald(&[
        "cluster",
        "up",
        "--nodes",
        "4",
        "--protocol",
        "byzantine-sm",
        "--traitors",
        "2",
        "--json",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["processes"], 4);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["ic1"], true);
    assert_eq!(v["ic2"], true);
    assert_eq!(v["decisions"].as_object().unwrap().len(), 2, "both loyal lieutenants decided: {v}");
}

fn start_nodes(config: &Path, n: usize) -> Procs {
    Procs((0..n).map(|i| start_node(config, i)).collect())
}

/// Waits for every node and returns each one's report.
fn reports(nodes: &mut Procs) -> Vec<Value> {
    nodes.0.iter_mut().enumerate().map(|(i, child)| report(i, child)).collect()
}

fn start_node(config: &Path, i: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["run", "--config", config.to_str().unwrap(), "--node", &i.to_string(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald run starts")
}

fn init(name: &str, extra: &[&str]) -> std::path::PathBuf {
    let dir = temp(name);
    let mut args = vec!["cluster", "init", "--dir", dir.to_str().unwrap()];
    if !extra.contains(&"--nodes") {
        args.extend_from_slice(&["--nodes", "4"]);
    }
    args.extend_from_slice(extra);
    let out = herald(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = dir.join("cluster.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    for field in ["cluster", "ca", "[protocol]", "[[node]]", "addr", "cert", "key"] {
        assert!(text.contains(field), "cluster.toml has `{field}`: {text}");
    }
    config
}

/// The loyal lieutenants' decisions, from the nodes' reports.
fn loyal_decisions(config: &Path, reports: &[Value]) -> Vec<String> {
    let text = std::fs::read_to_string(config).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let traitors: Vec<u64> =
        table["protocol"]["traitors"].as_array().unwrap().iter().map(|t| t.as_integer().unwrap() as u64).collect();
    reports
        .iter()
        .filter(|r| r["node"].as_u64().unwrap() != 0 && !traitors.contains(&r["node"].as_u64().unwrap()))
        .map(|r| r["outputs"][0]["order"].as_str().unwrap_or("none").to_string())
        .collect()
}

#[test]
fn four_processes_started_by_hand_run_the_configured_protocol() {
    let config = init("by-hand", &["--traitors", "1", "--seed", "2"]);
    let mut nodes = start_nodes(&config, 4);
    let reports = reports(&mut nodes);
    let decisions = loyal_decisions(&config, &reports);
    assert_eq!(decisions.len(), 3, "seed 2 makes the commander the traitor: 3 loyal lieutenants");
    assert!(decisions.iter().all(|d| d == &decisions[0] && d != "none"), "IC1: {decisions:?}");
}

fn junk_to(addr: SocketAddr) {
    let mut rng = herald_core::Rng::new(11);
    let junk: Vec<u8> = (0..1 << 20).map(|_| rng.between(0, 255) as u8).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("the node never listened: {e}"),
        }
    };
    // The node closes the connection at the first bad frame: a write error is the expected end.
    let _ = stream.write_all(&junk);
}

fn one_mebibyte_of_random_bytes_leaves_the_node_serving(name: &str, extra: &[&str]) {
    let config = init(name, &[&["--traitors", "1", "--seed", "1", "--delay-bound-ms", "100"], extra].concat());
    let table: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
    let addr: SocketAddr = table["node"].as_array().unwrap()[2]["addr"].as_str().unwrap().parse().unwrap();
    let mut nodes = start_nodes(&config, 4);
    junk_to(addr);
    let reports = reports(&mut nodes);
    let decisions = loyal_decisions(&config, &reports);
    assert_eq!(decisions.len(), 2, "seed 1 makes n1 the traitor");
    assert!(decisions.iter().all(|d| d == &decisions[0] && d != "none"), "the cluster still agreed: {decisions:?}");
    let rejected = &reports[2]["counters"];
    assert!(
        rejected["frames_rejected"].as_u64().unwrap() + rejected["handshakes_rejected"].as_u64().unwrap() >= 1,
        "the junk connection was closed: {rejected}"
    );
}

#[test]
fn random_bytes_at_a_plain_tcp_port_close_that_connection_only() {
    one_mebibyte_of_random_bytes_leaves_the_node_serving("junk-plain", &["--no-tls"]);
}

#[test]
fn random_bytes_at_a_tls_port_close_that_connection_only() {
    one_mebibyte_of_random_bytes_leaves_the_node_serving("junk-tls", &[]);
}

#[test]
fn bad_cluster_configuration_exits_2_naming_the_field() {
    let config = init("bad-config", &[]);
    let out = herald(&["run", "--config", config.to_str().unwrap(), "--node", "9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`--node`"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&config).unwrap().replace("delay_bound_ms = 50", "delay_bound_ms = 0");
    std::fs::write(&config, text).unwrap();
    let out = herald(&["run", "--config", config.to_str().unwrap(), "--node", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`protocol.delay_bound_ms`"), "{}", stderr(&out));
    let out = herald(&["cluster", "up", "--nodes", "4", "--traitors", "4", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`--traitors`"), "{}", stderr(&out));
}

/// Numbers in `cluster.toml` that would overflow a round length or a deadline, or ask for an
/// absurd allocation, are refused naming the field (exit 2) instead of panicking or aborting.
#[test]
fn out_of_range_numbers_in_cluster_toml_exit_2_naming_the_field() {
    let config = init("huge-numbers", &["--protocol", "rpc", "--nodes", "2"]);
    let original = std::fs::read_to_string(&config).unwrap();
    let huge = "9223372036854775807";
    for (from, to, field) in [
        ("delay_bound_ms = 50", format!("delay_bound_ms = {huge}"), "`protocol.delay_bound_ms`"),
        ("step_bound_ms = 10", format!("step_bound_ms = {huge}"), "`protocol.step_bound_ms`"),
        ("calls = 20", format!("calls = {huge}"), "`protocol.calls`"),
        ("stages = 2", "stages = 4294967295".to_string(), "`protocol.stages`"),
        ("key = \"n0.key.pem\"", "key = \"n0.key.pem\"\nmax_callers = 0".to_string(), "`node.max_callers`"),
        ("key = \"n0.key.pem\"", format!("key = \"n0.key.pem\"\nmax_callers = {huge}"), "`node.max_callers`"),
        ("key = \"n0.key.pem\"", format!("key = \"n0.key.pem\"\nbusy_poll_us = {huge}"), "`node.busy_poll_us`"),
    ] {
        assert!(original.contains(from), "cluster.toml has `{from}`: {original}");
        std::fs::write(&config, original.replacen(from, &to, 1)).unwrap();
        for node in ["0", "1"] {
            let out = herald(&["run", "--config", config.to_str().unwrap(), "--node", node]);
            assert_eq!(out.status.code(), Some(2), "{to} (n{node}): {}", stderr(&out));
            assert!(stderr(&out).contains(field), "{to}: {}", stderr(&out));
        }
    }
}

/// `--max-callers` reaches each node's client port through `cluster.toml`: with a limit of one,
/// a second caller is refused while the first holds its connection, and gets in once it leaves.
#[test]
fn the_client_port_limit_from_cluster_toml_refuses_and_frees() {
    let config = init("max-callers", &["--protocol", "rpc", "--calls", "0", "--nodes", "2", "--max-callers", "1"]);
    assert!(std::fs::read_to_string(&config).unwrap().contains("max_callers = 1"));
    let cluster = herald_net::cluster::ClusterConfig::load(&config).unwrap();
    let client = cluster.nodes[0].client_addr.unwrap();
    let mut server = Procs(vec![start_node(&config, 0)]);
    let call = |attempts: &str| {
        herald(&[
            "call",
            "get",
            "--config",
            config.to_str().unwrap(),
            "--json",
            "--attempts",
            attempts,
            "--deadline-ms",
            "500",
        ])
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let holder = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match herald_net::client::Caller::connect(client, cluster.cluster, 0, 1000).await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("the server never took a caller: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    });
    let refused = call("2");
    assert_eq!(refused.status.code(), Some(3), "a second caller is refused: {}", stderr(&refused));
    assert!(stderr(&refused).contains("refused the caller"), "{}", stderr(&refused));
    drop(holder);
    let served = call("10");
    assert!(served.status.success(), "the freed slot takes the next caller: {}", stderr(&served));
    assert_eq!(json(&served)["count"], 12_300);
    let pid = server.0[0].id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let report = report(0, &mut server.0[0]);
    assert!(report["counters"]["callers_refused"].as_u64().unwrap() >= 2, "{}", report["counters"]);
}

#[test]
fn exactly_once_rpc_survives_kill_9_of_the_server_and_loses_no_acknowledged_write() {
    let config = init("rpc-kill", &["--protocol", "rpc", "--calls", "150", "--nodes", "3"]);
    let dir = config.parent().unwrap();
    let mut nodes = start_nodes(&config, 3);
    // Kill the server as soon as its first execution is on disk.
    let state = dir.join("data/n0/state");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_dir(&state)
        .is_ok_and(|mut d| d.any(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')))
    {
        assert!(Instant::now() < deadline, "the server never executed a call");
        std::thread::sleep(Duration::from_millis(1));
    }
    nodes.0[0].kill().unwrap(); // SIGKILL
    nodes.0[0].wait().unwrap();
    nodes.0[0] = start_node(&config, 0);
    let clients: Vec<Value> = (1..3).map(|i| report(i, &mut nodes.0[i])).collect();
    let mut counts: Vec<u64> = clients
        .iter()
        .flat_map(|r| r["outputs"].as_array().unwrap().clone())
        .filter_map(|o| o["Done"]["outcome"]["Ok"]["Count"].as_u64())
        .collect();
    counts.sort_unstable();
    let expected: Vec<u64> = (12_301..=12_600).collect();
    assert_eq!(counts, expected, "every call acknowledged once, and no acknowledged increment lost or repeated");
    // Stop the restarted server gracefully: it recovered from its data directory.
    let pid = nodes.0[0].id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let server = report(0, &mut nodes.0[0]);
    assert_eq!(server["recovered"], true, "{server}");
    assert_eq!(server["incarnation"], 2);
}

#[test]
fn concurrent_outside_callers_each_increment_exactly_once() {
    let config = init("callers", &["--protocol", "rpc", "--calls", "0", "--nodes", "2"]);
    let mut server = Procs(vec![start_node(&config, 0)]);
    let callers: Vec<Child> = (0..12)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_herald"))
                .args(["call", "increment", "--config", config.to_str().unwrap(), "--json", "--deadline-ms", "3000"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut counts: Vec<u64> = callers
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            json(&out)["count"].as_u64().unwrap()
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (12_301..=12_312).collect::<Vec<_>>(), "each caller's increment counted once");
    let get = herald(&["call", "get", "--config", config.to_str().unwrap(), "--json"]);
    assert_eq!(json(&get)["count"], 12_312);
    let member = herald(&["call", "get", "--config", config.to_str().unwrap(), "--caller", "1"]);
    assert_eq!(member.status.code(), Some(2), "a caller cannot take a member's id");
    let pid = server.0[0].id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let report = report(0, &mut server.0[0]);
    let executed = report["outputs"].as_array().unwrap();
    assert_eq!(executed.len(), 13, "12 increments and a get, each executed once (retries deduplicated): {report}");
}

/// `busy_poll_us` in a node's `cluster.toml` entry reaches its runtime: the busy-polling server
/// answers sequential calls exactly once each and stops on SIGTERM with its report.
#[test]
fn a_busy_polling_server_from_cluster_toml_serves_calls_and_stops() {
    let config = init("busy-poll", &["--protocol", "rpc", "--calls", "0", "--nodes", "2"]);
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, original.replacen("key = \"n0.key.pem\"", "key = \"n0.key.pem\"\nbusy_poll_us = 200", 1))
        .unwrap();
    let loaded = herald_net::cluster::ClusterConfig::load(&config).unwrap();
    assert_eq!(loaded.nodes[0].busy_poll_us, Some(200));
    let mut server = Procs(vec![start_node(&config, 0)]);
    for expected in 12_301..=12_303 {
        let out =
            herald(&["call", "increment", "--config", config.to_str().unwrap(), "--json", "--deadline-ms", "3000"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(json(&out)["count"], expected);
    }
    let pid = server.0[0].id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let report = report(0, &mut server.0[0]);
    assert_eq!(report["outputs"].as_array().unwrap().len(), 3, "each call executed once: {report}");
    assert!(report["counters"]["busy_poll_turns"].as_u64().unwrap() > 0, "it busy-polled: {}", report["counters"]);
}

/// A process holding another cluster's certificate, or a member's certificate while claiming
/// another member's id, cannot get in to a running `herald run`; the node still does its work.
#[test]
fn a_running_node_refuses_foreign_and_impostor_certificates() {
    let config = init("tls-refuse", &["--traitors", "1", "--seed", "1", "--delay-bound-ms", "100"]);
    let foreign = init("tls-foreign", &[]);
    let cluster = herald_net::cluster::ClusterConfig::load(&config).unwrap();
    let stranger = herald_net::cluster::ClusterConfig::load(&foreign).unwrap();
    let target = cluster.nodes[2].addr;
    let mut nodes = start_nodes(&config, 4);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let foreign_tls = herald_net::tls::Tls::load(&stranger, 0).unwrap();
        let impostor_tls = herald_net::tls::Tls::load(&cluster, 3).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(target).await.is_err() {
            assert!(Instant::now() < deadline, "n2 never listened");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let foreign = herald_net::tls::probe_hello(&foreign_tls, target, 2, cluster.cluster, 0).await;
        assert!(foreign.is_err(), "another cluster's certificate gets in: {foreign:?}");
        let impostor = herald_net::tls::probe_hello(&impostor_tls, target, 2, cluster.cluster, 1).await;
        assert!(impostor.is_err(), "n3's certificate passes for n1");
    });
    let reports = reports(&mut nodes);
    let decisions = loyal_decisions(&config, &reports);
    assert!(decisions.iter().all(|d| d == &decisions[0] && d != "none"), "{decisions:?}");
    assert!(reports[2]["counters"]["handshakes_rejected"].as_u64().unwrap() >= 2, "{}", reports[2]["counters"]);
}

#[test]
fn the_two_generals_over_tcp_both_attack() {
    let dir = temp("up-two");
    let out = herald(&[
        "cluster",
        "up",
        "--nodes",
        "2",
        "--protocol",
        "two-generals",
        "--stages",
        "3",
        "--json",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["processes"], 2);
    assert_eq!(v["violations"], 0);
    assert_eq!(v["outcome"], "both attack");
    assert_eq!(v["messages"], 3, "one messenger per stage, none lost: {v}");
    let bad = herald(&["cluster", "up", "--nodes", "3", "--protocol", "two-generals"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("`--nodes`"));
}

/// `kill -9` of a traced node loses none of its trace up to the last handler that completed:
/// every call acknowledged to a caller before the kill is in the file (its deliver, the reply's
/// send). A torn last line, as a kill mid-write leaves, is skipped with a warning by `herald viz`
/// and by the merge; a bad line in the middle is still refused.
#[test]
fn kill_9_keeps_the_trace_of_every_completed_handler() {
    let config = init("trace-kill", &["--protocol", "rpc", "--calls", "0", "--nodes", "2"]);
    let dir = config.parent().unwrap();
    let trace = dir.join("n0.jsonl");
    let mut server = Procs(vec![
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["run", "--config", config.to_str().unwrap(), "--node", "0", "--json", "--trace"])
            .arg(&trace)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("herald run starts"),
    ]);
    let callers: Vec<u32> = (100..105).collect();
    for (i, caller) in callers.iter().enumerate() {
        let out = herald(&[
            "call",
            "increment",
            "--config",
            config.to_str().unwrap(),
            "--caller",
            &caller.to_string(),
            "--json",
            "--deadline-ms",
            "3000",
        ]);
        assert!(out.status.success(), "caller {caller}: {}", stderr(&out));
        assert_eq!(json(&out)["count"], 12_301 + i as u64, "acknowledged");
    }
    server.0[0].kill().unwrap(); // SIGKILL: no chance to flush anything
    server.0[0].wait().unwrap();
    let bytes = std::fs::read(&trace).unwrap();
    let (header, events) = herald_core::trace::read(&bytes[..]).expect("the killed node's trace reads");
    assert_eq!(header.nodes, 2);
    for caller in &callers {
        let delivered = events.iter().any(|e| matches!(e.kind, EventKind::Deliver { from, .. } if from == *caller));
        let answered = events.iter().any(|e| matches!(e.kind, EventKind::Send { to, .. } if to == *caller));
        assert!(
            delivered && answered,
            "the acknowledged call of caller {caller} is in the trace: {} events",
            events.len()
        );
    }
    let persisted = events.iter().filter(|e| matches!(e.kind, EventKind::Persist { .. })).count();
    assert!(persisted >= callers.len(), "each execution's persist is traced: {persisted}");

    // A kill in the middle of a write leaves a torn last line: skipped, with a warning.
    let torn = dir.join("torn.jsonl");
    let last = std::str::from_utf8(&bytes).unwrap().lines().last().unwrap();
    std::fs::write(&torn, [&bytes[..], &last.as_bytes()[..last.len() / 2]].concat()).unwrap();
    let viz = herald(&["viz", torn.to_str().unwrap(), "-o", dir.join("torn.html").to_str().unwrap()]);
    assert!(viz.status.success(), "{}", stderr(&viz));
    assert!(stderr(&viz).contains("torn last line"), "{}", stderr(&viz));
    let merged = herald_net::merge(&[&torn], &dir.join("merged.jsonl"), "rpc").expect("a torn tail merges");
    assert_eq!(merged, events.len());
    // The same cut in the middle of the file is corruption.
    let lines: Vec<&str> = std::str::from_utf8(&bytes).unwrap().lines().collect();
    let mut corrupt = lines.clone();
    corrupt[2] = &lines[2][..lines[2].len() / 2];
    let middle = dir.join("middle.jsonl");
    std::fs::write(&middle, corrupt.join("\n") + "\n").unwrap();
    let viz = herald(&["viz", middle.to_str().unwrap(), "-o", dir.join("middle.html").to_str().unwrap()]);
    assert_eq!(viz.status.code(), Some(2), "{}", stderr(&viz));
    assert!(stderr(&viz).contains("line 3"), "{}", stderr(&viz));
    assert!(herald_net::merge(&[&middle], &dir.join("merged2.jsonl"), "rpc").is_err());
}
