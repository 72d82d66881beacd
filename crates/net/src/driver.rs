//! The driver: one node (or one Byzantine strategy) in this process, its effects carried out for
//! real.
//!
//! | effect          | what the driver does                                                    |
//! |-----------------|-------------------------------------------------------------------------|
//! | `Send`          | encode with the Herald codec, frame with a Lamport timestamp, queue it on the peer's connection |
//! | `SendBytes`     | frame the raw bytes the same way                                         |
//! | `SetTimer`      | a deadline on the monotonic clock (`tokio::time::Instant`), replacing one of the same name |
//! | `CancelTimer`   | forget the deadline                                                      |
//! | `Persist`       | write, fsync, rename, fsync the directory — before any other effect of the same handler is carried out, so nothing is visible before it is durable |
//! | `Output`        | keep it for the [`Report`], and trace it                                 |
//!
//! Inputs come one at a time on this task, so handlers never run concurrently. `ctx.now()` is the
//! monotonic time since the process started. Messages that arrive before the node starts wait
//! and are delivered right after `on_start`.

use crate::busy_poll::Spinner;
use crate::frame::{self, MAX_FRAME_DEFAULT};
use crate::record::Recorder;
use crate::storage::DataDir;
use crate::tls::Tls;
use crate::transport::{self, CallerLimits, Inbound, Link, Stats};
use bytes::Bytes;
use herald_core::trace::{DropReason, EventKind};
use herald_core::{Context, Effect, Node, NodeId, Rng, Strategy, Time, codec};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// What runs in this process: the protocol's node, or a Byzantine strategy in its place.
pub enum Role<N: Node> {
    /// A correct node.
    Honest(N),
    /// A faulty node: the strategy acts for it (its `ctx.id()` is this node).
    Byzantine(Box<dyn Strategy<N>>),
}

impl<N: Node> std::fmt::Debug for Role<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Honest(_) => f.write_str("Honest"),
            Self::Byzantine(s) => write!(f, "Byzantine({})", s.name()),
        }
    }
}

/// When the node starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// At once.
    Immediately,
    /// When every member of the cluster has its connections to every peer up — a barrier: each
    /// node says [`crate::frame::Body::Ready`] to its peers once its own connections are up, and
    /// starts when every peer has said it too — or after `timeout`, whichever comes first. For
    /// round-based protocols: the last node to connect releases the others with one message each,
    /// so every node starts round 1 within about one message delay of the others, however long
    /// the connections took to come up (under packet loss a lost SYN costs seconds), which bounds
    /// the skew of their round clocks.
    WhenConnected {
        /// The longest wait.
        timeout: Duration,
    },
}

/// The default [`Options::max_callers`]: enough for `herald bench rpc`'s concurrency and many
/// `herald call`s at once, and well inside the usual limit of 1024 open files (each caller also
/// costs a task, a reply queue and up to one frame of buffer).
pub const MAX_CALLERS_DEFAULT: usize = 256;

/// The default [`Options::caller_idle`].
pub const CALLER_IDLE_DEFAULT: Duration = Duration::from_secs(60);

