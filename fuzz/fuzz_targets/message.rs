//! Message decoding (the Herald codec) for the protocols the runtime carries, on arbitrary bytes.
#![no_main]

use herald_core::codec;
use herald_core::rounds::Tagged;
use herald_protocols::byzantine::{om, sm};
use herald_protocols::{ping_pong, rpc};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = codec::decode::<T>(data) {
        assert_eq!(codec::decode::<T>(&codec::encode(&value)).unwrap(), value);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Tagged<om::OmMsg>>(data);
    round_trip::<Tagged<sm::SignedOrder>>(data);
    round_trip::<rpc::Msg>(data);
    round_trip::<ping_pong::Msg>(data);
});
