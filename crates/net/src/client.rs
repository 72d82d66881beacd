//! Outside callers: a process that is not a cluster member talks to one node through its client
//! port, as a sender with an id outside the cluster (≥ n). The node sees its messages like any
//! other's and answers with ordinary sends to that id, so a protocol serves outside callers with no
//! help from the driver — the RPC server, for instance, deduplicates a caller's retries by
//! `(caller id, sequence)` exactly as it does a member's.
//!
//! One [`Caller`] is one connection; concurrency is many callers (tasks or processes).

use crate::frame::{Body, FrameCodec, FrameError, MAX_FRAME_DEFAULT, encode, encode_msg};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use herald_core::codec::{self, DecodeError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

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
        let closed = |e: &FrameError| matches!(e, FrameError::Io(io) if matches!(io.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof));
        match conn.send(Bytes::from(hello)).await {
            Err(e) if closed(&e) => return Err(refused()),
            other => other?,
        }
        match conn.next().await {
            Some(Ok(Body::Hello { from, .. })) if from == node => Ok(Self { conn, id, next: 0, scratch: Vec::new() }),
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
            match self.conn.next().await {
                Some(Ok(Body::Msg { payload, .. })) => return Ok(codec::decode(&payload)?),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => return Err(CallerError::Closed),
            }
        }
    }
}
