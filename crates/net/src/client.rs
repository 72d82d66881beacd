//! Outside callers: a process that is not a cluster member talks to one node through its client
//! port, as a sender with an id outside the cluster (≥ n). The node sees its messages like any
//! other's and answers with ordinary sends to that id, so a protocol serves outside callers with no
//! help from the driver — the RPC server, for instance, deduplicates a caller's retries by
//! `(caller id, sequence)` exactly as it does a member's.
//!
//! One [`Caller`] is one connection with one message in flight at a time, as the caller drives it.
//! Concurrency is many callers (tasks or processes), or one connection shared by many tasks:
//! [`Caller::share`] hands the connection to a task of its own and returns a [`SharedCaller`],
//! whose clones each make calls with any number in flight together on the one connection. Their
//! messages are written together (one `write(2)` for all that are queued), and the node's replies,
//! read together, are handed back **in order**, a share at a time so that the first callers' next
//! calls leave while the rest are answered (the two processes work at once instead of taking
//! turns). A shared caller is for nodes that answer each of a caller's messages with exactly one
//! message, in the order they arrived, as the echo node does. (The RPC server is not such a node:
//! it answers a duplicate at once but a new request after its service time, so its replies can
//! overtake each other; its callers match them by request id.) A reply nobody waits for breaks the
//! contract: the connection is closed and every call in flight fails with
//! [`CallerError::Unexpected`].

