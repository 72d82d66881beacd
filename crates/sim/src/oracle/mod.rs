//! Oracles: safety properties judged over a finished run, one file per property, each tagged with
//! the source it comes from.
//!
//! Two kinds share one trait. *Model oracles* check that the simulator kept the promises of the
//! system model it was asked for (a reliable network delivers exactly once, nothing crosses an
//! active cut, …); they read the recorded trace, so the run must be recorded. *Protocol oracles*
//! judge the protocol by its observations (agreement, validity, …) and live beside the protocol's
//! scenario.

mod crash;
mod durable;
mod fifo;
mod no_creation;
mod partition;
mod reliable;
mod synchrony;

pub use crash::NoHandlerWhileDown;
pub use durable::OnlyDurableSurvives;
pub use fifo::FifoOrder;
pub use no_creation::NoCreation;
pub use partition::NothingCrossesACut;
pub use reliable::ExactlyOnce;
pub use synchrony::DeliveryWithinBound;

use crate::engine::Run;
use crate::model::{NetworkModel, NodeModel, SimConfig, TimingModel};
use herald_core::Node;

/// A safety property of a finished run.
pub trait Oracle<N: Node> {
    /// The property's name, as reports and exit messages show it.
    fn name(&self) -> &str;
    /// `Err` with a description of the first violation.
    fn check(&self, run: &Run<N>) -> Result<(), String>;
}

/// A property that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property.
    pub property: String,
    /// What went wrong, first violation first.
    pub detail: String,
}

/// Checks every oracle; the first violation wins.
pub fn check_all<N: Node>(run: &Run<N>, oracles: &[Box<dyn Oracle<N>>]) -> Result<(), Violation> {
    for oracle in oracles {
        oracle.check(run).map_err(|detail| Violation { property: oracle.name().to_string(), detail })?;
    }
    Ok(())
}

/// The model oracles that apply to `config`: the simulator's own guarantees, checked on every
/// recorded run in the test suite.
pub fn model_oracles<N: Node>(config: &SimConfig) -> Vec<Box<dyn Oracle<N>>> {
    let mut v: Vec<Box<dyn Oracle<N>>> = vec![Box::new(NothingCrossesACut), Box::new(NoHandlerWhileDown)];
    match config.model.network {
        NetworkModel::Reliable { fifo } => {
            v.push(Box::new(NoCreation));
            v.push(Box::new(ExactlyOnce));
            if fifo {
                v.push(Box::new(FifoOrder));
            }
        }
        NetworkModel::FairLoss { reorder, .. } => {
            v.push(Box::new(NoCreation));
            if !reorder {
                v.push(Box::new(FifoOrder));
            }
        }
        NetworkModel::Arbitrary { .. } => {}
    }
    if matches!(config.model.nodes, NodeModel::CrashRecovery { .. }) {
        v.push(Box::new(OnlyDurableSurvives));
    }
    if !matches!(config.model.timing, TimingModel::Asynchronous { .. }) {
        v.push(Box::new(DeliveryWithinBound));
    }
    v
}

/// A protocol oracle from a function over the run (usually over `run.outputs`).
pub fn from_fn<N: Node>(name: &str, check: impl Fn(&Run<N>) -> Result<(), String> + 'static) -> Box<dyn Oracle<N>> {
    Box::new(FnOracle { name: name.to_string(), check: Box::new(check) })
}

type CheckFn<N> = Box<dyn Fn(&Run<N>) -> Result<(), String>>;

struct FnOracle<N: Node> {
    name: String,
    check: CheckFn<N>,
}

impl<N: Node> Oracle<N> for FnOracle<N> {
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&self, run: &Run<N>) -> Result<(), String> {
        (self.check)(run)
    }
}
