//! The workload on turmoil 0.7.2: one host per node, one `turmoil::net::UdpSocket`
//! each.
//!
//! Why UDP: one datagram is one message is one delivery, and turmoil applies
//! its latency per datagram. Turmoil's TCP adds segmenting, flow-control
//! credits and in-order delivery per stream, so a delivery would no longer be
//! one network message with its own latency.
//!
//! Latency: turmoil cannot draw uniformly. It picks
//! `min + floor((max - min) * X)` whole milliseconds with `X ~ Exp(λ)`,
//! capped at `max`. We keep min/max at 1/10 ms and pick λ so the *mean*
//! one-way latency is 5.5 ms like the uniform 1–10 ms of the other peers
//! (same virtual message rate; the shape differs: whole ms, P(10 ms) ≈ 0.25).

use herald_bench_compare::{after_warmup, report, Args, Msg, Node, LATENCY_MAX, LATENCY_MIN, NODES, PORT};
use std::{
    cell::Cell,
    net::SocketAddr,
    rc::Rc,
    time::{Duration, Instant},
};

/// Solves `1 + Σ_{k=1..9} e^(-λk/9) = 5.5` (ms): the expected value of
/// turmoil's `1 + min(floor(9·X), 9)` with `X ~ Exp(λ)`.
const LATENCY_CURVE: f64 = 1.388_151;

fn main() {
    let args = Args::from_env();
    let (delivered, wall, virtual_time) = after_warmup(&args, || run(&args).expect("the simulation fails"));
    report("turmoil", &args, delivered, wall, virtual_time);
}

/// One run of the workload on a new `Sim`: (deliveries, wall time, virtual time).
fn run(args: &Args) -> turmoil::Result<(u64, Duration, Duration)> {
    let delivered = Rc::new(Cell::new(0u64));

    let mut sim = turmoil::Builder::new()
        .rng_seed(args.seed)
        .min_message_latency(LATENCY_MIN)
        .max_message_latency(LATENCY_MAX)
        // Turmoil latencies are whole milliseconds, so a 1 ms tick loses no
        // precision; a smaller tick only adds empty steps.
        .tick_duration(Duration::from_millis(1))
        // We stop by delivery count, never by time; this is just "never".
        .simulation_duration(Duration::from_secs(24 * 3600))
        // A host can have at most 4 peers × (W pings + W pongs) queued; the
        // default (64) silently drops datagrams beyond that and the run stalls.
        .udp_capacity(8 * args.in_flight + 64)
        .build();
    sim.set_message_latency_curve(LATENCY_CURVE);

    let names: Rc<Vec<String>> = Rc::new((0..NODES).map(|i| format!("node{i}")).collect());
    for me in 0..NODES {
        let name = names[me].clone();
        let (names, delivered, w) = (names.clone(), delivered.clone(), args.in_flight);
        sim.host(name.as_str(), move || {
            let (names, delivered) = (names.clone(), delivered.clone());
            async move {
                let socket = turmoil::net::UdpSocket::bind(("0.0.0.0", PORT)).await?;
                // Resolve once: every host is registered before the first step.
                let peers: Vec<SocketAddr> = (0..NODES)
                    .filter(|&p| p != me)
                    .map(|p| SocketAddr::new(turmoil::lookup(names[p].as_str()), PORT))
                    .collect();
                let mut node = Node::default();
                for peer in &peers {
                    for _ in 0..w {
                        socket.send_to(&node.ping().encode(), peer).await?;
                    }
                }
                let mut buf = [0u8; Msg::WIRE_LEN];
                loop {
                    let (len, from) = socket.recv_from(&mut buf).await?;
                    delivered.set(delivered.get() + 1);
                    let reply = node.reply(Msg::decode(&buf[..len]));
                    socket.send_to(&reply.encode(), from).await?;
                }
            }
        });
    }

    // Hosts never finish, so drive the simulation ourselves and stop on the
    // delivery count. The last tick may overshoot D by < one tick's worth of
    // deliveries; the report uses the real count.
    let start = Instant::now();
    while delivered.get() < args.deliveries {
        sim.step()?;
    }
    Ok((delivered.get(), start.elapsed(), sim.elapsed()))
}
