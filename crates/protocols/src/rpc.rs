//! Remote procedure call as sans-IO nodes: a client that calls typed methods on a server, with a
//! choice of retry semantics (lecture §1.3 and [K §5.1]).
//!
//! **Location transparency and its limits.** An RPC framework makes `server.increment()` look like
//! a local call: the request is marshalled (here through [`herald_core::codec`]), sent, executed
//! remotely, and the response marshalled back. The illusion breaks on failure. A local call either
//! returns or the whole program dies; a remote call can end with *no answer at all*: the request
//! may have been lost (F1), the server may have crashed before (F2) or after (F3) executing it, the
//! response may have been lost (F4) or delayed past the deadline (F5). These five are
//! indistinguishable to the client. So a call has three outcomes ([`CallOutcome`]):
//!
//! - `Ok(T)`: the method ran and this is its result;
//! - `ServerError`: a *definite* error: the server answered that the call was rejected and had no
//!   effect (a handler must not change state when it returns an error);
//! - `NoResponse`: *indefinite*: the deadline passed with no answer. **The effect may or may not
//!   have happened**, and the client cannot tell which.
//!
//! **Three retry semantics** ([`Delivery`]):
//!
//! - *at-most-once*: send once, never retry. On `NoResponse` the update may not have happened.
//! - *at-least-once*: retry with backoff until answered (or `attempts_max`). The update may happen
//!   several times: a lost ack (F4) makes a non-idempotent `likes + 1` count twice.
//! - *exactly-once*: retry, and the server keeps a dedup table from [`RequestId`] `(client, seq)` to
//!   the stored response; a duplicate gets the stored response and the handler does not run again.
//!   Under crash-recovery the table is persisted *atomically with the effect*: one `ctx.persist` of
//!   (service state, dedup table) under one key, so no crash can separate "effect applied" from
//!   "dedup entry written".
//!
//! **Idempotence.** `f` is idempotent iff `f(f(x)) = f(x)`. `likes + 1` is not; `likers ∪ {user}`
//! is ([`LikeSet`]), and can be retried without dedup (though idempotence stops helping when other
//! updates interleave with the retry, lecture §1.2).
//!
//! **Where idempotence stops helping** (R4): client 1's `add like` is executed but its ack is
//! lost; client 2 reads the set and removes the like; client 1's retry adds it back — `f(g(f(x)))
//! ≠ g(f(x))`. The fix is a logical timestamp per update and deletion by tombstone, with the
//! retry carrying its *original* timestamp ([`LikeSet::lww`]). The client stamps each call once,
//! when it is issued, with a Lamport clock that passes every timestamp a response reveals
//! ([`Service::stamp`], [`Service::observed`]), so a write made after reading another is later.
//!
//! **Marshalling.** Request and response bodies are marshalled in the client's and server's
//! [`Format`]: the Herald codec (postcard) or JSON for REST-style services ([`payments`] has the
//! lecture's m₁/m₂ messages as golden vectors).
//!
//! **Client sequence numbers survive a crash.** A restarted client must not reuse the sequence
//! numbers of calls it made before the crash: a deduplicating server would answer the new call
//! with the old call's stored response, silently dropping the update. The client persists the
//! first sequence number it has not yet used before it issues calls, and a recovered client
//! continues from there.
//!
//! Inputs: `on_start` (the client issues its calls: all at once, or one per `interval` from
//! `start`), `on_message` (requests and responses), `on_timer` (issue, deadlines, retry backoff,
//! the server's reply after its service time), `on_recover` (the server reloads state and dedup
//! table; the client reloads its sequence floor and starts its calls afresh). Effects: sends,
//! timers, `persist`, and [`RpcEvent`] observations: per client attempt, per finished call (with
//! its latency), and per server execution.

use herald_core::{Context, Durable, Message, Node, NodeId, Observation, Time, codec};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

mod likes;
pub mod payments;

pub use likes::{LIKES_START, Like, LikeSet, LikeSetRequest, LikeSetResponse, Likes, LikesRequest, LikesResponse};

