//! Real faults between real processes in Linux network namespaces (the tests run as root, as CI
//! does): every node in its own namespace with its own kernel network stack and address, its veth
//! joined to the others in a hub namespace; partitions are links taken down on the hub; crashes
//! are `kill -9`. The namespaces (and with them every veth) and the emulator are gone when a test
//! ends, pass or fail (`Drop`).
//!
//! Delay, jitter (reordering), duplication and loss come from `herald netem`, a userspace
//! equivalent of `tc qdisc … netem`: this machine's kernel has no `sch_netem` ("Specified qdisc
//! kind is unknown"), so the hub is not a kernel bridge but `herald netem` running in the hub
//! namespace, a learning switch on packet sockets that delays, reorders, duplicates and drops
//! each Ethernet frame (seeded). The nodes' TCP stacks see the faults on real segments; offloads
//! are turned off on every veth (`ethtool`) so that frames are MTU-sized and carry their own
//! checksums.
//!
//! - The emulator's faults are real: ping round trips of at least 2 × (delay − jitter) and
//!   2 × delay on average, duplicated replies, replies overtaken by later ones, the loss rate, and
//!   the emulator's own counts (every copy accounted for, no frame above the MTU).
//! - OM (4 nodes, 1 traitor) and SM (4 nodes, 2 traitors) agree under delay with jitter,
//!   duplication and reordering (delay bound 100 ms), and under 5% loss (delay bound 2 s, see
//!   [`LOSSY`]).
//! - Exactly-once RPC under 10% loss, duplication, reordering, a partition and `kill -9` of the
//!   server: every call acknowledged once, and the restarted server holds every acknowledged write.
//! - A test that fails leaves no namespace and no emulator behind.

