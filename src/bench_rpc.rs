//! `herald bench rpc`: loopback echo round trips through the runtime (`herald-net`), beside a
//! blocking `std::net` echo measured in the same run as the floor.
//!
//! The server is a real `herald_net::run` of the `Echo` node on its own thread and runtime; the
//! callers are `herald_net::client::Caller`s on another. Sequential latency is one caller's round
//! trips, taken in chunks that alternate with the floor's so that both see the same phases of a
//! noisy machine. With a busy-poll budget (`--busy-poll-us`, default 50) two more legs take their
//! turns: Herald with both ends busy-polling (`Options::busy_poll`, `Caller::set_busy_poll`; a
//! second server), and a `std::net` floor whose two ends spin on non-blocking sockets for the same
//! budget — the least a round trip costs when no thread sleeps, so that the busy-polling figure
//! has a floor of its own kind beside it. Throughput is `--concurrency` callers on the default
//! (sleeping) server, each making its share of `--calls` round trips back to back, over
//! `--connections` connections (default one): shared round-robin through `SharedCaller`s, the
//! calls of a connection's callers in flight together, or, with as many connections as callers, a
//! plain `Caller` each.

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

/// `herald bench rpc`'s arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct RpcArgs {
    /// Concurrent callers for the throughput run, each with one call in flight at a time.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Connections the throughput run's callers share round-robin (`SharedCaller`): the calls
    /// of a connection's callers are in flight together, written together and answered in
    /// order. Equal to --concurrency, every caller has a connection of its own (a plain
    /// `Caller`, one call at a time on it).
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Calls in the throughput run.
    #[arg(long, default_value_t = 200_000)]
    calls: u64,
    /// Calls in the sequential latency run, on each of its legs.
    #[arg(long, default_value_t = 20_000)]
    sequential: u64,
    /// Payload bytes per call.
    #[arg(long, default_value_t = 32)]
    payload: usize,
    /// Microseconds the server and the sequential caller busy-poll after each message before they
    /// sleep (`Options::busy_poll`, `Caller::set_busy_poll`); 0 sleeps at once.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 50)]
    busy_poll_us: u64,
    /// Record the server's trace here (simulator schema, source `net`), as `herald run
    /// --trace` does: measures what tracing a real run costs.
    #[arg(long, value_name = "PATH")]
    trace: Option<std::path::PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &RpcArgs) -> anyhow::Result<ExitCode> {
    let RpcArgs { concurrency, connections, calls, sequential, payload, busy_poll_us, ref trace, json: json_out } =
        *args;
    let trace = trace.clone();
    let busy_poll = Duration::from_micros(busy_poll_us);
    if concurrency == 0 || calls < concurrency as u64 {
        anyhow::bail!("invalid `--calls`: at least one call per caller (--concurrency {concurrency})");
    }
    if sequential == 0 {
        anyhow::bail!("invalid `--sequential`: at least one call");
    }
    if connections == 0 || connections > concurrency {
        anyhow::bail!("invalid `--connections`: from 1 to --concurrency ({concurrency}), got {connections}");
    }
    let traced = trace.is_some();
    // The server the throughput run and the default legs use, and, with a budget, one that
    // busy-polls; each a real `herald_net::run` of the echo node on a thread of its own.
    let data = std::env::temp_dir().join(format!("herald-bench-rpc-{}", std::process::id()));
    // Every connection of the throughput run at once, and the sequential run's (it may not have
    // been seen leaving yet).
    let client_addr = start_server(data.join("parked"), Duration::ZERO, trace, connections + 1)?;
    let spinning_addr =
        if busy_poll.is_zero() { None } else { Some(start_server(data.join("spinning"), busy_poll, None, 1)?) };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // Bytes (`serde_bytes`), as the echo node takes them: one copy each way, not a loop over bytes.
    let body = ByteBuf::from(vec![0x5a_u8; payload]);
    let mut legs =
        vec![Leg::Floor(Floor::start(payload, Duration::ZERO)?), Leg::Herald(rt.block_on(connect(client_addr, 1))?)];
    if let Some(addr) = spinning_addr {
        let mut caller = rt.block_on(connect(addr, 1))?;
        caller.set_busy_poll(busy_poll);
        legs.push(Leg::Floor(Floor::start(payload, busy_poll)?));
        legs.push(Leg::Herald(caller));
    }
    // The legs take turns, a chunk of calls each, so that all see the same phases of a machine
    // whose speed wanders from minute to minute; a warm-up chunk of each is not counted.
    let chunk = SEQUENTIAL_CHUNK.min(sequential).max(1);
    let mut samples: Vec<Vec<u64>> = legs.iter().map(|_| Vec::with_capacity(sequential as usize)).collect();
    for leg in &mut legs {
        leg.calls(&rt, &body, chunk, &mut Vec::new())?;
    }
    let cpu_before = cpu_times();
    let mut done = 0;
    while done < sequential {
        let n = chunk.min(sequential - done);
        for (leg, samples) in legs.iter_mut().zip(&mut samples) {
            leg.calls(&rt, &body, n, samples)?;
        }
        done += n;
    }
    let steal = steal_fraction(cpu_before, cpu_times());
    drop(legs);
    // p50 and p99 of each leg, in microseconds.
    let latency: Vec<(f64, f64)> = samples
        .iter_mut()
        .map(|s| {
            s.sort_unstable();
            (percentile(s, 0.50) as f64 / 1e3, percentile(s, 0.99) as f64 / 1e3)
        })
        .collect();
    let [(floor, floor_p99), (p50, p99)] = [latency[0], latency[1]];
    let (spin_floor, busy) = match latency[..] {
        [_, _, spin_floor, busy] => (Some(spin_floor), Some(busy)),
        _ => (None, None),
    };
    let per = calls / concurrency as u64;
    let total = per * concurrency as u64;
    // On the default runtime: busy polling keeps the batches small (each call is picked up at
    // once), and on this project's machines cost a quarter of the throughput (docs/benchmarks.md).
    let wall = rt.block_on(throughput(client_addr, connections, concurrency, per, &body))?;
    let rate = total as f64 / wall;
    let _ = std::fs::remove_dir_all(&data);
    let result = json!({
        "benchmark": "rpc",
        "payload_bytes": payload,
        "sequential_calls": sequential,
        "p50_us": p50,
        "p99_us": p99,
        "floor_p50_us": floor,
        "floor_p99_us": floor_p99,
        "p50_over_floor": p50 / floor,
        "busy_poll_us": busy_poll_us,
        "busy_poll_p50_us": busy.map(|b| b.0),
        "busy_poll_p99_us": busy.map(|b| b.1),
        "busy_poll_p50_over_floor": busy.map(|b| b.0 / floor),
        "spin_floor_p50_us": spin_floor.map(|s| s.0),
        "spin_floor_p99_us": spin_floor.map(|s| s.1),
        "sequential_steal_fraction": steal,
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
        outln!("bench rpc: echo of {payload} bytes over loopback TCP through herald-net");
        outln!("  sequential, {sequential} calls a leg, the legs taking turns:");
        outln!("    herald:                     p50 {p50:.1} µs, p99 {p99:.1} µs");
        outln!("    std::net blocking floor:    p50 {floor:.1} µs, p99 {floor_p99:.1} µs");
        if let (Some((b50, b99)), Some((s50, s99))) = (busy, spin_floor) {
            outln!("    herald, busy-poll {busy_poll_us} µs:    p50 {b50:.1} µs, p99 {b99:.1} µs");
            outln!("    std::net spinning floor:    p50 {s50:.1} µs, p99 {s99:.1} µs");
        }
        if let Some(steal) = steal {
            outln!("    (the hypervisor took {:.1}% of the CPU time while they ran)", steal * 100.0);
        }
        outln!("  {concurrency} concurrent callers on {connections} connections ({total} calls): {rate:.0} calls/s");
    }
    Ok(ExitCode::SUCCESS)
}

/// `per` calls from each of `concurrency` callers over `connections` connections to the server at
/// `addr`; the wall seconds they took.
async fn throughput(
    addr: SocketAddr,
    connections: usize,
    concurrency: usize,
    per: u64,
    body: &ByteBuf,
) -> anyhow::Result<f64> {
    let mut conns = Vec::with_capacity(connections);
    for i in 0..connections {
        conns.push(connect(addr, 2 + i as u32).await?);
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
    Ok(started.elapsed().as_secs_f64())
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

/// (stolen, total) CPU time of all CPUs so far, from the `cpu` line of Linux's `/proc/stat`;
/// `None` elsewhere.
fn cpu_times() -> Option<(u64, u64)> {
    parse_cpu_times(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// The `cpu` line's first eight fields are user, nice, system, idle, iowait, irq, softirq and
/// steal: the time a virtual machine was runnable but its host ran something else. (Guest time,
/// after them, is already counted in user and nice.)
fn parse_cpu_times(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line.split_whitespace().skip(1).take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let steal = *fields.get(7)?;
    Some((steal, fields.iter().sum()))
}

/// The share of all CPU time between two readings of [`cpu_times`] that the host stole: the
/// sequential legs' tail latency is the machine's as much as the stack's, and this says how busy
/// the machine's host was.
fn steal_fraction(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((steal0, total0), (steal1, total1)) = (before?, after?);
    (total1 > total0).then(|| steal1.saturating_sub(steal0) as f64 / (total1 - total0) as f64)
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

/// Starts a `herald_net::run` of the echo node on a thread of its own, busy-polling for
/// `busy_poll` after each message, and returns its client port.
fn start_server(
    data: std::path::PathBuf,
    busy_poll: Duration,
    trace: Option<std::path::PathBuf>,
    max_callers: usize,
) -> anyhow::Result<SocketAddr> {
    let host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let ports = herald_net::cluster::free_ports(host, 2)?;
    let (peer_addr, client_addr) = (SocketAddr::new(host, ports[0]), SocketAddr::new(host, ports[1]));
    let mut options = Options::new(CLUSTER, NodeId(0), vec![peer_addr], data);
    options.client_addr = Some(client_addr);
    options.time_max = Duration::from_secs(3600);
    options.max_callers = max_callers;
    options.busy_poll = busy_poll;
    options.trace = trace.map(|path| (path, "bench-rpc".to_string()));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        if let Err(e) = rt.block_on(herald_net::run(Role::Honest(Echo), options, |_: &[()]| false)) {
            eprintln!("herald: bench server: {e}");
        }
    });
    Ok(client_addr)
}

/// One leg of the sequential run: a floor, or a Herald caller.
enum Leg {
    Floor(Floor),
    Herald(Caller),
}

impl Leg {
    /// `n` sequential round trips, each one's nanoseconds pushed onto `samples`.
    fn calls(
        &mut self,
        rt: &tokio::runtime::Runtime,
        body: &ByteBuf,
        n: u64,
        samples: &mut Vec<u64>,
    ) -> anyhow::Result<()> {
        match self {
            Self::Floor(floor) => floor.calls(n, samples),
            Self::Herald(caller) => rt.block_on(herald_calls(caller, body, n, samples)),
        }
    }
}

/// A floor: a `std::net` echo (4-byte length + payload each way) on a thread of its own, and the
/// client connected to it. Both ends block in `read(2)`, or, with a spin budget, both read a
/// non-blocking socket in a loop for up to the budget before they block: the least a round trip
/// costs when neither thread sleeps.
struct Floor {
    stream: TcpStream,
    frame: Vec<u8>,
    back: Vec<u8>,
    spin: Duration,
}

impl Floor {
    fn start(payload: usize, spin: Duration) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.set_nodelay(true);
                let _ = s.set_nonblocking(!spin.is_zero());
                let mut buf = vec![0u8; 4 + payload];
                while read_full(&mut s, &mut buf, spin).is_ok() && write_full(&mut s, &buf).is_ok() {}
            }
        });
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(!spin.is_zero())?;
        let mut frame = (payload as u32).to_be_bytes().to_vec();
        frame.extend(std::iter::repeat_n(0x5a, payload));
        let back = vec![0u8; frame.len()];
        Ok(Self { stream, frame, back, spin })
    }

    /// `n` round trips, each one's nanoseconds pushed onto `samples`.
    fn calls(&mut self, n: u64, samples: &mut Vec<u64>) -> anyhow::Result<()> {
        for _ in 0..n {
            let started = Instant::now();
            write_full(&mut self.stream, &self.frame)?;
            read_full(&mut self.stream, &mut self.back, self.spin)?;
            samples.push(started.elapsed().as_nanos() as u64);
        }
        Ok(())
    }
}

