//! Where a sequential round trip's time goes, layer by layer: the same 32-byte loopback echo
//! through a ladder of clients and servers, from blocking `std::net` on both ends (the floor of
//! `herald bench rpc`) to Herald's `Caller` against Herald's runtime. Each pair makes its calls
//! in chunks of 500 taking turns with every other pair (a warm-up chunk each is not counted), so
//! all rows see the same phases of a machine whose speed wanders; each row prints its p50 and
//! p99 and the p50's ratio to the floor's.
//!
//! The last four rows do the same with every end busy-polling or spinning for up to 50 µs before
//! it sleeps (`herald_net::Options::busy_poll`, `Caller::set_busy_poll`, and non-blocking `std::net`
//! sockets read in a loop), and compare against the spinning floor.
//!
//! ```sh
//! cargo run --release --bin rpc-layers [-- CHUNKS]     # default 40 chunks of 500 calls a row
//! ```

use futures::{SinkExt, StreamExt};
use herald_net::frame::{decode, encode, encode_msg, Body};
use serde_bytes::ByteBuf;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNK: usize = 500;
const PAYLOAD: usize = 32;
/// A raw echo's unit: a 4-byte length (of `PAYLOAD`) and the payload, as the floor sends.
const RAW: usize = 4 + PAYLOAD;
const CLUSTER: u64 = 0x1a7e;

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let a = l.local_addr().expect("address");
    (l, a)
}

/// A blocking server: a thread per connection running `serve` on it.
fn std_server(serve: fn(TcpStream)) -> SocketAddr {
    let (l, a) = listener();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let s = s.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            std::thread::spawn(move || serve(s));
        }
    });
    a
}

/// Echoes `RAW`-byte units (the floor's server).
fn raw_echo_blocking(mut s: TcpStream) {
    let mut b = [0u8; RAW];
    while s.read_exact(&mut b).is_ok() && s.write_all(&b).is_ok() {}
}

/// How long a spinning end reads its non-blocking socket in a loop before it blocks (as `herald
/// bench rpc --busy-poll-us`'s default).
const SPIN: Duration = Duration::from_micros(50);

/// Fills `buf`: on a blocking socket with `read_exact`; on a non-blocking one (a spinning end) by
/// reading in a loop for up to `SPIN`, then blocking for the rest.
fn read_all(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let until = Instant::now() + SPIN;
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

/// `raw_echo_blocking`, spinning: reads its non-blocking socket in a loop for up to `SPIN`.
fn raw_echo_spinning(mut s: TcpStream) {
    s.set_nonblocking(true).expect("nonblocking");
    let mut b = [0u8; RAW];
    while read_all(&mut s, &mut b).is_ok() && s.write_all(&b).is_ok() {}
}

/// A current-thread tokio runtime on its own thread running `serve` for each accepted connection.
fn tokio_server<F, Fut>(timer: bool, serve: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let (l, a) = listener();
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            if timer {
                // One pending timer far away, as every Herald node has (its run's deadline).
                tokio::task::spawn_local(tokio::time::sleep(Duration::from_secs(3600)));
            }
            let l = tokio::net::TcpListener::from_std(l).expect("listener");
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                tokio::task::spawn_local(serve(s));
            }
        });
    });
    a
}

/// tokio, read and write straight on the socket.
async fn raw_echo(mut s: tokio::net::TcpStream) {
    let mut b = [0u8; RAW];
    while s.read_exact(&mut b).await.is_ok() && s.write_all(&b).await.is_ok() {}
}

/// Herald's server shape without Herald: length-delimited frames, the connection split into a
/// reading and a writing half under one `select!`, each frame handed to a "node" task over a
/// bounded channel and its answer handed back over another.
async fn hop_echo(s: tokio::net::TcpStream) {
    let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<bytes::BytesMut>(4096);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4096);
    tokio::task::spawn_local(async move {
        while let Some(f) = in_rx.recv().await {
            let _ = out_tx.try_send(f.freeze());
        }
    });
    let (mut sink, mut stream) =
        tokio_util::codec::Framed::new(s, tokio_util::codec::LengthDelimitedCodec::new()).split();
    let read = async {
        while let Some(Ok(f)) = stream.next().await {
            if in_tx.send(f).await.is_err() {
                break;
            }
        }
    };
    let write = async {
        while let Some(f) = out_rx.recv().await {
            if sink.feed(f).await.is_err() || sink.flush().await.is_err() {
                break;
            }
        }
    };
    tokio::select! { () = read => {}, () = write => {} }
}

/// One frame's contents, from a blocking or a spinning (non-blocking) socket.
fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut l = [0u8; 4];
    read_all(s, &mut l)?;
    let mut b = vec![0u8; u32::from_be_bytes(l) as usize];
    read_all(s, &mut b)?;
    Ok(b)
}