/// A typed service: its request and response enums and the handler that executes a request.
pub trait Service: Clone + Debug + Serialize + DeserializeOwned + 'static {
    /// Every method is idempotent: running a request twice has the effect of running it once, so
    /// exactly-once needs no dedup table (the update may physically run several times).
    const IDEMPOTENT: bool = false;
    /// The methods and their arguments.
    type Request: Message;
    /// The results.
    type Response: Message + Observation;
    /// Executes `req`. An `Err` is a definite error: the handler must not have changed state.
    fn handle(&mut self, req: &Self::Request) -> Result<Self::Response, ServerError>;

    /// Stamps `req` with the client's logical time `at` when the call is issued. It happens once
    /// per call: every retry carries the same stamp. The default ignores timestamps.
    fn stamp(req: &mut Self::Request, at: Timestamp) {
        let _ = (req, at);
    }

    /// The logical time a response reveals (e.g. of the record it read); the client's clock moves
    /// past it, so the client's later writes are stamped later (Lamport's rule).
    fn observed(resp: &Self::Response) -> Option<Timestamp> {
        let _ = resp;
        None
    }
}

/// A logical (Lamport) timestamp: a counter, ties broken by the node that made it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp {
    /// The Lamport counter.
    pub counter: u64,
    /// The node that stamped it.
    pub node: NodeId,
}

/// How request and response bodies are marshalled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// The Herald codec (postcard): compact binary.
    #[default]
    Postcard,
    /// JSON (`serde_json`), as REST-style web services use.
    Json,
}

impl Format {
    /// Marshals `value`.
    pub fn marshal<T: Serialize>(self, value: &T) -> Vec<u8> {
        match self {
            Self::Postcard => codec::encode(value),
            // Serializing a derived type to JSON only fails for maps with non-string keys, which no
            // service message uses; the codec's own encode makes the same promise.
            Self::Json => serde_json::to_vec(value).expect("service messages serialize to JSON"),
        }
    }

    /// Unmarshals bytes made by [`Format::marshal`], or says why they are not a `T`.
    pub fn unmarshal<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, String> {
        match self {
            Self::Postcard => codec::decode(bytes).map_err(|e| e.to_string()),
            Self::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        }
    }
}

/// A definite error from the server: the call did not happen.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerError {
    /// An HTTP-style status.
    pub status: u16,
    /// Why.
    pub message: String,
}

/// What a call (or one attempt of it) ended with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallOutcome<T> {
    /// The method ran; its result.
    Ok(T),
    /// A definite error: the call was rejected and had no effect.
    ServerError {
        /// An HTTP-style status.
        status: u16,
        /// Why.
        message: String,
    },
    /// The deadline passed with no answer. Indefinite: the effect may or may not have happened.
    NoResponse,
}

/// Exponential backoff between attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Backoff {
    /// Wait before the second attempt.
    pub initial: Duration,
    /// Multiply the wait by this after each attempt.
    pub factor: u32,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_millis(20), factor: 2, max: Duration::from_secs(1) }
    }
}

impl Backoff {
    /// The wait after `attempt` (1-based) failed.
    pub fn after(&self, attempt: u32) -> Duration {
        let mut d = self.initial;
        for _ in 1..attempt {
            d = d.saturating_mul(self.factor).min(self.max);
        }
        d.min(self.max)
    }
}

/// The retry semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Delivery {
    /// Send once, never retry.
    AtMostOnce,
    /// Retry until answered or `attempts_max` attempts; the server does not deduplicate.
    AtLeastOnce {
        /// Total attempts, at least 1.
        attempts_max: u32,
        /// Waits between attempts.
        backoff: Backoff,
    },
    /// Retry as at-least-once, and the server deduplicates by [`RequestId`].
    ExactlyOnce {
        /// Total attempts, at least 1.
        attempts_max: u32,
        /// Waits between attempts.
        backoff: Backoff,
    },
}

impl Delivery {
    fn attempts_max(&self) -> u32 {
        match *self {
            Self::AtMostOnce => 1,
            Self::AtLeastOnce { attempts_max, .. } | Self::ExactlyOnce { attempts_max, .. } => attempts_max.max(1),
        }
    }
    fn backoff(&self) -> Backoff {
        match *self {
            Self::AtMostOnce => Backoff::default(),
            Self::AtLeastOnce { backoff, .. } | Self::ExactlyOnce { backoff, .. } => backoff,
        }
    }
    /// Whether a server of `S` must deduplicate: exactly-once needs either a dedup table or an
    /// idempotent handler ([`Service::IDEMPOTENT`]), whose repeated runs have the effect of one.
    pub fn dedup_for<S: Service>(&self) -> bool {
        matches!(self, Self::ExactlyOnce { .. }) && !S::IDEMPOTENT
    }
}