/// How to run one node.
#[derive(Clone, Debug)]
pub struct Options {
    /// The cluster's id (every `Hello` carries it).
    pub cluster: u64,
    /// This node.
    pub id: NodeId,
    /// Every node's address, by id (this node's included: it listens there).
    pub addrs: Vec<SocketAddr>,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The seed of this node's RNG (stream 1 + id, as in the simulator).
    pub seed: u64,
    /// When to start.
    pub start: Start,
    /// Stop after this long whatever happens.
    pub time_max: Duration,
    /// After the `done` predicate first holds, keep serving peers this long, then stop.
    pub linger: Duration,
    /// Stop this long after the node started (after the start condition), done or not: the
    /// lifetime of a node whose protocol has a known length, such as a Byzantine one.
    pub run_for: Option<Duration>,
    /// Mutual TLS, or plain TCP with `None`.
    pub tls: Option<Tls>,
    /// The largest frame accepted or sent.
    pub max_frame: usize,
    /// Reconnection backoff: the first wait and the cap (doubling in between).
    pub backoff: (Duration, Duration),
    /// Where to write this node's trace, and the scenario name for its header.
    pub trace: Option<(PathBuf, String)>,
    /// Where outside callers connect (plain TCP; they get ids ≥ n and are seen by the node as
    /// senders like any other), or `None` for no client port.
    pub client_addr: Option<SocketAddr>,
    /// The most outside-caller connections held at once on the client port (greeting or greeted);
    /// one more is closed as soon as it is accepted, with a logged reason, and counted in
    /// [`Counters::callers_refused`]. A slot frees when a caller disconnects. Default
    /// [`MAX_CALLERS_DEFAULT`]; 0 with a client port is [`NetError::Options`].
    pub max_callers: usize,
    /// A greeted caller with no frame either way for this long is disconnected (counted in
    /// [`Counters::callers_idle`]), so silent connections cannot hold the client port's slots
    /// forever; a caller that has not greeted within 3 s is refused. Default
    /// [`CALLER_IDLE_DEFAULT`].
    pub caller_idle: Duration,
    /// Stop (and report) on SIGINT or SIGTERM, as a process does; off for nodes sharing a process.
    pub stop_on_signals: bool,
    /// After each input the node handles, keep polling its sockets without sleeping for this long
    /// ([`crate::busy_poll`]): the next frame is then picked up with no thread wake-up, at the cost
    /// of a CPU core kept busy meanwhile. For latency-critical nodes on cores of their own;
    /// default zero (sleep at once).
    pub busy_poll: Duration,
}

impl Options {
    /// Defaults for node `id` of a cluster at `addrs`: plain TCP, start at once, stop after a minute.
    pub fn new(cluster: u64, id: NodeId, addrs: Vec<SocketAddr>, data_dir: PathBuf) -> Self {
        Self {
            cluster,
            id,
            addrs,
            data_dir,
            seed: 0,
            start: Start::Immediately,
            time_max: Duration::from_secs(60),
            linger: Duration::ZERO,
            run_for: None,
            tls: None,
            max_frame: MAX_FRAME_DEFAULT,
            backoff: (Duration::from_millis(20), Duration::from_secs(1)),
            trace: None,
            stop_on_signals: false,
            client_addr: None,
            max_callers: MAX_CALLERS_DEFAULT,
            caller_idle: CALLER_IDLE_DEFAULT,
            busy_poll: Duration::ZERO,
        }
    }
}

/// What a run of one node came to.
#[derive(Clone, Debug, Serialize)]
pub struct Report<O> {
    /// The node.
    pub node: u32,
    /// Its incarnation (1 on the first start with its data directory).
    pub incarnation: u64,
    /// Whether it recovered from durable storage (`on_recover`) instead of starting afresh.
    pub recovered: bool,
    /// Whether the `done` predicate held when it stopped (otherwise `time_max` ran out).
    pub done: bool,
    /// Its observations, in order.
    pub outputs: Vec<O>,
    /// Counters.
    pub counters: Counters,
    /// Wall time from process start to stop, in milliseconds.
    pub elapsed_ms: u64,
}

/// What the driver counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    /// Messages handed to connections.
    pub sent: u64,
    /// Messages delivered to the node.
    pub delivered: u64,
    /// Messages whose payload did not decode (dropped, as in the simulator).
    pub corrupt: u64,
    /// Messages dropped because a peer's queue was full or the peer does not exist.
    pub dropped: u64,
    /// Frames that closed their connection (malformed, truncated, oversized, wrong version, or a
    /// TLS record that failed its integrity check: tampered, replayed, reordered).
    pub frames_rejected: u64,
    /// Incoming connections refused at the handshake (TLS, cluster, identity).
    pub handshakes_rejected: u64,
    /// Connections established.
    pub connections: u64,
    /// Outside callers refused at accept because the client port held `max_callers` connections.
    pub callers_refused: u64,
    /// Outside callers disconnected for staying silent longer than `caller_idle`.
    pub callers_idle: u64,
    /// Turns of the busy-poll loop ([`Options::busy_poll`]): polls of the sockets made instead of
    /// sleeping (0 when busy polling is off).
    pub busy_poll_turns: u64,
}

