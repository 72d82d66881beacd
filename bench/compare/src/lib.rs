//! Pieces shared by every peer of the comparison, so that the only thing that
//! differs between `bench-baseline`, `bench-turmoil` and `bench-madsim` is the
//! simulator underneath.
//!
//! Workload: `NODES` nodes, all-to-all. Every node keeps `in_flight` pings
//! outstanding to each peer; a Ping is answered with a Pong, a Pong triggers
//! the next Ping to the same peer. Every received Ping or Pong is one
//! delivery; the run stops after `deliveries` of them.

use std::time::Duration;

pub const NODES: usize = 5;

/// One-way latency is uniform in `[LATENCY_MIN, LATENCY_MAX)`.
pub const LATENCY_MIN: Duration = Duration::from_millis(1);
pub const LATENCY_MAX: Duration = Duration::from_millis(10);

/// UDP port every node listens on in the simulators that have sockets.
pub const PORT: u16 = 7000;

#[derive(Debug, Clone)]
pub struct Args {
    pub in_flight: usize,
    pub deliveries: u64,
    pub seed: u64,
    /// madsim only: receive tasks per node (default `8 * in_flight`).
    pub receivers: Option<usize>,
    /// Untimed runs of the whole workload (a fresh simulator each) before the
    /// timed one, so that the timed run starts on a warm process: see
    /// README.md, "Warm-up".
    pub warmup: u32,
}

impl Args {
    /// `--in-flight W --deliveries D --seed S`; hand-rolled so the harness
    /// has no dependencies beyond the simulators being measured.
    pub fn from_env() -> Args {
        let mut args = Args {
            in_flight: 20,
            deliveries: 1_000_000,
            seed: 1,
            receivers: None,
            warmup: 0,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
            let parse = |v: &str| {
                v.parse::<u64>()
                    .unwrap_or_else(|_| usage(&format!("bad number {v}")))
            };
            match flag.as_str() {
                "--in-flight" => args.in_flight = parse(&value) as usize,
                "--deliveries" => args.deliveries = parse(&value),
                "--seed" => args.seed = parse(&value),
                "--receivers" => args.receivers = Some(parse(&value) as usize),
                "--warmup" => args.warmup = parse(&value) as u32,
                _ => usage(&format!("unknown flag {flag}")),
            }
        }
        if args.in_flight == 0 || args.deliveries == 0 {
            usage("--in-flight and --deliveries must be > 0");
        }
        args
    }
}

fn usage(err: &str) -> ! {
    eprintln!("error: {err}\nusage: bench-<peer> [--in-flight W] [--deliveries D] [--seed S] [--warmup N] [--receivers R (madsim)]");
    std::process::exit(2)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Ping = 0,
    Pong = 1,
}

/// The message every peer exchanges: a tag and a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Msg {
    pub kind: Kind,
    pub seq: u64,
}

impl Msg {
    pub const WIRE_LEN: usize = 9;

    pub fn encode(self) -> [u8; Self::WIRE_LEN] {
        let mut buf = [0u8; Self::WIRE_LEN];
        buf[0] = self.kind as u8;
        buf[1..].copy_from_slice(&self.seq.to_le_bytes());
        buf
    }

    pub fn decode(buf: &[u8]) -> Msg {
        assert_eq!(buf.len(), Self::WIRE_LEN, "truncated message");
        let kind = if buf[0] == 0 { Kind::Ping } else { Kind::Pong };
        Msg {
            kind,
            seq: u64::from_le_bytes(buf[1..].try_into().unwrap()),
        }
    }
}

/// Per-node protocol state. The whole protocol is `reply`: every received
/// message produces exactly one message back to its sender, which is what
/// keeps the number of in-flight round trips constant at `in_flight`.
#[derive(Debug, Default)]
pub struct Node {
    next_ping: u64,
}

impl Node {
    pub fn ping(&mut self) -> Msg {
        self.next_ping += 1;
        Msg {
            kind: Kind::Ping,
            seq: self.next_ping,
        }
    }

    pub fn reply(&mut self, msg: Msg) -> Msg {
        match msg.kind {
            Kind::Ping => Msg {
                kind: Kind::Pong,
                seq: msg.seq,
            },
            Kind::Pong => self.ping(),
        }
    }
}

/// Runs `once` `args.warmup` times untimed, then once more, and returns that
/// last run's (deliveries, wall time, virtual time).
pub fn after_warmup(args: &Args, mut once: impl FnMut() -> (u64, Duration, Duration)) -> (u64, Duration, Duration) {
    for _ in 0..args.warmup {
        once();
    }
    once()
}

/// Prints one JSON object on stdout (what run.sh parses) and a readable line
/// on stderr. `virtual_time` lets a reader check that the peers really ran
/// the same workload: with a 5.5 ms mean one-way latency every peer should
/// land near `NODES*(NODES-1)*W / 5.5 ms` deliveries per virtual second.
pub fn report(peer: &str, args: &Args, deliveries: u64, wall: Duration, virtual_time: Duration) {
    let per_sec = deliveries as f64 / wall.as_secs_f64();
    let virt_rate = deliveries as f64 / virtual_time.as_secs_f64();
    println!(
        "{{\"peer\":\"{peer}\",\"nodes\":{NODES},\"in_flight\":{},\"seed\":{},\"warmup\":{},\"deliveries\":{deliveries},\
         \"wall_secs\":{:.6},\"virtual_secs\":{:.6},\"deliveries_per_sec\":{per_sec:.0},\
         \"deliveries_per_virtual_sec\":{virt_rate:.0}}}",
        args.in_flight,
        args.seed,
        args.warmup,
        wall.as_secs_f64(),
        virtual_time.as_secs_f64(),
    );
    eprintln!(
        "{peer}: W={} {deliveries} deliveries in {:.3}s wall ({per_sec:.0}/s), {:.3}s virtual ({virt_rate:.0}/virtual s)",
        args.in_flight,
        wall.as_secs_f64(),
        virtual_time.as_secs_f64(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip() {
        for msg in [
            Msg {
                kind: Kind::Ping,
                seq: 0,
            },
            Msg {
                kind: Kind::Pong,
                seq: u64::MAX,
            },
        ] {
            assert_eq!(Msg::decode(&msg.encode()), msg);
        }
    }

    #[test]
    fn ping_gets_pong_and_pong_gets_next_ping() {
        let mut node = Node::default();
        let first = node.ping();
        assert_eq!(
            node.reply(first),
            Msg {
                kind: Kind::Pong,
                seq: first.seq
            }
        );
        let next = node.reply(Msg {
            kind: Kind::Pong,
            seq: first.seq,
        });
        assert_eq!(
            next,
            Msg {
                kind: Kind::Ping,
                seq: first.seq + 1
            }
        );
    }
}
