//! Reliable links (lecture §2.3: "a message is received iff it is sent"; CGR perfect link): every
//! message from a correct node to a correct node is delivered exactly once. Messages still in
//! flight when the run stops are exempt; those to or from nodes that crashed are exempt too.

use super::Oracle;
use crate::engine::Run;
use crate::record::RecordKind;
use herald_core::trace::DropReason;
use herald_core::{Node, NodeId};
use std::collections::{BTreeMap, BTreeSet};

/// Exactly-once delivery between correct nodes.
#[derive(Debug, Clone, Copy)]
pub struct ExactlyOnce;

impl<N: Node> Oracle<N> for ExactlyOnce {
    fn name(&self) -> &str {
        "reliable-exactly-once"
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        let mut ever_crashed = BTreeSet::new();
        for r in &run.records {
            if let RecordKind::Crash { node, .. } = r.kind {
                ever_crashed.insert(node);
            }
        }
        let correct: BTreeSet<NodeId> = run.correct.iter().copied().filter(|n| !ever_crashed.contains(n)).collect();
        let mut delivered: BTreeMap<u64, u32> = BTreeMap::new();
        let mut pending: BTreeMap<u64, (NodeId, NodeId)> = BTreeMap::new();
        for r in &run.records {
            match &r.kind {
                RecordKind::Send { from, to, msg, .. } if correct.contains(from) && correct.contains(to) => {
                    pending.insert(*msg, (*from, *to));
                }
                RecordKind::Deliver { msg, from, to, .. } => {
                    let n = delivered.entry(*msg).or_default();
                    *n += 1;
                    if *n > 1 {
                        return Err(format!("message {msg} {from}→{to} delivered {n} times"));
                    }
                    pending.remove(msg);
                }
                RecordKind::Drop { msg, reason: DropReason::InFlight, .. } => {
                    pending.remove(msg);
                }
                RecordKind::Drop { msg, from, to, reason } if pending.contains_key(msg) => {
                    return Err(format!(
                        "t={}ns: message {msg} {from}→{to} between correct nodes was dropped ({reason:?})",
                        r.t
                    ));
                }
                _ => {}
            }
        }
        match pending.first_key_value() {
            Some((msg, (from, to))) => {
                Err(format!("message {msg} {from}→{to} between correct nodes was never delivered"))
            }
            None => Ok(()),
        }
    }
}