/// Why a node could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The listening address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Durable storage failed; the node stops rather than run on without it.
    #[error("durable storage in {dir}: {source}")]
    Storage {
        /// The data directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The trace could not be written.
    #[error("trace: {0}")]
    Trace(std::io::Error),
    /// The options are inconsistent.
    #[error("invalid options: {0}")]
    Options(String),
}

/// Per-peer outgoing queue capacity, in frames.
const OUTBOX: usize = 8192;

/// Runs `role` as node `options.id` until `done(outputs)` has held for `options.linger`, or
/// `options.time_max` passes.
///
/// The node's task and all its connection tasks run on one `LocalSet` inside the returned future:
/// a frame read by a connection task reaches the node's task, and its answer the connection's
/// writer, within one turn of that set — no trip through the runtime's scheduler and its I/O
/// driver between the hops (on a current-thread runtime, waking the `block_on` future costs one
/// more `epoll_wait` per hop). So a node runs on one thread, whatever the runtime.
pub async fn run<N: Node>(
    role: Role<N>,
    options: Options,
    done: impl Fn(&[N::Output]) -> bool + 'static,
) -> Result<Report<N::Output>, NetError> {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            match tokio::task::spawn_local(run_node(role, options, done)).await {
                Ok(report) => report,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("the node's task was cancelled: {e}"),
            }
        })
        .await
}

