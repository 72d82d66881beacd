//! The client port under pressure, and what is left of a run when `run` returns: an echo node in
//! this process, outside callers (and sockets that never greet) thrown at it over loopback.

use herald_core::NodeId;
use herald_net::client::{Caller, CallerError};
use herald_net::{Options, Report, Role, run};
use herald_protocols::echo::Echo;
use herald_protocols::ping_pong::{Msg, PingPong, PingPongConfig, RoundTrip};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const CLUSTER: u64 = 77;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A one-node echo cluster with a client port, on free ports; its data directory is `name`'s.
fn echo_options(name: &str) -> (Options, SocketAddr, SocketAddr) {
    let ports = herald_net::cluster::free_ports(LOCALHOST, 2).unwrap();
    let (peer, client) = (SocketAddr::new(LOCALHOST, ports[0]), SocketAddr::new(LOCALHOST, ports[1]));
    let data = std::env::temp_dir().join(format!("herald-net-callers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut o = Options::new(CLUSTER, NodeId(0), vec![peer], data);
    o.client_addr = Some(client);
    (o, peer, client)
}

async fn run_echo(options: Options) -> Report<()> {
    let data = options.data_dir.clone();
    let report = run(Role::Honest(Echo), options, |_: &[()]| false).await.expect("the node runs");
    let _ = std::fs::remove_dir_all(data);
    report
}

/// Connects caller `id`, retrying until the node listens.
async fn connect(addr: SocketAddr, id: u32) -> Caller {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Caller::connect(addr, CLUSTER, 0, id).await {
            Ok(c) => return c,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(5)).await,
            Err(e) => panic!("caller {id} never got in: {e}"),
        }
    }
}

/// One round trip through the echo node.
async fn echo(caller: &mut Caller, body: &[u8]) -> Result<Vec<u8>, CallerError> {
    caller.send(&body.to_vec()).await?;
    tokio::time::timeout(Duration::from_secs(5), caller.recv::<Vec<u8>>()).await.unwrap_or(Err(CallerError::Closed))
}

/// Whether the node has closed `stream` (end of file or a reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// When `run` returns in a runtime that lives on, nothing of the run is left: a greeted caller's
/// connection, a socket still in its handshake on each port, and both listening ports are closed.
#[test]
fn nothing_of_a_run_outlives_it() {
    let (mut options, peer, client) = echo_options("outlive");
    options.time_max = Duration::from_millis(1500);
    let rt = runtime();
    rt.block_on(async {
        let callers = async {
            let mut caller = connect(client, 1).await;
            assert_eq!(echo(&mut caller, b"hi").await.unwrap(), b"hi", "served while the node runs");
            // Sockets that never greet: each sits in its handshake (3 s timeout) when run returns.
            let silent_client = TcpStream::connect(client).await.unwrap();
            let silent_peer = TcpStream::connect(peer).await.unwrap();
            (caller, silent_client, silent_peer)
        };
        let (report, (mut caller, mut silent_client, mut silent_peer)) = tokio::join!(run_echo(options), callers);
        assert_eq!(report.counters.delivered, 1);
        assert_eq!(report.counters.busy_poll_turns, 0, "busy polling is off by default");
        // run has returned; this runtime (and its I/O driver) carries on.
        let gone = tokio::time::timeout(Duration::from_millis(500), caller.recv::<Vec<u8>>()).await;
        assert!(matches!(gone, Ok(Err(_))), "the caller's connection was closed when run returned: {gone:?}");
        assert!(closed_within(&mut silent_client, Duration::from_millis(500)).await, "a greeting caller outlived run");
        assert!(closed_within(&mut silent_peer, Duration::from_millis(500)).await, "a greeting peer outlived run");
        for addr in [client, peer] {
            assert!(TcpStream::connect(addr).await.is_err(), "{addr} still accepts connections after run returned");
            tokio::net::TcpListener::bind(addr).await.unwrap_or_else(|e| panic!("{addr} is still bound: {e}"));
        }
    });
}

