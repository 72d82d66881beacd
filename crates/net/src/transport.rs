//! Connections between peers: one TCP connection per pair of nodes, dialed by the node with the
//! lower id, optionally wrapped in mutual TLS, greeted with a `Hello` each way, and re-dialed with
//! exponential backoff when it breaks.
//!
//! These tasks move bytes only: they never decode a protocol message, so they hold no protocol
//! logic and need no `Node` type. A frame that does not decode closes its connection with a logged
//! reason ([`FrameError`]); other connections are untouched.

use crate::frame::{Body, FrameCodec, FrameError};
use crate::tls::Tls;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// A byte stream: TCP, or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A greeted connection to one peer.
pub(crate) type Conn = Framed<Box<dyn Stream>, FrameCodec>;

/// What the connection tasks hand the node's task.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A protocol message frame from `from`.
    Msg { from: u32, lamport: u64, id: u64, payload: Vec<u8> },
    /// The connection to `peer` is up.
    Up(u32),
    /// The connection to `peer` went down.
    Down(u32),
    /// `peer` has all its connections up (a [`Body::Ready`] frame).
    Ready(u32),
    /// An outside caller `id` (≥ the cluster size) connected; replies to it go to `outbox`.
    ClientUp { id: u32, outbox: mpsc::Sender<Bytes> },
    /// The caller `id` disconnected (its connection's `outbox`: a newer one may have replaced it).
    ClientDown { id: u32, outbox: mpsc::Sender<Bytes> },
}

/// Counters the connection tasks share with the node's task.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) frames_rejected: AtomicU64,
    pub(crate) handshakes_rejected: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) callers_refused: AtomicU64,
    pub(crate) callers_idle: AtomicU64,
}

/// What every connection task of one node knows.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) cluster: u64,
    pub(crate) me: u32,
    pub(crate) incarnation: u64,
    pub(crate) addrs: Arc<Vec<SocketAddr>>,
    pub(crate) tls: Option<Tls>,
    pub(crate) max_frame: usize,
    pub(crate) backoff: (Duration, Duration),
    pub(crate) stats: Arc<Stats>,
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

impl Link {
    fn hello(&self, to: u32) -> Bytes {
        Bytes::from(crate::frame::encode(&Body::Hello {
            cluster: self.cluster,
            from: self.me,
            to,
            incarnation: self.incarnation,
        }))
    }

