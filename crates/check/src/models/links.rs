//! Exactly-once delivery over a lossy, duplicating network: the simulator's `RetryDedupLink`
//! around its `Workload` (node 0 sends numbered payloads to node 1), and, as the control, the bare
//! `Workload` on the same network.
//!
//! System model: fair-loss, unordered, at most `duplicates_max` duplications, at most
//! `timer_fires_max` retransmission timer firings (the bound that keeps the space finite),
//! asynchronous timing. Observations are recorded in the state. Properties:
//! - `at most once` (always): no payload is delivered twice;
//! - `nothing forged` (always): every delivery is a payload the sender sent;
//! - `all delivered` (sometimes): some run delivers every payload.

use crate::actor::{ActorModel, ActorState, Cast, Network};
use crate::model::Property;
use herald_core::{Node, NodeId};
use herald_protocols::links::{Delivery, RetryDedupConfig, RetryDedupLink, Workload};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

/// Why a links model cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinksError {
    /// Too many messages for an exhaustive search.
    #[error("messages: must be between 1 and 4, got {0}")]
    Messages(u64),
    /// Too many timer firings.
    #[error("timer_fires: must be at most 6, got {0}")]
    TimerFires(u32),
    /// Too many duplications.
    #[error("duplicates: must be at most 3, got {0}")]
    Duplicates(u8),
}

fn validate(messages: u64, duplicates: u8, timer_fires: u32) -> Result<(), LinksError> {
    if !(1..=4).contains(&messages) {
        return Err(LinksError::Messages(messages));
    }
    if timer_fires > 6 {
        return Err(LinksError::TimerFires(timer_fires));
    }
    if duplicates > 3 {
        return Err(LinksError::Duplicates(duplicates));
    }
    Ok(())
}

fn deliveries<N>(m: &ActorModel<N>, s: &ActorState<N>) -> Vec<Delivery>
where
    N: Node<Output = Delivery> + Clone + Eq + Hash + Debug + Send + Sync,
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    m.outputs(s, NodeId(1))
}

fn build<N>(nodes: Vec<Option<N>>, duplicates: u8, timer_fires: u32) -> ActorModel<N>
where
    N: HasWorkload + Node<Output = Delivery> + Clone + Eq + Hash + Debug + Send + Sync,
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    let cast = Cast { name: "node 0 sends to node 1".into(), nodes, domain: Vec::new() };
    let factory = |cast: &Cast<N>, id: NodeId| cast.nodes[id.index()].clone().expect("honest");
    let mut model = ActorModel::new(vec![cast], factory).expect("one well-formed cast");
    model.network = Network::FairLoss;
    model.duplicates_max = duplicates;
    model.timer_fires_max = timer_fires;
    model.record_outputs = true;
    model
        .property(|| {
            Property::always("at most once", |m: &ActorModel<N>, s| {
                let mut d: Vec<(NodeId, u64)> = deliveries(m, s).iter().map(|d| (d.origin, d.n)).collect();
                let all = d.len();
                d.sort_unstable();
                d.dedup();
                d.len() == all
            })
        })
        .property(|| {
            Property::always("nothing forged", |m: &ActorModel<N>, s| {
                deliveries(m, s).iter().all(|d| d.origin == NodeId(0) && d.from == NodeId(0))
            })
        })
        .property(|| {
            Property::sometimes("all delivered", |m: &ActorModel<N>, s: &ActorState<N>| {
                let Some(receiver) = s.nodes[1].as_ref() else { return false };
                let mut d: Vec<u64> = deliveries(m, s).iter().map(|d| d.n).collect();
                d.sort_unstable();
                d.dedup();
                d.len() as u64 == receiver.workload().messages
            })
        })
}

/// The nodes these models run: a [`Workload`], bare or inside a link layer.
pub trait HasWorkload {
    /// The workload.
    fn workload(&self) -> &Workload;
}

impl HasWorkload for Workload {
    fn workload(&self) -> &Workload {
        self
    }
}

impl HasWorkload for RetryDedupLink<Workload> {
    fn workload(&self) -> &Workload {
        self.inner()
    }
}

/// `RetryDedupLink<Workload>` with 2 nodes.
pub fn retry_dedup(
    messages: u64,
    duplicates: u8,
    timer_fires: u32,
) -> Result<ActorModel<RetryDedupLink<Workload>>, LinksError> {
    validate(messages, duplicates, timer_fires)?;
    let config = RetryDedupConfig { retransmit: Duration::from_millis(20), persist: false };
    let nodes = (0..2).map(|_| Some(RetryDedupLink::new(Workload::new(messages), config.clone()))).collect();
    Ok(build(nodes, duplicates, timer_fires))
}

/// The bare `Workload` on the same network: the control, which duplication breaks.
pub fn bare(messages: u64, duplicates: u8) -> Result<ActorModel<Workload>, LinksError> {
    validate(messages, duplicates, 0)?;
    let nodes = (0..2).map(|_| Some(Workload::new(messages))).collect();
    Ok(build(nodes, duplicates, 0))
}
