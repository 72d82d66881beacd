//! Signed messages, SM(m) (being written). First, its signing layer: Ed25519 keys derived from the
//! seed, signer chains, and single and batch verification ([`signing`]'s documentation says what
//! each link signs and why the protocol verifies individually).

mod signing;

pub use signing::{
    ChainError, KEY_STREAM, Keys, Link, PrivateKey, PublicKeys, Sig, SignedOrder, TraitorKeys, sign, verify,
    verify_batch,
};
