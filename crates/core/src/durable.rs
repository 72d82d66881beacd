use crate::codec::{self, DecodeError};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// A node's durable storage as it was when the node crashed: the only state that survives a crash
/// under the crash-recovery model. Nodes write it with `ctx.persist`; drivers apply the writes (the
/// runtime with fsync and an atomic rename) and hand the result to `on_recover`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Durable {
    entries: BTreeMap<String, Vec<u8>>,
}

impl Durable {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes stored under `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Decodes the value stored under `key`; `Ok(None)` if there is none.
    pub fn get_value<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DecodeError> {
        self.get(key).map(codec::decode).transpose()
    }

    /// For drivers: applies one `Persist` effect.
    pub fn put(&mut self, key: String, bytes: Vec<u8>) {
        self.entries.insert(key, bytes);
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was ever persisted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A stable 64-bit digest of the whole store (FNV-1a over keys and values), used by traces to
    /// show what a recovering node was handed.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv::default();
        for (k, v) in &self.entries {
            h.write(&(k.len() as u64).to_le_bytes());
            h.write(k.as_bytes());
            h.write(&(v.len() as u64).to_le_bytes());
            h.write(v);
        }
        h.0
    }
}

struct Fnv(u64);
impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}
impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_digest_tracks_content() {
        let mut d = Durable::new();
        let empty = d.digest();
        d.put("term".into(), codec::encode(&7u64));
        assert_eq!(d.get_value::<u64>("term").unwrap(), Some(7));
        assert_eq!(d.get_value::<u64>("vote").unwrap(), None);
        assert_ne!(d.digest(), empty);
        let mut e = Durable::new();
        e.put("term".into(), codec::encode(&7u64));
        assert_eq!(d.digest(), e.digest());
    }
}
