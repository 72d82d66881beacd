//! herald-sim: a deterministic discrete-event simulator whose faults are exactly the lecture's
//! system models.
//!
//! Contract:
//! - A run is a pure function of (seed, [`SimConfig`], fault mask, protocol code): same inputs,
//!   byte-identical trace. No wall clock, no OS randomness, no thread-dependent order; sweeps return
//!   results in seed order whatever the thread count.
//! - The network is one of the lecture's models ([`NetworkModel`]): reliable, fair-loss, or
//!   arbitrary (an [`Adversary`]). Nodes are correct, crash-stop, crash-recovery or Byzantine
//!   ([`NodeModel`]); timing is synchronous, partially synchronous or asynchronous ([`TimingModel`]).
//!   Partitions apply under any network. [`SimConfig::validate`] rejects what is not what its name
//!   says, naming the field.
//! - Messages are marshalled with the Herald codec and cross links of finite bandwidth in
//!   MTU-sized packets, so latency, bandwidth use and throughput are distinct measured quantities
//!   ([`Summary`]).
//! - Model [`oracle`]s check the simulator kept its promises; protocol oracles judge the protocol.
//!   After the safety phase an optional liveness phase heals every fault and requires progress.
//! - [`availability`] judges client requests against a service level objective (lecture §2.4).
//! - [`shrink()`](shrink::shrink) minimises a failing run to a fault mask and an event limit.
//!
//! The simulator contains no protocol logic: it only interprets [`herald_core::Effect`]s.
#![warn(missing_docs)]

pub mod adversary;
pub mod availability;
mod engine;
mod export;
pub mod metrics;
pub mod model;
pub mod oracle;
mod queue;
pub mod record;
pub mod shrink;
pub mod sweep;

pub use adversary::Adversary;
pub use engine::{Fault, FaultKind, Liveness, Observed, Progress, Run, Simulation, queued_event_bytes};
pub use metrics::{Counters, Summary};
pub use model::{
    AdversarySpec, ClockModel, ConfigError, Latency, Limits, LinkModel, NetworkModel, NodeModel, Partition, Pauses,
    ScheduledCrash, SimConfig, SystemModel, TimingModel, Window,
};