async fn run_node<N: Node>(
    role: Role<N>,
    options: Options,
    done: impl Fn(&[N::Output]) -> bool,
) -> Result<Report<N::Output>, NetError> {
    let born = Instant::now();
    let epoch = crate::record::unix_now();
    let me = options.id.0;
    let n = options.addrs.len();
    if options.id.index() >= n {
        return Err(NetError::Options(format!("node {} is not one of {n}", options.id)));
    }
    if options.client_addr.is_some() && options.max_callers == 0 {
        return Err(NetError::Options("max_callers is 0: the client port would refuse every caller".into()));
    }
    let storage = |source| NetError::Storage { dir: options.data_dir.clone(), source };
    let data = DataDir::open(&options.data_dir).map_err(storage)?;
    let incarnation = data.next_incarnation().map_err(storage)?;
    let durable = if incarnation > 1 { Some(data.load().map_err(storage)?) } else { None };
    let addr = options.addrs[options.id.index()];
    let listener = TcpListener::bind(addr).await.map_err(|source| NetError::Bind { addr, source })?;

    let stats = Arc::new(Stats::default());
    let link = Link {
        cluster: options.cluster,
        me,
        incarnation,
        addrs: Arc::new(options.addrs.clone()),
        tls: options.tls.clone(),
        max_frame: options.max_frame,
        backoff: options.backoff,
        stats: stats.clone(),
    };
    let mut tasks = JoinSet::new();
    // The listeners own their connections' tasks and end them when `closing` fires, so when this
    // returns no socket of the run is left open (the `LocalSet` in `run` drops anything else).
    let closing = CancellationToken::new();
    let mut listeners = JoinSet::new();
    let (inbound_tx, mut inbound) = mpsc::channel(4096);
    let mut outboxes: Vec<Option<mpsc::Sender<Bytes>>> = Vec::with_capacity(n);
    let mut accept_conns = Vec::with_capacity(n);
    for peer in 0..n as u32 {
        if peer == me {
            outboxes.push(None);
            accept_conns.push(None);
            continue;
        }
        let (tx, rx) = mpsc::channel(OUTBOX);
        outboxes.push(Some(tx));
        if me < peer {
            accept_conns.push(None);
            tasks.spawn_local(transport::dialer(link.clone(), peer, rx, inbound_tx.clone()));
        } else {
            let (ctx, crx) = mpsc::channel(4);
            accept_conns.push(Some(ctx));
            tasks.spawn_local(transport::acceptor(link.clone(), peer, rx, inbound_tx.clone(), crx));
        }
    }
    if let Some(addr) = options.client_addr {
        let clients = TcpListener::bind(addr).await.map_err(|source| NetError::Bind { addr, source })?;
        let limits = CallerLimits { max: options.max_callers, idle: options.caller_idle };
        listeners.spawn_local(transport::listen_clients(
            link.clone(),
            clients,
            inbound_tx.clone(),
            limits,
            closing.clone(),
        ));
    }
    listeners.spawn_local(transport::listen(link, listener, accept_conns, closing.clone()));
    drop(inbound_tx);
    let spinner = (!options.busy_poll.is_zero()).then(|| Rc::new(Spinner::new(options.busy_poll)));
    if let Some(spinner) = &spinner {
        let spinner = Rc::clone(spinner);
        tasks.spawn_local(async move { spinner.run().await });
    }

    let recorder = match &options.trace {
        Some((path, scenario)) => {
            Some(Recorder::create(path, scenario, me, n, incarnation, epoch).map_err(NetError::Trace)?)
        }
        None => None,
    };
    let peers: Vec<NodeId> = NodeId::range(n).filter(|p| *p != options.id).collect();
    let mut driver = Driver {
        role,
        id: options.id,
        peers,
        rng: Rng::derive(options.seed, 1 + u64::from(me)),
        born,
        effects: Vec::new(),
        scratch: Vec::new(),
        timers: BTreeMap::new(),
        outboxes,
        clients: BTreeMap::new(),
        data,
        data_dir: options.data_dir.clone(),
        lamport: 0,
        next_msg: 0,
        outputs: Vec::new(),
        counters: Counters::default(),
        recorder,
    };

    // Wait for the start condition, holding early messages.
    let end = later(born, options.time_max);
    let mut early = Vec::new();
    if let Start::WhenConnected { timeout } = options.start {
        // A barrier: a node with every connection up says `Ready` to every peer (again on each
        // reconnection) and starts once every peer has said it too. The last node to get its
        // connections up releases all the others with one message each, so starts are at most
        // about one message delay apart however long the connections took to come up.
        let deadline = later(born, timeout).min(end);
        let mut up = vec![false; n];
        let mut ready = vec![false; n];
        up[me as usize] = true;
        ready[me as usize] = true;
        let mut announced = false;
        loop {
            if up.iter().all(|u| *u) {
                if !announced {
                    for p in (0..n as u32).filter(|p| *p != me) {
                        driver.send_ready(p);
                    }
                    announced = true;
                }
                if ready.iter().all(|r| *r) {
                    break;
                }
            }
            tokio::select! {
                ev = inbound.recv() => match ev {
                    Some(Inbound::Up(p)) if (p as usize) < n => {
                        up[p as usize] = true;
                        if announced {
                            driver.send_ready(p);
                        }
                    }
                    Some(Inbound::Down(p)) if (p as usize) < n => up[p as usize] = false,
                    Some(Inbound::Ready(p)) if (p as usize) < n => ready[p as usize] = true,
                    Some(Inbound::Up(_) | Inbound::Down(_) | Inbound::Ready(_)) => {}
                    Some(Inbound::ClientUp { id, outbox }) => {
                        driver.clients.insert(id, outbox);
                    }
                    Some(Inbound::ClientDown { id, outbox }) => driver.forget_client(id, &outbox),
                    Some(msg @ Inbound::Msg { .. }) => early.push(msg),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    warn!(node = me, "starting before every peer is connected and ready");
                    break;
                }
            }
        }
    }
    match durable {
        Some(durable) => {
            driver.event(|| EventKind::Recover { keys: durable.len() as u32, digest: durable.digest() });
            driver.step(|role, ctx| match role {
                Role::Honest(node) => node.on_recover(&durable, ctx),
                Role::Byzantine(s) => s.on_start(ctx),
            })?;
        }
        None => {
            driver.event(|| EventKind::Start);
            driver.step(|role, ctx| match role {
                Role::Honest(node) => node.on_start(ctx),
                Role::Byzantine(s) => s.on_start(ctx),
            })?;
        }
    }
    for msg in early {
        driver.inbound(msg)?;
    }

    let signalled = async {
        if !options.stop_on_signals {
            return std::future::pending().await;
        }
        stop_signal().await;
    };
    tokio::pin!(signalled);
    let mut stop_at = options.run_for.map_or(end, |d| end.min(later(Instant::now(), d)));
    let stop = tokio::time::sleep_until(stop_at);
    tokio::pin!(stop);
    // One timer future, re-armed only when the earliest deadline changes.
    let timer = tokio::time::sleep_until(end);
    tokio::pin!(timer);
    let mut timer_at: Option<Instant> = None;
    let mut finished = false;
    let mut outputs_seen = usize::MAX;
    loop {
        if !finished && driver.outputs.len() != outputs_seen {
            outputs_seen = driver.outputs.len();
            if done(&driver.outputs) {
                finished = true;
                stop_at = stop_at.min(later(Instant::now(), options.linger));
                stop.as_mut().reset(stop_at);
            }
        }
        let next_timer = driver.timers.values().min().copied();
        if next_timer != timer_at {
            if let Some(at) = next_timer {
                timer.as_mut().reset(at);
            }
            timer_at = next_timer;
        }
        tokio::select! {
            biased;
            () = &mut stop => break,
            () = &mut signalled => {
                warn!(node = me, "stopping on a signal");
                break;
            }
            () = &mut timer, if timer_at.is_some() => {
                driver.fire_due()?;
                timer_at = None;
            }
            ev = inbound.recv() => match ev {
                Some(ev) => {
                    driver.inbound(ev)?;
                    // Take what else has arrived before going back to the timers.
                    for _ in 0..256 {
                        match inbound.try_recv() {
                            Ok(ev) => driver.inbound(ev)?,
                            Err(_) => break,
                        }
                    }
                }
                None => break,
            },
        }
        if let Some(spinner) = &spinner {
            spinner.touch();
        }
    }
    closing.cancel();
    while listeners.join_next().await.is_some() {}
    tasks.shutdown().await;
    let mut counters = driver.counters;
    counters.frames_rejected = stats.frames_rejected.load(Ordering::Relaxed);
    counters.handshakes_rejected = stats.handshakes_rejected.load(Ordering::Relaxed);
    counters.connections = stats.connections.load(Ordering::Relaxed);
    counters.callers_refused = stats.callers_refused.load(Ordering::Relaxed);
    counters.callers_idle = stats.callers_idle.load(Ordering::Relaxed);
    counters.busy_poll_turns = spinner.map_or(0, |s| s.turns());
    if let Some(r) = driver.recorder {
        r.finish().map_err(NetError::Trace)?;
    }
    Ok(Report {
        node: me,
        incarnation,
        recovered: incarnation > 1,
        done: finished,
        outputs: driver.outputs,
        counters,
        elapsed_ms: born.elapsed().as_millis() as u64,
    })
}

