//! Ed25519 signatures for SM(m): the keys of a simulated PKI, the signed chain, and the single and
//! batch verification helpers.
//!
//! **What a link signs** (spec §7.5 \[decision\]): link i of a chain signs
//! `enc(instance, seq, value, signers[..=i], sigs[..i])` — a domain tag, the instance and sequence
//! number (so a signature from one run, or one order of a repeated run, never verifies in another:
//! "never sign the same message twice"), the order, every signer up to and including itself, and
//! every earlier signature. A link therefore vouches for the whole chain before it, and a chain
//! cannot be reordered, truncated in the middle or spliced without breaking a signature.
//!
//! **Keys** come from a trusted setup derived from the run's seed through [`herald_core::Rng`]
//! (never OS randomness), so a run stays a pure function of its seed. Every general knows every
//! public key (assumption A4(b)); a loyal general holds only its own signing key, and the traitors
//! share the signing keys of all traitors and of nobody else.
//!
//! **Which verification the protocol uses.** Loyal lieutenants check each link on its own with
//! [`VerifyingKey::verify_strict`]. The batch check ([`verify_batch`], ed25519-dalek's
//! `verify_batch`) does *not* use OS randomness — it derives its random coefficients from a
//! Merlin transcript of all its inputs, so it is deterministic — but it is unsuitable for the
//! protocol for another reason: it checks the cofactorless equation on a random linear
//! combination, so for a signature whose `R` carries a small-order component (which a traitor can
//! make with its own key) the verdict depends on the coefficients, hence on which other
//! signatures share the batch, and it may accept what `verify_strict` rejects. Two loyal
//! lieutenants batching the same chain differently could then disagree on it, which is exactly
//! the split IC1 forbids. So the protocol verifies individually and strictly, a pure function of
//! (key, bytes, signature); the batch helpers are for the benchmark, and tests check that they
//! agree with individual verification on honest and tampered chains.

use crate::byzantine::Order;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use herald_core::{NodeId, Rng};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;

/// The RNG stream the keys are drawn from. The simulator uses streams `0..=n` of a seed (network,
/// then one per node), so this one never overlaps them.
pub const KEY_STREAM: u64 = 0x534d_5f4b_4559_5300; // "SM_KEYS\0"

/// The domain tag that opens every signed byte string, so an SM signature can never be mistaken
/// for a signature over anything else.
const DOMAIN: &[u8] = b"herald/sm/v1\0";

/// An Ed25519 signature on the wire: 64 bytes behind a one-byte length in the binary codec (one
/// copy, not 64 element calls), lowercase hex in JSON traces.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sig(pub [u8; 64]);

/// One link of a chain: a signer and its signature over the chain up to itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// Who signed.
    pub signer: NodeId,
    /// The signature.
    pub sig: Sig,
}

/// An order followed by a chain of signatures, `v:0:j₁:…:j_k` in the paper's notation: the
/// message of SM(m). `chain[0]` should be the commander's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedOrder {
    /// The run this order belongs to.
    pub instance: u64,
    /// The commander's sequence number within the run (one per order it issues).
    pub seq: u64,
    /// The order.
    pub value: Order,
    /// The signatures, commander first.
    pub chain: Vec<Link>,
}

impl SignedOrder {
    /// The commander's signed order `v:0`, signed with `key` as general `signer`.
    pub fn issue(instance: u64, seq: u64, value: Order, signer: NodeId, key: &PrivateKey) -> Self {
        Self { instance, seq, value, chain: Vec::new() }.extend(signer, key)
    }

    /// This chain with one more link: `signer` signs it with `key`.
    pub fn extend(&self, signer: NodeId, key: &PrivateKey) -> Self {
        let mut next = self.clone();
        next.chain.push(Link { signer, sig: Sig([0; 64]) });
        let last = next.chain.len() - 1;
        next.chain[last].sig = key.sign(&next.signing_bytes(last));
        next
    }

    /// The signers, commander first.
    pub fn signers(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.chain.iter().map(|l| l.signer)
    }

    /// Whether `id` signed somewhere in the chain.
    pub fn signed_by(&self, id: NodeId) -> bool {
        self.signers().any(|s| s == id)
    }

    /// The first `len` links as a chain of their own (each link only covers what precedes it, so a
    /// prefix of a valid chain is valid).
    pub fn prefix(&self, len: usize) -> Self {
        Self { instance: self.instance, seq: self.seq, value: self.value, chain: self.chain[..len].to_vec() }
    }

