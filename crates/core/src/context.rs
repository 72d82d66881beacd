use crate::{Node, NodeId, Rng, Time, codec};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// One thing a node asks its driver to do. The set is closed: every driver interprets exactly
/// these, and nothing else reaches the outside world.
pub enum Effect<N: Node> {
    /// Send `msg` to `to`; the driver marshals it with the Herald codec.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// Send raw bytes that claim to be a message: only Byzantine strategies need this, to send
    /// malformed input. Receivers that cannot decode them drop them.
    SendBytes {
        /// The receiver.
        to: NodeId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Fire `timer` after `after` on this node's local clock, replacing a pending timer of the same
    /// name.
    SetTimer {
        /// The timer's name.
        timer: N::Timer,
        /// How long from now, on the local clock.
        after: Duration,
    },
    /// Cancel `timer` if it is pending.
    CancelTimer {
        /// The timer's name.
        timer: N::Timer,
    },
    /// Write `bytes` under `key` in durable storage. Durable storage survives crashes; everything
    /// else is lost.
    Persist {
        /// The key.
        key: String,
        /// The value.
        bytes: Vec<u8>,
    },
    /// Report an observation.
    Output(N::Output),
}

impl<N: Node> Clone for Effect<N> {
    fn clone(&self) -> Self {
        match self {
            Self::Send { to, msg } => Self::Send { to: *to, msg: msg.clone() },
            Self::SendBytes { to, bytes } => Self::SendBytes { to: *to, bytes: bytes.clone() },
            Self::SetTimer { timer, after } => Self::SetTimer { timer: timer.clone(), after: *after },
            Self::CancelTimer { timer } => Self::CancelTimer { timer: timer.clone() },
            Self::Persist { key, bytes } => Self::Persist { key: key.clone(), bytes: bytes.clone() },
            Self::Output(o) => Self::Output(o.clone()),
        }
    }
}

impl<N: Node> PartialEq for Effect<N> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Send { to: a, msg: x }, Self::Send { to: b, msg: y }) => a == b && x == y,
            (Self::SendBytes { to: a, bytes: x }, Self::SendBytes { to: b, bytes: y }) => a == b && x == y,
            (Self::SetTimer { timer: a, after: x }, Self::SetTimer { timer: b, after: y }) => a == b && x == y,
            (Self::CancelTimer { timer: a }, Self::CancelTimer { timer: b }) => a == b,
            (Self::Persist { key: a, bytes: x }, Self::Persist { key: b, bytes: y }) => a == b && x == y,
            (Self::Output(a), Self::Output(b)) => a == b,
            _ => false,
        }
    }
}

impl<N: Node> fmt::Debug for Effect<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send { to, msg } => write!(f, "Send({to}, {msg:?})"),
            Self::SendBytes { to, bytes } => write!(f, "SendBytes({to}, {} bytes)", bytes.len()),
            Self::SetTimer { timer, after } => write!(f, "SetTimer({timer:?}, {after:?})"),
            Self::CancelTimer { timer } => write!(f, "CancelTimer({timer:?})"),
            Self::Persist { key, bytes } => write!(f, "Persist({key:?}, {} bytes)", bytes.len()),
            Self::Output(o) => write!(f, "Output({o:?})"),
        }
    }
}

/// What a handler sees of the world, and where it leaves its effects.
///
/// Drivers build one per handler call. `now()` is the node's *local* clock, which in the simulator
/// may be offset and drift from true time; the node cannot read true time.
pub struct Context<'a, N: Node> {
    id: NodeId,
    peers: &'a [NodeId],
    now: Time,
    rng: &'a mut Rng,
    effects: &'a mut Vec<Effect<N>>,
}

impl<'a, N: Node> Context<'a, N> {
    /// For drivers: a context for node `id` whose local clock reads `now`. Effects are appended to
    /// `effects`.
    pub fn new(id: NodeId, peers: &'a [NodeId], now: Time, rng: &'a mut Rng, effects: &'a mut Vec<Effect<N>>) -> Self {
        Self { id, peers, now, rng, effects }
    }

    /// Appends the effect `make` builds. It is built in the list's own memory, after the capacity
    /// check: `Vec::push` builds it on the stack first and copies it in, and that copy's wide loads
    /// of the fields just stored one by one stall (store-to-load forwarding fails), which cost the
    /// simulator's send path several per cent of a delivery.
    #[inline(always)]
    fn push(&mut self, make: impl FnOnce() -> Effect<N>) {
        self.effects.extend(std::iter::once_with(make));
    }

    /// This node's id.
    #[inline]
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Every other node of the cluster, in id order.
    #[inline]
    pub fn peers(&self) -> &'a [NodeId] {
        self.peers
    }

    /// The number of nodes in the cluster, this one included.
    #[inline]
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    /// This node's local clock reading.
    #[inline]
    pub fn now(&self) -> Time {
        self.now
    }

    /// This node's seeded random number generator.
    #[inline]
    pub fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    /// Sends `msg` to `to`.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        debug_assert_ne!(to, self.id, "a node sends to itself by calling its own code");
        self.push(|| Effect::Send { to, msg });
    }

    /// Sends a copy of `msg` to every peer.
    pub fn broadcast(&mut self, msg: &N::Msg) {
        for &to in self.peers {
            self.push(|| Effect::Send { to, msg: msg.clone() });
        }
    }

    /// Sends raw bytes posing as a message (for Byzantine strategies).
    pub fn send_bytes(&mut self, to: NodeId, bytes: Vec<u8>) {
        self.push(|| Effect::SendBytes { to, bytes });
    }

    /// Fires `timer` after `after` on the local clock, replacing a pending timer of the same name.
    #[inline]
    pub fn set_timer(&mut self, timer: N::Timer, after: Duration) {
        self.push(|| Effect::SetTimer { timer, after });
    }

    /// Cancels `timer` if it is pending.
    pub fn cancel_timer(&mut self, timer: N::Timer) {
        self.push(|| Effect::CancelTimer { timer });
    }

    /// Writes `bytes` under `key` in durable storage.
    pub fn persist(&mut self, key: impl Into<String>, bytes: Vec<u8>) {
        self.push(|| Effect::Persist { key: key.into(), bytes });
    }

    /// Marshals `value` with the Herald codec and persists it under `key`.
    pub fn persist_value<T: Serialize>(&mut self, key: impl Into<String>, value: &T) {
        self.persist(key, codec::encode(value));
    }

    /// Reports an observation.
    #[inline]
    pub fn output(&mut self, observation: N::Output) {
        self.push(|| Effect::Output(observation));
    }
}

impl<N: Node> fmt::Debug for Context<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("id", &self.id).field("now", &self.now).finish_non_exhaustive()
    }
}
