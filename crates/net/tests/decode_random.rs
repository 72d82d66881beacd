//! The bounded, stable-Rust stand-in for `cargo +nightly fuzz run message` (see `fuzz/`): random
//! and mutated inputs to the message decoders of the protocols the runtime carries never panic, and
//! whatever decodes re-encodes to bytes that decode to the same value.

use herald_core::rounds::Tagged;
use herald_core::{NodeId, Rng, codec};
use herald_protocols::byzantine::{Order, om, sm};
use herald_protocols::{ping_pong, rpc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> bool {
    match codec::decode::<T>(data) {
        Ok(value) => {
            assert_eq!(codec::decode::<T>(&codec::encode(&value)).unwrap(), value);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn message_decoders_survive_random_and_mutated_input() {
    let seeds = [
        codec::encode(&Tagged { round: 2, msg: om::OmMsg { path: om::Path::of(&[0, 2]), order: Order::Attack } }),
        codec::encode(&rpc::Msg::Request {
            id: rpc::RequestId { client: NodeId(1), seq: 3 },
            attempt: 1,
            body: vec![0],
        }),
        codec::encode(&ping_pong::Msg::Ping { incarnation: 1, seq: 9 }),
    ];
    let mut rng = Rng::new(3);
    let mut decoded = 0;
    for i in 0..30_000u32 {
        let mut input = if i % 2 == 0 {
            seeds[rng.index(seeds.len())].clone()
        } else {
            (0..rng.index(80)).map(|_| rng.between(0, 255) as u8).collect()
        };
        for _ in 0..rng.between(0, 2) {
            if !input.is_empty() {
                let at = rng.index(input.len());
                input[at] = rng.between(0, 255) as u8;
            }
        }
        decoded += usize::from(round_trip::<Tagged<om::OmMsg>>(&input));
        decoded += usize::from(round_trip::<Tagged<sm::SignedOrder>>(&input));
        decoded += usize::from(round_trip::<rpc::Msg>(&input));
        decoded += usize::from(round_trip::<ping_pong::Msg>(&input));
    }
    assert!(decoded > 1_000, "mutations of valid messages often stay valid: {decoded}");
}