    /// The bytes link `index` signs: `enc(instance, seq, value, signers[..=index], sigs[..index])`.
    pub fn signing_bytes(&self, index: usize) -> Vec<u8> {
        assert!(index < self.chain.len(), "link {index} of a {}-link chain", self.chain.len());
        let mut out = Vec::with_capacity(DOMAIN.len() + 21 + 4 * (index + 1) + 64 * index);
        out.extend_from_slice(DOMAIN);
        out.extend_from_slice(&self.instance.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.push(match self.value {
            Order::Attack => 0,
            Order::Retreat => 1,
        });
        out.extend_from_slice(&(index as u32 + 1).to_le_bytes());
        for link in &self.chain[..=index] {
            out.extend_from_slice(&link.signer.0.to_le_bytes());
        }
        for link in &self.chain[..index] {
            out.extend_from_slice(&link.sig.0);
        }
        out
    }

    /// Checks every link individually with strict verification, commander first, stopping at the
    /// first failure. `verified` counts the signature checks made (a failed one included).
    pub fn verify(&self, keys: &PublicKeys, verified: &mut u64) -> Result<(), ChainError> {
        for (index, link) in self.chain.iter().enumerate() {
            *verified += 1;
            match keys.check(link.signer, &self.signing_bytes(index), &link.sig) {
                Some(true) => {}
                Some(false) => return Err(ChainError::BadSignature { index }),
                None => return Err(ChainError::UnknownSigner { index }),
            }
        }
        Ok(())
    }

    /// Checks every link in one batch (ed25519-dalek's `verify_batch`): `true` iff the batch
    /// equation holds. For benchmarks; the protocol uses [`SignedOrder::verify`] (see the module
    /// documentation for why).
    pub fn verify_batch(&self, keys: &PublicKeys) -> bool {
        let bytes: Vec<Vec<u8>> = (0..self.chain.len()).map(|i| self.signing_bytes(i)).collect();
        let mut items = Vec::with_capacity(self.chain.len());
        for (link, bytes) in self.chain.iter().zip(&bytes) {
            let Some(key) = keys.get(link.signer) else { return false };
            items.push((key, bytes.as_slice(), link.sig));
        }
        verify_batch(&items)
    }
}

/// Why a chain's signatures do not check out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainError {
    /// Link `index` names a general that does not exist.
    UnknownSigner {
        /// The link.
        index: usize,
    },
    /// Link `index`'s signature does not verify under its signer's key.
    BadSignature {
        /// The link.
        index: usize,
    },
}

/// Signs `bytes` with `key`.
pub fn sign(key: &SigningKey, bytes: &[u8]) -> Sig {
    Sig(key.sign(bytes).to_bytes())
}

/// Strict single verification of `sig` over `bytes` under `key` (ed25519-dalek's
/// `verify_strict`: rejects small-order `R` and keys, and non-canonical scalars).
pub fn verify(key: &VerifyingKey, bytes: &[u8], sig: &Sig) -> bool {
    key.verify_strict(bytes, &Signature::from_bytes(&sig.0)).is_ok()
}

/// Batch verification of `(key, bytes, signature)` triples: `true` iff ed25519-dalek's
/// `verify_batch` accepts them all. Deterministic (no OS randomness), but not the protocol's
/// check: see the module documentation.
pub fn verify_batch(items: &[(&VerifyingKey, &[u8], Sig)]) -> bool {
    let messages: Vec<&[u8]> = items.iter().map(|(_, m, _)| *m).collect();
    let signatures: Vec<Signature> = items.iter().map(|(_, _, s)| Signature::from_bytes(&s.0)).collect();
    let keys: Vec<VerifyingKey> = items.iter().map(|(k, _, _)| **k).collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// Every general's public key, indexed by id: what anyone can verify with (A4(b)).
#[derive(Clone, Debug)]
pub struct PublicKeys {
    keys: Arc<[VerifyingKey]>,
    memo: Option<Arc<Memo>>,
}

impl PublicKeys {
    /// General `id`'s key, if `id` is a general.
    pub fn get(&self, id: NodeId) -> Option<&VerifyingKey> {
        self.keys.get(id.index())
    }

    /// Strict verification of `sig` over `bytes` as general `id`'s; `None` if `id` is no general.
    pub fn check(&self, id: NodeId, bytes: &[u8], sig: &Sig) -> Option<bool> {
        let key = self.get(id)?;
        Some(match &self.memo {
            None => verify(key, bytes, sig),
            Some(memo) => memo.verify(key, bytes, sig),
        })
    }

    /// The number of generals.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no generals.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl PartialEq for PublicKeys {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys
    }
}

impl Eq for PublicKeys {}

/// One general's signing key.
#[derive(Clone, Debug)]
pub struct PrivateKey {
    key: SigningKey,
    memo: Option<Arc<Memo>>,
}

