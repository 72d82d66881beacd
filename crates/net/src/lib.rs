//! herald-net: the runtime. It runs any [`herald_core::Node`] — the very value the simulator
//! drives — as an OS process talking TCP to its peers, on one machine or many.
//!
//! # Contract
//!
//! - **No protocol logic.** The driver ([`run`]) interprets the closed set of effects
//!   ([`herald_core::Effect`]) and nothing else: it encodes messages with the Herald codec, moves
//!   bytes, keeps timers, writes durable storage and records traces. It never inspects a message.
//! - **Connections** (`transport.rs`): one TCP connection per pair of nodes; the node
//!   with the lower id dials, the other accepts; a broken connection is re-dialed with exponential
//!   backoff (20 ms doubling to 1 s by default). Messages queued for a peer wait for the next
//!   connection; messages in a connection that breaks may be lost (fair-loss, as in the lecture's
//!   model of TCP across failures).
//! - **Frames** ([`frame`]): a 4-byte length, a version byte, a postcard body; a maximum frame
//!   size. A malformed, truncated, oversized or unknown-version frame closes *that* connection with
//!   a logged reason (`tracing`); the node keeps serving every other peer; nothing panics on input
//!   from the network. The peer port holds at most 64 sockets in their handshake at once (TLS
//!   and `Hello`, 3 s each at most); one more is closed at accept, so strangers cannot exhaust
//!   the process's file descriptors (members re-dial with backoff).
//! - **Who gets in** ([`tls`]): with `tls = true`, mutual TLS 1.3 (rustls, `ring`) with the
//!   cluster's own CA ([`cluster::init`]); an acceptor checks that the dialer's certificate is the
//!   one listed for the node id it claims.
//! - **Time**: timers are deadlines on the monotonic clock; `ctx.now()` is monotonic time since the
//!   process started.
//! - **Durability** ([`storage`]): `persist` writes are fsynced and atomically renamed into the
//!   data directory before any other effect of the same handler; a process restarted on the same
//!   directory calls `on_recover` with them.
//! - **Outside callers** ([`client`]): an optional client port where processes outside the
//!   cluster connect with ids ≥ n; the node sees them as ordinary senders and answers them with
//!   ordinary sends (no request/response logic in the driver). At most [`Options::max_callers`]
//!   connections are held at once (default [`MAX_CALLERS_DEFAULT`]); one more is closed at accept
//!   with a logged reason and counted (`callers_refused`), and a slot frees when a caller leaves.
//!   A caller must greet within 3 s, and a greeted caller with no frame either way for
//!   [`Options::caller_idle`] is disconnected (`callers_idle`). Many tasks may share one caller's
//!   connection ([`client::SharedCaller`]), their calls in flight together and answered in order,
//!   a share at a time so that the next calls leave while the rest are answered.
//! - **Idle strategy** ([`busy_poll`]): by default a thread with nothing to do sleeps in the
//!   kernel. With [`Options::busy_poll`] (`busy_poll_us` in `cluster.toml`) a node keeps polling
//!   its sockets without sleeping for that long after each input, and with
//!   [`client::Caller::set_busy_poll`] a caller does the same while it waits for a reply: no thread
//!   wake-up between a frame's arrival and its handling, for a core kept busy meanwhile. It
//!   changes when a thread sleeps, never what a node sees or does.
//! - **Lifetime**: when [`run`] returns (or its future is dropped), nothing of the run is left in
//!   the runtime: the listeners end their connections' tasks before it returns, every other task
//!   belongs to its `LocalSet`, and both ports are closed.
//! - **Traces**: each process may record a trace in the simulator's schema (source `net`), with
//!   Lamport timestamps carried in every frame; [`merge`] joins a run's files. A trace is durable
//!   against `kill -9` up to the last completed handler: each handler's events are written with
//!   one `write(2)` when it returns, before any message it sent leaves the process (no fsync per
//!   handler; one at a graceful stop). A last line torn by a kill mid-write is skipped, with a
//!   warning, by [`merge`] and `herald viz` ([`herald_core::trace::read`]).
//! - **Round-based protocols** (`rounds::LockStep`) assume synchronous rounds. Over real TCP the
//!   driver gives them that model: [`Start::WhenConnected`] starts every node when every member
//!   has its connections up (a barrier of `Ready` frames: skew ≤ about one delay), and [`cluster::ProtocolSpec::round_length`] derives the round
//!   from the configured delay and step bounds: `3 · delay + step`. A message later than the bound
//!   counts as not sent, exactly as in the lecture's synchronous model.
//!
//! This crate may use tokio, sockets, clocks and the file system; core, protocols, sim and check
//! may not (`tests/tidy.rs`).

pub mod busy_poll;
pub mod client;
pub mod cluster;
mod driver;
pub mod frame;
mod record;
pub mod storage;
pub mod tls;
mod transport;

pub use driver::{CALLER_IDLE_DEFAULT, Counters, MAX_CALLERS_DEFAULT, NetError, Options, Report, Role, Start, run};
pub use record::merge;
