//! herald-core: the contract every Herald protocol and every Herald driver agrees on.
//!
//! A protocol node is a deterministic, sans-IO state machine ([`Node`]). It reacts to inputs
//! (`on_start`, `on_message`, `on_timer`, `on_recover`) by pushing [`Effect`]s into a [`Context`]:
//! send a message, set or cancel a timer, persist bytes to durable storage, output an observation.
//! It never reads a clock, opens a socket, spawns a thread or draws OS randomness: the driver hands it
//! its *local* clock reading and a seeded [`Rng`].
//!
//! Three drivers interpret the same effects — the simulator (`herald-sim`), the model checker and the
//! tokio runtime — and all of them write one versioned trace schema ([`trace`]).
//!
//! This crate does no IO and has no notion of wall-clock time.
#![warn(missing_docs)]

pub mod codec;
mod context;
mod durable;
mod id;
mod node;
mod rng;
pub mod rounds;
pub mod time;
pub mod trace;

pub use context::{Context, Effect};
pub use durable::Durable;
pub use id::NodeId;
pub use node::{Message, Node, Observation, Strategy, TimerId};
pub use rng::Rng;
pub use time::Time;
