//! Failure detectors (being written).
