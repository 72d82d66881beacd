//! Fair-loss and reliable links never create messages (lecture §2.3; CGR "no creation"): every
//! delivery is of bytes some node sent to that receiver, and nothing is injected or modified.

use super::Oracle;
use crate::engine::Run;
use crate::record::RecordKind;
use herald_core::{Node, NodeId};
use std::collections::BTreeMap;

/// No creation.
#[derive(Debug, Clone, Copy)]
pub struct NoCreation;

impl<N: Node> Oracle<N> for NoCreation {
    fn name(&self) -> &str {
        "no-creation"
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        let mut sent: BTreeMap<u64, (NodeId, NodeId)> = BTreeMap::new();
        for r in &run.records {
            match &r.kind {
                RecordKind::Send { from, to, msg, .. } => {
                    sent.insert(*msg, (*from, *to));
                }
                RecordKind::Deliver { from, to, msg, .. } => match sent.get(msg) {
                    Some(&(f, t)) if f == *from && t == *to => {}
                    _ => {
                        return Err(format!("t={}ns: {to} got message {msg} from {from}, which nobody sent", r.t));
                    }
                },
                RecordKind::Inject { msg, .. } | RecordKind::Modify { msg, .. } | RecordKind::Replay { msg, .. } => {
                    return Err(format!("t={}ns: message {msg} was forged on a non-arbitrary network", r.t));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
