//! Models shipped with the checker.

pub mod two_phase;
