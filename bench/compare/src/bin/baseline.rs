//! The floor: a bare discrete-event loop over a `BinaryHeap` of
//! (time, seq, event). No tasks, no sockets, no marshalling — just the
//! scheduling work any simulator of this workload must do.

use herald_bench_compare::{after_warmup, report, Args, Msg, Node, LATENCY_MAX, LATENCY_MIN, NODES};
use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    time::{Duration, Instant},
};

/// SplitMix64: tiny, fast and fully determined by the seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)` nanoseconds (multiply-shift; the bias is far
    /// below anything this benchmark could observe).
    fn latency_ns(&mut self, lo: u64, hi: u64) -> u64 {
        lo + ((self.next_u64() as u128 * (hi - lo) as u128) >> 64) as u64
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    from: u8,
    to: u8,
    msg: Msg,
}

fn main() {
    let args = Args::from_env();
    let (delivered, wall, virtual_time) = after_warmup(&args, || run(&args));
    report("baseline", &args, delivered, wall, virtual_time);
}

/// One run of the workload: (deliveries, wall time, virtual time).
fn run(args: &Args) -> (u64, Duration, Duration) {
    let (lo, hi) = (LATENCY_MIN.as_nanos() as u64, LATENCY_MAX.as_nanos() as u64);
    let start = Instant::now();

    let mut rng = Rng(args.seed);
    let mut nodes: Vec<Node> = (0..NODES).map(|_| Node::default()).collect();
    // `seq` breaks ties between equal times in FIFO order, so the schedule is
    // a pure function of the seed (the Event itself is never compared).
    let mut queue: BinaryHeap<Reverse<(u64, u64, Event)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut send = |queue: &mut BinaryHeap<_>, now: u64, from: usize, to: usize, msg: Msg| {
        seq += 1;
        let at = now + rng.latency_ns(lo, hi);
        queue.push(Reverse((
            at,
            seq,
            Event {
                from: from as u8,
                to: to as u8,
                msg,
            },
        )));
    };

    for (from, node) in nodes.iter_mut().enumerate() {
        for to in (0..NODES).filter(|&to| to != from) {
            for _ in 0..args.in_flight {
                let msg = node.ping();
                send(&mut queue, 0, from, to, msg);
            }
        }
    }

    let mut now = 0;
    let mut delivered = 0;
    while delivered < args.deliveries {
        let Reverse((at, _, ev)) = queue.pop().expect("in-flight messages never run out");
        now = at;
        delivered += 1;
        let reply = nodes[ev.to as usize].reply(ev.msg);
        send(&mut queue, now, ev.to as usize, ev.from as usize, reply);
    }

    (delivered, start.elapsed(), Duration::from_nanos(now))
}