/// A two-node ping-pong cluster on free ports whose node 0 has a client port; every node stops
/// once `after` is set and it has completed 50 more round trips.
fn ping_pong_cluster(
    name: &str,
    after: &std::rc::Rc<std::cell::Cell<bool>>,
) -> (Vec<impl std::future::Future<Output = Report<RoundTrip>>>, SocketAddr) {
    let ports = herald_net::cluster::free_ports(LOCALHOST, 3).unwrap();
    let addrs = vec![SocketAddr::new(LOCALHOST, ports[0]), SocketAddr::new(LOCALHOST, ports[1])];
    let client = SocketAddr::new(LOCALHOST, ports[2]);
    let data = std::env::temp_dir().join(format!("herald-net-callers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let runs = (0..2u32)
        .map(|id| {
            let mut o = Options::new(CLUSTER, NodeId(id), addrs.clone(), data.join(format!("n{id}")));
            o.start = herald_net::Start::WhenConnected { timeout: Duration::from_secs(5) };
            o.time_max = Duration::from_secs(30);
            if id == 0 {
                o.client_addr = Some(client);
                o.max_callers = 4;
                o.caller_idle = Duration::from_millis(400);
            }
            let config = PingPongConfig {
                in_flight: 2,
                pings_max: None,
                retransmit: Some(Duration::from_millis(100)),
                report: true,
            };
            let (after, seen) = (after.clone(), std::cell::Cell::new(None));
            let done = move |out: &[RoundTrip]| {
                if after.get() && seen.get().is_none() {
                    seen.set(Some(out.len()));
                }
                seen.get().is_some_and(|n| out.len() >= n + 50)
            };
            run(Role::Honest(PingPong::new(config, 2)), o, done)
        })
        .map(|f| async { f.await.expect("the node runs") })
        .collect();
    (runs, client)
}

async fn ping(caller: &mut Caller, seq: u64) -> Result<(), CallerError> {
    caller.send(&Msg::Ping { incarnation: 9, seq }).await?;
    match tokio::time::timeout(Duration::from_secs(5), caller.recv::<Msg>()).await {
        Ok(Ok(Msg::Pong { incarnation: 9, seq: got })) if got == seq => Ok(()),
        Ok(Ok(other)) => panic!("caller {} got {other:?} for ping {seq}", caller.id()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(CallerError::Closed),
    }
}

/// Connects caller `id`, retrying for up to two seconds (a slot frees once the node has seen a
/// caller leave).
async fn connect_soon(addr: SocketAddr, id: u32) -> Result<Caller, CallerError> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match Caller::connect(addr, CLUSTER, 0, id).await {
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            result => return result,
        }
    }
}

/// The client port holds at most `max_callers` connections: more are closed at once, the callers
/// inside and the node's peer keep being served, and a caller that leaves makes room for another.
#[test]
fn the_client_port_refuses_callers_beyond_its_limit_and_keeps_serving() {
    let after = std::rc::Rc::new(std::cell::Cell::new(false));
    let (runs, client) = ping_pong_cluster("limit", &after);
    let scenario = async {
        let mut inside = Vec::new();
        for id in 2..6 {
            let mut c = connect(client, id).await;
            ping(&mut c, 0).await.unwrap();
            inside.push(c);
        }
        // The limit (4) is reached: three more callers and a bare socket are turned away promptly.
        for id in 6..9 {
            let started = Instant::now();
            let refused = Caller::connect(client, CLUSTER, 0, id).await;
            assert!(matches!(refused, Err(CallerError::Handshake(_))), "caller {id} got in beyond the limit");
            assert!(started.elapsed() < Duration::from_secs(1), "caller {id} was not refused promptly");
        }
        let mut bare = TcpStream::connect(client).await.unwrap();
        assert!(closed_within(&mut bare, Duration::from_millis(500)).await, "a fifth socket was held open");
        // The callers inside are still answered.
        for (i, c) in inside.iter_mut().enumerate() {
            ping(c, 1 + i as u64).await.unwrap();
        }
        // Two leave; two newcomers get in (and are answered), and the port is full again.
        inside.truncate(2);
        for id in [9, 10] {
            let mut c = connect_soon(client, id).await.unwrap_or_else(|e| panic!("caller {id}: {e}"));
            ping(&mut c, 7).await.unwrap();
            inside.push(c);
        }
        assert!(Caller::connect(client, CLUSTER, 0, 11).await.is_err(), "the freed slots are taken again");
        for (i, c) in inside.iter_mut().enumerate() {
            ping(c, 20 + i as u64).await.unwrap();
        }
        after.set(true);
        inside
    };
    let rt = runtime();
    let (reports, _inside) = rt.block_on(async { tokio::join!(futures_util::future::join_all(runs), scenario) });
    for r in &reports {
        assert!(r.done, "n{} kept serving its peer after the refusals: {:?}", r.node, r.counters);
    }
    let c = &reports[0].counters;
    assert!(c.callers_refused >= 5, "3 callers, a bare socket and caller 11 were refused: {c:?}");
}

/// A greeted caller that stays silent past `caller_idle` is disconnected (its slot freed); one
/// that keeps talking is not; a socket that never greets is closed after the handshake timeout.
#[test]
fn silent_callers_are_disconnected() {
    let after = std::rc::Rc::new(std::cell::Cell::new(false));
    let (runs, client) = ping_pong_cluster("idle", &after);
    let scenario = async {
        let mut silent = connect(client, 2).await;
        let mut busy = connect(client, 3).await;
        let mut bare = TcpStream::connect(client).await.unwrap();
        let started = Instant::now();
        for seq in 0..12 {
            ping(&mut busy, seq).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // 1.2 s of talk at 100 ms intervals: well past the 400 ms idle limit, still connected.
        ping(&mut busy, 99).await.expect("a caller that keeps talking stays connected");
        drop(busy);
        let gone = tokio::time::timeout(Duration::from_millis(100), silent.recv::<Msg>()).await;
        assert!(matches!(gone, Ok(Err(_))), "the silent caller was disconnected: {gone:?}");
        assert!(closed_within(&mut bare, Duration::from_secs(4)).await, "a socket that never greets was held");
        assert!(started.elapsed() >= Duration::from_millis(2500), "the handshake timeout is about 3 s");
        after.set(true);
    };
    let rt = runtime();
    let (reports, ()) = rt.block_on(async { tokio::join!(futures_util::future::join_all(runs), scenario) });
    let c = &reports[0].counters;
    assert!(reports.iter().all(|r| r.done), "{reports:?}");
    assert_eq!(c.callers_idle, 1, "{c:?}");
    assert_eq!(c.handshakes_rejected, 1, "the bare socket: {c:?}");
}

/// Sockets that connect to the peer port and never finish a handshake are held only up to a bound
/// (64 at once): one more is closed at once, so strangers cannot exhaust the process's files.
#[test]
fn the_peer_port_bounds_handshakes_in_progress() {
    let (mut options, peer, _) = echo_options("handshakes");
    options.time_max = Duration::from_millis(1500);
    let rt = runtime();
    let (report, ()) = rt.block_on(async {
        let strangers = async {
            let mut held = Vec::new();
            for _ in 0..64 {
                held.push(connect_tcp(peer).await);
            }
            let mut one_more = connect_tcp(peer).await;
            assert!(closed_within(&mut one_more, Duration::from_millis(500)).await, "the 65th handshake was held");
            for s in &mut held[..4] {
                assert!(!closed_within(s, Duration::from_millis(50)).await, "a handshake within the bound was cut");
            }
        };
        tokio::join!(run_echo(options), strangers)
    });
    assert!(report.counters.handshakes_rejected >= 1, "{:?}", report.counters);
}

async fn connect_tcp(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("{addr} never listened: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// A caller's frame may carry any Lamport clock, u64::MAX included: the node (whose clock jumps to
/// it) keeps answering that caller and the others, and its peer.
#[test]
fn a_caller_claiming_the_largest_lamport_clock_is_served() {
    use futures_util::{SinkExt, StreamExt};
    use herald_net::frame::{Body, FrameCodec, MAX_FRAME_DEFAULT, encode, encode_msg};
    let after = std::rc::Rc::new(std::cell::Cell::new(false));
    let (runs, client) = ping_pong_cluster("lamport", &after);
    let scenario = async {
        let mut other = connect(client, 3).await;
        let tcp = connect_tcp(client).await;
        let mut raw = tokio_util::codec::Framed::new(tcp, FrameCodec::new(MAX_FRAME_DEFAULT));
        let hello = encode(&Body::Hello { cluster: CLUSTER, from: 2, to: 0, incarnation: 1 });
        raw.send(bytes::Bytes::from(hello)).await.unwrap();
        assert!(matches!(raw.next().await, Some(Ok(Body::Hello { from: 0, .. }))));
        for seq in 0..3 {
            let body = herald_core::codec::encode(&Msg::Ping { incarnation: 9, seq });
            raw.send(bytes::Bytes::from(encode_msg(u64::MAX, 1 << 40 | seq, &body))).await.unwrap();
            let reply = tokio::time::timeout(Duration::from_secs(5), raw.next()).await.expect("an answer");
            let Some(Ok(Body::Msg { lamport, payload, .. })) = reply else { panic!("{reply:?}") };
            assert_eq!(lamport, u64::MAX, "the clock saturates");
            assert_eq!(herald_core::codec::decode::<Msg>(&payload).unwrap(), Msg::Pong { incarnation: 9, seq });
            ping(&mut other, seq).await.unwrap();
        }
        after.set(true);
    };
    let rt = runtime();
    let (reports, ()) = rt.block_on(async { tokio::join!(futures_util::future::join_all(runs), scenario) });
    assert!(reports.iter().all(|r| r.done), "{reports:?}");
}

/// Runs `scenario` against a node on the client port of `options` and returns its result; the
/// node is dropped (and with it everything of its run) when the scenario ends.
async fn against<N: herald_core::Node<Output = ()>, T>(
    node: N,
    options: Options,
    scenario: impl std::future::Future<Output = T>,
) -> T {
    let data = options.data_dir.clone();
    let result = tokio::select! {
        r = run(Role::Honest(node), options, |_: &[()]| false) => panic!("the node stopped early: {:?}", r.map(|r| r.counters)),
        t = scenario => t,
    };
    let _ = std::fs::remove_dir_all(data);
    result
}

/// Many tasks share one connection with their calls in flight together; each gets the reply to its
/// own call (replies are matched in order), for as long as any of them calls. With 64 in flight
/// the replies of a burst are handed back in shares, the first callers' next calls leaving between
/// them.
#[test]
fn a_shared_connection_answers_each_of_many_concurrent_calls_with_its_own_reply() {
    let (options, _, client) = echo_options("shared");
    runtime().block_on(against(Echo, options, async {
        let shared = connect(client, 1).await.share();
        let tasks = (0..64u32).map(|task| {
            let shared = shared.clone();
            async move {
                for i in 0..50u32 {
                    let body = format!("task {task} call {i}").into_bytes();
                    let back: Vec<u8> = shared.call(&body).await.unwrap();
                    assert_eq!(back, body);
                }
            }
        });
        futures_util::future::join_all(tasks).await;
        // Handles moved into spawned tasks share it too.
        let more = (0..4u32).map(|task| {
            let shared = shared.clone();
            tokio::spawn(async move { shared.call::<_, Vec<u8>>(&vec![task as u8; 100]).await.unwrap() })
        });
        for (task, back) in futures_util::future::join_all(more).await.into_iter().enumerate() {
            assert_eq!(back.unwrap(), vec![task as u8; 100]);
        }
    }));
}

/// Busy polling changes when a thread sleeps, not what it answers: a busy-polling node serves a
/// busy-polling caller's sequential calls and a shared connection's concurrent ones, and its run
/// still ends (the spinning task with it) when its time is up.
#[test]
fn a_busy_polling_node_and_callers_answer_every_call_and_the_run_ends() {
    let (mut options, _, client) = echo_options("busy-poll");
    options.busy_poll = Duration::from_millis(2);
    options.time_max = Duration::from_secs(2);
    let rt = runtime();
    rt.block_on(async {
        let callers = async {
            let mut caller = connect(client, 1).await;
            caller.set_busy_poll(Duration::from_millis(2));
            for i in 0..200u32 {
                let body = i.to_le_bytes();
                assert_eq!(echo(&mut caller, &body).await.unwrap(), body);
            }
            // Past the budgets on both ends: the next call waits in the kernel and still gets in.
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(echo(&mut caller, b"after a pause").await.unwrap(), b"after a pause");
            let shared = caller.share();
            let tasks = (0..8u32).map(|task| {
                let shared = shared.clone();
                async move {
                    for i in 0..25u32 {
                        let body = format!("task {task} call {i}").into_bytes();
                        assert_eq!(shared.call::<_, Vec<u8>>(&body).await.unwrap(), body);
                    }
                }
            });
            futures_util::future::join_all(tasks).await;
        };
        let (report, ()) = tokio::join!(run_echo(options), callers);
        assert_eq!(report.counters.delivered, 201 + 8 * 25);
        assert!(report.counters.busy_poll_turns > 0, "it busy-polled: {:?}", report.counters);
    });
}

/// A node that answers every message twice: it breaks a shared connection's contract.
#[derive(Debug)]
struct Twice;

impl herald_core::Node for Twice {
    type Msg = Vec<u8>;
    type Timer = ();
    type Output = ();

    fn on_start(&mut self, _ctx: &mut herald_core::Context<'_, Self>) {}

    fn on_message(&mut self, from: NodeId, msg: Vec<u8>, ctx: &mut herald_core::Context<'_, Self>) {
        ctx.send(from, msg.clone());
        ctx.send(from, msg);
    }
}

/// A reply that no call waits for ends the shared connection: the next call fails and says why,
/// instead of being handed the stray reply.
#[test]
fn a_reply_no_call_waits_for_ends_a_shared_connection() {
    let (options, _, client) = echo_options("stray");
    runtime().block_on(against(Twice, options, async {
        let shared = connect(client, 1).await.share();
        let back: Vec<u8> = shared.call(&b"once".to_vec()).await.unwrap();
        assert_eq!(back, b"once");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let next = shared.call::<_, Vec<u8>>(&b"again".to_vec()).await;
        assert!(matches!(&next, Err(CallerError::Unexpected(why)) if why.contains("no call was waiting")), "{next:?}");
    }));
}

/// A message too large for a frame fails its own call; the connection and the other calls carry on.
#[test]
fn an_oversized_call_fails_alone_on_a_shared_connection() {
    use herald_net::frame::{FrameError, MAX_FRAME_DEFAULT};
    let (options, _, client) = echo_options("oversized");
    runtime().block_on(against(Echo, options, async {
        let shared = connect(client, 1).await.share();
        let (huge, small) = (vec![7u8; MAX_FRAME_DEFAULT + 1], b"small".to_vec());
        let (refused, fine) = tokio::join!(shared.call::<_, Vec<u8>>(&huge), shared.call::<_, Vec<u8>>(&small));
        assert!(matches!(refused, Err(CallerError::Frame(FrameError::Oversized { .. }))), "{refused:?}");
        assert_eq!(fine.unwrap(), b"small");
        assert_eq!(shared.call::<_, Vec<u8>>(&b"after".to_vec()).await.unwrap(), b"after");
    }));
}