    /// Reads the peer's `Hello` and checks it: this cluster, addressed to us, from `expect` (or,
    /// for an acceptor, from any node with a lower id).
    async fn read_hello(&self, conn: &mut Conn, expect: Option<u32>) -> Result<u32, String> {
        let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.next()).await.map_err(|_| "no hello in time")?;
        let body = match first {
            Some(Ok(body)) => body,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed before hello".into()),
        };
        let Body::Hello { cluster, from, to, .. } = body else { return Err("first frame is not a hello".into()) };
        if cluster != self.cluster {
            return Err(format!("hello from cluster {cluster}, this is cluster {}", self.cluster));
        }
        if to != self.me {
            return Err(format!("hello addressed to n{to}, this is n{}", self.me));
        }
        match expect {
            Some(e) if e != from => Err(format!("hello from n{from}, dialed n{e}")),
            None if from >= self.me || from as usize >= self.addrs.len() => {
                Err(format!("hello from n{from}: only nodes with lower ids dial n{}", self.me))
            }
            _ => Ok(from),
        }
    }

    /// Reads an outside caller's `Hello`: this cluster, addressed to us, from an id outside it.
    async fn read_caller_hello(&self, conn: &mut Conn) -> Result<u32, String> {
        let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.next()).await.map_err(|_| "no hello in time")?;
        match first {
            Some(Ok(Body::Hello { cluster, from, to, .. })) => {
                if cluster != self.cluster || to != self.me {
                    Err(format!(
                        "hello for cluster {cluster} node n{to}, this is cluster {} n{}",
                        self.cluster, self.me
                    ))
                } else if (from as usize) < self.addrs.len() {
                    Err(format!("a caller claims the member id n{from}"))
                } else {
                    Ok(from)
                }
            }
            Some(Ok(_)) => Err("first frame is not a hello".into()),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("closed before hello".into()),
        }
    }

    /// Dials `peer` and greets it.
    async fn dial(&self, peer: u32) -> Result<Conn, String> {
        let addr = self.addrs[peer as usize];
        let tcp = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let stream: Box<dyn Stream> = match &self.tls {
            Some(tls) => {
                let connector = tokio_rustls::TlsConnector::from(tls.client.clone());
                let s = tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(Tls::name_of(peer), tcp))
                    .await
                    .map_err(|_| "TLS handshake timed out".to_string())?
                    .map_err(|e| format!("TLS: {e}"))?;
                Box::new(s)
            }
            None => Box::new(tcp),
        };
        let mut conn = Framed::new(stream, FrameCodec::new(self.max_frame));
        conn.send(self.hello(peer)).await.map_err(|e| e.to_string())?;
        self.read_hello(&mut conn, Some(peer)).await?;
        Ok(conn)
    }

    /// Greets an accepted socket: TLS (checking the client's certificate is the claimed node's),
    /// then `Hello` both ways.
    async fn accept(&self, tcp: TcpStream) -> Result<(u32, Conn), String> {
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (stream, cert): (Box<dyn Stream>, Option<Vec<u8>>) = match &self.tls {
            Some(tls) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
                let s = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                    .await
                    .map_err(|_| "TLS handshake timed out".to_string())?
                    .map_err(|e| format!("TLS: {e}"))?;
                let cert = s.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
                (Box::new(s), cert)
            }
            None => (Box::new(tcp), None),
        };
        let mut conn = Framed::new(stream, FrameCodec::new(self.max_frame));
        let from = self.read_hello(&mut conn, None).await?;
        if let Some(tls) = &self.tls {
            if cert.as_deref() != tls.peers.get(from as usize).map(AsRef::as_ref) {
                return Err(format!("claims to be n{from} but presents another node's certificate"));
            }
        }
        conn.send(self.hello(from)).await.map_err(|e| e.to_string())?;
        Ok((from, conn))
    }
}

/// How many outside callers the client port serves at once, and how long a greeted caller may
/// stay silent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallerLimits {
    /// Connections held at once (greeting or greeted); more are closed at accept.
    pub(crate) max: usize,
    /// A greeted caller with no frame either way for this long is disconnected.
    pub(crate) idle: Duration,
}

/// Accepts outside callers on the client port until `stop`. A caller greets with a `Hello` from an
/// id outside the cluster (≥ n: it can never pass for a member), then exchanges `Msg` frames with
/// the node, which sees it as one more sender; a newer connection with the same id replaces the
/// older. At most `limits.max` connections are held at once: one more is closed as soon as it is
/// accepted, with a logged reason, and counted in `callers_refused`; a slot frees when a caller
/// leaves. Each connection is a task of this listener, so on `stop` every one of them is ended
/// (its socket closed) before this returns.
pub(crate) async fn listen_clients(
    link: Link,
    listener: TcpListener,
    inbound: mpsc::Sender<Inbound>,
    limits: CallerLimits,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max.min(Semaphore::MAX_PERMITS)));
    let mut callers = JoinSet::new();
    loop {
        let (tcp, remote) = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            Some(_) = callers.join_next(), if !callers.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(node = link.me, error = %e, "accept failed on the client port");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            link.stats.callers_refused.fetch_add(1, Ordering::Relaxed);
            warn!(node = link.me, %remote, limit = limits.max, "refused a caller: the client port's connection limit is reached");
            drop(tcp);
            continue;
        };
        let (link, inbound) = (link.clone(), inbound.clone());
        callers.spawn_local(async move {
            let _slot = slot;
            let greeted = async {
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                let stream: Box<dyn Stream> = Box::new(tcp);
                let mut conn = Framed::new(stream, FrameCodec::new(link.max_frame));
                let from = link.read_caller_hello(&mut conn).await?;
                conn.send(link.hello(from)).await.map_err(|e| e.to_string())?;
                Ok::<_, String>((from, conn))
            };
            match greeted.await {
                Ok((id, conn)) => {
                    let (tx, mut rx) = mpsc::channel(OUTBOX_CLIENT);
                    if inbound.send(Inbound::ClientUp { id, outbox: tx.clone() }).await.is_err() {
                        return;
                    }
                    let _ = serve(&link, id, conn, &mut rx, &inbound, None, Some(limits.idle)).await;
                    let _ = inbound.send(Inbound::ClientDown { id, outbox: tx }).await;
                }
                Err(reason) => {
                    link.stats.handshakes_rejected.fetch_add(1, Ordering::Relaxed);
                    warn!(node = link.me, %remote, %reason, "rejected a caller");
                }
            }
        });
    }
    drop(listener);
    callers.shutdown().await;
}

