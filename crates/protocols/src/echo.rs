//! Echo: every message comes straight back to its sender. The smallest request/response protocol,
//! and the server of `herald bench rpc` (so the benchmark measures the driver, not a protocol).
//!
//! Inputs: `on_message`. Effects: one `send` per message, back to its sender. No timers, no
//! storage, no observations.

use herald_core::{Context, Node, NodeId};
use serde_bytes::ByteBuf;

/// An echo node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Echo;

impl Node for Echo {
    /// Bytes (`serde_bytes`): the same wire form as a `Vec<u8>`, decoded as one copy rather than
    /// byte by byte, so a caller may send and receive either.
    type Msg = ByteBuf;
    type Timer = ();
    type Output = ();

    fn on_start(&mut self, _ctx: &mut Context<'_, Self>) {}

    fn on_message(&mut self, from: NodeId, msg: ByteBuf, ctx: &mut Context<'_, Self>) {
        ctx.send(from, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::{Effect, Rng, Time};

    #[test]
    fn a_message_goes_back_to_its_sender() {
        let (mut rng, mut fx) = (Rng::new(0), Vec::new());
        let peers = [NodeId(1)];
        let mut ctx = Context::new(NodeId(0), &peers, Time::ZERO, &mut rng, &mut fx);
        Echo.on_message(NodeId(7), ByteBuf::from(vec![1, 2]), &mut ctx);
        assert_eq!(fx, vec![Effect::Send { to: NodeId(7), msg: ByteBuf::from(vec![1, 2]) }]);
    }

    #[test]
    fn bytes_and_a_vector_of_u8_are_the_same_on_the_wire() {
        let v: Vec<u8> = (0..=255).collect();
        let b = ByteBuf::from(v.clone());
        assert_eq!(herald_core::codec::encode(&b), herald_core::codec::encode(&v));
        let back: Vec<u8> = herald_core::codec::decode(&herald_core::codec::encode(&b)).unwrap();
        assert_eq!(back, v);
    }
}
