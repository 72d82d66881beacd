//! FIFO links (lecture §2.3 supervision exercise; §4.2 FIFO order): each link delivers its messages
//! in the order they were sent. Message ids grow in send order, so per link they must grow in
//! delivery order too.

use super::Oracle;
use crate::engine::Run;
use crate::record::RecordKind;
use herald_core::{Node, NodeId};
use std::collections::BTreeMap;

/// Per-link delivery in send order.
#[derive(Debug, Clone, Copy)]
pub struct FifoOrder;

impl<N: Node> Oracle<N> for FifoOrder {
    fn name(&self) -> &str {
        "fifo-order"
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        let mut last: BTreeMap<(NodeId, NodeId), u64> = BTreeMap::new();
        for r in &run.records {
            if let RecordKind::Deliver { from, to, msg, .. } = r.kind {
                if let Some(&prev) = last.get(&(from, to)) {
                    if msg < prev {
                        return Err(format!("t={}ns: {from}→{to} delivered message {msg} after {prev}", r.t));
                    }
                }
                last.insert((from, to), msg);
            }
        }
        Ok(())
    }
}
