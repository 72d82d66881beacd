//! Crash-recovery keeps exactly the durable state (lecture §2.3): a recovering node is handed what
//! it persisted before the crash — no more, no less.

use super::Oracle;
use crate::engine::Run;
use crate::record::RecordKind;
use herald_core::{Durable, Node};
use std::collections::BTreeMap;

/// `on_recover` receives exactly what was persisted.
#[derive(Debug, Clone, Copy)]
pub struct OnlyDurableSurvives;

impl<N: Node> Oracle<N> for OnlyDurableSurvives {
    fn name(&self) -> &str {
        "only-durable-survives"
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        let mut stores: BTreeMap<_, Durable> = BTreeMap::new();
        for r in &run.records {
            match &r.kind {
                RecordKind::Persist { node, key, bytes } => {
                    stores.entry(*node).or_default().put(key.to_string(), bytes.to_vec())
                }
                RecordKind::Recover { node, keys, digest } => {
                    let expected = stores.entry(*node).or_default();
                    if expected.len() as u32 != *keys || expected.digest() != *digest {
                        return Err(format!(
                            "t={}ns: {node} recovered with {keys} keys (digest {digest:x}) but had persisted {} (digest {:x})",
                            r.t,
                            expected.len(),
                            expected.digest()
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
