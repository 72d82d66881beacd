//! The driver over real sockets on loopback: nodes of one cluster in one process (each with its own
//! listener, connections, timers and data directory), strangers and garbage thrown at them.

use herald_core::NodeId;
use herald_net::cluster::{self, ClusterConfig, InitOptions, ProtocolSpec};
use herald_net::tls::Tls;
use herald_net::{Options, Report, Role, Start, run};
use herald_protocols::ping_pong::{self, PingPong, PingPongConfig, RoundTrip};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("herald-net-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn cluster(dir: &Path, nodes: usize, tls: bool) -> ClusterConfig {
    let protocol = ProtocolSpec {
        name: "ping-pong".into(),
        seed: 1,
        delay_bound_ms: 20,
        step_bound_ms: 5,
        traitors: vec![],
        params: Default::default(),
    };
    let options =
        InitOptions { nodes, host: LOCALHOST, base_port: None, tls, cluster: 42, protocol, max_callers: None };
    cluster::init(dir, &options).expect("cluster init")
}

fn options(config: &ClusterConfig, id: u32, data: &Path) -> Options {
    let addrs = config.nodes.iter().map(|n| n.addr).collect();
    let mut o = Options::new(config.cluster, NodeId(id), addrs, data.join(format!("n{id}")));
    o.tls = config.tls.then(|| Tls::load(config, id).expect("TLS material"));
    o.start = Start::WhenConnected { timeout: Duration::from_secs(5) };
    o.time_max = Duration::from_secs(20);
    o.linger = Duration::from_millis(300);
    o
}

fn ping_pong(nodes: usize, pings: u64) -> PingPong {
    let config = PingPongConfig {
        in_flight: 2,
        pings_max: Some(pings),
        retransmit: Some(Duration::from_millis(100)),
        report: true,
    };
    PingPong::new(config, nodes)
}

