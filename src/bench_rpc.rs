//! `herald bench rpc`: loopback echo round trips through the runtime (`herald-net`), beside a
//! blocking `std::net` echo measured in the same run as the floor.
//!
//! The server is a real `herald_net::run` of the `Echo` node on its own thread and runtime; the
//! callers are `herald_net::client::Caller`s on another. Sequential latency is one caller's round
//! trips, taken in chunks that alternate with the floor's so that both see the same phases of a
//! noisy machine; throughput is `--concurrency` callers, each making its share of `--calls` round trips
//! back to back, over `--connections` connections (default one): shared round-robin through
//! `SharedCaller`s, the calls of a connection's callers in flight together, or, with as many
//! connections as callers, a plain `Caller` each.

use anyhow::Context as _;
use herald_core::NodeId;
use herald_net::client::{Caller, SharedCaller};
use herald_net::{Options, Role};
use herald_protocols::echo::Echo;
use serde_bytes::ByteBuf;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const CLUSTER: u64 = 0xbe7c;

pub(crate) fn run(
    concurrency: usize,
    connections: usize,
    calls: u64,
    sequential: u64,
    payload: usize,
    trace: Option<std::path::PathBuf>,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    if concurrency == 0 || calls < concurrency as u64 {
        anyhow::bail!("invalid `--calls`: at least one call per caller (--concurrency {concurrency})");
    }
    if sequential == 0 {
        anyhow::bail!("invalid `--sequential`: at least one call");
    }
    if connections == 0 || connections > concurrency {
        anyhow::bail!("invalid `--connections`: from 1 to --concurrency ({concurrency}), got {connections}");
    }
    let host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let ports = herald_net::cluster::free_ports(host, 2)?;
    let (peer_addr, client_addr) = (SocketAddr::new(host, ports[0]), SocketAddr::new(host, ports[1]));
    let data = std::env::temp_dir().join(format!("herald-bench-rpc-{}", std::process::id()));
    let mut options = Options::new(CLUSTER, NodeId(0), vec![peer_addr], data.clone());
    options.client_addr = Some(client_addr);
    options.time_max = Duration::from_secs(3600);
    // Every connection of the throughput run at once, and the sequential run's (it may not have
    // been seen leaving yet).
    options.max_callers = connections + 1;
    let traced = trace.is_some();
    options.trace = trace.map(|path| (path, "bench-rpc".to_string()));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        if let Err(e) = rt.block_on(herald_net::run(Role::Honest(Echo), options, |_: &[()]| false)) {
            eprintln!("herald: bench server: {e}");
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // Bytes (`serde_bytes`), as the echo node takes them: one copy each way, not a loop over bytes.
    let body = ByteBuf::from(vec![0x5a_u8; payload]);
    let mut floor = Floor::start(payload)?;
    let mut caller = rt.block_on(connect(client_addr, 1))?;
    // The floor and Herald take turns, a chunk of calls each, so that both see the same phases of
    // a machine whose speed wanders from minute to minute; a warm-up chunk of each is not counted.
    let chunk = SEQUENTIAL_CHUNK.min(sequential).max(1);
    let mut floor_samples = Vec::with_capacity(sequential as usize);
    let mut samples = Vec::with_capacity(sequential as usize);
    floor.calls(chunk, &mut Vec::new())?;
    rt.block_on(herald_calls(&mut caller, &body, chunk, &mut Vec::new()))?;
    let mut done = 0;
    while done < sequential {
        let n = chunk.min(sequential - done);
        floor.calls(n, &mut floor_samples)?;
        rt.block_on(herald_calls(&mut caller, &body, n, &mut samples))?;
        done += n;
    }
    drop((caller, floor));
    floor_samples.sort_unstable();
    samples.sort_unstable();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    let (floor_p50, floor_p99) = (percentile(&floor_samples, 0.50), percentile(&floor_samples, 0.99));
    let floor = floor_p50 as f64 / 1e3;
    let per = calls / concurrency as u64;
    let total = per * concurrency as u64;
    let wall = rt.block_on(async {
        let mut conns = Vec::with_capacity(connections);
        for i in 0..connections {
            conns.push(connect(client_addr, 2 + i as u32).await?);
        }
        let started = Instant::now();
        let mut runs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>>>>> = Vec::new();
        if connections == concurrency {
            for mut c in conns {
                let body = body.clone();
                runs.push(Box::pin(async move {
                    for _ in 0..per {
                        c.send(&body).await?;
                        let _: ByteBuf = c.recv().await?;
                    }
                    Ok(())
                }));
            }
        } else {
            let shared: Vec<SharedCaller> = conns.into_iter().map(Caller::share).collect();
            for i in 0..concurrency {
                let (c, body) = (shared[i % connections].clone(), body.clone());
                runs.push(Box::pin(async move {
                    for _ in 0..per {
                        let back: ByteBuf = c.call(&body).await?;
                        anyhow::ensure!(back == body, "the echo changed the payload");
                    }
                    Ok(())
                }));
            }
        }
        for r in futures_util::future::join_all(runs).await {
            r?;
        }
        Ok::<_, anyhow::Error>(started.elapsed().as_secs_f64())
    })?;
    let _ = std::fs::remove_dir_all(&data);
    let rate = total as f64 / wall;
    let result = json!({
        "benchmark": "rpc",
        "payload_bytes": payload,
        "sequential_calls": sequential,
        "p50_us": p50 as f64 / 1e3,
        "p99_us": p99 as f64 / 1e3,
        "floor_p50_us": floor,
        "floor_p99_us": floor_p99 as f64 / 1e3,
        "p50_over_floor": p50 as f64 / 1e3 / floor,
        "concurrency": concurrency,
        "connections": connections,
        "calls": total,
        "calls_per_sec": rate,
        "wall_s": wall,
        "traced": traced,
    });
    if json_out {
        outln!("{result}");
    } else {
        outln!(
            "bench rpc: echo of {payload} bytes over loopback TCP through herald-net\n  sequential ({sequential} calls): p50 {:.1} µs, p99 {:.1} µs (std::net blocking floor, alternating with it: p50 {floor:.1} µs, p99 {:.1} µs)\n  {concurrency} concurrent callers on {connections} connections ({total} calls): {:.0} calls/s",
            p50 as f64 / 1e3,
            p99 as f64 / 1e3,
            floor_p99 as f64 / 1e3,
            rate
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn connect(addr: SocketAddr, id: u32) -> anyhow::Result<Caller> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Caller::connect(addr, CLUSTER, 0, id).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(e).context("connecting to the bench server"),
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Calls in one turn of the sequential run's alternation between the floor and Herald.
const SEQUENTIAL_CHUNK: u64 = 500;

/// `n` sequential round trips through `caller`, each one's nanoseconds pushed onto `samples`.
async fn herald_calls(caller: &mut Caller, body: &ByteBuf, n: u64, samples: &mut Vec<u64>) -> anyhow::Result<()> {
    for _ in 0..n {
        let started = Instant::now();
        caller.send(body).await?;
        let back: ByteBuf = caller.recv().await?;
        samples.push(started.elapsed().as_nanos() as u64);
        anyhow::ensure!(back == *body, "the echo changed the payload");
    }
    Ok(())
}

/// The floor: a blocking `std::net` echo (4-byte length + payload each way) on a thread of its
/// own, and the blocking client connected to it.
struct Floor {
    stream: TcpStream,
    frame: Vec<u8>,
    back: Vec<u8>,
}

impl Floor {
    fn start(payload: usize) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.set_nodelay(true);
                let mut buf = vec![0u8; 4 + payload];
                while s.read_exact(&mut buf).is_ok() && s.write_all(&buf).is_ok() {}
            }
        });
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let mut frame = (payload as u32).to_be_bytes().to_vec();
        frame.extend(std::iter::repeat_n(0x5a, payload));
        let back = vec![0u8; frame.len()];
        Ok(Self { stream, frame, back })
    }

    /// `n` round trips, each one's nanoseconds pushed onto `samples`.
    fn calls(&mut self, n: u64, samples: &mut Vec<u64>) -> anyhow::Result<()> {
        for _ in 0..n {
            let started = Instant::now();
            self.stream.write_all(&self.frame)?;
            self.stream.read_exact(&mut self.back)?;
            samples.push(started.elapsed().as_nanos() as u64);
        }
        Ok(())
    }
}
