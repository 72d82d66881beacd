//! herald-netem: a userspace network emulator — what Linux's `tc qdisc … netem` does, for kernels
//! built without `sch_netem` ("Specified qdisc kind is unknown").
//!
//! # Contract
//!
//! - **A switch in userspace.** [`run`] opens a raw packet socket (`AF_PACKET`, through
//!   `pnet_datalink`'s safe API) on each of the given interfaces — typically the hub-side ends of
//!   veth pairs, one per network namespace — and forwards every Ethernet frame between them as a
//!   learning switch does ([`switch`]): to the port its destination was last seen on, or flooded
//!   to every other port for broadcast, multicast and unknown destinations (so ARP works). The
//!   interfaces must not also be on a kernel bridge.
//! - **netem's faults on every frame, per output port** ([`faults`]): a delay drawn uniformly
//!   from `delay ± jitter` (frames closer together than the jitter overtake each other), loss,
//!   duplication (each copy with its own delay), and netem's `reorder` (a copy sent at once,
//!   overtaking delayed ones). Frames leave in order of their due time; real kernel TCP stacks on
//!   both sides see real lost, late, duplicated and reordered segments.
//! - **Seeded.** Decisions come from one ChaCha stream seeded by [`Faults::seed`], drawn in the
//!   order frames are taken in: given the same arrival order, a run's faults are the same.
//! - **Offloads must be off** on the veths (`ethtool -K DEV tx off tso off gso off gro off`): a
//!   packet socket sees a TSO/GSO super-frame as one frame larger than the MTU, which no port could
//!   send, and a frame whose checksum the sender left to the hardware arrives corrupt. Frames
//!   larger than a port's MTU are dropped and counted ([`Stats::oversized`]), so a test can
//!   assert none were.
//! - **Stops cleanly**: when the `stop` flag is set (see [`stop_on_signals`]: SIGTERM or SIGINT)
//!   every thread ends within [`POLL`] and [`run`] returns what it did ([`Stats`]). Frames still
//!   queued are discarded, like a qdisc that is deleted.
//! - Nothing panics on input: a runt is ignored, a port that goes down (a partition) only fails
//!   sends until it comes back up.

#![forbid(unsafe_code)]

pub mod faults;
pub mod switch;

pub use faults::{Decider, Fate, Faults, FaultsError};
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};
use serde::Serialize;
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use switch::Switch;

/// How often every thread checks the stop flag.
pub const POLL: Duration = Duration::from_millis(50);

/// The largest frame a packet socket reads: a 64 KiB GSO super-frame fits, so it is counted as
/// oversized rather than silently truncated.
const READ_BUFFER: usize = 1 << 17;

/// What a run did. Field names are the CLI's JSON contract (`herald netem --json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Frames read from the ports.
    pub received: u64,
    /// (frame, output port) pairs the faults were applied to.
    pub offered: u64,
    /// Of those, dropped by `loss`.
    pub lost: u64,
    /// Of those, sent twice.
    pub duplicated: u64,
    /// Copies sent at once by `reorder`.
    pub reordered: u64,
    /// Copies written to a port.
    pub sent: u64,
    /// Copies a port refused (it was down: a partition).
    pub send_errors: u64,
    /// Frames flooded to every other port (broadcast, multicast, unknown destination).
    pub flooded: u64,
    /// Frames larger than their port's MTU (offloads left on), dropped.
    pub oversized: u64,
    /// Frames shorter than an Ethernet header, ignored.
    pub runts: u64,
    /// Receive errors (a port that is down reports them, every 10 ms, until it is up again).
    pub receive_errors: u64,
    /// Copies still queued when the emulator stopped.
    pub pending_at_exit: u64,
}