async fn run_ping_pong(config: &ClusterConfig, ids: &[u32], data: &Path, pings: u64) -> Vec<Report<RoundTrip>> {
    let n = config.nodes.len();
    let want = pings as usize * (n - 1);
    let runs = ids.iter().map(|&id| {
        let mut o = options(config, id, data);
        o.trace = Some((data.join(format!("trace-n{id}.jsonl")), "ping-pong".into()));
        run(Role::Honest(ping_pong(n, pings)), o, move |out: &[RoundTrip]| out.len() >= want)
    });
    futures_util::future::join_all(runs).await.into_iter().map(|r| r.expect("the node runs")).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn ping_pong_over_mutual_tls_completes_and_its_traces_merge_causally() {
    let dir = scratch("tls");
    let config = cluster(&dir, 3, true);
    let reports = runtime().block_on(run_ping_pong(&config, &[0, 1, 2], &dir, 30));
    for r in &reports {
        assert!(r.done, "n{} finished: {r:?}", r.node);
        assert_eq!(r.outputs.len(), 60, "n{}: 30 round trips with each of 2 peers", r.node);
        assert_eq!(r.counters.frames_rejected + r.counters.handshakes_rejected + r.counters.corrupt, 0);
        let observed: Vec<_> = r.outputs.iter().map(|o| (NodeId(r.node), o)).collect();
        ping_pong::check_round_trips(observed).expect("every round trip answers a ping of this incarnation");
    }
    let inputs: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("trace-n{i}.jsonl"))).collect();
    let merged = dir.join("trace.jsonl");
    let events = herald_net::merge(&inputs, &merged, "ping-pong").expect("traces merge");
    let (header, events_read) =
        herald_core::trace::read(std::io::BufReader::new(std::fs::File::open(&merged).unwrap())).unwrap();
    assert_eq!(header.nodes, 3);
    assert_eq!(events_read.len(), events);
    let mut sends = std::collections::BTreeMap::new();
    let mut delivers = 0;
    for e in &events_read {
        match e.kind {
            herald_core::trace::EventKind::Send { msg, .. } => {
                sends.insert(msg, (e.lamport.unwrap(), e.t));
            }
            herald_core::trace::EventKind::Deliver { msg, .. } => {
                let (lamport, t) = sends.get(&msg).copied().expect("a deliver follows its send in the merged trace");
                assert!(e.lamport.unwrap() > lamport, "Lamport: a deliver is later than its send");
                assert!(e.t >= t);
                delivers += 1;
            }
            _ => {}
        }
    }
    assert!(delivers >= 3 * 2 * 60, "every ping and pong was delivered and traced: {delivers}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A stranger with its own CA, a member claiming another member's id, and 1 MiB of random bytes
/// are all turned away at the door while the cluster's own traffic carries on.
#[test]
fn strangers_impostors_and_garbage_are_refused_while_peers_are_served() {
    let dir = scratch("refuse");
    let config = cluster(&dir, 3, true);
    let stranger_dir = scratch("stranger");
    let stranger = cluster(&stranger_dir, 3, true);
    let target = config.nodes[1].addr;
    let rt = runtime();
    let reports = rt.block_on(async {
        let attacks = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            // 1 MiB of random bytes, straight at the TLS port.
            let mut rng = herald_core::Rng::new(7);
            let junk: Vec<u8> = (0..1 << 20).map(|_| rng.between(0, 255) as u8).collect();
            if let Ok(mut s) = tokio::net::TcpStream::connect(target).await {
                let _ = s.write_all(&junk).await;
            }
            // A certificate from another cluster's CA.
            let foreign = Tls::load(&stranger, 0).unwrap();
            assert!(try_tls(&foreign, target, 1).await.is_err(), "a foreign certificate is refused");
            // A real member (n2) presenting its own certificate while claiming to be n0.
            let member = Tls::load(&config, 2).unwrap();
            assert!(
                herald_net::tls::probe_hello(&member, target, 1, config.cluster, 0).await.is_err(),
                "an impostor is refused"
            );
        };
        // Nodes 0 and 1 run; node 2's key plays the impostor.
        let two = ClusterConfig { nodes: config.nodes[..2].to_vec(), ..config.clone() };
        let (reports, ()) = tokio::join!(run_ping_pong(&two, &[0, 1], &dir, 200), attacks);
        reports
    });
    for r in &reports {
        assert!(r.done, "n{} kept serving its peer: {r:?}", r.node);
        assert_eq!(r.outputs.len(), 200);
    }
    assert!(reports[1].counters.handshakes_rejected >= 3, "junk, foreigner, impostor: {:?}", reports[1].counters);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&stranger_dir).unwrap();
}

async fn try_tls(tls: &Tls, addr: std::net::SocketAddr, peer: u32) -> Result<(), String> {
    herald_net::tls::probe_hello(tls, addr, peer, 0, 0).await
}