/// `at + d`, or about thirty years after `at` if that is not representable (`Instant + Duration`
/// panics on overflow, and durations here come from options and from nodes).
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(|| at + Duration::from_secs(30 * 365 * 86_400))
}

/// SIGINT or SIGTERM (SIGINT only off Unix). If no handler can be installed, never.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

struct Driver<N: Node> {
    role: Role<N>,
    id: NodeId,
    peers: Vec<NodeId>,
    rng: Rng,
    born: Instant,
    effects: Vec<Effect<N>>,
    /// Where `Send` payloads are encoded before framing, reused across sends.
    scratch: Vec<u8>,
    timers: BTreeMap<N::Timer, Instant>,
    outboxes: Vec<Option<mpsc::Sender<Bytes>>>,
    /// Outside callers by id (≥ n).
    clients: BTreeMap<u32, mpsc::Sender<Bytes>>,
    data: DataDir,
    data_dir: PathBuf,
    lamport: u64,
    next_msg: u64,
    outputs: Vec<N::Output>,
    counters: Counters,
    recorder: Option<Recorder>,
}

impl<N: Node> Driver<N> {
    fn now(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records a node event: ticks the Lamport clock and traces it.
    /// Every node event ticks the clock whether or not it is traced; `kind` is built only for a
    /// trace.
    fn event(&mut self, kind: impl FnOnce() -> EventKind) {
        // Saturating: a frame's clock comes from outside (any caller can claim u64::MAX).
        self.lamport = self.lamport.saturating_add(1);
        if let Some(r) = &mut self.recorder {
            let t = u64::try_from(self.born.elapsed().as_nanos()).unwrap_or(u64::MAX);
            r.event(t, self.id.0, kind(), Some(self.lamport));
        }
    }

    /// Runs one handler and carries out its effects.
    fn step(&mut self, handler: impl FnOnce(&mut Role<N>, &mut Context<'_, N>)) -> Result<(), NetError> {
        let now = Time(self.now());
        let mut effects = std::mem::take(&mut self.effects);
        {
            let mut ctx = Context::new(self.id, &self.peers, now, &mut self.rng, &mut effects);
            handler(&mut self.role, &mut ctx);
        }
        #[cfg(debug_assertions)]
        if let Role::Honest(node) = &self.role {
            node.invariants();
        }
        // Durable before visible: every write of this handler reaches the disk before any of its
        // messages leaves.
        for effect in &effects {
            if let Effect::Persist { key, bytes } = effect {
                self.data.put(key, bytes).map_err(|source| NetError::Storage { dir: self.data_dir.clone(), source })?;
            }
        }
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => {
                    let body = self.recorder.as_ref().map(|_| codec::to_json(&msg));
                    // The payload is encoded into a buffer kept across sends, then framed once.
                    let mut payload = std::mem::take(&mut self.scratch);
                    payload.clear();
                    codec::encode_into(&msg, &mut payload);
                    self.transmit(to, &payload, body);
                    self.scratch = payload;
                }
                Effect::SendBytes { to, bytes } => self.transmit(to, &bytes, None),
                Effect::SetTimer { timer, after } => {
                    let at = self.now().saturating_add(herald_core::time::nanos(after));
                    self.event(|| EventKind::TimerSet { timer: codec::to_json(&timer), at });
                    self.timers.insert(timer, later(Instant::now(), after));
                }
                Effect::CancelTimer { timer } => {
                    if self.timers.remove(&timer).is_some() {
                        self.event(|| EventKind::TimerCancel { timer: codec::to_json(&timer) });
                    }
                }
                Effect::Persist { key, bytes } => self.event(|| EventKind::Persist { key, size: bytes.len() as u32 }),
                Effect::Output(value) => {
                    self.event(|| EventKind::Output { value: codec::to_json(&value) });
                    self.outputs.push(value);
                }
            }
        }
        self.effects = effects;
        // The handler is done: its events (and the deliver or firing that started it) reach the
        // trace file now, before any message it sent can leave this thread.
        if let Some(r) = &mut self.recorder {
            r.commit();
        }
        Ok(())
    }

