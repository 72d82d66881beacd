//! The in-memory trace: compact records the engine appends on its hot path, converted to the
//! versioned [`herald_core::trace`] schema only when written out.

use herald_core::NodeId;
use herald_core::trace::DropReason;
use smallvec::SmallVec;

/// A marshalled message. Small messages live inline, so the common case allocates nothing.
pub type Payload = SmallVec<[u8; 16]>;

/// One thing that happened, at global virtual time `t` (ns).
#[derive(Clone, Debug)]
pub struct Record<T> {
    /// Global virtual time, ns.
    pub t: u64,
    /// What happened.
    pub kind: RecordKind<T>,
}

/// What happened. Message ids are per transmission (see [`herald_core::trace`]). Rare variants box
/// their bytes so that the common ones (send, deliver) keep a record small.
#[allow(missing_docs)] // the fields are named for what they hold
#[derive(Clone, Debug)]
pub enum RecordKind<T> {
    /// `on_start` ran.
    Start { node: NodeId },
    /// A node sent a message.
    Send { from: NodeId, to: NodeId, msg: u64, bytes: Payload },
    /// A message reached `on_message`.
    Deliver { from: NodeId, to: NodeId, msg: u64, sent_at: u64 },
    /// A transmission was lost.
    Drop { from: NodeId, to: NodeId, msg: u64, reason: DropReason },
    /// The network made an extra copy.
    Duplicate { from: NodeId, to: NodeId, msg: u64 },
    /// The adversary changed the bytes.
    Modify { from: NodeId, to: NodeId, msg: u64, bytes: Box<[u8]> },
    /// The adversary injected a transmission claiming `from`.
    Inject { from: NodeId, to: NodeId, msg: u64, bytes: Box<[u8]> },
    /// The adversary replayed transmission `of` as `msg`.
    Replay { from: NodeId, to: NodeId, msg: u64, of: u64 },
    /// A timer was set for local time `at`.
    TimerSet { node: NodeId, timer: T, at: u64 },
    /// A timer fired.
    TimerFire { node: NodeId, timer: T },
    /// A timer was cancelled.
    TimerCancel { node: NodeId, timer: T },
    /// A node crashed.
    Crash { node: NodeId, recovers: bool },
    /// A node restarted with durable storage of `keys` keys and this digest.
    Recover { node: NodeId, keys: u32, digest: u64 },
    /// A node paused until `until`.
    Pause { node: NodeId, until: u64 },
    /// A node persisted `bytes` under `key`.
    Persist { node: NodeId, key: Box<str>, bytes: Box<[u8]> },
    /// A node output observation number `index` of the run.
    Output { node: NodeId, index: u32 },
    /// Partition `id` started.
    PartitionStart { id: u32 },
    /// Partition `id` ended.
    PartitionEnd { id: u32 },
    /// The liveness phase began: every fault healed.
    Heal,
}
