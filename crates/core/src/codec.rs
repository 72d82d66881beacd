//! The one Herald codec: postcard for the wire and for durable storage, JSON for people.
//!
//! Every driver marshals messages through these functions, so a message's size in the simulator is
//! its size on a real socket.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why bytes did not decode.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the value does.
    #[error("incomplete: the input ends inside a value")]
    Incomplete,
    /// The bytes are not a valid encoding of the expected type.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A value decoded but bytes were left over.
    #[error("invalid: {0} trailing bytes after the value")]
    Trailing(usize),
}

/// Marshals `value` to bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("serialising to a Vec cannot fail for Herald messages")
}

/// Marshals `value`, appending to `out` (no allocation when `out` has room).
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let taken = std::mem::take(out);
    *out = postcard::to_extend(value, taken).expect("serialising to a Vec cannot fail for Herald messages");
}

/// Marshals `value` into any byte sink, such as a small inline buffer.
pub fn encode_extend<T: Serialize + ?Sized, E: Extend<u8>>(value: &T, sink: E) -> E {
    postcard::to_extend(value, sink).expect("serialising to a growable buffer cannot fail for Herald messages")
}

/// Marshals `value` into `buf`, returning the used prefix, or `None` if it does not fit.
pub fn encode_to_slice<'b, T: Serialize + ?Sized>(value: &T, buf: &'b mut [u8]) -> Option<&'b mut [u8]> {
    postcard::to_slice(value, buf).ok()
}

/// Marshals `value` into 16 inline bytes, returning them and the length used, or `None` if it does
/// not fit. The bytes are gathered in registers and stored at once: cheaper than writing a slice
/// byte by byte (and copying varints with `memcpy`) for the small messages that make up most of a
/// simulation.
#[inline]
pub fn encode_small<T: Serialize + ?Sized>(value: &T) -> Option<([u8; 16], usize)> {
    encode_small_at::<0, T>(value)
}

/// [`encode_small`], compiled as a copy of its own for each `SITE`. LLVM inlines the marshaller
/// only where it has a single caller, and called out of line it hands the bytes back through
/// memory, in narrower stores than the caller's loads of them (a store-forwarding stall); a caller
/// with two hot call sites gives each its own `SITE` (the simulator: arrivals, and timers).
#[inline]
pub fn encode_small_at<const SITE: u8, T: Serialize + ?Sized>(value: &T) -> Option<([u8; 16], usize)> {
    postcard::serialize_with_flavor(value, Inline16::<SITE> { lo: 0, hi: 0, len: 0 }).ok()
}

/// A postcard sink of at most 16 bytes, kept in two words (`SITE`: see [`encode_small_at`]).
struct Inline16<const SITE: u8> {
    lo: u64,
    hi: u64,
    len: u32,
}

impl<const SITE: u8> postcard::ser_flavors::Flavor for Inline16<SITE> {
    type Output = ([u8; 16], usize);

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        match self.len {
            0..8 => self.lo |= u64::from(data) << (8 * self.len),
            8..16 => self.hi |= u64::from(data) << (8 * (self.len - 8)),
            _ => return Err(postcard::Error::SerializeBufferFull),
        }
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        data.iter().try_for_each(|&b| self.try_push(b))
    }

    #[inline]
    fn finalize(self) -> postcard::Result<Self::Output> {
        let bytes = (u128::from(self.hi) << 64 | u128::from(self.lo)).to_le_bytes();
        Ok((bytes, self.len as usize))
    }
}

/// Unmarshals exactly one value from `bytes`. Always inlined (the simulator decodes every
/// delivery), with the rare errors described out of line.
#[inline(always)]
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(DecodeError::Trailing(rest.len())),
        Err(e) => Err(decode_error(e)),
    }
}

#[cold]
#[inline(never)]
fn decode_error(e: postcard::Error) -> DecodeError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => DecodeError::Incomplete,
        e => DecodeError::Invalid(e.to_string()),
    }
}

/// A human-readable rendering of `value` (compact JSON).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_else(|e| serde_json::Value::String(format!("<unrenderable: {e}>")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Msg {
        Ping { seq: u64 },
        Text(String),
    }

    #[test]
    fn round_trip_and_errors() {
        let m = Msg::Ping { seq: 300 };
        let bytes = encode(&m);
        assert_eq!(bytes.len(), 3, "postcard varints keep small messages small");
        assert_eq!(decode::<Msg>(&bytes).unwrap(), m);
        let mut out = vec![9];
        encode_into(&Msg::Text("hi".into()), &mut out);
        assert_eq!(decode::<Msg>(&out[1..]).unwrap(), Msg::Text("hi".into()));
        assert_eq!(decode::<Msg>(&bytes[..1]), Err(DecodeError::Incomplete));
        let (buf, len) = encode_small(&m).expect("three bytes fit");
        assert_eq!(&buf[..len], &bytes[..]);
        assert!(buf[len..].iter().all(|&b| b == 0));
        let long = Msg::Text("sixteen bytes!!!".into());
        assert_eq!(encode(&long).len(), 18);
        assert_eq!(encode_small(&long), None, "18 bytes do not fit");
        let fits = Msg::Text("fourteen bytes".into());
        let (buf, len) = encode_small(&fits).expect("16 bytes fit");
        assert_eq!(&buf[..len], &encode(&fits)[..]);
        assert_eq!(encode_small_at::<1, _>(&fits), Some((buf, len)), "every site marshals alike");
        assert!(matches!(decode::<Msg>(&[7]), Err(DecodeError::Invalid(_))));
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(decode::<Msg>(&long), Err(DecodeError::Trailing(1)));
        assert_eq!(to_json(&m), serde_json::json!({"Ping": {"seq": 300}}));
    }
}