/// Why the emulator could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A port name is not an interface of this network namespace.
    #[error("invalid port: no interface named {name:?} here (interfaces: {available})")]
    NoSuchPort {
        /// The name given.
        name: String,
        /// The interfaces there are.
        available: String,
    },
    /// A port was named twice, or fewer than two were named.
    #[error("invalid ports: {0}")]
    Ports(String),
    /// The faults are unusable.
    #[error(transparent)]
    Faults(#[from] FaultsError),
    /// The packet socket could not be opened (it needs root: CAP_NET_RAW).
    #[error("opening a packet socket on {port}: {source} (raw sockets need root or CAP_NET_RAW)")]
    Socket {
        /// The port.
        port: String,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// A thread could not be started.
    #[error("starting a thread: {0}")]
    Thread(std::io::Error),
}

/// A flag that SIGTERM and SIGINT set: pass it to [`run`] to stop cleanly when killed.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// One copy of a frame waiting for its due time.
#[derive(Debug)]
struct Pending {
    due: Instant,
    seq: u64,
    port: usize,
    frame: Arc<[u8]>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    /// Reversed: the heap's top is the earliest due (ties in order of scheduling).
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// What the receive threads and the send thread share.
#[derive(Debug)]
struct State {
    switch: Switch,
    decider: Decider,
    queue: BinaryHeap<Pending>,
    seq: u64,
    stats: Stats,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    mtus: Vec<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking thread cannot leave the state half-updated in a way that matters here.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A frame arrived on port `from`: route it, decide each copy's fate, queue the copies.
    fn accept(&self, from: usize, frame: &[u8], now: Instant) {
        let mut st = self.lock();
        st.stats.received += 1;
        let Some((src, dst)) = Switch::addresses(frame) else {
            st.stats.runts += 1;
            return;
        };
        let flooded = !st.switch.knows(dst);
        let outs = st.switch.route(from, src, dst);
        st.stats.flooded += u64::from(flooded);
        let frame: Arc<[u8]> = Arc::from(frame);
        for port in outs {
            // The Ethernet header (14 bytes) and an optional VLAN tag ride on top of the MTU.
            if frame.len() > self.mtus[port] + 18 {
                st.stats.oversized += 1;
                continue;
            }
            st.stats.offered += 1;
            let fate = st.decider.decide();
            st.stats.lost += u64::from(fate.lost);
            st.stats.duplicated += u64::from(fate.duplicated);
            st.stats.reordered += u64::from(fate.reordered);
            for delay in fate.delays {
                st.seq += 1;
                let seq = st.seq;
                st.queue.push(Pending { due: now + delay, seq, port, frame: Arc::clone(&frame) });
            }
        }
        drop(st);
        self.wake.notify_one();
    }
}

/// Forwards frames between `ports` (interface names in this network namespace) under `faults`
/// until `stop` is set, then returns what it did.
pub fn run(ports: &[String], faults: Faults, stop: &Arc<AtomicBool>) -> Result<Stats, Error> {
    run_with(ports, faults, stop, || {})
}

/// [`run`], calling `ready` once every port's socket is open (before that, frames are not seen).
pub fn run_with(
    ports: &[String],
    faults: Faults,
    stop: &Arc<AtomicBool>,
    ready: impl FnOnce(),
) -> Result<Stats, Error> {
    faults.validate()?;
    if ports.len() < 2 {
        return Err(Error::Ports(format!("a switch needs at least 2 ports, not {}", ports.len())));
    }
    if let Some(p) = ports.iter().enumerate().find(|(i, p)| ports[..*i].contains(p)) {
        return Err(Error::Ports(format!("{:?} is named twice", p.1)));
    }
    let interfaces = pnet_datalink::interfaces();
    let mut senders: Vec<Box<dyn DataLinkSender>> = Vec::new();
    let mut receivers: Vec<Box<dyn DataLinkReceiver>> = Vec::new();
    let mut mtus = Vec::new();
    for name in ports {
        let interface: &NetworkInterface = interfaces.iter().find(|i| &i.name == name).ok_or_else(|| {
            let available: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
            Error::NoSuchPort { name: name.clone(), available: available.join(", ") }
        })?;
        let config = pnet_datalink::Config {
            read_buffer_size: READ_BUFFER,
            write_buffer_size: READ_BUFFER,
            read_timeout: Some(POLL),
            write_timeout: Some(POLL),
            promiscuous: true,
            ..pnet_datalink::Config::default()
        };
        let socket_error = |source| Error::Socket { port: name.clone(), source };
        match pnet_datalink::channel(interface, config).map_err(socket_error)? {
            Channel::Ethernet(tx, rx) => {
                senders.push(tx);
                receivers.push(rx);
            }
            _ => {
                return Err(socket_error(std::io::Error::other("not an Ethernet channel")));
            }
        }
        mtus.push(mtu(name));
    }
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            switch: Switch::new(ports.len()),
            decider: Decider::new(faults),
            queue: BinaryHeap::new(),
            seq: 0,
            stats: Stats::default(),
        }),
        wake: Condvar::new(),
        mtus,
    });
    let mut threads = Vec::new();
    for (port, rx) in receivers.into_iter().enumerate() {
        let (shared, flag) = (Arc::clone(&shared), Arc::clone(stop));
        let t = std::thread::Builder::new()
            .name(format!("netem-rx-{port}"))
            .spawn(move || receive(port, rx, &shared, &flag))
            .map_err(Error::Thread);
        match t {
            Ok(t) => threads.push(t),
            Err(e) => {
                stop.store(true, Ordering::SeqCst);
                for t in threads {
                    let _ = t.join();
                }
                return Err(e);
            }
        }
    }
    ready();
    send(senders, &shared, stop);
    for t in threads {
        let _ = t.join();
    }
    let mut st = shared.lock();
    st.stats.pending_at_exit = st.queue.len() as u64;
    Ok(st.stats.clone())
}

/// A port's MTU (sysfs of this network namespace), 1500 if it cannot be read.
fn mtu(name: &str) -> usize {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1500)
}

fn receive(port: usize, mut rx: Box<dyn DataLinkReceiver>, shared: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match rx.next() {
            Ok(frame) => shared.accept(port, frame, Instant::now()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                // A port that went down reports an error (until a read clears it): wait, retry.
                shared.lock().stats.receive_errors += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Sends every queued copy when it is due, in order of due time.
fn send(mut senders: Vec<Box<dyn DataLinkSender>>, shared: &Shared, stop: &AtomicBool) {
    let mut st = shared.lock();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        let wait = match st.queue.peek() {
            Some(p) if p.due <= now => {
                let Some(p) = st.queue.pop() else { continue };
                drop(st);
                let ok = matches!(senders[p.port].send_to(&p.frame, None), Some(Ok(())));
                st = shared.lock();
                if ok {
                    st.stats.sent += 1;
                } else {
                    st.stats.send_errors += 1;
                }
                continue;
            }
            Some(p) => (p.due - now).min(POLL),
            None => POLL,
        };
        st = shared.wake.wait_timeout(st, wait).unwrap_or_else(std::sync::PoisonError::into_inner).0;
    }
}