/// Fills `buf` from `s`: blocking, or, on a non-blocking socket (`spin` > 0), reading in a loop
/// for up to `spin` and then blocking for the rest.
fn read_full(s: &mut TcpStream, buf: &mut [u8], spin: Duration) -> std::io::Result<()> {
    if spin.is_zero() {
        return s.read_exact(buf);
    }
    let until = Instant::now() + spin;
    let mut filled = 0;
    while filled < buf.len() {
        match s.read(&mut buf[filled..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= until {
                    s.set_nonblocking(false)?;
                    let rest = s.read_exact(&mut buf[filled..]);
                    s.set_nonblocking(true)?;
                    return rest;
                }
                std::hint::spin_loop();
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` to `s`, blocking or not (a loopback socket's buffer takes a small frame
/// whole; a full one is waited out in a loop).
fn write_full(s: &mut TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(k) => buf = &buf[k..],
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {
                std::hint::spin_loop();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_read_from_the_cpu_line_and_shared_out_of_all_cpu_time() {
        let stat = "cpu  100 5 50 800 10 0 5 30 7 0\ncpu0 50 2 25 400 5 0 2 15 3 0\nintr 12345\n";
        assert_eq!(parse_cpu_times(stat), Some((30, 1000)), "steal, and the eight fields' sum (guest excluded)");
        let later = parse_cpu_times("cpu  150 5 70 900 10 0 5 90 9 0\n");
        assert_eq!(steal_fraction(parse_cpu_times(stat), later), Some(60.0 / 230.0));
        assert_eq!(steal_fraction(later, later), None, "no time passed");
        assert_eq!(parse_cpu_times("cpu  1 2 3\n"), None, "too few fields: no steal column");
        assert_eq!(parse_cpu_times("cpu  1 2 x 4 5 6 7 8\n"), None);
        assert_eq!(steal_fraction(None, later), None);
    }
}
