//! Scenarios that bring their own protocol layers: `herald sim links` and `herald sim failure-detector`.

pub(crate) mod failure_detector;
pub(crate) mod links;
pub(crate) mod rpc;
