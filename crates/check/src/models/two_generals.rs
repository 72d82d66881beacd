//! The two generals on the simulator's own `General` nodes: every acknowledgement chain
//! `AckChain { stages, messengers }` over a fair-loss network under the synchronous model (a
//! messenger arrives before the deadline or is captured). The checker explores every capture
//! pattern, so it shows what the lecture proves: no chain is safe.
//!
//! Properties: `agreement` (always: once both decided, G1 attacks iff G2 attacks) and
//! `both attack` (sometimes: the protocol is not trivially "never attack").

use crate::actor::{ActorModel, ActorState, Cast, Network, Timing};
use crate::model::Property;
use herald_core::NodeId;
use herald_protocols::two_generals::{General, Strategy};
use std::time::Duration;

/// A messenger's maximum delay in the synchronous model the generals assume.
pub const DELAY_MAX: Duration = Duration::from_millis(10);

/// Why a two-generals model cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TwoGeneralsError {
    /// Out of range for an exhaustive search.
    #[error("stages: must be between 1 and 6, got {0}")]
    Stages(u32),
    /// Out of range for an exhaustive search.
    #[error("messengers: must be between 1 and 3, got {0}")]
    Messengers(u32),
}

fn decisions(s: &ActorState<General>) -> [Option<bool>; 2] {
    [0, 1].map(|i| s.nodes[i].as_ref().and_then(General::decision))
}

/// `AckChain { stages, messengers }` on a fair-loss network.
pub fn ack_chain(stages: u32, messengers: u32) -> Result<ActorModel<General>, TwoGeneralsError> {
    if !(1..=6).contains(&stages) {
        return Err(TwoGeneralsError::Stages(stages));
    }
    if !(1..=3).contains(&messengers) {
        return Err(TwoGeneralsError::Messengers(messengers));
    }
    let strategy = Strategy::AckChain { stages, messengers };
    let nodes = (0..2).map(|_| Some(General::new(strategy.clone(), DELAY_MAX))).collect();
    let cast = Cast { name: format!("{strategy:?}"), nodes, domain: Vec::new() };
    let factory = |cast: &Cast<General>, id: NodeId| cast.nodes[id.index()].clone().expect("honest");
    let mut model = ActorModel::new(vec![cast], factory).expect("one well-formed cast");
    model.network = Network::FairLoss;
    model.timing = Timing::Synchronous;
    Ok(model
        .property(|| {
            Property::always("agreement", |_, s: &ActorState<General>| match decisions(s) {
                [Some(a), Some(b)] => a == b,
                _ => true,
            })
        })
        .property(|| {
            Property::sometimes("both attack", |_, s: &ActorState<General>| decisions(s) == [Some(true), Some(true)])
        }))
}
