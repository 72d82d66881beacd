//! One peer of the side-by-side loopback echo RPC benchmark (issue 5, item 7).
//!
//! ```text
//! compare-rpc <floor|tokio|tarpc|tonic> [--sequential 20000] [--calls 200000] [--concurrency 64] [--connections 64] [--payload 32]
//! ```
//!
//! Every peer runs the same workload and prints one JSON line with `p50_us`, `p99_us` (one caller,
//! `--sequential` round trips back to back) and `calls_per_sec` (`--concurrency` callers, each
//! making its share of `--calls` round trips back to back, over `--connections` connections).
//!
//! With `--connections` equal to `--concurrency` (the default) every caller has a connection of
//! its own and waits for each answer before the next call. With fewer, the callers share them
//! round-robin and their calls are in flight together on a connection: tarpc and tonic multiplex
//! natively (a cloned client), the tokio loop through a small multiplexing client (one task owns
//! the connection, writes every queued call with one flush and hands answers back in order). The
//! floor has no shared mode.
//!
//! The shape is the one `herald bench rpc` uses, so the rows are comparable: the server runs on its
//! own thread with a current-thread tokio runtime, the callers on the main thread with another
//! (all of them in one task, joined), every socket has `TCP_NODELAY`. The floor is blocking
//! `std::net` (a thread per connection on both sides).

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
struct Args {
    sequential: u64,
    calls: u64,
    concurrency: usize,
    connections: usize,
    payload: usize,
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let peer = argv.next().unwrap_or_default();
    let mut args = Args { sequential: 20_000, calls: 200_000, concurrency: 64, connections: 0, payload: 32 };
    while let Some(flag) = argv.next() {
        let value: u64 = argv.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage(&flag));
        match flag.as_str() {
            "--sequential" => args.sequential = value,
            "--calls" => args.calls = value,
            "--concurrency" => args.concurrency = value as usize,
            "--connections" => args.connections = value as usize,
            "--payload" => args.payload = value as usize,
            _ => usage(&flag),
        }
    }
    if args.connections == 0 {
        args.connections = args.concurrency;
    }
    if args.concurrency == 0
        || args.calls < args.concurrency as u64
        || args.sequential == 0
        || args.connections > args.concurrency
        || (peer == "floor" && args.connections != args.concurrency)
    {
        usage("--calls/--concurrency/--connections/--sequential");
    }
    let result = match peer.as_str() {
        "floor" => floor::run(args),
        "tokio" => on_runtimes(args, tokio_loop::serve, tokio_loop::Client::connect),
        "tarpc" => on_runtimes(args, tarpc_echo::serve, tarpc_echo::Client::connect),
        "tonic" => on_runtimes(args, tonic_echo::serve, tonic_echo::Client::connect),
        other => usage(other),
    };
    match result {
        Ok(m) => println!(
            "{{\"peer\":\"{peer}\",\"payload_bytes\":{},\"sequential_calls\":{},\"p50_us\":{:.2},\"p99_us\":{:.2},\"concurrency\":{},\"connections\":{},\"calls\":{},\"calls_per_sec\":{:.0}}}",
            args.payload, args.sequential, m.p50_us, m.p99_us, args.concurrency, args.connections, m.calls, m.calls_per_sec
        ),
        Err(e) => {
            eprintln!("compare-rpc {peer}: {e}");
            std::process::exit(1);
        }
    }
}

fn usage(what: &str) -> ! {
    eprintln!("compare-rpc: bad argument {what:?}\nusage: compare-rpc <floor|tokio|tarpc|tonic> [--sequential N] [--calls N] [--concurrency N] [--connections N] [--payload N]");
    std::process::exit(2);
}

struct Measured {
    p50_us: f64,
    p99_us: f64,
    calls: u64,
    calls_per_sec: f64,
}