    fn forget_client(&mut self, id: u32, outbox: &mpsc::Sender<Bytes>) {
        if self.clients.get(&id).is_some_and(|current| current.same_channel(outbox)) {
            self.clients.remove(&id);
        }
    }

    /// Queues a [`frame::Body::Ready`] for peer `to` (the start barrier's one control frame).
    fn send_ready(&self, to: u32) {
        if let Some(Some(outbox)) = self.outboxes.get(to as usize) {
            // A full queue already holds frames for the peer; the barrier's timeout covers the
            // rare loss, and every reconnection sends it again.
            let _ = outbox.try_send(Bytes::from(frame::encode(&frame::Body::Ready)));
        }
    }

    fn transmit(&mut self, to: NodeId, payload: &[u8], body: Option<serde_json::Value>) {
        let known = match self.outboxes.get(to.index()) {
            Some(outbox) => outbox.is_some(),
            None => self.clients.contains_key(&to.0),
        };
        if !known {
            debug!(node = self.id.0, %to, "dropping a message to neither a peer nor a connected caller");
            self.counters.dropped += 1;
            return;
        }
        let id = (u64::from(self.id.0) << 48) | self.next_msg;
        self.next_msg += 1;
        let size = payload.len() as u32;
        self.event(|| EventKind::Send { to: to.0, msg: id, size, body: body.unwrap_or_default(), bytes: None });
        let frame = frame::encode_msg(self.lamport, id, payload);
        let outbox = match self.outboxes.get(to.index()) {
            Some(outbox) => outbox.as_ref().expect("checked above"),
            None => self.clients.get(&to.0).expect("checked above"),
        };
        match outbox.try_send(Bytes::from(frame)) {
            Ok(()) => self.counters.sent += 1,
            Err(_) => {
                self.counters.dropped += 1;
                debug!(node = self.id.0, %to, "dropping a message: the peer's queue is full");
            }
        }
    }