impl PrivateKey {
    /// Signs `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> Sig {
        match &self.memo {
            None => sign(&self.key, bytes),
            Some(memo) => memo.sign(&self.key, bytes),
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
}

/// The simulated PKI of one run: every general's key pair, derived from a seed.
#[derive(Clone, Debug)]
pub struct Keys {
    private: Vec<PrivateKey>,
    public: PublicKeys,
}

impl Keys {
    /// Key pairs for `generals` generals, drawn from stream [`KEY_STREAM`] of `seed`.
    pub fn derive(seed: u64, generals: usize) -> Self {
        let mut rng = Rng::derive(seed, KEY_STREAM);
        let private: Vec<PrivateKey> = (0..generals)
            .map(|_| {
                let mut secret = [0u8; 32];
                for word in secret.chunks_mut(8) {
                    word.copy_from_slice(&rng.between(0, u64::MAX).to_le_bytes());
                }
                PrivateKey { key: SigningKey::from_bytes(&secret), memo: None }
            })
            .collect();
        let public = PublicKeys { keys: private.iter().map(PrivateKey::verifying_key).collect(), memo: None };
        Self { private, public }
    }

    /// The same keys with one shared memo of the signatures they make and check. Ed25519 signing
    /// is deterministic and verification is a pure function, so the memo returns exactly what
    /// recomputing would — results never change, only time. It pays off in sweeps that reuse one
    /// PKI and one instance across thousands of runs, where the same few hundred chains recur.
    pub fn memoized(mut self) -> Self {
        let memo = Arc::new(Memo::default());
        for key in &mut self.private {
            key.memo = Some(memo.clone());
        }
        self.public.memo = Some(memo);
        self
    }

    /// The public keys.
    pub fn public(&self) -> &PublicKeys {
        &self.public
    }

    /// General `id`'s signing key: hand it to general `id` only.
    pub fn signing(&self, id: NodeId) -> &PrivateKey {
        &self.private[id.index()]
    }

    /// The signing keys the traitors share: theirs, and nobody else's.
    pub fn of_traitors(&self, traitors: &BTreeSet<NodeId>) -> TraitorKeys {
        TraitorKeys(traitors.iter().map(|&t| (t, self.signing(t).clone())).collect())
    }
}

/// The signing keys of the traitors (collusion: any traitor may sign as any other).
#[derive(Clone, Debug, Default)]
pub struct TraitorKeys(BTreeMap<NodeId, PrivateKey>);

impl TraitorKeys {
    /// Traitor `id`'s key; `None` for a loyal general, whose signature cannot be forged (A4(a)).
    pub fn get(&self, id: NodeId) -> Option<&PrivateKey> {
        self.0.get(&id)
    }

    /// Some traitor's key (to produce a signature that will not verify as a loyal general's).
    pub fn any(&self) -> Option<(NodeId, &PrivateKey)> {
        self.0.iter().next().map(|(id, k)| (*id, k))
    }
}

/// Most entries one memo table keeps; past it, results are computed and not stored.
const MEMO_ENTRIES_MAX: usize = 1 << 16;

/// Signatures made and checked, keyed by everything they depend on: the key itself (its public
/// half, never the signer a chain *claims*), the bytes, and for checks the signature.
#[derive(Debug, Default)]
struct Memo {
    signed: Mutex<BTreeMap<SignedKey, Sig>>,
    checked: Mutex<BTreeMap<CheckedKey, bool>>,
}

/// (public key, bytes) of a signature made.
type SignedKey = ([u8; 32], Vec<u8>);
/// (public key, signature, bytes) of a signature checked.
type CheckedKey = ([u8; 32], Sig, Vec<u8>);

impl Memo {
    fn sign(&self, key: &SigningKey, bytes: &[u8]) -> Sig {
        let id = (key.verifying_key().to_bytes(), bytes.to_vec());
        let mut signed = self.signed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sig) = signed.get(&id) {
            return *sig;
        }
        let sig = sign(key, bytes);
        if signed.len() < MEMO_ENTRIES_MAX {
            signed.insert(id, sig);
        }
        sig
    }

    fn verify(&self, key: &VerifyingKey, bytes: &[u8], sig: &Sig) -> bool {
        let id = (key.to_bytes(), *sig, bytes.to_vec());
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ok) = checked.get(&id) {
            return *ok;
        }
        let ok = verify(key, bytes, sig);
        if checked.len() < MEMO_ENTRIES_MAX {
            checked.insert(id, ok);
        }
        ok
    }
}

impl fmt::Debug for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sig({}…)", hex(&self.0[..6]))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Serialize for Sig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&hex(&self.0)) } else { s.serialize_bytes(&self.0) }
    }
}

impl<'de> Deserialize<'de> for Sig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            let bytes: Option<Vec<u8>> = (0..text.len())
                .step_by(2)
                .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .collect();
            match bytes.map(<[u8; 64]>::try_from) {
                Some(Ok(b)) => Ok(Self(b)),
                _ => Err(de::Error::custom("a signature is 128 hex digits")),
            }
        } else {
            d.deserialize_bytes(SigVisitor)
        }
    }
}

