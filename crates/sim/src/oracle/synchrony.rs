//! Synchronous timing (lecture §2.3; Dwork–Lynch–Stockmeyer): every delivery happens within
//! `delay_max` of its send. Under partial synchrony the bound holds outside the asynchronous
//! windows; a message whose journey overlaps a window must arrive by that window's end plus
//! `delay_max`. Held messages (partitions in hold mode) are exempt: a partition is a fault.

use super::Oracle;
use crate::engine::Run;
use crate::model::TimingModel;
use crate::record::RecordKind;
use herald_core::Node;
use herald_core::time::nanos;

/// Deliveries within the synchronous bound.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryWithinBound;

impl<N: Node> Oracle<N> for DeliveryWithinBound {
    fn name(&self) -> &str {
        "delivery-within-bound"
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        let (bound, windows) = match &run.config.model.timing {
            TimingModel::Synchronous { delay_max, .. } => (nanos(*delay_max), &[][..]),
            TimingModel::PartiallySynchronous { delay_max, windows, .. } => (nanos(*delay_max), windows.as_slice()),
            TimingModel::Asynchronous { .. } => return Ok(()),
        };
        if !run.config.model.partitions.is_empty() {
            return Ok(()); // held messages legitimately exceed the bound
        }
        for r in &run.records {
            if let RecordKind::Deliver { from, to, msg, sent_at } = r.kind {
                let mut deadline = sent_at + bound;
                for w in windows {
                    let (start, end) = (nanos(w.start), nanos(w.end));
                    if start <= deadline && sent_at < end {
                        deadline = deadline.max(end + bound);
                    }
                }
                if r.t > deadline {
                    return Err(format!(
                        "message {msg} {from}→{to} sent at {sent_at}ns arrived at {}ns, after its bound {deadline}ns",
                        r.t
                    ));
                }
            }
        }
        Ok(())
    }
}