/// A call's identity: the calling client and its per-client sequence number. Every attempt of a
/// call carries the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId {
    /// The client.
    pub client: NodeId,
    /// The client's call number.
    pub seq: u64,
}

/// Wire messages. Bodies are the service's request and response, marshalled with
/// [`herald_core::codec`], so this type is the same for every service.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Please execute `body`.
    Request {
        /// The call.
        id: RequestId,
        /// Which attempt (1-based).
        attempt: u32,
        /// The marshalled request.
        body: Vec<u8>,
    },
    /// The answer to one attempt.
    Response {
        /// The call.
        id: RequestId,
        /// The attempt answered.
        attempt: u32,
        /// The marshalled response, or a definite error.
        result: Result<Vec<u8>, ServerError>,
    },
}

/// Timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// Client: the deadline of this attempt of call `seq`.
    Deadline {
        /// The call.
        seq: u64,
        /// The attempt.
        attempt: u32,
    },
    /// Client: backoff over, send the next attempt of call `seq`.
    Retry {
        /// The call.
        seq: u64,
    },
    /// Client: issue the next call.
    Issue,
    /// Server: the service time of this attempt is over; send its reply.
    Reply {
        /// The call.
        id: RequestId,
        /// The attempt.
        attempt: u32,
    },
}

/// Observations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RpcEvent<T> {
    /// Client: one attempt of call `seq` ended.
    Attempt {
        /// The call.
        seq: u64,
        /// The attempt.
        attempt: u32,
        /// What the client saw.
        outcome: CallOutcome<T>,
    },
    /// Client: call `seq` is finished with this outcome.
    Done {
        /// The call.
        seq: u64,
        /// The final outcome.
        outcome: CallOutcome<T>,
        /// From issuing the call to this outcome, on the client's clock, ns.
        latency_ns: u64,
    },
    /// Server: the handler ran for this call (so the effect, if any, was applied).
    Executed {
        /// The call.
        id: RequestId,
        /// The attempt that ran it.
        attempt: u32,
        /// What the handler answered (for the likes services: the count after the call).
        response: T,
    },
}

/// Client parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    /// The server.
    pub server: NodeId,
    /// Retry semantics.
    pub delivery: Delivery,
    /// How long one attempt waits for its answer.
    pub deadline: Duration,
    /// When the first call is issued, after start.
    pub start: Duration,
    /// Between issuing one call and the next; zero issues every call at once.
    pub interval: Duration,
    /// How bodies are marshalled (must match the server's).
    pub format: Format,
}

impl ClientConfig {
    /// Calls `server` with `delivery` and `deadline`, all calls at once at start, postcard bodies.
    pub fn new(server: NodeId, delivery: Delivery, deadline: Duration) -> Self {
        Self { server, delivery, deadline, start: Duration::ZERO, interval: Duration::ZERO, format: Format::Postcard }
    }
}

/// Server parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerConfig {
    /// Deduplicate by request id (exactly-once).
    pub dedup: bool,
    /// Time between executing a request and sending its reply (a crash in this window is F3).
    pub service_time: Duration,
    /// How bodies are marshalled (must match the clients').
    pub format: Format,
}

impl ServerConfig {
    /// A server that deduplicates iff `dedup`, replies `service_time` after executing, postcard.
    pub fn new(dedup: bool, service_time: Duration) -> Self {
        Self { dedup, service_time, format: Format::Postcard }
    }
}

#[derive(Clone, Debug)]
struct Pending {
    body: Vec<u8>,
    attempt: u32,
    issued: Time,
}

/// The client's state.
#[derive(Clone, Debug)]
pub struct Client<S: Service> {
    config: ClientConfig,
    calls: Vec<S::Request>,
    /// The sequence number of `calls[0]`: the floor persisted before this incarnation's calls.
    seq_base: u64,
    /// The next call to issue.
    next: usize,
    /// The Lamport clock that stamps calls.
    clock: u64,
    pending: BTreeMap<u64, Pending>,
}

/// The durable key of the client's sequence floor.
pub const CLIENT_KEY: &str = "rpc/client";