struct SigVisitor;

impl<'de> Visitor<'de> for SigVisitor {
    type Value = Sig;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("64 signature bytes")
    }
    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Sig, E> {
        <[u8; 64]>::try_from(bytes).map(Sig).map_err(|_| E::invalid_length(bytes.len(), &self))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sig, A::Error> {
        let mut out = [0u8; 64];
        for (i, b) in out.iter_mut().enumerate() {
            *b = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        Ok(Sig(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::codec;

    fn chain(keys: &Keys, value: Order, signers: &[u32]) -> SignedOrder {
        let mut c = SignedOrder::issue(7, 0, value, NodeId(signers[0]), keys.signing(NodeId(signers[0])));
        for &s in &signers[1..] {
            c = c.extend(NodeId(s), keys.signing(NodeId(s)));
        }
        c
    }

    #[test]
    fn keys_are_a_pure_function_of_the_seed() {
        let (a, b, c) = (Keys::derive(1, 4), Keys::derive(1, 4), Keys::derive(2, 4));
        assert_eq!(a.public(), b.public());
        assert_ne!(a.public(), c.public());
        assert_ne!(a.public().get(NodeId(0)), a.public().get(NodeId(1)));
    }

    #[test]
    fn a_chain_verifies_and_any_change_breaks_it() {
        let keys = Keys::derive(3, 4);
        let good = chain(&keys, Order::Attack, &[0, 2, 1]);
        let mut n = 0;
        assert_eq!(good.verify(keys.public(), &mut n), Ok(()));
        assert_eq!(n, 3);
        assert!(good.verify_batch(keys.public()));

        let mut flipped = good.clone();
        flipped.value = Order::Retreat;
        assert_eq!(flipped.verify(keys.public(), &mut 0), Err(ChainError::BadSignature { index: 0 }));
        assert!(!flipped.verify_batch(keys.public()));

        let mut other_run = good.clone();
        other_run.instance = 8;
        assert_eq!(other_run.verify(keys.public(), &mut 0), Err(ChainError::BadSignature { index: 0 }));

        let mut swapped = good.clone();
        swapped.chain.swap(1, 2);
        assert!(swapped.verify(keys.public(), &mut 0).is_err());
        assert!(!swapped.verify_batch(keys.public()));

        let mut bit = good.clone();
        bit.chain[2].sig.0[5] ^= 0x10;
        assert_eq!(bit.verify(keys.public(), &mut 0), Err(ChainError::BadSignature { index: 2 }));
        assert!(!bit.verify_batch(keys.public()));

        let mut stranger = good.clone();
        stranger.chain[1].signer = NodeId(9);
        assert_eq!(stranger.verify(keys.public(), &mut 0), Err(ChainError::UnknownSigner { index: 1 }));
        assert!(good.prefix(2).verify(keys.public(), &mut 0).is_ok(), "a prefix of a valid chain is valid");
    }

    #[test]
    fn the_memo_changes_time_not_results() {
        let (plain, memo) = (Keys::derive(5, 3), Keys::derive(5, 3).memoized());
        for _ in 0..2 {
            let a = chain(&plain, Order::Attack, &[0, 1, 2]);
            let b = chain(&memo, Order::Attack, &[0, 1, 2]);
            assert_eq!(a, b, "same signatures");
            assert_eq!(b.verify(memo.public(), &mut 0), Ok(()));
            let mut bad = b.clone();
            bad.chain[1].sig.0[0] ^= 1;
            assert_eq!(bad.verify(memo.public(), &mut 0), Err(ChainError::BadSignature { index: 1 }));
            // A traitor's key claiming to be general 0 gets its own signature, never 0's.
            let claimed = SignedOrder { instance: 7, seq: 0, value: Order::Attack, chain: Vec::new() }
                .extend(NodeId(0), memo.signing(NodeId(2)));
            assert_ne!(claimed.chain[0].sig, b.chain[0].sig);
            assert!(claimed.verify(memo.public(), &mut 0).is_err());
        }
    }

    #[test]
    fn signatures_are_64_bytes_on_the_wire_and_hex_in_json() {
        let keys = Keys::derive(0, 2);
        let c = chain(&keys, Order::Retreat, &[0, 1]);
        let bytes = codec::encode(&c);
        assert_eq!(codec::decode::<SignedOrder>(&bytes).unwrap(), c);
        // instance, seq, value, length, then two (signer, length-prefixed 64-byte signature) links.
        assert_eq!(bytes.len(), 1 + 1 + 1 + 1 + 2 * (1 + 1 + 64));
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(&hex(&c.chain[0].sig.0)), "{json}");
        assert_eq!(serde_json::from_str::<SignedOrder>(&json).unwrap(), c);
    }
}
