//! A best-effort broadcast that makes each network model visible.
//!
//! Node 0 (the source) sends `count` numbered notes to every other node, one note every `interval`.
//! Receivers report every note they are handed — including duplicates and notes whose claimed
//! sender is not the source — so a run's observations show exactly what the network did: nothing
//! lost on a reliable network; losses and duplicates under fair loss; forged, modified or replayed
//! notes under an active adversary.
//!
//! Inputs: `on_start` (the source arms its timer), `on_timer(Tick)` (the source sends the next
//! note), `on_message` (receivers report). Effects: sends, the tick timer, [`Heard`] observations.

use herald_core::{Context, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A note from the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Note {
    /// Sequence number, from 0.
    pub seq: u32,
}

/// The source's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tick;

/// A receiver was handed a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heard {
    /// The claimed sender.
    pub from: NodeId,
    /// The note's number.
    pub seq: u32,
}

/// One node of the demo.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BroadcastDemo {
    count: u32,
    interval: Duration,
    next: u32,
}

/// The source's id.
pub const SOURCE: NodeId = NodeId(0);

impl BroadcastDemo {
    /// A node; only node 0 sends, `count` notes one `interval` apart.
    pub fn new(count: u32, interval: Duration) -> Self {
        Self { count, interval, next: 0 }
    }
}

impl Node for BroadcastDemo {
    type Msg = Note;
    type Timer = Tick;
    type Output = Heard;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == SOURCE && self.count > 0 {
            ctx.set_timer(Tick, Duration::ZERO);
        }
    }

    fn on_message(&mut self, from: NodeId, note: Note, ctx: &mut Context<'_, Self>) {
        ctx.output(Heard { from, seq: note.seq });
    }

    fn on_timer(&mut self, _: Tick, ctx: &mut Context<'_, Self>) {
        ctx.broadcast(&Note { seq: self.next });
        self.next += 1;
        if self.next < self.count {
            ctx.set_timer(Tick, self.interval);
        }
    }
}

/// What the receivers of a run saw, judged against what the source sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// (receiver, note) pairs handed over at least once.
    pub unique: u64,
    /// Extra hand-overs of a note a receiver already had.
    pub repeated: u64,
    /// Notes the source never sent, or that claim another sender.
    pub bogus: u64,
    /// (receiver, note) pairs never handed over.
    pub missing: u64,
}

/// Tallies the observations of the (correct) `receivers` for a run of `count` notes; the source is
/// not a receiver.
pub fn tally<'a>(
    receivers: &[NodeId],
    count: u32,
    observations: impl IntoIterator<Item = (NodeId, &'a Heard)>,
) -> Tally {
    let receivers: Vec<NodeId> = receivers.iter().copied().filter(|&r| r != SOURCE).collect();
    let slots = receivers.iter().map(|r| r.index() + 1).max().unwrap_or(0);
    let mut got: Vec<Option<Vec<u32>>> = vec![None; slots];
    for r in &receivers {
        got[r.index()] = Some(vec![0; count as usize]);
    }
    let mut t = Tally::default();
    for (node, heard) in observations {
        let Some(Some(mine)) = got.get_mut(node.index()) else {
            continue;
        };
        match mine.get_mut(heard.seq as usize) {
            Some(n) if heard.from == SOURCE => {
                *n += 1;
                if *n == 1 { t.unique += 1 } else { t.repeated += 1 }
            }
            _ => t.bogus += 1,
        }
    }
    t.missing = receivers.len() as u64 * u64::from(count) - t.unique;
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_separates_duplicates_forgeries_and_gaps() {
        let h = |from, seq| Heard { from: NodeId(from), seq };
        let obs = [(1, h(0, 0)), (1, h(0, 0)), (1, h(2, 1)), (2, h(0, 9)), (2, h(0, 1))];
        let t = tally(&[NodeId(0), NodeId(1), NodeId(2)], 2, obs.iter().map(|(n, h)| (NodeId(*n), h)));
        assert_eq!(t, Tally { unique: 2, repeated: 1, bogus: 2, missing: 2 });
    }
}

/// A Byzantine strategy for the demo: each faulty node, whenever it hears a note, broadcasts a
/// note with a number the source never used. The forgers share their counter (collusion).
#[derive(Debug, Default)]
pub struct Forger {
    forged: u32,
}

impl herald_core::Strategy<BroadcastDemo> for Forger {
    fn name(&self) -> &str {
        "forger"
    }
    fn on_start(&mut self, _ctx: &mut Context<'_, BroadcastDemo>) {}
    fn on_message(&mut self, _from: NodeId, _note: Note, ctx: &mut Context<'_, BroadcastDemo>) {
        self.forged += 1;
        ctx.broadcast(&Note { seq: u32::MAX - self.forged });
    }
}

/// The property a *reliable* broadcast would promise: every correct receiver hears every note
/// from the source exactly once, and nothing else. Best-effort broadcast keeps it only over
/// reliable links between correct nodes — under fair loss, crashes or an adversary it fails, which
/// is the point of the demo (and of the link layers that fix it).
pub fn check_every_note_once<'a>(
    receivers: &[NodeId],
    count: u32,
    observations: impl IntoIterator<Item = (NodeId, &'a Heard)>,
) -> Result<(), String> {
    let t = tally(receivers, count, observations);
    match t {
        Tally { missing: 0, repeated: 0, bogus: 0, .. } => Ok(()),
        Tally { missing, repeated, bogus, .. } => Err(format!(
            "correct receivers missed {missing} notes, heard {repeated} extra copies and {bogus} notes the source never sent"
        )),
    }
}
