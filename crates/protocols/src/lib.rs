//! herald-protocols: protocols written once as sans-IO [`herald_core::Node`]s, runnable unchanged
//! by every Herald driver.
//!
//! Contract: a protocol here knows nothing of the driver that runs it — no simulator, no sockets,
//! no clock but `ctx.now()`, no randomness but `ctx.rng()`. Each module opens with an explainer of
//! its algorithm and lists its inputs, effects and observations. Properties a protocol promises are
//! written as pure functions over its observations, so any driver's oracle can call them.
#![warn(missing_docs)]

pub mod broadcast_demo;
pub mod byzantine;
pub mod echo;
pub mod failure_detector;
pub mod links;
pub mod ping_pong;
pub mod rpc;
pub mod two_generals;
