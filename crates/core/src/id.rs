use serde::{Deserialize, Serialize};
use std::fmt;

/// The identity of a node in a cluster: a dense index `0..n`.
///
/// Dense indices let drivers keep per-node state in vectors instead of maps, which keeps iteration
/// order deterministic and lookups cheap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as a vector index.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// `n` ids, `0..n`.
    pub fn range(n: usize) -> impl Iterator<Item = Self> + Clone {
        (0..n as u32).map(NodeId)
    }
}

impl From<usize> for NodeId {
    fn from(index: usize) -> Self {
        Self(u32::try_from(index).expect("node index fits in u32"))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}
