//! Models shipped with the checker.

pub mod om;
pub mod two_phase;
