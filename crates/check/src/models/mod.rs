//! Models shipped with the checker: TwoPhase (a plain model), and actor models over the simulator's own
//! nodes — OM(m), SM(1), the retry-dedup link, the two generals and the failure detectors.

pub mod failure_detector;
pub mod links;
pub mod om;
pub mod sm;
pub mod two_generals;
pub mod two_phase;
