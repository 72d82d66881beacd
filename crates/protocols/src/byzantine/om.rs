//! Oral messages, OM(m) (being written).