fn percentile_us(sorted: &[u64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64 / 1e3
}

fn check(back: &[u8], body: &[u8]) -> io::Result<()> {
    if back == body {
        Ok(())
    } else {
        Err(io::Error::other("the echo changed the payload"))
    }
}

/// One caller: one call at a time on its connection, or on a connection it shares.
trait Call: Sized {
    fn call(&mut self, body: &[u8]) -> impl Future<Output = io::Result<Vec<u8>>>;
    /// Another caller on this caller's connection, with calls in flight together.
    fn share(&self) -> Self;
}

/// Runs `serve` (which binds, sends its address, then serves forever) on its own thread and
/// runtime, and the callers on this thread.
fn on_runtimes<C, S, SF, K, KF>(args: Args, serve: S, connect: K) -> io::Result<Measured>
where
    C: Call,
    S: FnOnce(std::sync::mpsc::Sender<SocketAddr>) -> SF + Send + 'static,
    SF: Future<Output = io::Result<()>>,
    K: Fn(SocketAddr, bool) -> KF,
    KF: Future<Output = io::Result<C>>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        if let Err(e) = rt.block_on(serve(tx)) {
            eprintln!("compare-rpc: server: {e}");
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).map_err(io::Error::other)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let body = vec![0x5a_u8; args.payload];
        let mut one = connect(addr, false).await?;
        let mut samples = Vec::with_capacity(args.sequential as usize);
        for _ in 0..args.sequential {
            let started = Instant::now();
            let back = one.call(&body).await?;
            samples.push(started.elapsed().as_nanos() as u64);
            check(&back, &body)?;
        }
        samples.sort_unstable();
        let per = args.calls / args.concurrency as u64;
        let mut callers = Vec::with_capacity(args.concurrency);
        let shared = args.connections < args.concurrency;
        for _ in 0..args.connections {
            callers.push(connect(addr, shared).await?);
        }
        for i in args.connections..args.concurrency {
            let more = callers[i % args.connections].share();
            callers.push(more);
        }
        let started = Instant::now();
        let runs = callers.into_iter().map(|mut c| {
            let body = body.clone();
            async move {
                for _ in 0..per {
                    let back = c.call(&body).await?;
                    check(&back, &body)?;
                }
                Ok::<_, io::Error>(())
            }
        });
        for r in futures::future::join_all(runs).await {
            r?;
        }
        let wall = started.elapsed().as_secs_f64();
        let calls = per * args.concurrency as u64;
        Ok(Measured {
            p50_us: percentile_us(&samples, 0.50),
            p99_us: percentile_us(&samples, 0.99),
            calls,
            calls_per_sec: calls as f64 / wall,
        })
    })
}

/// Blocking `std::net`: a 4-byte length and the payload each way, a thread per connection.
mod floor {
    use super::*;