use crate::busy_poll::spin_on;
use crate::frame::{self, Body, FrameCodec, FrameError, MAX_FRAME_DEFAULT, encode, encode_msg};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use herald_core::codec::{self, DecodeError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Framed, FramedRead, FramedWrite};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallerError {
    /// The connection failed or a frame was bad.
    #[error("{0}")]
    Frame(#[from] FrameError),
    /// The node closed the connection.
    #[error("the node closed the connection")]
    Closed,
    /// The node refused the greeting or answered with something else.
    #[error("handshake: {0}")]
    Handshake(String),
    /// A reply did not decode as the expected message.
    #[error("reply: {0}")]
    Decode(#[from] DecodeError),
    /// A shared connection ended with calls in flight: it failed, the node closed it, or the node
    /// sent a reply no call was waiting for (the reason is in the message).
    #[error("shared connection ended: {0}")]
    Unexpected(String),
}

/// How [`Caller::connect`] reports a node that closed the connection during the greeting.
const REFUSED: &str = "the node refused the caller (its client port is full, or the greeting names another cluster, node or a member's id)";

/// A connection from an outside caller to one node.
#[derive(Debug)]
pub struct Caller {
    conn: Framed<TcpStream, FrameCodec>,
    id: u32,
    next: u64,
    /// Where messages are encoded before framing, reused across sends.
    scratch: Vec<u8>,
    /// How long [`Caller::recv`] polls before it sleeps ([`Caller::set_busy_poll`]).
    busy_poll: Duration,
}

impl Caller {
    /// Connects to `node`'s client port `addr` in cluster `cluster` as caller `id` (which must be
    /// at least the cluster's size).
    pub async fn connect(addr: SocketAddr, cluster: u64, node: u32, id: u32) -> Result<Self, CallerError> {
        let tcp = TcpStream::connect(addr).await.map_err(FrameError::from)?;
        tcp.set_nodelay(true).map_err(FrameError::from)?;
        let mut conn = Framed::new(tcp, FrameCodec::new(MAX_FRAME_DEFAULT));
        let hello = encode(&Body::Hello { cluster, from: id, to: node, incarnation: 1 });
        // A node that turns a caller away (its client port is full, or the greeting names another
        // cluster, node or a member's id) closes the connection: the caller sees an end of file or
        // a reset during the greeting.
        let refused = || CallerError::Handshake(REFUSED.into());
        match conn.send(Bytes::from(hello)).await {
            Err(e) if closed(&e) => return Err(refused()),
            other => other?,
        }
        match conn.next().await {
            Some(Ok(Body::Hello { from, .. })) if from == node => {
                Ok(Self { conn, id, next: 0, scratch: Vec::new(), busy_poll: Duration::ZERO })
            }
            Some(Ok(other)) => Err(CallerError::Handshake(format!("unexpected {other:?}"))),
            Some(Err(e)) if closed(&e) => Err(refused()),
            Some(Err(e)) => Err(e.into()),
            None => Err(refused()),
        }
    }

    /// This caller's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Makes [`Caller::recv`] poll the connection in a yield loop for up to `budget` before it
    /// sleeps ([`crate::busy_poll`]): a reply that comes within the budget is read with no thread
    /// wake-up, at the cost of keeping a core busy while waiting. Zero (the default) sleeps at
    /// once. On a current-thread runtime the loop is a busy poll of the runtime's I/O driver;
    /// other tasks of the runtime still run between the polls. The budget carries over to
    /// [`Caller::share`]: the shared connection's reader polls the same way.
    pub fn set_busy_poll(&mut self, budget: Duration) {
        self.busy_poll = budget;
    }

    /// Sends `msg` (the node's message type) to the node.
    pub async fn send<M: Serialize>(&mut self, msg: &M) -> Result<(), CallerError> {
        let id = (u64::from(self.id) << 32) | self.next;
        self.next += 1;
        self.scratch.clear();
        codec::encode_into(msg, &mut self.scratch);
        let frame = encode_msg(0, id, &self.scratch);
        self.conn.send(Bytes::from(frame)).await?;
        Ok(())
    }

    /// Waits for the node's next message to this caller.
    pub async fn recv<M: DeserializeOwned>(&mut self) -> Result<M, CallerError> {
        loop {
            match spin_on(self.conn.next(), self.busy_poll).await {
                Some(Ok(Body::Msg { payload, .. })) => return Ok(codec::decode(&payload)?),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => return Err(CallerError::Closed),
            }
        }
    }

    /// Shares this connection among tasks: a task spawned on the current tokio runtime owns it
    /// from now on, and the returned handle (cheap to clone, `Send`) makes calls through it. The
    /// task ends, closing the connection, when every handle is dropped or the connection fails.
    /// Share a caller with no reply outstanding: a reply to a message it sent before is a stray
    /// one to the shared connection.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn share(self) -> SharedCaller {
        let (calls, queued) = mpsc::unbounded_channel();
        let ended = Arc::new(OnceLock::new());
        tokio::spawn(multiplex(self, queued, Arc::clone(&ended)));
        SharedCaller { calls, ended }
    }
}

/// Bytes of queued calls a shared connection writes at once, at most (about one socket send buffer's
/// worth of small calls); more are written after these.
const FLUSH_AT: usize = 64 * 1024;

/// A shared connection hands replies back a `1 / SHARES` share of the calls in flight at a time,
/// letting their callers run between shares, when a share is at least `MIN_SHARE` calls; see
/// [`multiplex`].
const SHARES: usize = 4;
const MIN_SHARE: usize = 8;

/// Where a shared connection's task hands a call its reply's payload, or why the call was not sent.
type Reply = oneshot::Sender<Result<Vec<u8>, CallerError>>;

/// One call on a shared connection: the encoded message, and where its reply goes.
struct Pending {
    payload: Vec<u8>,
    reply: Reply,
}

/// A handle on a connection that [`Caller::share`] gave to a task of its own: clones make calls
/// with any number in flight together, answered in order (see the module's documentation).
#[derive(Clone, Debug)]
pub struct SharedCaller {
    calls: mpsc::UnboundedSender<Pending>,
    /// Why the connection's task ended, once it has.
    ended: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("payload", &self.payload.len()).finish_non_exhaustive()
    }
}

impl SharedCaller {
    /// Sends `msg` to the node and waits for the node's reply to it.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(&self, msg: &Req) -> Result<Resp, CallerError> {
        let (reply, replied) = oneshot::channel();
        let payload = codec::encode(msg);
        if self.calls.send(Pending { payload, reply }).is_err() {
            return Err(self.ended());
        }
        match replied.await {
            Ok(Ok(payload)) => Ok(codec::decode(&payload)?),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(self.ended()),
        }
    }

    fn ended(&self) -> CallerError {
        CallerError::Unexpected(self.ended.get().cloned().unwrap_or_else(|| "the connection's task ended".into()))
    }
}

