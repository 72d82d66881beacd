//! Signed messages, SM(m) (being written).