    pub(crate) fn run(args: Args) -> io::Result<Measured> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let payload = args.payload;
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let _ = s.set_nodelay(true);
                    let mut len = [0u8; 4];
                    let mut buf = vec![0u8; payload];
                    while s.read_exact(&mut len).is_ok() {
                        buf.resize(u32::from_be_bytes(len) as usize, 0);
                        if s.read_exact(&mut buf).is_err() || s.write_all(&[&len[..], &buf].concat()).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let connect = || -> io::Result<TcpStream> {
            let s = TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            Ok(s)
        };
        let body = vec![0x5a_u8; payload];
        let mut frame = (payload as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        let call = |s: &mut TcpStream, back: &mut [u8]| -> io::Result<()> {
            s.write_all(&frame)?;
            s.read_exact(back)?;
            check(&back[4..], &body)
        };
        let mut s = connect()?;
        let mut back = vec![0u8; frame.len()];
        let mut samples = Vec::with_capacity(args.sequential as usize);
        for _ in 0..args.sequential {
            let started = Instant::now();
            call(&mut s, &mut back)?;
            samples.push(started.elapsed().as_nanos() as u64);
        }
        samples.sort_unstable();
        let per = args.calls / args.concurrency as u64;
        let mut conns = Vec::with_capacity(args.concurrency);
        for _ in 0..args.concurrency {
            conns.push(connect()?);
        }
        let started = Instant::now();
        let results: Vec<io::Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = conns
                .into_iter()
                .map(|mut s| {
                    let call = &call;
                    let len = frame.len();
                    scope.spawn(move || {
                        let mut back = vec![0u8; len];
                        for _ in 0..per {
                            call(&mut s, &mut back)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(io::Error::other("panicked")))).collect()
        });
        for r in results {
            r?;
        }
        let wall = started.elapsed().as_secs_f64();
        let calls = per * args.concurrency as u64;
        Ok(Measured {
            p50_us: percentile_us(&samples, 0.50),
            p99_us: percentile_us(&samples, 0.99),
            calls,
            calls_per_sec: calls as f64 / wall,
        })
    }
}

/// The minimal async loop: tokio, `LengthDelimitedCodec`, the payload as a postcard `Vec<u8>`, a
/// task per connection that reads a frame and writes the answer (every frame already readable is
/// answered before one flush).
mod tokio_loop {
    use super::*;
    use bytes::Bytes;
    use futures::{FutureExt, SinkExt, StreamExt};
    use tokio_util::codec::{Framed, LengthDelimitedCodec};

    pub(crate) async fn serve(tx: std::sync::mpsc::Sender<SocketAddr>) -> io::Result<()> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        tx.send(listener.local_addr()?).map_err(io::Error::other)?;
        loop {
            let (s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            tokio::spawn(async move {
                let mut conn = Framed::new(s, LengthDelimitedCodec::new());
                // Answers every frame already read (or readable now) before one flush, so calls
                // in flight together on a connection are answered with one write.
                'conn: while let Some(Ok(mut frame)) = conn.next().await {
                    loop {
                        let Ok(msg) = postcard::from_bytes::<Vec<u8>>(&frame) else { break 'conn };
                        let Ok(out) = postcard::to_allocvec(&msg) else { break 'conn };
                        if conn.feed(Bytes::from(out)).await.is_err() {
                            break 'conn;
                        }
                        match conn.next().now_or_never() {
                            Some(Some(Ok(more))) => frame = more,
                            Some(_) => break 'conn,
                            None => break,
                        }
                    }
                    if SinkExt::<Bytes>::flush(&mut conn).await.is_err() {
                        break;
                    }
                }
            });
        }
    }

    type Answer = tokio::sync::oneshot::Sender<Bytes>;

    /// A connection of its own, or a handle on a connection owned by a multiplexing task.
    pub(crate) enum Client {
        Own(Framed<tokio::net::TcpStream, LengthDelimitedCodec>),
        Shared(tokio::sync::mpsc::UnboundedSender<(Bytes, Answer)>),
    }

    impl Client {
        pub(crate) async fn connect(addr: SocketAddr, shared: bool) -> io::Result<Self> {
            let s = tokio::net::TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let conn = Framed::new(s, LengthDelimitedCodec::new());
            if !shared {
                return Ok(Self::Own(conn));
            }
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(multiplex(conn, rx));
            Ok(Self::Shared(tx))
        }
    }

    /// Owns a shared connection: writes every queued call with one flush, answers in order (the
    /// server answers a connection's frames in order).
    async fn multiplex(
        mut conn: Framed<tokio::net::TcpStream, LengthDelimitedCodec>,
        mut calls: tokio::sync::mpsc::UnboundedReceiver<(Bytes, Answer)>,
    ) {
        let mut waiting = std::collections::VecDeque::new();
        loop {
            tokio::select! {
                call = calls.recv() => {
                    let Some((frame, answer)) = call else { return };
                    waiting.push_back(answer);
                    if conn.feed(frame).await.is_err() {
                        return;
                    }
                    while let Ok((frame, answer)) = calls.try_recv() {
                        waiting.push_back(answer);
                        if conn.feed(frame).await.is_err() {
                            return;
                        }
                    }
                    if SinkExt::<Bytes>::flush(&mut conn).await.is_err() {
                        return;
                    }
                }
                frame = conn.next() => {
                    let (Some(Ok(frame)), Some(answer)) = (frame, waiting.pop_front()) else { return };
                    let _ = answer.send(frame.freeze());
                }
            }
        }
    }

    impl Call for Client {
        async fn call(&mut self, body: &[u8]) -> io::Result<Vec<u8>> {
            let out = Bytes::from(postcard::to_allocvec(body).map_err(io::Error::other)?);
            let frame = match self {
                Self::Own(conn) => {
                    conn.send(out).await?;
                    conn.next().await.ok_or_else(|| io::Error::other("closed"))??.freeze()
                }
                Self::Shared(calls) => {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    calls.send((out, tx)).map_err(|_| io::Error::other("closed"))?;
                    rx.await.map_err(|_| io::Error::other("closed"))?
                }
            };
            postcard::from_bytes(&frame).map_err(io::Error::other)
        }

        fn share(&self) -> Self {
            match self {
                Self::Shared(calls) => Self::Shared(calls.clone()),
                Self::Own(_) => unreachable!("a caller with a connection of its own is not shared"),
            }
        }
    }
}

/// tarpc: a `#[tarpc::service]` over its serde transport (bincode in length-delimited frames), a
/// `BaseChannel` per connection whose requests are spawned as tasks, as tarpc's examples do.
mod tarpc_echo {
    use super::*;
    use futures::StreamExt;
    use tarpc::server::{BaseChannel, Channel};
    use tarpc::tokio_serde::formats::Bincode;
    use tokio_util::codec::{Framed, LengthDelimitedCodec};

    #[tarpc::service]
    pub(crate) trait Echo {
        async fn echo(payload: Vec<u8>) -> Vec<u8>;
    }

    #[derive(Clone)]
    struct EchoServer;

    impl Echo for EchoServer {
        async fn echo(self, _: tarpc::context::Context, payload: Vec<u8>) -> Vec<u8> {
            payload
        }
    }

    async fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(fut);
    }

    pub(crate) async fn serve(tx: std::sync::mpsc::Sender<SocketAddr>) -> io::Result<()> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        tx.send(listener.local_addr()?).map_err(io::Error::other)?;
        loop {
            let (s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            let transport =
                tarpc::serde_transport::new(Framed::new(s, LengthDelimitedCodec::new()), Bincode::default());
            tokio::spawn(BaseChannel::with_defaults(transport).execute(EchoServer.serve()).for_each(spawn));
        }
    }

    pub(crate) struct Client(EchoClient);

    impl Client {
        pub(crate) async fn connect(addr: SocketAddr, _shared: bool) -> io::Result<Self> {
            let s = tokio::net::TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let transport =
                tarpc::serde_transport::new(Framed::new(s, LengthDelimitedCodec::new()), Bincode::default());
            Ok(Self(EchoClient::new(tarpc::client::Config::default(), transport).spawn()))
        }
    }

    impl Call for Client {
        async fn call(&mut self, body: &[u8]) -> io::Result<Vec<u8>> {
            self.0.echo(tarpc::context::current(), body.to_vec()).await.map_err(io::Error::other)
        }

        fn share(&self) -> Self {
            Self(self.0.clone())
        }
    }
}

/// tonic: a unary gRPC method over HTTP/2, the service written by hand the way tonic's codegen
/// writes it (prost message derive, `tonic::server::Grpc::unary`, `tonic::client::Grpc::unary`),
/// so no protoc is needed. One `Channel` (one HTTP/2 connection) per caller.
mod tonic_echo {
    use super::*;
    use tonic::codegen::{http, BoxFuture, Context, Poll, Service};

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Payload {
        #[prost(bytes = "vec", tag = "1")]
        pub(crate) data: Vec<u8>,
    }

    const PATH: &str = "/bench.Echo/Echo";

    #[derive(Clone, Debug)]
    struct EchoService;

    impl tonic::server::NamedService for EchoService {
        const NAME: &'static str = "bench.Echo";
    }

    struct EchoUnary;

    impl tonic::server::UnaryService<Payload> for EchoUnary {
        type Response = Payload;
        type Future = BoxFuture<tonic::Response<Payload>, tonic::Status>;
        fn call(&mut self, request: tonic::Request<Payload>) -> Self::Future {
            Box::pin(async move { Ok(tonic::Response::new(request.into_inner())) })
        }
    }

    impl<B> Service<http::Request<B>> for EchoService
    where
        B: tonic::codegen::Body + Send + 'static,
        B::Error: Into<tonic::codegen::StdError> + Send + 'static,
    {
        type Response = http::Response<tonic::body::Body>;
        type Error = std::convert::Infallible;
        type Future = BoxFuture<Self::Response, Self::Error>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<B>) -> Self::Future {
            if req.uri().path() == PATH {
                Box::pin(async move {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Payload, Payload>::default());
                    Ok(grpc.unary(EchoUnary, req).await)
                })
            } else {
                Box::pin(async move { Ok(tonic::Status::unimplemented("").into_http()) })
            }
        }
    }