fn write_frame(s: &mut TcpStream, b: &[u8]) -> std::io::Result<()> {
    let mut f = (b.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(b);
    s.write_all(&f)
}

/// `frame_echo_blocking`, spinning on a non-blocking socket for up to `SPIN` before each read blocks.
fn frame_echo_spinning(s: TcpStream) {
    s.set_nonblocking(true).expect("nonblocking");
    frame_echo_blocking(s);
}

/// Speaks Herald's frames: answers a caller's hello as node 0 would, then echoes every frame (the
/// caller reads its own message back as the node's answer).
fn frame_echo_blocking(mut s: TcpStream) {
    let Ok(Body::Hello { from, .. }) = read_frame(&mut s).map(|h| decode(&h).expect("a hello")) else {
        return;
    };
    let hello = encode(&Body::Hello { cluster: CLUSTER, from: 0, to: from, incarnation: 1 });
    if write_frame(&mut s, &hello).is_err() {
        return;
    }
    while let Ok(f) = read_frame(&mut s) {
        if write_frame(&mut s, &f).is_err() {
            break;
        }
    }
}

/// Herald's runtime (`herald_net::run`) with the `Echo` node, as `herald bench rpc` starts it,
/// busy-polling for `busy_poll` after each input.
fn herald_server(busy_poll: Duration) -> SocketAddr {
    let host = std::net::IpAddr::V4(Ipv4Addr::LOCALHOST);
    let ports = herald_net::cluster::free_ports(host, 2).expect("ports");
    let (peer, client) = (SocketAddr::new(host, ports[0]), SocketAddr::new(host, ports[1]));
    let data = std::env::temp_dir().join(format!("herald-rpc-layers-{}-{}", std::process::id(), busy_poll.as_micros()));
    let mut o = herald_net::Options::new(CLUSTER, herald_core::NodeId(0), vec![peer], data);
    o.client_addr = Some(client);
    o.time_max = Duration::from_secs(3600);
    o.max_callers = 8;
    o.busy_poll = busy_poll;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let node = herald_net::Role::Honest(herald_protocols::echo::Echo);
        if let Err(e) = rt.block_on(herald_net::run(node, o, |_: &[()]| false)) {
            eprintln!("rpc-layers: herald server: {e}");
        }
    });
    client
}

/// One row's client end.
enum Client {
    Std(TcpStream),
    Tokio(tokio::net::TcpStream),
    /// Blocking, speaking Herald's frames to a node's client port.
    StdHerald(TcpStream, u64),
    Caller(herald_net::client::Caller),
}

impl Client {
    fn std(a: SocketAddr) -> Self {
        let s = TcpStream::connect(a).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        Client::Std(s)
    }

    /// A client end that spins: its reads loop on a non-blocking socket for up to `SPIN`.
    fn spinning(self) -> Self {
        match &self {
            Client::Std(s) | Client::StdHerald(s, _) => s.set_nonblocking(true).expect("nonblocking"),
            Client::Tokio(_) | Client::Caller(_) => unreachable!("only std clients spin"),
        }
        self
    }

    fn busy_caller(rt: &tokio::runtime::Runtime, a: SocketAddr, id: u32) -> Self {
        let mut c = Self::caller(rt, a, id);
        if let Client::Caller(c) = &mut c {
            c.set_busy_poll(SPIN);
        }
        c
    }

    fn tokio(rt: &tokio::runtime::Runtime, a: SocketAddr) -> Self {
        let s = rt.block_on(tokio::net::TcpStream::connect(a)).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        Client::Tokio(s)
    }

    fn std_herald(a: SocketAddr, id: u32) -> Self {
        let mut s = connect_retrying(a);
        s.set_nodelay(true).expect("nodelay");
        let hello = encode(&Body::Hello { cluster: CLUSTER, from: id, to: 0, incarnation: 1 });
        write_frame(&mut s, &hello).expect("hello");
        read_frame(&mut s).expect("the node's hello");
        Client::StdHerald(s, 0)
    }

    fn caller(rt: &tokio::runtime::Runtime, a: SocketAddr, id: u32) -> Self {
        drop(connect_retrying(a));
        let c = rt.block_on(herald_net::client::Caller::connect(a, CLUSTER, 0, id)).expect("a caller");
        Client::Caller(c)
    }

