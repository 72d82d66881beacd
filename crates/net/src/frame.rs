//! The wire format: length-delimited frames with a versioned header.
//!
//! ```text
//! +----------------+---------+------------------------------+
//! | length: u32 BE | version | body: postcard (herald codec) |
//! +----------------+---------+------------------------------+
//!   not counted      1 byte    length − 1 bytes
//! ```
//!
//! `length` counts the version byte and the body, and may not exceed the configured maximum frame
//! size ([`MAX_FRAME_DEFAULT`] unless configured). A frame whose length is larger, whose version is
//! not [`VERSION`], whose body does not decode as exactly one [`Body`], or that ends inside the
//! length prefix or body is rejected with a [`FrameError`]: the connection that carried it is closed.
//! The body of a [`Body::Msg`] is the message encoded by [`herald_core::codec`], exactly as the
//! simulator sizes it.

use bytes::Buf;
use bytes::{BufMut, Bytes, BytesMut};
use herald_core::codec::{self, DecodeError};
use serde::{Deserialize, Serialize};
use tokio_util::codec::{Decoder, Encoder};

/// The frame format version this build speaks (2: [`Body::Ready`] added).
pub const VERSION: u8 = 2;

/// The default maximum frame size (version byte and body), in bytes.
pub const MAX_FRAME_DEFAULT: usize = 1 << 20;

/// What a frame carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// The first frame on a connection, both ways: who is speaking, to whom, in which cluster.
    Hello {
        /// The cluster's id (from `cluster.toml`): nodes of two clusters never talk.
        cluster: u64,
        /// The sender's node id.
        from: u32,
        /// The node id the sender believes it is talking to.
        to: u32,
        /// How many times the sender has started with this data directory (1 on the first start).
        incarnation: u64,
    },
    /// A protocol message.
    Msg {
        /// The sender's Lamport clock at the send.
        lamport: u64,
        /// The message id, unique in the run (sender id in the top 16 bits).
        id: u64,
        /// The message, encoded with the Herald codec (or raw bytes from a Byzantine sender). As
        /// bytes (`serde_bytes`): the same wire form as a sequence of `u8`, copied whole.
        #[serde(with = "serde_bytes")]
        payload: Vec<u8>,
    },
    /// Peers only, for [`crate::Start::WhenConnected`]: the sender has a connection to every
    /// member of the cluster and waits for everyone to say the same before it starts.
    Ready,
}

