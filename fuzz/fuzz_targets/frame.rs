//! The frame decoder on arbitrary bytes: one frame's contents, and a stream of length-prefixed
//! frames. It must never panic, and whatever decodes must re-encode to a frame that decodes equal.
#![no_main]

use herald_net::frame::{self, FrameCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = frame::decode(data) {
        assert_eq!(frame::decode(&frame::encode(&body)).unwrap(), body);
    }
    let mut codec = FrameCodec::new(4096);
    let mut buf = bytes::BytesMut::from(data);
    while let Ok(Some(_)) = codec.decode(&mut buf) {}
    let _ = codec.decode_eof(&mut buf);
});