    /// `CHUNK` round trips, each one's nanoseconds pushed onto `out`.
    fn chunk(&mut self, rt: &tokio::runtime::Runtime, out: &mut Vec<u64>) {
        let mut raw = [0x5a_u8; RAW];
        raw[..4].copy_from_slice(&(PAYLOAD as u32).to_be_bytes());
        let mut back = [0u8; RAW];
        let body = ByteBuf::from(vec![0x5a_u8; PAYLOAD]);
        match self {
            Client::Std(s) => {
                for _ in 0..CHUNK {
                    let t = Instant::now();
                    s.write_all(&raw).expect("write");
                    read_all(s, &mut back).expect("read");
                    out.push(t.elapsed().as_nanos() as u64);
                }
            }
            Client::Tokio(s) => rt.block_on(async {
                for _ in 0..CHUNK {
                    let t = Instant::now();
                    s.write_all(&raw).await.expect("write");
                    s.read_exact(&mut back).await.expect("read");
                    out.push(t.elapsed().as_nanos() as u64);
                }
            }),
            Client::StdHerald(s, next) => {
                let payload = herald_core::codec::encode(&body);
                for _ in 0..CHUNK {
                    let t = Instant::now();
                    *next += 1;
                    write_frame(s, &encode_msg(0, 1 << 32 | *next, &payload)).expect("write");
                    read_frame(s).expect("read");
                    out.push(t.elapsed().as_nanos() as u64);
                }
            }
            Client::Caller(c) => rt.block_on(async {
                for _ in 0..CHUNK {
                    let t = Instant::now();
                    c.send(&body).await.expect("send");
                    let _: ByteBuf = c.recv().await.expect("recv");
                    out.push(t.elapsed().as_nanos() as u64);
                }
            }),
        }
    }
}

/// Herald's node takes a moment to open its client port.
fn connect_retrying(a: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect(a) {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("connecting to {a}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn main() {
    let chunks: usize = std::env::args().nth(1).map_or(40, |a| a.parse().expect("CHUNKS: a number"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let std_raw = std_server(raw_echo_blocking);
    let tokio_raw = tokio_server(false, raw_echo);
    let tokio_raw_timer = tokio_server(true, raw_echo);
    let hops = tokio_server(false, hop_echo);
    let hops_timer = tokio_server(true, hop_echo);
    let std_frames = std_server(frame_echo_blocking);
    let herald = herald_server(Duration::ZERO);
    let std_raw_spinning = std_server(raw_echo_spinning);
    let std_frames_spinning = std_server(frame_echo_spinning);
    let herald_busy = herald_server(SPIN);
    let mut rows: Vec<(&str, Client)> = vec![
        ("std client -> std server (the floor)", Client::std(std_raw)),
        ("tokio client -> std server", Client::tokio(&rt, std_raw)),
        ("std client -> tokio server", Client::std(tokio_raw)),
        ("tokio client -> tokio server", Client::tokio(&rt, tokio_raw)),
        ("std client -> tokio server, a timer pending", Client::std(tokio_raw_timer)),
        ("std client -> tokio server, Herald's shape (frames, split, two channel hops)", Client::std(hops)),
        ("  the same, a timer pending", Client::std(hops_timer)),
        ("Herald Caller -> std server speaking frames", Client::caller(&rt, std_frames, 1)),
        ("std client speaking frames -> Herald runtime (Echo)", Client::std_herald(herald, 1)),
        ("Herald Caller -> Herald runtime (Echo): herald bench rpc", Client::caller(&rt, herald, 2)),
        ("spinning std client -> spinning std server (the spinning floor)", Client::std(std_raw_spinning).spinning()),
        (
            "Herald Caller, busy-polling -> spinning std server speaking frames",
            Client::busy_caller(&rt, std_frames_spinning, 1),
        ),
        (
            "spinning std client speaking frames -> Herald runtime, busy-polling",
            Client::std_herald(herald_busy, 1).spinning(),
        ),
        ("Herald Caller, busy-polling -> Herald runtime, busy-polling", Client::busy_caller(&rt, herald_busy, 2)),
    ];
    let mut samples: Vec<Vec<u64>> = vec![Vec::with_capacity(chunks * CHUNK); rows.len()];
    for (_, c) in rows.iter_mut() {
        c.chunk(&rt, &mut Vec::new());
    }
    for _ in 0..chunks {
        for ((_, c), s) in rows.iter_mut().zip(samples.iter_mut()) {
            c.chunk(&rt, s);
        }
    }
    let pct = |v: &[u64], q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
    let mut floor = 0.0;
    println!("{:<78} {:>8} {:>8} {:>9}", "client -> server", "p50 µs", "p99 µs", "p50/floor");
    for (i, ((name, _), s)) in rows.iter().zip(samples.iter_mut()).enumerate() {
        s.sort_unstable();
        let (p50, p99) = (pct(s, 0.5), pct(s, 0.99));
        if i == 0 {
            floor = p50;
        }
        println!("{name:<78} {p50:>8.1} {p99:>8.1} {:>8.2}x", p50 / floor);
    }
}