/// Owns a shared connection: writes every queued call with one flush, and hands each reply to the
/// oldest call still waiting. Reading and writing run side by side, so a write held up by a full
/// socket never stops the replies from being read (which could otherwise deadlock against a node
/// whose own writes wait for this side to read). Records why it ended in `ended`; dropping the
/// calls still waiting fails them.
///
/// Replies are handed back a share at a time (a quarter of the calls in flight, when that is at
/// least 8 calls), and between shares the task yields: the callers just answered run and queue
/// their next calls, which the writer sends before the rest of the replies are handed back. So the node already
/// works on one share of the calls while this process works on the next, and the two sides run at
/// once instead of taking turns (without it, every call of a burst is answered before any next
/// call leaves, and the burst goes back and forth whole). On the two-core machines of
/// `docs/benchmarks.md` that doubled the calls a second of 64 callers on one connection. Each share
/// costs a write, so fewer than 32 calls in flight are not split: with 16 calls on each of four
/// connections the connections already keep both sides busy, and splitting them four ways cost a
/// third of the throughput there.
async fn multiplex(caller: Caller, mut queued: mpsc::UnboundedReceiver<Pending>, ended: Arc<OnceLock<String>>) {
    let Caller { conn, id, mut next, busy_poll, .. } = caller;
    let parts = conn.into_parts();
    let (read_half, write_half) = parts.io.into_split();
    let mut reader = FramedRead::new(read_half, FrameCodec::new(MAX_FRAME_DEFAULT));
    // Bytes a plain `Caller` had read before it was shared are the start of the next frame.
    reader.read_buffer_mut().extend_from_slice(&parts.read_buf);
    let mut writer = FramedWrite::new(write_half, FrameCodec::new(MAX_FRAME_DEFAULT));
    // Both halves run in this one task: the lock is never contended, but the task must be `Send`.
    let waiting: Mutex<VecDeque<Reply>> = Mutex::new(VecDeque::new());
    let waiting = || waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let read = async {
        // Replies handed back since the last yield between shares (the count is not reset when the
        // reader waits for more bytes: a share then ends early, which costs at most a write).
        let mut handed = 0;
        loop {
            match spin_on(reader.next(), busy_poll).await {
                Some(Ok(Body::Msg { payload, .. })) => {
                    let (reply, in_flight) = {
                        let mut waiting = waiting();
                        (waiting.pop_front(), waiting.len())
                    };
                    let Some(reply) = reply else {
                        return "the node sent a reply no call was waiting for".to_string();
                    };
                    // A caller that gave up on its call (dropped its future) just misses its reply.
                    drop(reply.send(Ok(payload)));
                    handed += 1;
                    let burst = handed + in_flight;
                    if in_flight > 0 && burst >= SHARES * MIN_SHARE && handed * SHARES >= burst {
                        // A share of the calls answered: let their callers run now, so that their
                        // next calls leave (the writer flushes them) while the rest are answered.
                        handed = 0;
                        tokio::task::yield_now().await;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return e.to_string(),
                None => return "the node closed the connection".to_string(),
            }
        }
    };
    let write = async {
        let mut scratch = Vec::new();
        while let Some(mut call) = queued.recv().await {
            loop {
                let msg_id = (u64::from(id) << 32) | next;
                next += 1;
                // Framed straight into the write buffer: no allocation a call. A message too large
                // for a frame fails its own call only. A call waits for its reply from before its
                // frame can leave.
                match frame::put_msg(
                    writer.write_buffer_mut(),
                    &mut scratch,
                    0,
                    msg_id,
                    &call.payload,
                    MAX_FRAME_DEFAULT,
                ) {
                    Ok(()) => waiting().push_back(call.reply),
                    Err(e) => drop(call.reply.send(Err(e.into()))),
                }
                match queued.try_recv() {
                    Ok(more) if writer.write_buffer().len() < FLUSH_AT => call = more,
                    Ok(more) => {
                        if let Err(e) = writer.flush().await {
                            return e.to_string();
                        }
                        call = more;
                    }
                    Err(_) => break,
                }
            }
            if let Err(e) = writer.flush().await {
                return e.to_string();
            }
        }
        "every handle was dropped".to_string()
    };
    let reason = tokio::select! {
        why = read => why,
        why = write => why,
    };
    let _ = ended.set(reason);
}

/// Whether `e` says the node closed the connection (an end of file or a reset).
fn closed(e: &FrameError) -> bool {
    matches!(e, FrameError::Io(io) if matches!(io.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof))
}
