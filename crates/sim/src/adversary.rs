//! The active network adversary of the arbitrary network model (lecture §2.3): it sees every
//! transmission and decides its fate — deliver (possibly late), drop, modify — and may inject new
//! transmissions that claim any sender, or replay old ones.

use crate::model::AdversarySpec;
use herald_core::{NodeId, Rng, Time};
use std::fmt;
use std::time::Duration;

/// One transmission as the adversary sees it.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The transmission's id (the trace's message id).
    pub id: u64,
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The marshalled message.
    pub bytes: &'a [u8],
    /// Global virtual time of the send.
    pub now: Time,
}

/// What the adversary does. The original transmission's fate is the first `Deliver`, `Drop` or
/// `Modify` in the list (delivered unchanged if there is none); `Inject` and `Replay` add
/// transmissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Deliver the original, `extra` later than the link would.
    Deliver {
        /// Added delay.
        extra: Duration,
    },
    /// Drop the original.
    Drop,
    /// Deliver these bytes instead of the original's.
    Modify {
        /// The replacement bytes.
        bytes: Vec<u8>,
    },
    /// Send `bytes` to `to`, claiming they come from `from`.
    Inject {
        /// The claimed sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The bytes.
        bytes: Vec<u8>,
        /// Delay before it arrives.
        delay: Duration,
    },
    /// Send the bytes of an earlier transmission `of` again, from its original sender.
    Replay {
        /// The earlier transmission's id.
        of: u64,
        /// Its sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// Its bytes.
        bytes: Vec<u8>,
        /// Delay before it arrives.
        delay: Duration,
    },
}

/// An active network adversary. It draws randomness only from the `rng` it is handed, so runs stay
/// reproducible.
pub trait Adversary {
    /// A name for reports.
    fn name(&self) -> &str;
    /// Decides the fate of one transmission, appending actions to `out`.
    fn on_packet(&mut self, packet: Packet<'_>, rng: &mut Rng, out: &mut Vec<Action>);
}

impl fmt::Debug for dyn Adversary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Adversary({})", self.name())
    }
}

/// Builds a stock adversary; `None` for [`AdversarySpec::Custom`], which code supplies.
pub fn stock(spec: &AdversarySpec) -> Option<Box<dyn Adversary>> {
    Some(match spec.clone() {
        AdversarySpec::DropAll => Box::new(DropAll),
        AdversarySpec::ModifyRandomBit { ratio } => Box::new(ModifyRandomBit { ratio }),
        AdversarySpec::SpoofAs { as_node, ratio } => Box::new(SpoofAs { as_node, ratio }),
        AdversarySpec::ReplayEverything => Box::new(ReplayEverything { delay_max: Duration::from_millis(50) }),
        AdversarySpec::BlockFor { start, end } => Box::new(BlockFor { start, end }),
        AdversarySpec::Custom { .. } => return None,
    })
}

/// Drops everything: the adversary that blocks forever, which no authentication can defeat.
#[derive(Debug, Clone, Copy)]
pub struct DropAll;

impl Adversary for DropAll {
    fn name(&self) -> &str {
        "drop-all"
    }
    fn on_packet(&mut self, _: Packet<'_>, _: &mut Rng, out: &mut Vec<Action>) {
        out.push(Action::Drop);
    }
}

/// Flips one uniformly chosen bit of a message with probability `ratio`.
#[derive(Debug, Clone, Copy)]
pub struct ModifyRandomBit {
    /// Probability per message.
    pub ratio: f64,
}

impl Adversary for ModifyRandomBit {
    fn name(&self) -> &str {
        "modify-random-bit"
    }
    fn on_packet(&mut self, p: Packet<'_>, rng: &mut Rng, out: &mut Vec<Action>) {
        if p.bytes.is_empty() || !rng.chance(self.ratio) {
            return;
        }
        let mut bytes = p.bytes.to_vec();
        let bit = rng.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        out.push(Action::Modify { bytes });
    }
}

/// Delivers every message and, with probability `ratio`, injects a copy that claims to come from
/// `as_node`.
#[derive(Debug, Clone, Copy)]
pub struct SpoofAs {
    /// The impersonated node.
    pub as_node: NodeId,
    /// Probability per message.
    pub ratio: f64,
}

impl Adversary for SpoofAs {
    fn name(&self) -> &str {
        "spoof-as"
    }
    fn on_packet(&mut self, p: Packet<'_>, rng: &mut Rng, out: &mut Vec<Action>) {
        if p.to != self.as_node && p.from != self.as_node && rng.chance(self.ratio) {
            let delay = Duration::from_nanos(rng.between(0, 5_000_000));
            out.push(Action::Inject { from: self.as_node, to: p.to, bytes: p.bytes.to_vec(), delay });
        }
    }
}

/// Delivers every message, and replays each once more up to `delay_max` later.
#[derive(Debug, Clone, Copy)]
pub struct ReplayEverything {
    /// Latest replay, after the original's send.
    pub delay_max: Duration,
}

impl Adversary for ReplayEverything {
    fn name(&self) -> &str {
        "replay-everything"
    }
    fn on_packet(&mut self, p: Packet<'_>, rng: &mut Rng, out: &mut Vec<Action>) {
        let delay = Duration::from_nanos(rng.between(0, herald_core::time::nanos(self.delay_max)));
        out.push(Action::Replay { of: p.id, from: p.from, to: p.to, bytes: p.bytes.to_vec(), delay });
    }
}

/// Drops every message sent during `[start, end)`; `end = None` blocks forever.
#[derive(Debug, Clone, Copy)]
pub struct BlockFor {
    /// Window start.
    pub start: Duration,
    /// Window end.
    pub end: Option<Duration>,
}

impl Adversary for BlockFor {
    fn name(&self) -> &str {
        "block-for"
    }
    fn on_packet(&mut self, p: Packet<'_>, _: &mut Rng, out: &mut Vec<Action>) {
        let t = Duration::from_nanos(p.now.as_nanos());
        if t >= self.start && self.end.is_none_or(|end| t < end) {
            out.push(Action::Drop);
        }
    }
}