/// A marshalled response, or a definite error.
type Marshalled = Result<Vec<u8>, ServerError>;

/// The server's durable record: service state and dedup table, persisted together.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
struct ServerRecord<S: Service> {
    service: S,
    dedup: BTreeMap<RequestId, Result<Vec<u8>, ServerError>>,
}

/// The server's state.
#[derive(Clone, Debug)]
pub struct Server<S: Service> {
    config: ServerConfig,
    record: ServerRecord<S>,
    initial: S,
    replies: BTreeMap<(RequestId, u32), (NodeId, Marshalled)>,
}

/// The durable key of the server's (state, dedup table).
pub const SERVER_KEY: &str = "rpc/server";

/// One RPC node: a client or a server.
#[derive(Clone, Debug)]
pub enum Rpc<S: Service> {
    /// Calls the server.
    Client(Client<S>),
    /// Executes calls.
    Server(Server<S>),
}

impl<S: Service> Rpc<S> {
    /// A client that issues `calls` (at start, or spaced by `config.interval`).
    pub fn client(config: ClientConfig, calls: Vec<S::Request>) -> Self {
        Self::Client(Client { config, calls, seq_base: 0, next: 0, clock: 0, pending: BTreeMap::new() })
    }

    /// A server whose service starts as `service`.
    pub fn server(config: ServerConfig, service: S) -> Self {
        Self::Server(Server {
            config,
            record: ServerRecord { service: service.clone(), dedup: BTreeMap::new() },
            initial: service,
            replies: BTreeMap::new(),
        })
    }

    /// The server's service state (`None` for a client).
    pub fn service(&self) -> Option<&S> {
        match self {
            Self::Server(s) => Some(&s.record.service),
            Self::Client(_) => None,
        }
    }

    /// Calls still waiting for an answer (0 for a server).
    pub fn pending(&self) -> usize {
        match self {
            Self::Client(c) => c.pending.len(),
            Self::Server(_) => 0,
        }
    }
}

fn outcome_of<T: DeserializeOwned>(format: Format, result: Result<Vec<u8>, ServerError>) -> CallOutcome<T> {
    match result {
        Ok(bytes) => match format.unmarshal(&bytes) {
            Ok(v) => CallOutcome::Ok(v),
            Err(e) => CallOutcome::ServerError { status: 502, message: format!("undecodable response: {e}") },
        },
        Err(ServerError { status, message }) => CallOutcome::ServerError { status, message },
    }
}

impl<S: Service> Client<S> {
    /// Reserves this incarnation's sequence numbers, then issues the calls (now or on a timer).
    fn start(&mut self, ctx: &mut Context<'_, Rpc<S>>) {
        // Persisted before any call leaves, so no crash can make a later incarnation reuse them.
        ctx.persist_value(CLIENT_KEY, &(self.seq_base + self.calls.len() as u64));
        if self.config.start.is_zero() && self.config.interval.is_zero() {
            while self.next < self.calls.len() {
                self.issue(ctx);
            }
        } else if !self.calls.is_empty() {
            ctx.set_timer(Timer::Issue, self.config.start);
        }
    }

    /// Issues the next call: stamps it with the Lamport clock, marshals it once, sends attempt 1.
    fn issue(&mut self, ctx: &mut Context<'_, Rpc<S>>) {
        let Some(call) = self.calls.get(self.next) else { return };
        let seq = self.seq_base + self.next as u64;
        self.next += 1;
        self.clock += 1;
        let mut req = call.clone();
        S::stamp(&mut req, Timestamp { counter: self.clock, node: ctx.id() });
        let body = self.config.format.marshal(&req);
        self.pending.insert(seq, Pending { body, attempt: 1, issued: ctx.now() });
        self.send(seq, ctx);
    }

    fn finish(&mut self, seq: u64, outcome: CallOutcome<S::Response>, ctx: &mut Context<'_, Rpc<S>>) {
        let Some(p) = self.pending.remove(&seq) else { return };
        let latency_ns = ctx.now().as_nanos().saturating_sub(p.issued.as_nanos());
        ctx.output(RpcEvent::Done { seq, outcome, latency_ns });
    }

