//! The workload on madsim 0.2.34: one simulated node per workload node, each
//! with one `madsim::net::UdpSocket` (a thin wrapper over madsim's
//! `Endpoint`). Latency comes from madsim's own network model,
//! `net::Config::send_latency = 1ms..10ms`, sampled uniformly per message —
//! exactly the workload's distribution.
//!
//! Why many receive tasks per node: madsim sleeps inside every `send_to` and
//! every `recv_from` (`NetSim::rand_delay`, 0–4 µs asked for, but madsim's
//! `sleep` rounds up to at least 1 ms). A single recv→reply loop per node
//! therefore handles at most ~500 messages per *virtual* second and the W
//! in-flight pings pile up in the mailbox instead of on the network. With
//! `8 * W` receivers (the most messages that can be addressed to one node at
//! once) every message is picked up as soon as it lands, so the in-flight
//! population is the same as in the other peers. `--receivers 1` gives the
//! single-loop variant for comparison.
//!
//! Must be built with `RUSTFLAGS="--cfg madsim"`; run.sh uses a separate
//! target dir for it so the other peers aren't rebuilt with that flag.

#[cfg(not(madsim))]
compile_error!("bench-madsim needs the simulator: build with RUSTFLAGS=\"--cfg madsim\"");

use herald_bench_compare::{after_warmup, report, Args, Msg, Node, LATENCY_MAX, LATENCY_MIN, NODES, PORT};
use madsim::{
    net::UdpSocket,
    runtime::{Handle, Runtime},
};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::sync::Notify;

fn main() {
    let args = Args::from_env();
    let (delivered, wall, virtual_time) = after_warmup(&args, || run(&args));
    report("madsim", &args, delivered, wall, virtual_time);
}

/// One run of the workload on a new `Runtime`: (deliveries, wall time, virtual time).
fn run(args: &Args) -> (u64, Duration, Duration) {
    let receivers = args.receivers.unwrap_or(8 * args.in_flight).max(1);
    let config = madsim::Config {
        net: madsim::net::Config {
            packet_loss_rate: 0.0,
            send_latency: LATENCY_MIN..LATENCY_MAX,
        },
        ..Default::default()
    };
    let rt = Runtime::with_seed_and_config(args.seed, config);
    // madsim's executor is single-threaded, but `spawn` requires `Send`.
    let delivered = Arc::new(AtomicU64::new(0));

    // Wall time is taken outside `block_on`: inside it madsim redirects
    // `clock_gettime`, so `std::time::Instant` would read virtual time.
    let start = Instant::now();
    let virtual_time = rt.block_on({
        let (delivered, w, target) = (delivered.clone(), args.in_flight, args.deliveries);
        async move {
            let t0 = madsim::time::Instant::now();
            let done = Arc::new(Notify::new());
            let addrs: Vec<SocketAddr> = (0..NODES)
                .map(|i| SocketAddr::from(([10, 0, 0, i as u8 + 1], PORT)))
                .collect();

            // Bind every socket before anyone sends: madsim silently drops
            // datagrams to a port nobody has bound yet.
            let mut nodes = Vec::new();
            for addr in &addrs {
                let node = Handle::current().create_node().ip(addr.ip()).build();
                let socket = node
                    .spawn(UdpSocket::bind(*addr))
                    .await
                    .expect("join")
                    .expect("bind");
                nodes.push((node, Arc::new(socket)));
            }

            for (me, (handle, socket)) in nodes.into_iter().enumerate() {
                let state = Arc::new(Mutex::new(Node::default()));
                for _ in 0..receivers {
                    let (socket, state, delivered, done) = (
                        socket.clone(),
                        state.clone(),
                        delivered.clone(),
                        done.clone(),
                    );
                    handle.spawn(async move {
                        let mut buf = [0u8; Msg::WIRE_LEN];
                        loop {
                            let (len, from) = socket.recv_from(&mut buf).await.expect("recv");
                            if delivered.fetch_add(1, Ordering::Relaxed) + 1 == target {
                                done.notify_one();
                            }
                            let reply = state.lock().unwrap().reply(Msg::decode(&buf[..len]));
                            socket.send_to(from, &reply.encode()).await.expect("send");
                        }
                    });
                }
                let peers: Vec<SocketAddr> =
                    (0..NODES).filter(|&p| p != me).map(|p| addrs[p]).collect();
                handle.spawn(async move {
                    for peer in &peers {
                        for _ in 0..w {
                            let ping = state.lock().unwrap().ping();
                            socket.send_to(peer, &ping.encode()).await.expect("send");
                        }
                    }
                });
            }
            // `block_on` returns as soon as delivery D is seen; the rest of
            // the simulation is dropped with the runtime.
            done.notified().await;
            t0.elapsed()
        }
    });
    let wall = start.elapsed();
    (delivered.load(Ordering::Relaxed), wall, virtual_time)
}