/// Why a frame was rejected. Every variant closes the connection that carried the frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix announces more than the maximum frame size.
    #[error("oversized frame: {len} bytes announced, the maximum is {max}")]
    Oversized {
        /// The announced length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The frame is empty: no version byte.
    #[error("empty frame: no version byte")]
    Empty,
    /// The version byte is not one this build speaks.
    #[error("unknown frame version {0} (this build speaks version {VERSION})")]
    Version(u8),
    /// The body is not a valid [`Body`].
    #[error("malformed frame body: {0}")]
    Body(#[from] DecodeError),
    /// The stream ended inside a frame.
    #[error("truncated frame: the connection closed {0} bytes into a frame")]
    Truncated(usize),
    /// The socket failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Decodes one frame's contents (version byte and body, without the length prefix).
pub fn decode(frame: &[u8]) -> Result<Body, FrameError> {
    let (&version, body) = frame.split_first().ok_or(FrameError::Empty)?;
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    Ok(codec::decode(body)?)
}

/// Encodes one frame's contents (version byte and body, without the length prefix).
pub fn encode(body: &Body) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.push(VERSION);
    codec::encode_into(body, &mut out);
    out
}

/// Encodes the contents of a `Body::Msg` frame carrying `payload` (already encoded with the Herald
/// codec): the same bytes as `encode(&Body::Msg { lamport, id, payload: payload.to_vec() })`,
/// without copying the payload twice, in a buffer of exactly the frame's size (so turning it into
/// `Bytes` allocates nothing more).
pub fn encode_msg(lamport: u64, id: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_msg_into(lamport, id, payload, &mut out);
    debug_assert_eq!(out.capacity(), out.len(), "a Msg frame's size is computed exactly");
    out
}

/// [`encode_msg`] into `out` (cleared first; it grows to exactly the frame's size when it must grow).
pub fn encode_msg_into(lamport: u64, id: u64, payload: &[u8], out: &mut Vec<u8>) {
    /// `Body` with a borrowed payload. postcard writes a `&[u8]` and a `Vec<u8>` alike (a varint
    /// length, then the bytes), and the variants are in `Body`'s order.
    #[derive(Serialize)]
    enum BodyRef<'a> {
        #[allow(dead_code)]
        Hello,
        Msg {
            lamport: u64,
            id: u64,
            #[serde(with = "serde_bytes")]
            payload: &'a [u8],
        },
    }
    fn varint_len(v: u64) -> usize {
        (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
    }
    let size = 2 + varint_len(lamport) + varint_len(id) + varint_len(payload.len() as u64) + payload.len();
    out.clear();
    out.reserve_exact(size);
    out.push(VERSION);
    codec::encode_into(&BodyRef::Msg { lamport, id, payload }, out);
    debug_assert_eq!(out.len(), size, "a Msg frame's size is computed exactly");
}

/// Appends a whole `Body::Msg` frame — the 4-byte length, then [`encode_msg`]'s bytes, as
/// [`FrameCodec`] frames them — to `dst`, encoding through `scratch`. Refuses a frame larger than
/// `max`, as the codec does, leaving `dst` as it was.
pub fn put_msg(
    dst: &mut BytesMut,
    scratch: &mut Vec<u8>,
    lamport: u64,
    id: u64,
    payload: &[u8],
    max: usize,
) -> Result<(), FrameError> {
    encode_msg_into(lamport, id, payload, scratch);
    if scratch.len() > max {
        return Err(FrameError::Oversized { len: scratch.len(), max });
    }
    dst.reserve(4 + scratch.len());
    dst.put_u32(scratch.len() as u32);
    dst.extend_from_slice(scratch);
    Ok(())
}

/// A `tokio_util` codec for whole frames: the length prefix, the maximum size, the version and the
/// body. Decoding checks the announced length *before* buffering the frame, so an oversized frame
/// costs no memory.
#[derive(Debug)]
pub struct FrameCodec {
    max: usize,
}

impl FrameCodec {
    /// A codec accepting frames of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl Decoder for FrameCodec {
    type Item = Body;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Body>, FrameError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.max {
            return Err(FrameError::Oversized { len, max: self.max });
        }
        if src.len() < 4 + len {
            src.reserve(4 + len - src.len());
            return Ok(None);
        }
        src.advance(4);
        let frame = src.split_to(len);
        decode(&frame).map(Some)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Body>, FrameError> {
        match self.decode(src)? {
            Some(body) => Ok(Some(body)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::Truncated(src.len())),
        }
    }
}

/// Encodes an already-encoded frame's contents (from [`encode`]) with its length prefix.
impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        if frame.len() > self.max {
            return Err(FrameError::Oversized { len: frame.len(), max: self.max });
        }
        dst.reserve(4 + frame.len());
        dst.put_u32(frame.len() as u32);
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_msg_frame_encodes_alike_with_a_borrowed_payload() {
        for (lamport, id, len) in [(0, 0, 0), (1, 1 << 48, 32), (u64::MAX, u64::MAX, 300), (127, 128, 16_384)] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let owned = encode(&Body::Msg { lamport, id, payload: payload.clone() });
            let borrowed = encode_msg(lamport, id, &payload);
            assert_eq!(borrowed, owned);
            assert_eq!(borrowed.capacity(), borrowed.len());
            let (mut wire, mut scratch) = (BytesMut::from(&b"before"[..]), Vec::new());
            put_msg(&mut wire, &mut scratch, lamport, id, &payload, MAX_FRAME_DEFAULT).unwrap();
            let mut expected = BytesMut::from(&b"before"[..]);
            FrameCodec::new(MAX_FRAME_DEFAULT).encode(Bytes::from(owned), &mut expected).unwrap();
            assert_eq!(wire, expected, "put_msg frames as the codec does");
            let refused = put_msg(&mut wire, &mut scratch, lamport, id, &payload, 4);
            assert!(matches!(refused, Err(FrameError::Oversized { max: 4, .. })));
            assert_eq!(wire, expected, "a refused frame leaves the buffer as it was");
        }
    }

    fn framed(body: &Body) -> BytesMut {
        let mut out = BytesMut::new();
        FrameCodec::new(MAX_FRAME_DEFAULT).encode(Bytes::from(encode(body)), &mut out).unwrap();
        out
    }

    #[test]
    fn round_trip_split_anywhere() {
        let body = Body::Msg { lamport: 7, id: 1 << 48 | 3, payload: vec![1, 2, 3] };
        let wire = framed(&body);
        for cut in 0..wire.len() {
            let mut codec = FrameCodec::new(MAX_FRAME_DEFAULT);
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(codec.decode(&mut buf).unwrap(), None, "cut at {cut}");
            buf.extend_from_slice(&wire[cut..]);
            assert_eq!(codec.decode(&mut buf).unwrap(), Some(body.clone()));
        }
    }

    #[test]
    fn bad_frames_name_their_fault() {
        let mut codec = FrameCodec::new(64);
        let mut big = BytesMut::from(&[0, 0, 1, 0][..]);
        assert!(matches!(codec.decode(&mut big), Err(FrameError::Oversized { len: 256, max: 64 })));
        let mut version = BytesMut::from(&[0, 0, 0, 2, 9, 0][..]);
        assert!(matches!(FrameCodec::new(64).decode(&mut version), Err(FrameError::Version(9))));
        let mut garbage = BytesMut::from(&[0, 0, 0, 2, VERSION, 200][..]);
        assert!(matches!(FrameCodec::new(64).decode(&mut garbage), Err(FrameError::Body(_))));
        let mut empty = BytesMut::from(&[0, 0, 0, 0][..]);
        assert!(matches!(FrameCodec::new(64).decode(&mut empty), Err(FrameError::Empty)));
        let mut truncated = framed(&Body::Msg { lamport: 1, id: 1, payload: vec![5; 10] });
        truncated.truncate(9);
        let mut c = FrameCodec::new(64);
        assert_eq!(c.decode(&mut truncated).unwrap(), None);
        assert!(matches!(c.decode_eof(&mut truncated), Err(FrameError::Truncated(9))));
        let mut short = BytesMut::from(&[0, 0, 0, 3, VERSION, 1, 0][..]);
        assert!(matches!(FrameCodec::new(64).decode(&mut short), Err(FrameError::Body(_))), "Msg needs 3 fields");
        let mut trailing = BytesMut::from(&[0, 0, 0, 6, VERSION, 1, 0, 0, 0, 9][..]);
        assert!(matches!(FrameCodec::new(64).decode(&mut trailing), Err(FrameError::Body(_))), "a byte too many");
    }

    /// The bounded stand-in for `cargo fuzz run frame` (see `fuzz/`): random and mutated inputs
    /// never panic the decoder, and whatever decodes re-encodes to the same bytes.
    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let mut rng = herald_core::Rng::new(5);
        let seeds = [
            encode(&Body::Hello { cluster: 9, from: 1, to: 2, incarnation: 1 }),
            encode(&Body::Msg { lamport: 1, id: 2, payload: vec![0; 40] }),
            encode(&Body::Msg { lamport: 0, id: 3, payload: vec![7; 3] }),
        ];
        for i in 0..20_000u32 {
            let mut input = if i % 2 == 0 {
                seeds[rng.index(seeds.len())].clone()
            } else {
                (0..rng.index(64)).map(|_| rng.between(0, 255) as u8).collect()
            };
            for _ in 0..rng.between(0, 3) {
                if input.is_empty() {
                    break;
                }
                let at = rng.index(input.len());
                input[at] = rng.between(0, 255) as u8;
            }
            if let Ok(body) = decode(&input) {
                assert_eq!(decode(&encode(&body)).unwrap(), body);
            }
            let mut buf = BytesMut::from(&input[..]);
            let mut codec = FrameCodec::new(128);
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }
    }
}