    fn inbound(&mut self, ev: Inbound) -> Result<(), NetError> {
        let (from, lamport, id, payload) = match ev {
            Inbound::Msg { from, lamport, id, payload } => (from, lamport, id, payload),
            Inbound::ClientUp { id, outbox } => {
                self.clients.insert(id, outbox);
                return Ok(());
            }
            Inbound::ClientDown { id, outbox } => {
                self.forget_client(id, &outbox);
                return Ok(());
            }
            // A peer that (re)connects after this node started may be waiting at the start
            // barrier (it restarted): this node is past it, so it is ready.
            Inbound::Up(p) => {
                if (p as usize) < self.outboxes.len() {
                    self.send_ready(p);
                }
                return Ok(());
            }
            Inbound::Down(_) | Inbound::Ready(_) => return Ok(()),
        };
        match codec::decode::<N::Msg>(&payload) {
            Ok(msg) => {
                self.counters.delivered += 1;
                self.lamport = self.lamport.max(lamport);
                self.event(|| EventKind::Deliver { from, msg: id });
                let from = NodeId(from);
                self.step(|role, ctx| match role {
                    Role::Honest(node) => node.on_message(from, msg, ctx),
                    Role::Byzantine(s) => s.on_message(from, msg, ctx),
                })
            }
            Err(e) => {
                self.counters.corrupt += 1;
                debug!(node = self.id.0, from, error = %e, "dropping a message that does not decode");
                if let Some(r) = &mut self.recorder {
                    let t = u64::try_from(self.born.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    r.event(t, from, EventKind::Drop { to: self.id.0, msg: id, reason: DropReason::Corrupt }, None);
                    r.commit();
                }
                Ok(())
            }
        }
    }

    /// Fires every timer that is due, earliest first.
    fn fire_due(&mut self) -> Result<(), NetError> {
        loop {
            let now = Instant::now();
            let due =
                self.timers.iter().filter(|(_, at)| **at <= now).min_by_key(|(_, at)| **at).map(|(t, _)| t.clone());
            let Some(timer) = due else { return Ok(()) };
            self.timers.remove(&timer);
            self.event(|| EventKind::TimerFire { timer: codec::to_json(&timer) });
            self.step(|role, ctx| match role {
                Role::Honest(node) => node.on_timer(timer, ctx),
                Role::Byzantine(s) => s.on_timer(timer, ctx),
            })?;
        }
    }
}