/// Replies queued for one caller, in frames.
const OUTBOX_CLIENT: usize = 4096;

/// Sockets on the peer port in their handshake (TLS and `Hello`, at most [`HANDSHAKE_TIMEOUT`]
/// each) at once; more are closed at accept. A cluster member re-dials with backoff, so a burst of
/// strangers delays it at worst, and cannot exhaust the process's file descriptors (which its
/// durable storage needs too).
pub(crate) const PEER_HANDSHAKES_MAX: usize = 64;

/// Accepts connections until `stop`, greeting each in its own task and handing it to its peer's
/// task; on `stop` the greeting tasks are ended before this returns.
pub(crate) async fn listen(
    link: Link,
    listener: TcpListener,
    conns: Vec<Option<mpsc::Sender<Conn>>>,
    stop: CancellationToken,
) {
    let conns = Arc::new(conns);
    let slots = Arc::new(Semaphore::new(PEER_HANDSHAKES_MAX));
    let mut greeting = JoinSet::new();
    loop {
        let (tcp, remote) = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            Some(_) = greeting.join_next(), if !greeting.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(node = link.me, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            link.stats.handshakes_rejected.fetch_add(1, Ordering::Relaxed);
            warn!(node = link.me, %remote, limit = PEER_HANDSHAKES_MAX, "refused a connection: too many handshakes in progress");
            drop(tcp);
            continue;
        };
        let (link, conns) = (link.clone(), conns.clone());
        greeting.spawn_local(async move {
            let accepted = link.accept(tcp).await;
            drop(slot);
            match accepted {
                Ok((from, conn)) => {
                    if let Some(Some(tx)) = conns.get(from as usize) {
                        let _ = tx.send(conn).await;
                    }
                }
                Err(reason) => {
                    link.stats.handshakes_rejected.fetch_add(1, Ordering::Relaxed);
                    warn!(node = link.me, %remote, %reason, "rejected an incoming connection");
                }
            }
        });
    }
    drop(listener);
    greeting.shutdown().await;
}

