//! Models shipped with the checker.

pub mod failure_detector;
pub mod links;
pub mod om;
pub mod sm;
pub mod two_generals;
pub mod two_phase;