#[test]
fn a_restarted_node_recovers_what_it_persisted() {
    let dir = scratch("recover");
    let config = cluster(&dir, 2, false);
    let rt = runtime();
    let first = rt.block_on(run_ping_pong(&config, &[0, 1], &dir, 5));
    assert!(first.iter().all(|r| !r.recovered && r.incarnation == 1 && r.done));
    let second = rt.block_on(run_ping_pong(&config, &[0, 1], &dir, 5));
    for r in &second {
        assert!(r.recovered, "the same data directory ⇒ on_recover");
        assert_eq!(r.incarnation, 2);
        assert!(r.outputs.iter().all(|o| o.incarnation == 1), "ping-pong bumped its persisted incarnation 0 → 1");
    }
    let stored = herald_net::storage::DataDir::open(dir.join("n0")).unwrap().load().unwrap();
    assert_eq!(stored.get_value::<u32>(ping_pong::INCARNATION_KEY).unwrap(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What the man in the middle does to the dialer's `RECORD_TAMPERED`-th encrypted TLS record on
/// each connection it relays: the first connection gets a flipped byte, the second the record
/// twice (a replay), later ones pass untouched.
const RECORD_TAMPERED: usize = 10;

/// A TCP proxy in front of `target` that relays whole TLS records from the dialer and spoils one
/// record on each of its first two connections.
async fn tampering_proxy(listener: tokio::net::TcpListener, target: std::net::SocketAddr) {
    use tokio::io::AsyncReadExt;
    for connection in 0.. {
        let Ok((inward, _)) = listener.accept().await else { return };
        let Ok(outward) = tokio::net::TcpStream::connect(target).await else { continue };
        tokio::spawn(async move {
            let (mut in_read, mut in_write) = inward.into_split();
            let (mut out_read, mut out_write) = outward.into_split();
            let back = tokio::io::copy(&mut out_read, &mut in_write);
            let forth = async {
                let mut encrypted = 0;
                loop {
                    let mut header = [0u8; 5];
                    in_read.read_exact(&mut header).await?;
                    let mut record = header.to_vec();
                    record.resize(5 + u16::from_be_bytes([header[3], header[4]]) as usize, 0);
                    in_read.read_exact(&mut record[5..]).await?;
                    // Content type 23: application data, which is every record after the hellos.
                    if header[0] == 23 {
                        encrypted += 1;
                    }
                    let spoil = encrypted == RECORD_TAMPERED && header[0] == 23;
                    match connection {
                        0 if spoil => {
                            let last = record.len() - 1;
                            record[last] ^= 0x01;
                            out_write.write_all(&record).await?;
                        }
                        1 if spoil => {
                            out_write.write_all(&record).await?;
                            out_write.write_all(&record).await?;
                        }
                        _ => out_write.write_all(&record).await?,
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), std::io::Error>(())
            };
            tokio::select! {
                _ = back => {}
                _ = forth => {}
            }
        });
    }
}

/// A flipped bit in a TLS record and a replayed record each close the connection that carried them
/// (counted as rejected frames, with a logged reason); the dialer reconnects, and the node keeps
/// serving its other peer throughout.
#[test]
fn tampered_and_replayed_tls_records_close_that_connection_only() {
    let dir = scratch("tamper");
    let config = cluster(&dir, 3, true);
    let rt = runtime();
    let reports = rt.block_on(async {
        let proxy = tokio::net::TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        let via_proxy = proxy.local_addr().unwrap();
        tokio::spawn(tampering_proxy(proxy, config.nodes[1].addr));
        let pings = 200;
        let want = pings as usize * 2;
        let runs = [0, 1, 2].map(|id| {
            let mut o = options(&config, id, &dir);
            if id == 0 {
                // n0 dials n1 through the man in the middle; TLS still names n1.
                o.addrs[1] = via_proxy;
            }
            run(Role::Honest(ping_pong(3, pings)), o, move |out: &[RoundTrip]| out.len() >= want)
        });
        futures_util::future::join_all(runs).await.into_iter().map(|r| r.expect("the node runs")).collect::<Vec<_>>()
    });
    for r in &reports {
        assert!(r.done, "n{} finished despite the man in the middle: {r:?}", r.node);
        assert_eq!(r.outputs.len(), 400, "n{}: 200 round trips with each of 2 peers", r.node);
    }
    let n1 = &reports[1].counters;
    assert_eq!(n1.frames_rejected, 2, "n1 rejected the tampered and the replayed record: {n1:?}");
    assert_eq!(n1.handshakes_rejected, 0, "the handshakes themselves were untouched: {n1:?}");
    // n0: n2 once, n1 three times (the tampered, the replayed and the clean connection).
    assert_eq!(reports[0].counters.connections, 4, "{:?}", reports[0].counters);
    assert_eq!(reports[2].counters.connections, 2, "n2 was never disturbed: {:?}", reports[2].counters);
    std::fs::remove_dir_all(&dir).unwrap();
}
