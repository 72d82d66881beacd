//! Partitions (lecture §2.3): nothing crosses an active cut, and a cut affects only the links it
//! names — a one-way cut leaves the other direction open.

use super::Oracle;
use crate::engine::Run;
use crate::record::RecordKind;
use herald_core::trace::DropReason;
use herald_core::{Node, NodeId};

/// Nothing crosses an active cut; nothing else is cut.
#[derive(Debug, Clone, Copy)]
pub struct NothingCrossesACut;

impl<N: Node> Oracle<N> for NothingCrossesACut {
    fn name(&self) -> &str {
        "nothing-crosses-a-cut"
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        let partitions = &run.config.model.partitions;
        let mut active: Vec<u32> = Vec::new();
        let cut = |active: &[u32], from: NodeId, to: NodeId| {
            active.iter().any(|&id| {
                let p = &partitions[id as usize];
                let in_a = |x: NodeId| p.side_a.contains(&x);
                let in_b = |x: NodeId| {
                    if p.side_b.is_empty() { !in_a(x) } else { p.side_b.contains(&x) }
                };
                (in_a(from) && in_b(to)) || (p.symmetric && in_a(to) && in_b(from))
            })
        };
        for r in &run.records {
            match &r.kind {
                RecordKind::PartitionStart { id } => active.push(*id),
                RecordKind::PartitionEnd { id } => active.retain(|a| a != id),
                RecordKind::Deliver { from, to, msg, .. } if cut(&active, *from, *to) => {
                    return Err(format!("t={}ns: message {msg} crossed an active cut {from}→{to}", r.t));
                }
                RecordKind::Drop { from, to, msg, reason: DropReason::Partition } if !cut(&active, *from, *to) => {
                    return Err(format!(
                        "t={}ns: message {msg} {from}→{to} was cut by a partition that does not cover that link",
                        r.t
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