    pub(crate) async fn serve(tx: std::sync::mpsc::Sender<SocketAddr>) -> io::Result<()> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        tx.send(listener.local_addr()?).map_err(io::Error::other)?;
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .add_service(EchoService)
            .serve_with_incoming(incoming)
            .await
            .map_err(io::Error::other)
    }

    pub(crate) struct Client(tonic::client::Grpc<tonic::transport::Channel>);

    impl Client {
        pub(crate) async fn connect(addr: SocketAddr, _shared: bool) -> io::Result<Self> {
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .map_err(io::Error::other)?
                .tcp_nodelay(true)
                .connect()
                .await
                .map_err(io::Error::other)?;
            Ok(Self(tonic::client::Grpc::new(channel)))
        }
    }

    impl Call for Client {
        async fn call(&mut self, body: &[u8]) -> io::Result<Vec<u8>> {
            self.0.ready().await.map_err(io::Error::other)?;
            let codec = tonic_prost::ProstCodec::<Payload, Payload>::default();
            let path = http::uri::PathAndQuery::from_static(PATH);
            let request = tonic::Request::new(Payload { data: body.to_vec() });
            let response = self.0.unary(request, path, codec).await.map_err(io::Error::other)?;
            Ok(response.into_inner().data)
        }

        fn share(&self) -> Self {
            Self(self.0.clone())
        }
    }
}
