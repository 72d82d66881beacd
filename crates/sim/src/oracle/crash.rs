//! Crashed nodes run nothing (lecture §2.3): after a crash a node runs no handler — it receives
//! nothing, fires no timer, sends, persists and outputs nothing — until it recovers (crash-recovery)
//! or ever again (crash-stop).

use super::Oracle;
use crate::engine::Run;
use crate::record::RecordKind;
use herald_core::{Node, NodeId};
use std::collections::BTreeSet;

/// No handler while down.
#[derive(Debug, Clone, Copy)]
pub struct NoHandlerWhileDown;

impl<N: Node> Oracle<N> for NoHandlerWhileDown {
    fn name(&self) -> &str {
        "no-handler-while-down"
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        let mut down: BTreeSet<NodeId> = BTreeSet::new();
        for r in &run.records {
            let acting = match &r.kind {
                RecordKind::Crash { node, .. } => {
                    down.insert(*node);
                    None
                }
                RecordKind::Recover { node, .. } => {
                    down.remove(node);
                    None
                }
                RecordKind::Deliver { to, .. } => Some(*to),
                RecordKind::Send { from, .. } => Some(*from),
                RecordKind::TimerFire { node, .. }
                | RecordKind::TimerSet { node, .. }
                | RecordKind::Persist { node, .. }
                | RecordKind::Output { node, .. } => Some(*node),
                _ => None,
            };
            if let Some(node) = acting.filter(|n| down.contains(n)) {
                return Err(format!("t={}ns: {node} acted while crashed: {:?}", r.t, r.kind));
            }
        }
        Ok(())
    }
}