    fn send(&mut self, seq: u64, ctx: &mut Context<'_, Rpc<S>>) {
        let Some(p) = self.pending.get(&seq) else { return };
        let id = RequestId { client: ctx.id(), seq };
        ctx.send(self.config.server, Msg::Request { id, attempt: p.attempt, body: p.body.clone() });
        ctx.set_timer(Timer::Deadline { seq, attempt: p.attempt }, self.config.deadline);
    }

    fn on_response(
        &mut self,
        id: RequestId,
        attempt: u32,
        result: Result<Vec<u8>, ServerError>,
        ctx: &mut Context<'_, Rpc<S>>,
    ) {
        // A stray reply (an earlier attempt's, after the client gave up on it, or a finished call's)
        // is dropped by request id and attempt.
        if id.client != ctx.id() || self.pending.get(&id.seq).is_none_or(|p| p.attempt != attempt) {
            return;
        }
        ctx.cancel_timer(Timer::Deadline { seq: id.seq, attempt });
        let outcome: CallOutcome<S::Response> = outcome_of(self.config.format, result);
        if let CallOutcome::Ok(resp) = &outcome {
            if let Some(t) = S::observed(resp) {
                self.clock = self.clock.max(t.counter);
            }
        }
        ctx.output(RpcEvent::Attempt { seq: id.seq, attempt, outcome: outcome.clone() });
        self.finish(id.seq, outcome, ctx);
    }

    fn on_timer(&mut self, timer: Timer, ctx: &mut Context<'_, Rpc<S>>) {
        match timer {
            Timer::Deadline { seq, attempt } => {
                let Some(p) = self.pending.get(&seq) else { return };
                if p.attempt != attempt {
                    return;
                }
                ctx.output(RpcEvent::Attempt { seq, attempt, outcome: CallOutcome::NoResponse });
                if attempt < self.config.delivery.attempts_max() {
                    ctx.set_timer(Timer::Retry { seq }, self.config.delivery.backoff().after(attempt));
                } else {
                    self.finish(seq, CallOutcome::NoResponse, ctx);
                }
            }
            Timer::Issue => {
                self.issue(ctx);
                if self.next < self.calls.len() {
                    ctx.set_timer(Timer::Issue, self.config.interval);
                }
            }
            Timer::Retry { seq } => {
                if let Some(p) = self.pending.get_mut(&seq) {
                    p.attempt += 1;
                    self.send(seq, ctx);
                }
            }
            Timer::Reply { .. } => {}
        }
    }
}

impl<S: Service> Server<S> {
    fn on_request(&mut self, from: NodeId, id: RequestId, attempt: u32, body: &[u8], ctx: &mut Context<'_, Rpc<S>>) {
        if self.config.dedup {
            if let Some(stored) = self.record.dedup.get(&id) {
                // A duplicate: the stored response, and the handler does not run again.
                ctx.send(from, Msg::Response { id, attempt, result: stored.clone() });
                return;
            }
        }
        let format = self.config.format;
        let result = match format.unmarshal::<S::Request>(body) {
            Ok(req) => self.record.service.handle(&req).map(|response| {
                let bytes = format.marshal(&response);
                ctx.output(RpcEvent::Executed { id, attempt, response });
                bytes
            }),
            Err(e) => Err(ServerError { status: 400, message: format!("undecodable request: {e}") }),
        };
        if self.config.dedup {
            self.record.dedup.insert(id, result.clone());
        }
        // One write of (state, dedup table): the effect and its dedup entry survive a crash together.
        ctx.persist_value(SERVER_KEY, &self.record);
        self.replies.insert((id, attempt), (from, result));
        ctx.set_timer(Timer::Reply { id, attempt }, self.config.service_time);
    }
}