mod common;
use common::{Procs, herald, node_report as report, temp};
use serde_json::Value;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn ip(args: &[&str]) -> Output {
    let out = Command::new("ip").args(args).output().expect("`ip` (iproute2) is installed");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs `cmd` in namespace `ns` and asserts it succeeded.
fn exec(ns: &str, cmd: &[&str]) -> Output {
    let out = Command::new("ip").args(["netns", "exec", ns]).args(cmd).output().expect("ip netns exec");
    assert!(out.status.success(), "{}: {}", cmd.join(" "), String::from_utf8_lossy(&out.stderr));
    out
}

/// The hub's faults, as `herald netem` takes them (percentages, milliseconds).
#[derive(Clone, Copy, Debug, Default)]
struct Faults {
    delay_ms: f64,
    jitter_ms: f64,
    loss: f64,
    duplicate: f64,
    reorder: f64,
}

/// `n` namespaces joined by `herald netem` in a hub namespace; node i has address
/// 10.213.<subnet>.<i + 1>.
struct Net {
    hub: String,
    nodes: Vec<String>,
    subnet: u8,
    emulator: Option<(Child, JoinHandle<String>)>,
}

impl Net {
    fn new(tag: &str, subnet: u8, n: usize, faults: Faults) -> Self {
        let pid = std::process::id();
        let hub = format!("herald-{pid}-{tag}-hub");
        let mut net = Self { hub: hub.clone(), nodes: Vec::new(), subnet, emulator: None };
        ip(&["netns", "add", &hub]);
        quiet(&hub);
        for i in 0..n {
            let ns = format!("herald-{pid}-{tag}-n{i}");
            ip(&["netns", "add", &ns]);
            net.nodes.push(ns.clone());
            quiet(&ns);
            let hub_end = format!("p{i}");
            ip(&["-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &hub_end, "netns", &hub]);
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", net.addr(i)), "dev", "eth0"]);
            no_offloads(&ns, "eth0");
            no_offloads(&hub, &hub_end);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &hub, "link", "set", &hub_end, "up"]);
        }
        net.start_emulator(faults);
        net
    }

    /// Starts `herald netem` on the hub's ports and waits until it forwards.
    fn start_emulator(&mut self, f: Faults) {
        let ports: Vec<String> = (0..self.nodes.len()).map(|i| format!("p{i}")).collect();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.hub, env!("CARGO_BIN_EXE_herald"), "netem"])
            .args(&ports)
            .args(["--delay-ms", &f.delay_ms.to_string(), "--jitter-ms", &f.jitter_ms.to_string()])
            .args(["--loss", &f.loss.to_string(), "--duplicate", &f.duplicate.to_string()])
            .args(["--reorder", &f.reorder.to_string(), "--seed", &self.subnet.to_string(), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ip netns exec herald netem");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        // Owned by `self` from here on: a failed wait below still kills it on drop.
        loop {
            let mut line = String::new();
            if err.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                panic!("herald netem exited before forwarding: {seen} ({:?})", child.wait());
            }
            seen.push_str(&line);
            if line.contains("forwarding between") {
                break;
            }
        }
        let drain = std::thread::spawn(move || {
            let _ = err.read_to_string(&mut seen);
            seen
        });
        self.emulator = Some((child, drain));
    }

    /// Stops the emulator as a user would (SIGTERM) and returns its report.
    fn emulator_report(&mut self) -> Value {
        let (mut child, drain) = self.emulator.take().expect("the emulator runs");
        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("`kill` runs");
        assert!(killed.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("herald netem did not stop within 5 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = drain.join().unwrap_or_default();
        assert!(status.success(), "herald netem: {status}: {stderr}");
        let mut stdout = String::new();
        child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("herald netem --json: {e}: {stdout}"))
    }

    fn addr(&self, i: usize) -> String {
        format!("10.213.{}.{}", self.subnet, i + 1)
    }

    /// Cuts (or heals) node i's link to everyone.
    fn link(&self, i: usize, up: bool) {
        ip(&["-n", &self.hub, "link", "set", &format!("p{i}"), if up { "up" } else { "down" }]);
    }

    /// Starts node i; its log (connections, warnings) goes to `logs/nI.log` beside the config,
    /// appended to across restarts.
    fn run(&self, i: usize, config: &Path) -> Child {
        let logs = config.parent().unwrap().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(logs.join(format!("n{i}.log"))).unwrap();
        Command::new("ip")
            .args(["netns", "exec", &self.nodes[i], env!("CARGO_BIN_EXE_herald"), "run", "--config"])
            .arg(config)
            .args(["--node", &i.to_string(), "--json", "--trace"])
            .arg(logs.join(format!("n{i}.trace.jsonl")))
            .env("RUST_LOG", "herald_net=info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("ip netns exec herald run")
    }
}

/// No IPv6 in a namespace: no router solicitations or neighbour discovery among the frames
/// the faults are counted on.
fn quiet(ns: &str) {
    exec(ns, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
}

/// Frames the size of the MTU with their own checksums: a packet socket sees a TSO/GSO
/// super-frame, or a checksum left to the NIC, as the sender's kernel wrote it.
fn no_offloads(ns: &str, dev: &str) {
    exec(ns, &["ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off"]);
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some((mut child, _)) = self.emulator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.nodes.iter().chain([&self.hub]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// `herald cluster init`, then every node moved to its namespace's address.
fn init(name: &str, net: &Net, args: &[&str]) -> PathBuf {
    let dir = temp(name);
    let mut all = vec!["cluster", "init", "--dir", dir.to_str().unwrap(), "--base-port", "7000"];
    all.extend_from_slice(args);
    let out = herald(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = dir.join("cluster.toml");
    let mut table: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    for (i, node) in table["node"].as_array_mut().unwrap().iter_mut().enumerate() {
        let node = node.as_table_mut().unwrap();
        node.insert("addr".into(), format!("{}:7000", net.addr(i)).into());
        node.insert("client_addr".into(), format!("{}:7100", net.addr(i)).into());
    }
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
    path
}

/// What `ping` saw: each reply in order of arrival (sequence number, round trip in ms, duplicate),
/// and the summary's counts.
struct Ping {
    replies: Vec<(u64, f64, bool)>,
    transmitted: u64,
    received: u64,
    duplicates: u64,
}

fn ping(net: &Net, from: usize, to: usize, count: u32) -> Ping {
    let out = Command::new("ip")
        .args(["netns", "exec", &net.nodes[from], "ping", "-n", "-c", &count.to_string(), "-i", "0.005", "-W", "2"])
        .arg(net.addr(to))
        .output()
        .expect("`ping` (iputils-ping) is installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |line: &str, key: &str| -> Option<String> {
        line.split_whitespace().find_map(|w| w.strip_prefix(key)).map(str::to_string)
    };
    let replies = text
        .lines()
        .filter_map(|l| {
            let seq = field(l, "icmp_seq=")?.parse().ok()?;
            let time = field(l, "time=")?.parse().ok()?;
            Some((seq, time, l.contains("DUP!")))
        })
        .collect();
    let summary = text.lines().find(|l| l.contains("packets transmitted")).unwrap_or_else(|| panic!("ping: {text}"));
    let count = |what: &str| -> u64 {
        let words: Vec<&str> = summary.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        words
            .iter()
            .position(|w| *w == what)
            .and_then(|i| words[i - 1].trim_start_matches('+').parse().ok())
            .unwrap_or(0)
    };
    Ping { replies, transmitted: count("packets"), received: count("received"), duplicates: count("duplicates") }
}

fn count(report: &Value, key: &str) -> u64 {
    report[key].as_u64().unwrap_or_else(|| panic!("the emulator's report has `{key}`: {report}"))
}

/// Every copy the faults let through was written to a port, refused by a port that was down, or
/// still queued when the emulator stopped; and no frame was larger than the MTU.
fn accounted(report: &Value) {
    let through = count(report, "offered") - count(report, "lost") + count(report, "duplicated");
    let out = count(report, "sent") + count(report, "send_errors") + count(report, "pending_at_exit");
    assert_eq!(through, out, "every copy accounted for: {report}");
    assert_eq!(count(report, "oversized"), 0, "offloads are off: no frame above the MTU: {report}");
}

#[test]
fn the_emulator_delays_reorders_duplicates_and_drops_real_packets() {
    let faults = Faults { delay_ms: 20.0, jitter_ms: 10.0, loss: 10.0, duplicate: 10.0, reorder: 0.0 };
    let mut net = Net::new("emu", 4, 2, faults);
    let p = ping(&net, 0, 1, 300);
    assert_eq!(p.transmitted, 300);
    let (originals, dups): (Vec<&(u64, f64, bool)>, Vec<_>) = p.replies.iter().partition(|r| !r.2);
    assert_eq!(originals.len() as u64, p.received);
    assert_eq!(dups.len() as u64, p.duplicates);
    // A request and its reply each wait 20 ± 10 ms in the emulator: a round trip is 20 to 60 ms
    // plus the machine's own time, 40 ms on average.
    let rtts: Vec<f64> = p.replies.iter().map(|r| r.1).collect();
    let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = rtts.iter().sum::<f64>() / rtts.len() as f64;
    assert!(min >= 20.0, "no round trip under 2 × (delay − jitter): min {min} ms");
    assert!(mean >= 36.0, "round trips average 2 × delay: mean {mean} ms");
    // 10% loss each way: about 19% of the pings go unanswered (a duplicated request can still
    // be answered when one copy is lost).
    let loss = 1.0 - p.received as f64 / p.transmitted as f64;
    assert!((0.08..=0.35).contains(&loss), "ping loss {loss}");
    let dup = p.duplicates as f64 / p.transmitted as f64;
    assert!((0.05..=0.40).contains(&dup), "ping duplicates {dup}");
    // Pings 5 ms apart with ±10 ms of jitter each way overtake each other.
    let mut highest = 0;
    let mut overtaken = 0;
    for &(seq, _, dup) in &p.replies {
        if !dup && seq < highest {
            overtaken += 1;
        }
        highest = highest.max(seq);
    }
    assert!(overtaken >= 10, "replies arrive out of order: {overtaken} of {}", p.received);
    let report = net.emulator_report();
    accounted(&report);
    let offered = count(&report, "offered") as f64;
    let lost = count(&report, "lost") as f64;
    assert!(offered >= 500.0, "{report}");
    assert!((0.05..=0.15).contains(&(lost / offered)), "the emulator's loss rate: {report}");
    let duplicated = count(&report, "duplicated") as f64 / (offered - lost);
    assert!((0.05..=0.15).contains(&duplicated), "the emulator's duplication rate: {report}");
    eprintln!(
        "netem sanity: rtt min {min:.1} ms mean {mean:.1} ms; ping loss {:.1}%, duplicates {:.1}%, {overtaken} overtaken; emulator {report}",
        loss * 100.0,
        dup * 100.0
    );
}

/// OM(1) among 4 processes, seed 3: n1 is the traitor and the commander is loyal, so both loyal
/// lieutenants (n2, n3) must decide the commander's order (IC2, hence IC1).
fn om_agrees(net: &Net, name: &str, delay_bound_ms: u64) {
    om_agrees_with(net, name, delay_bound_ms, || {});
}

/// [`om_agrees`], with `meanwhile` run once the four processes are started.
fn om_agrees_with(net: &Net, name: &str, delay_bound_ms: u64, meanwhile: impl FnOnce()) {
    let bound = delay_bound_ms.to_string();
    let config = init(name, net, &["--nodes", "4", "--traitors", "1", "--seed", "3", "--delay-bound-ms", &bound]);
    let table: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
    assert_eq!(table["protocol"]["traitors"].as_array().unwrap(), &[toml::Value::Integer(1)]);
    let mut procs = Procs((0..4).map(|i| net.run(i, &config)).collect());
    meanwhile();
    let reports: Vec<Value> = procs.0.iter_mut().enumerate().map(|(i, c)| report(i, c)).collect();
    let commander = reports[0]["outputs"][0]["order"].clone();
    assert!(commander.is_string(), "the commander gave an order: {}", reports[0]);
    for r in &reports[2..] {
        let logs = config.parent().unwrap().join("logs");
        assert_eq!(r["outputs"][0]["order"], commander, "IC2 across namespaces: {r}; logs in {}", logs.display());
    }
}

/// SM(2) among 4 processes with 2 traitors: the loyal lieutenants decide, and decide alike (IC1).
fn sm_agrees(net: &Net, name: &str, delay_bound_ms: u64) {
    let bound = delay_bound_ms.to_string();
    let config =
        init(name, net, &["--nodes", "4", "--protocol", "byzantine-sm", "--traitors", "2", "--delay-bound-ms", &bound]);
    let table: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
    let traitors: Vec<u64> =
        table["protocol"]["traitors"].as_array().unwrap().iter().map(|t| t.as_integer().unwrap() as u64).collect();
    let mut procs = Procs((0..4).map(|i| net.run(i, &config)).collect());
    let reports: Vec<Value> = procs.0.iter_mut().enumerate().map(|(i, c)| report(i, c)).collect();
    let decided: Vec<&Value> = reports
        .iter()
        .filter(|r| r["node"] != 0 && !traitors.contains(&r["node"].as_u64().unwrap()))
        .map(|r| &r["outputs"].as_array().unwrap().last().expect("a loyal lieutenant decided")["decided"]["order"])
        .collect();
    assert!(
        !decided.is_empty() && decided.iter().all(|d| *d == decided[0] && d.is_string()),
        "IC1: {decided:?}; traitors {traitors:?}; logs in {}; reports: {reports:#?}",
        config.parent().unwrap().join("logs").display()
    );
}

/// Delay with jitter (reordering), duplication and netem's reorder: TCP hides them, and the
/// rounds' delay bound (100 ms: rounds of 310 ms) covers the delay.
const MESSY: Faults = Faults { delay_ms: 10.0, jitter_ms: 8.0, loss: 0.0, duplicate: 10.0, reorder: 5.0 };

/// Loss. A lost segment costs TCP a retransmission timeout (200 ms or more, doubling), and
/// connection setup takes seconds longer on some pairs than on others (a lost SYN or ARP request
/// waits 1 s; after a retransmitted SYN the first RTO is 3 s, RFC 6298 §5.7; a stalled TLS
/// handshake is redialed after 3 s). When each node started as soon as its own connections were
/// up, nodes started up to 3.4 s apart at 5% loss (about 30 runs of each test) and with a 600 ms
/// bound (rounds of 1.81 s) SM's loyal lieutenants disagreed in 3 of about 15 runs — a message
/// later than its round counts as never sent. The start barrier (`Start::WhenConnected`: every
/// node waits for every peer's `Ready`) bounds the skew by about one delay, so 600 ms is enough.
const LOSSY: Faults = Faults { delay_ms: 5.0, jitter_ms: 2.0, loss: 5.0, duplicate: 0.0, reorder: 0.0 };
const LOSSY_BOUND_MS: u64 = 600;

fn faults_were_applied(net: &mut Net, lost: bool) {
    let report = net.emulator_report();
    accounted(&report);
    if lost {
        assert!(count(&report, "lost") > 0, "frames were lost: {report}");
    } else {
        assert!(count(&report, "duplicated") > 0 && count(&report, "reordered") > 0, "{report}");
    }
}

#[test]
fn om_agrees_across_namespaces_with_a_traitor_under_delay_reordering_and_duplication() {
    let mut net = Net::new("om", 1, 4, MESSY);
    om_agrees(&net, "netns-om", 100);
    faults_were_applied(&mut net, false);
}

/// The start barrier: the commander n0 and n3 cannot reach each other for the first 3 s (a
/// blackhole route in n3's namespace) while every other pair connects at once. n1 and n2 have all
/// their connections up within milliseconds but must not start round 1 until n0 and n3 are
/// connected too: with rounds of 310 ms, a lieutenant that started 3 s before its commander would
/// have finished OM(1) without the order and decided the default.
#[test]
fn om_nodes_wait_for_the_last_pair_to_connect_before_round_1() {
    let net = Net::new("late", 8, 4, Faults { delay_ms: 1.0, ..Faults::default() });
    let blackhole = |op: &str| {
        ip(&["-n", &net.nodes[3], "route", op, "blackhole", &format!("{}/32", net.addr(0))]);
    };
    blackhole("add");
    om_agrees_with(&net, "netns-late", 100, || {
        std::thread::sleep(Duration::from_secs(3));
        blackhole("del");
    });
}

#[test]
fn om_agrees_across_namespaces_with_a_traitor_under_packet_loss() {
    let mut net = Net::new("om-loss", 5, 4, LOSSY);
    om_agrees(&net, "netns-om-loss", LOSSY_BOUND_MS);
    faults_were_applied(&mut net, true);
}

#[test]
fn sm_agrees_across_namespaces_with_two_traitors_under_delay_reordering_and_duplication() {
    let mut net = Net::new("sm", 3, 4, MESSY);
    sm_agrees(&net, "netns-sm", 100);
    faults_were_applied(&mut net, false);
}

#[test]
fn sm_agrees_across_namespaces_with_two_traitors_under_packet_loss() {
    let mut net = Net::new("sm-loss", 6, 4, LOSSY);
    sm_agrees(&net, "netns-sm-loss", LOSSY_BOUND_MS);
    faults_were_applied(&mut net, true);
}

#[test]
fn exactly_once_rpc_survives_loss_duplication_reordering_a_partition_and_kill_9() {
    let faults = Faults { delay_ms: 5.0, jitter_ms: 5.0, loss: 10.0, duplicate: 10.0, reorder: 5.0 };
    let mut net = Net::new("rpc", 2, 3, faults);
    let config = init("netns-rpc", &net, &["--nodes", "3", "--protocol", "rpc", "--calls", "100"]);
    let dir = config.parent().unwrap();
    let mut procs = Procs((0..3).map(|i| net.run(i, &config)).collect());
    let state = dir.join("data/n0/state");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_dir(&state)
        .is_ok_and(|mut d| d.any(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')))
    {
        assert!(Instant::now() < deadline, "the server never executed a call");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Partition the server away, then crash it while it is cut off, then bring it back.
    net.link(0, false);
    std::thread::sleep(Duration::from_millis(400));
    procs.0[0].kill().unwrap();
    procs.0[0].wait().unwrap();
    procs.0[0] = net.run(0, &config);
    std::thread::sleep(Duration::from_millis(300));
    net.link(0, true);
    let clients: Vec<Value> = (1..3).map(|i| report(i, &mut procs.0[i])).collect();
    let mut counts: Vec<u64> = clients
        .iter()
        .flat_map(|r| r["outputs"].as_array().unwrap().clone())
        .filter_map(|o| o["Done"]["outcome"]["Ok"]["Count"].as_u64())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (12_301..=12_500).collect::<Vec<_>>(), "every call acknowledged once, none repeated");
    // No acknowledged write lost: the restarted server, asked across the same faulty network,
    // holds all 200 increments.
    let out = exec(
        &net.nodes[1],
        &[env!("CARGO_BIN_EXE_herald"), "call", "get", "--config", config.to_str().unwrap(), "--json"],
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("herald call --json");
    assert_eq!(got["count"], 12_500, "the server's count after the restart: {got}");
    let report = net.emulator_report();
    accounted(&report);
    for key in ["lost", "duplicated", "reordered", "send_errors"] {
        assert!(count(&report, key) > 0, "`{key}`: the faults and the partition happened: {report}");
    }
}

#[test]
fn herald_netem_refuses_what_it_cannot_do() {
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let out = herald(&["netem", "p0", "p1", "--loss", "150"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("`loss`"), "{}", stderr(&out));
    let out = herald(&["netem", "p0"]);
    assert_eq!(out.status.code(), Some(2), "a switch needs two ports: {}", stderr(&out));
    let out = herald(&["netem", "lo", "lo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("named twice"), "{}", stderr(&out));
    // Checked before any socket is opened: nothing is forwarded in this (the host's) namespace.
    let out = herald(&["netem", "herald-none-0", "herald-none-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no interface named \"herald-none-0\""), "{}", stderr(&out));
}

#[test]
fn a_failing_test_leaves_no_namespace_and_no_emulator_behind() {
    let mut names = Vec::new();
    let mut emulator = 0;
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let net = Net::new("fail", 7, 2, Faults { delay_ms: 1.0, ..Faults::default() });
        names = net.nodes.iter().chain([&net.hub]).cloned().collect();
        emulator = net.emulator.as_ref().unwrap().0.id();
        panic!("a test failing with its network up");
    }));
    assert!(failed.is_err());
    assert!(names.len() == 3 && emulator != 0, "the network was up when the test failed");
    let listed = String::from_utf8_lossy(&ip(&["netns", "list"]).stdout).into_owned();
    for name in &names {
        assert!(!listed.contains(name.as_str()), "{name} was deleted: {listed}");
    }
    let cmdline = std::fs::read(format!("/proc/{emulator}/cmdline")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&cmdline).contains("netem"), "the emulator (pid {emulator}) was killed");
}
