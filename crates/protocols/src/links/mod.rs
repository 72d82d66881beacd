//! Link layers (being written).