impl<S: Service> Node for Rpc<S> {
    type Msg = Msg;
    type Timer = Timer;
    type Output = RpcEvent<S::Response>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if let Self::Client(c) = self {
            c.start(ctx);
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, ctx: &mut Context<'_, Self>) {
        match (self, msg) {
            (Self::Server(s), Msg::Request { id, attempt, body }) => s.on_request(from, id, attempt, &body, ctx),
            (Self::Client(c), Msg::Response { id, attempt, result }) => c.on_response(id, attempt, result, ctx),
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: Timer, ctx: &mut Context<'_, Self>) {
        match self {
            Self::Client(c) => c.on_timer(timer, ctx),
            Self::Server(s) => {
                if let Timer::Reply { id, attempt } = timer {
                    if let Some((to, result)) = s.replies.remove(&(id, attempt)) {
                        ctx.send(to, Msg::Response { id, attempt, result });
                    }
                }
            }
        }
    }

    fn on_recover(&mut self, durable: &Durable, ctx: &mut Context<'_, Self>) {
        match self {
            Self::Server(s) => {
                // Volatile state is gone: replies not yet sent are lost (F3). An unreadable or
                // missing record means nothing was ever executed.
                s.replies.clear();
                s.record = durable
                    .get_value::<ServerRecord<S>>(SERVER_KEY)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| ServerRecord { service: s.initial.clone(), dedup: BTreeMap::new() });
            }
            Self::Client(c) => {
                // The calls in flight died with the crash; the workload starts afresh with sequence
                // numbers no earlier incarnation used. Unreadable storage: start from 0 (the state
                // a client that never persisted has).
                c.seq_base = durable.get_value::<u64>(CLIENT_KEY).ok().flatten().unwrap_or(0);
                c.start(ctx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::{Effect, Rng, Time};

    const C: NodeId = NodeId(0);
    const S: NodeId = NodeId(1);

    fn run<F: FnOnce(&mut Rpc<Likes>, &mut Context<'_, Rpc<Likes>>)>(
        node: &mut Rpc<Likes>,
        f: F,
    ) -> Vec<Effect<Rpc<Likes>>> {
        let peers = [if matches!(node, Rpc::Client(_)) { S } else { C }];
        let me = if matches!(node, Rpc::Client(_)) { C } else { S };
        let (mut rng, mut fx) = (Rng::new(0), Vec::new());
        let mut ctx = Context::new(me, &peers, Time::ZERO, &mut rng, &mut fx);
        f(node, &mut ctx);
        fx
    }

    fn server(dedup: bool) -> Rpc<Likes> {
        Rpc::server(ServerConfig::new(dedup, Duration::ZERO), Likes::default())
    }

    fn request(attempt: u32) -> Msg {
        Msg::Request { id: RequestId { client: C, seq: 0 }, attempt, body: codec::encode(&LikesRequest::Increment) }
    }

    #[test]
    fn dedup_runs_the_handler_once_and_persists_state_with_table_in_one_write() {
        for (dedup, want) in [(false, 12_302), (true, 12_301)] {
            let mut s = server(dedup);
            let fx1 = run(&mut s, |n, ctx| n.on_message(C, request(1), ctx));
            let fx2 = run(&mut s, |n, ctx| n.on_message(C, request(2), ctx));
            assert_eq!(s.service().unwrap().count, want);
            let persists = fx1.iter().filter(|e| matches!(e, Effect::Persist { .. })).count();
            assert_eq!(persists, 1, "one atomic write per execution");
            if dedup {
                let stored = codec::encode(&LikesResponse::Count(12_301));
                let id = RequestId { client: C, seq: 0 };
                assert_eq!(
                    fx2,
                    vec![Effect::Send { to: C, msg: Msg::Response { id, attempt: 2, result: Ok(stored) } }]
                );
            }
        }
    }

    #[test]
    fn recovered_server_keeps_state_and_dedup_table() {
        let mut s = server(true);
        let fx = run(&mut s, |n, ctx| n.on_message(C, request(1), ctx));
        let mut durable = Durable::new();
        for e in fx {
            if let Effect::Persist { key, bytes } = e {
                durable.put(key, bytes);
            }
        }
        let mut fresh = server(true);
        run(&mut fresh, |n, ctx| n.on_recover(&durable, ctx));
        assert_eq!(fresh.service().unwrap().count, 12_301);
        run(&mut fresh, |n, ctx| n.on_message(C, request(2), ctx));
        assert_eq!(fresh.service().unwrap().count, 12_301, "the retry after the crash is deduplicated");
    }

    #[test]
    fn client_retries_then_drops_stray_replies() {
        let delivery = Delivery::AtLeastOnce { attempts_max: 3, backoff: Backoff::default() };
        let cfg = ClientConfig::new(S, delivery, Duration::from_millis(50));
        let mut c = Rpc::<Likes>::client(cfg, vec![LikesRequest::Increment]);
        run(&mut c, |n, ctx| n.on_start(ctx));
        let fx = run(&mut c, |n, ctx| n.on_timer(Timer::Deadline { seq: 0, attempt: 1 }, ctx));
        assert!(fx.contains(&Effect::Output(RpcEvent::Attempt {
            seq: 0,
            attempt: 1,
            outcome: CallOutcome::NoResponse
        })));
        let fx = run(&mut c, |n, ctx| n.on_timer(Timer::Retry { seq: 0 }, ctx));
        assert!(matches!(fx[0], Effect::Send { msg: Msg::Request { attempt: 2, .. }, .. }));
        let id = RequestId { client: C, seq: 0 };
        let reply = |attempt, n| Msg::Response { id, attempt, result: Ok(codec::encode(&LikesResponse::Count(n))) };
        let stray = run(&mut c, |n, ctx| n.on_message(S, reply(1, 12_301), ctx));
        assert!(stray.is_empty(), "the late reply of attempt 1 is dropped");
        let fx = run(&mut c, |n, ctx| n.on_message(S, reply(2, 12_302), ctx));
        let ok = CallOutcome::Ok(LikesResponse::Count(12_302));
        assert!(fx.contains(&Effect::Output(RpcEvent::Done { seq: 0, outcome: ok, latency_ns: 0 })));
        assert_eq!(c.pending(), 0);
        assert!(run(&mut c, |n, ctx| n.on_message(S, reply(2, 1), ctx)).is_empty(), "a finished call ignores replies");
    }

    #[test]
    fn at_most_once_gives_up_after_one_deadline() {
        let cfg = ClientConfig::new(S, Delivery::AtMostOnce, Duration::from_millis(50));
        let mut c = Rpc::<Likes>::client(cfg, vec![LikesRequest::Increment, LikesRequest::Get]);
        let fx = run(&mut c, |n, ctx| n.on_start(ctx));
        assert_eq!(fx.iter().filter(|e| matches!(e, Effect::Send { .. })).count(), 2, "calls run concurrently");
        let fx = run(&mut c, |n, ctx| n.on_timer(Timer::Deadline { seq: 0, attempt: 1 }, ctx));
        assert!(fx.contains(&Effect::Output(RpcEvent::Done {
            seq: 0,
            outcome: CallOutcome::NoResponse,
            latency_ns: 0
        })));
        assert_eq!(c.pending(), 1);
    }

    fn durable_of<N: Node>(fx: &[Effect<N>]) -> Durable {
        let mut durable = Durable::new();
        for e in fx {
            if let Effect::Persist { key, bytes } = e {
                durable.put(key.clone(), bytes.clone());
            }
        }
        durable
    }

    fn sent_seqs(fx: &[Effect<Rpc<Likes>>]) -> Vec<u64> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Send { msg: Msg::Request { id, .. }, .. } => Some(id.seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_recovered_client_never_reuses_a_sequence_number() {
        let cfg = ClientConfig::new(S, Delivery::AtMostOnce, Duration::from_millis(50));
        let calls = vec![LikesRequest::Increment, LikesRequest::Increment];
        let mut c = Rpc::<Likes>::client(cfg.clone(), calls.clone());
        let fx = run(&mut c, |n, ctx| n.on_start(ctx));
        assert_eq!(sent_seqs(&fx), vec![0, 1]);
        let persist = fx.iter().position(|e| matches!(e, Effect::Persist { .. })).unwrap();
        let first_send = fx.iter().position(|e| matches!(e, Effect::Send { .. })).unwrap();
        assert!(persist < first_send, "the floor is durable before any call leaves");
        let mut fresh = Rpc::<Likes>::client(cfg, calls);
        let fx = run(&mut fresh, |n, ctx| n.on_recover(&durable_of(&fx), ctx));
        assert_eq!(sent_seqs(&fx), vec![2, 3]);
    }

    #[test]
    fn spaced_calls_are_issued_one_per_interval() {
        let mut cfg = ClientConfig::new(S, Delivery::AtMostOnce, Duration::from_millis(50));
        cfg.start = Duration::from_millis(3);
        cfg.interval = Duration::from_millis(10);
        let mut c = Rpc::<Likes>::client(cfg, vec![LikesRequest::Increment; 2]);
        let fx = run(&mut c, |n, ctx| n.on_start(ctx));
        assert!(sent_seqs(&fx).is_empty());
        assert!(fx.contains(&Effect::SetTimer { timer: Timer::Issue, after: Duration::from_millis(3) }));
        let fx = run(&mut c, |n, ctx| n.on_timer(Timer::Issue, ctx));
        assert_eq!(sent_seqs(&fx), vec![0]);
        assert!(fx.contains(&Effect::SetTimer { timer: Timer::Issue, after: Duration::from_millis(10) }));
        let fx = run(&mut c, |n, ctx| n.on_timer(Timer::Issue, ctx));
        assert_eq!(sent_seqs(&fx), vec![1]);
        assert!(!fx.iter().any(|e| matches!(e, Effect::SetTimer { timer: Timer::Issue, .. })), "no third call");
    }

    #[test]
    fn calls_are_stamped_once_and_later_than_what_the_client_has_read() {
        let mut cfg = ClientConfig::new(S, Delivery::AtMostOnce, Duration::from_millis(50));
        cfg.interval = Duration::from_millis(10);
        let calls = vec![LikeSetRequest::Get { user: 1 }, LikeSetRequest::remove(1)];
        let mut c = Rpc::<LikeSet>::client(cfg, calls);
        type Step<'a> = &'a mut dyn FnMut(&mut Rpc<LikeSet>, &mut Context<'_, Rpc<LikeSet>>);
        let mut step = |f: Step<'_>| {
            let (mut rng, mut fx) = (Rng::new(0), Vec::new());
            let mut ctx = Context::new(C, &[S], Time::ZERO, &mut rng, &mut fx);
            f(&mut c, &mut ctx);
            fx
        };
        step(&mut |n, ctx| n.on_start(ctx));
        step(&mut |n, ctx| n.on_timer(Timer::Issue, ctx));
        // The read reveals a record written at counter 41 by another node.
        let seen = Timestamp { counter: 41, node: NodeId(7) };
        let resp = LikeSetResponse { user: 1, present: true, t: Some(seen), count: 1 };
        let id = RequestId { client: C, seq: 0 };
        step(&mut |n, ctx| n.on_message(S, Msg::Response { id, attempt: 1, result: Ok(codec::encode(&resp)) }, ctx));
        let fx = step(&mut |n, ctx| n.on_timer(Timer::Issue, ctx));
        let Some(Effect::Send { msg: Msg::Request { body, .. }, .. }) = fx.first() else { panic!("{fx:?}") };
        let LikeSetRequest::Remove { t, .. } = codec::decode(body).unwrap() else { panic!() };
        assert!(t > seen, "{t:?} is later than the write it read");
        let retry = step(&mut |n, ctx| {
            n.on_timer(Timer::Deadline { seq: 1, attempt: 1 }, ctx);
        });
        assert!(retry.iter().all(|e| !matches!(e, Effect::Send { .. })), "at-most-once: no retry");
    }

    #[test]
    fn json_bodies_are_the_lectures_m1_on_the_wire() {
        let mut cfg = ClientConfig::new(S, Delivery::AtMostOnce, Duration::from_millis(50));
        cfg.format = Format::Json;
        let mut c = Rpc::<payments::Payments>::client(cfg, vec![payments::PaymentRequest::lecture_example()]);
        let (mut rng, mut fx) = (Rng::new(0), Vec::new());
        c.on_start(&mut Context::new(C, &[S], Time::ZERO, &mut rng, &mut fx));
        let body = fx.iter().find_map(|e| match e {
            Effect::Send { msg: Msg::Request { body, .. }, .. } => Some(body.clone()),
            _ => None,
        });
        assert_eq!(body.as_deref(), Some(payments::M1.as_bytes()));
        // A server speaking JSON executes it; one speaking postcard rejects it definitely.
        for (format, ok) in [(Format::Json, true), (Format::Postcard, false)] {
            let mut s = Rpc::server(
                ServerConfig { format, ..ServerConfig::new(false, Duration::ZERO) },
                payments::Payments::default(),
            );
            let (mut rng, mut fx) = (Rng::new(0), Vec::new());
            let msg = Msg::Request { id: RequestId { client: C, seq: 0 }, attempt: 1, body: body.clone().unwrap() };
            s.on_message(C, msg, &mut Context::new(S, &[C], Time::ZERO, &mut rng, &mut fx));
            assert_eq!(s.service().unwrap().made, u64::from(ok), "{format:?}");
        }
    }
}