/// Keeps the connection to a higher-id `peer` up: dial, serve, back off, dial again.
pub(crate) async fn dialer(link: Link, peer: u32, mut outbox: mpsc::Receiver<Bytes>, inbound: mpsc::Sender<Inbound>) {
    let (min, max) = link.backoff;
    let mut backoff = min;
    loop {
        match link.dial(peer).await {
            Ok(conn) => {
                backoff = min;
                if serve(&link, peer, conn, &mut outbox, &inbound, None, None).await.is_err() {
                    return;
                }
            }
            Err(reason) => debug!(node = link.me, peer, %reason, ?backoff, "dial failed; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(max);
    }
}

/// Serves the connections a lower-id `peer` dials to us; a newer connection replaces an older one
/// (the peer restarted or reconnected).
pub(crate) async fn acceptor(
    link: Link,
    peer: u32,
    mut outbox: mpsc::Receiver<Bytes>,
    inbound: mpsc::Sender<Inbound>,
    mut conns: mpsc::Receiver<Conn>,
) {
    let mut next = None;
    loop {
        let conn = match next.take() {
            Some(conn) => conn,
            None => match conns.recv().await {
                Some(conn) => conn,
                None => return,
            },
        };
        match serve(&link, peer, conn, &mut outbox, &inbound, Some(&mut conns), None).await {
            Ok(replaced) => next = replaced,
            Err(()) => return,
        }
    }
}

/// Moves frames both ways on one connection until it breaks or is replaced. `Err` means the node is
/// shutting down.
async fn serve(
    link: &Link,
    peer: u32,
    conn: Conn,
    outbox: &mut mpsc::Receiver<Bytes>,
    inbound: &mpsc::Sender<Inbound>,
    replacements: Option<&mut mpsc::Receiver<Conn>>,
    idle: Option<Duration>,
) -> Result<Option<Conn>, ()> {
    link.stats.connections.fetch_add(1, Ordering::Relaxed);
    debug!(node = link.me, peer, "connected");
    inbound.send(Inbound::Up(peer)).await.map_err(|_| ())?;
    let (mut sink, mut stream) = conn.split();
    // When a frame last moved either way (kept only with an idle limit).
    let active = std::cell::Cell::new(Instant::now());
    let touch = || {
        if idle.is_some() {
            active.set(Instant::now());
        }
    };
    let read = async {
        loop {
            match stream.next().await {
                Some(Ok(Body::Msg { lamport, id, payload })) => {
                    touch();
                    if inbound.send(Inbound::Msg { from: peer, lamport, id, payload }).await.is_err() {
                        return Err(());
                    }
                }
                Some(Ok(Body::Ready)) => {
                    touch();
                    if inbound.send(Inbound::Ready(peer)).await.is_err() {
                        return Err(());
                    }
                }
                Some(Ok(Body::Hello { .. })) => {
                    link.stats.frames_rejected.fetch_add(1, Ordering::Relaxed);
                    warn!(node = link.me, peer, "closing connection: a second hello");
                    return Ok(());
                }
                // TLS refuses a record that was tampered with, replayed, reordered or cut (its
                // AEAD tag or sequence number does not check): rustls reports it as invalid data.
                Some(Err(FrameError::Io(e))) if e.kind() == std::io::ErrorKind::InvalidData => {
                    link.stats.frames_rejected.fetch_add(1, Ordering::Relaxed);
                    warn!(node = link.me, peer, reason = %e, "closing connection: record rejected");
                    return Ok(());
                }
                Some(Err(FrameError::Io(e))) => {
                    info!(node = link.me, peer, error = %e, "connection lost");
                    return Ok(());
                }
                Some(Err(e)) => {
                    link.stats.frames_rejected.fetch_add(1, Ordering::Relaxed);
                    warn!(node = link.me, peer, reason = %e, "closing connection: bad frame");
                    return Ok(());
                }
                None => {
                    info!(node = link.me, peer, "connection closed by peer");
                    return Ok(());
                }
            }
        }
    };
    let write = async {
        while let Some(frame) = outbox.recv().await {
            if sink.feed(frame).await.is_err() {
                return Ok(());
            }
            while let Ok(frame) = outbox.try_recv() {
                if sink.feed(frame).await.is_err() {
                    return Ok(());
                }
            }
            if sink.flush().await.is_err() {
                return Ok(());
            }
            touch();
        }
        Err(())
    };
    let idle_out = async {
        let Some(idle) = idle else { return std::future::pending().await };
        loop {
            let until = active.get() + idle;
            if until <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(until).await;
        }
    };
    let replaced = async {
        match replacements {
            Some(conns) => conns.recv().await,
            None => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        r = read => r.map(|()| None),
        w = write => w.map(|()| None),
        c = replaced => match c {
            Some(conn) => Ok(Some(conn)),
            None => Err(()),
        },
        () = idle_out => {
            link.stats.callers_idle.fetch_add(1, Ordering::Relaxed);
            warn!(node = link.me, peer, idle = ?idle, "closing connection: no frame either way for the idle limit");
            Ok(None)
        }
    };
    let _ = inbound.send(Inbound::Down(peer)).await;
    result
}
