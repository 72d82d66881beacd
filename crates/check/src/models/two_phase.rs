//! Lamport's `TwoPhase` specification of two-phase commit (Gray & Lamport, *Consensus on
//! Transaction Commit*, 2006), as a plain [`Model`], action for action.
//!
//! Variables: `rmState[rm] ∈ {working, prepared, committed, aborted}`, `tmState ∈ {init, committed,
//! aborted}`, `tmPrepared ⊆ RM`, and `msgs`, the set of messages ever sent (`Prepared(rm)`,
//! `Commit`, `Abort`; messages are never removed, so receipt may repeat). Actions: `TMRcvPrepared`,
//! `TMCommit`, `TMAbort`, `RMPrepare`, `RMChooseToAbort`, `RMRcvCommitMsg`, `RMRcvAbortMsg`, each
//! enabled exactly when its TLA+ guard holds (so some are stuttering steps, as in TLC's counts).
//! Invariant: `TCConsistent` — no RM has committed while another has aborted.
//!
//! The state packs into one `u64` (4 bits per RM plus 4), for up to [`RMS_MAX`] RMs; its
//! fingerprint is a bijection of that word, so the visited set has no collisions. RMs are
//! interchangeable: [`Model::representative`] sorts them.

use crate::fingerprint::mix64;
use crate::model::{Model, Property};
use serde_json::{Value, json};

/// The most resource managers a packed state holds.
pub const RMS_MAX: usize = 15;

/// An RM's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RmState {
    /// Working on the transaction.
    Working,
    /// Prepared to commit.
    Prepared,
    /// Committed.
    Committed,
    /// Aborted.
    Aborted,
}

impl RmState {
    fn from_bits(b: u64) -> Self {
        match b & 3 {
            0 => Self::Working,
            1 => Self::Prepared,
            2 => Self::Committed,
            _ => Self::Aborted,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::Prepared => "prepared",
            Self::Committed => "committed",
            Self::Aborted => "aborted",
        }
    }
}

/// The transaction manager's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TmState {
    /// Collecting `Prepared` messages.
    Init,
    /// Decided to commit.
    Committed,
    /// Decided to abort.
    Aborted,
}

/// A packed TwoPhase state: bits `2rm..2rm+2` rmState, `2n..2n+2` tmState, then `n` bits of
/// tmPrepared, `n` bits of `Prepared(rm)` messages, one bit `Commit`, one bit `Abort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct State(pub u64);

/// A TwoPhase action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// The TM receives `Prepared(rm)`.
    TmRcvPrepared(u8),
    /// The TM commits (every RM prepared).
    TmCommit,
    /// The TM aborts.
    TmAbort,
    /// `rm` prepares and says so.
    RmPrepare(u8),
    /// `rm` aborts on its own.
    RmChooseToAbort(u8),
    /// `rm` receives `Commit`.
    RmRcvCommitMsg(u8),
    /// `rm` receives `Abort`.
    RmRcvAbortMsg(u8),
}

/// TwoPhase with `rms` resource managers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwoPhase {
    rms: usize,
    liveness: bool,
}

/// The configuration is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rms: must be between 1 and {RMS_MAX}, got {0}")]
pub struct RmsError(pub usize);

impl TwoPhase {
    /// TwoPhase with `rms` RMs (1 ..= [`RMS_MAX`]). With `liveness`, it also checks that every RM
    /// eventually commits or aborts under weak fairness of every action.
    pub fn new(rms: usize, liveness: bool) -> Result<Self, RmsError> {
        if rms == 0 || rms > RMS_MAX {
            return Err(RmsError(rms));
        }
        Ok(Self { rms, liveness })
    }

    /// The number of RMs.
    pub fn rms(&self) -> usize {
        self.rms
    }

    /// `rm`'s state.
    #[inline]
    pub fn rm_state(&self, s: State, rm: usize) -> RmState {
        RmState::from_bits(s.0 >> (2 * rm))
    }

    /// The TM's state.
    #[inline]
    pub fn tm_state(&self, s: State) -> TmState {
        match (s.0 >> (2 * self.rms)) & 3 {
            0 => TmState::Init,
            1 => TmState::Committed,
            _ => TmState::Aborted,
        }
    }

    #[inline]
    fn tm_prepared_bit(&self, rm: usize) -> u64 {
        1 << (2 * self.rms + 2 + rm)
    }
    #[inline]
    fn prepared_msg_bit(&self, rm: usize) -> u64 {
        1 << (3 * self.rms + 2 + rm)
    }
    #[inline]
    fn commit_bit(&self) -> u64 {
        1 << (4 * self.rms + 2)
    }
    #[inline]
    fn abort_bit(&self) -> u64 {
        1 << (4 * self.rms + 3)
    }
    #[inline]
    fn all_tm_prepared(&self) -> u64 {
        ((1u64 << self.rms) - 1) << (2 * self.rms + 2)
    }
    #[inline]
    fn with_rm(&self, s: State, rm: usize, v: RmState) -> State {
        State((s.0 & !(3 << (2 * rm))) | ((v as u64) << (2 * rm)))
    }
    #[inline]
    fn with_tm(&self, s: State, v: TmState) -> State {
        State((s.0 & !(3 << (2 * self.rms))) | ((v as u64) << (2 * self.rms)))
    }
}

impl Model for TwoPhase {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![State(0)]
    }

    #[inline]
    fn actions(&self, s: &State, out: &mut Vec<Action>) {
        let s = *s;
        let tm_init = self.tm_state(s) == TmState::Init;
        if tm_init && s.0 & self.all_tm_prepared() == self.all_tm_prepared() {
            out.push(Action::TmCommit);
        }
        if tm_init {
            out.push(Action::TmAbort);
        }
        let commit = s.0 & self.commit_bit() != 0;
        let abort = s.0 & self.abort_bit() != 0;
        for rm in 0..self.rms {
            let r = rm as u8;
            if tm_init && s.0 & self.prepared_msg_bit(rm) != 0 {
                out.push(Action::TmRcvPrepared(r));
            }
            if self.rm_state(s, rm) == RmState::Working {
                out.push(Action::RmPrepare(r));
                out.push(Action::RmChooseToAbort(r));
            }
            if commit {
                out.push(Action::RmRcvCommitMsg(r));
            }
            if abort {
                out.push(Action::RmRcvAbortMsg(r));
            }
        }
    }

    #[inline]
    fn next_state(&self, s: &State, a: &Action) -> Option<State> {
        let s = *s;
        Some(match *a {
            Action::TmRcvPrepared(rm) => State(s.0 | self.tm_prepared_bit(rm as usize)),
            Action::TmCommit => State(self.with_tm(s, TmState::Committed).0 | self.commit_bit()),
            Action::TmAbort => State(self.with_tm(s, TmState::Aborted).0 | self.abort_bit()),
            Action::RmPrepare(rm) => {
                State(self.with_rm(s, rm as usize, RmState::Prepared).0 | self.prepared_msg_bit(rm as usize))
            }
            Action::RmChooseToAbort(rm) => self.with_rm(s, rm as usize, RmState::Aborted),
            Action::RmRcvCommitMsg(rm) => self.with_rm(s, rm as usize, RmState::Committed),
            Action::RmRcvAbortMsg(rm) => self.with_rm(s, rm as usize, RmState::Aborted),
        })
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut p = vec![
            Property::always("consistent", |m: &Self, s| {
                let any = |v| (0..m.rms).any(|rm| m.rm_state(*s, rm) == v);
                !(any(RmState::Committed) && any(RmState::Aborted))
            }),
            Property::sometimes("abort agreement", |m: &Self, s| {
                (0..m.rms).all(|rm| m.rm_state(*s, rm) == RmState::Aborted)
            }),
            Property::sometimes("commit agreement", |m: &Self, s| {
                (0..m.rms).all(|rm| m.rm_state(*s, rm) == RmState::Committed)
            }),
        ];
        if self.liveness {
            p.push(Property::eventually("all decide", |m: &Self, s| {
                (0..m.rms).all(|rm| matches!(m.rm_state(*s, rm), RmState::Committed | RmState::Aborted))
            }));
        }
        p
    }

    #[inline]
    fn fingerprint(&self, s: &State) -> u64 {
        mix64(s.0)
    }

    fn has_symmetry(&self) -> bool {
        true
    }

    fn representative(&self, s: &State) -> State {
        // Each RM's slice: (rmState, tmPrepared bit, Prepared message bit), sorted.
        let mut slices: Vec<u64> = (0..self.rms)
            .map(|rm| {
                (self.rm_state(*s, rm) as u64)
                    | u64::from(s.0 & self.tm_prepared_bit(rm) != 0) << 2
                    | u64::from(s.0 & self.prepared_msg_bit(rm) != 0) << 3
            })
            .collect();
        slices.sort_unstable();
        let keep = s.0 & ((3 << (2 * self.rms)) | self.commit_bit() | self.abort_bit());
        let mut out = keep;
        for (rm, v) in slices.into_iter().enumerate() {
            out |= (v & 3) << (2 * rm);
            if v & 4 != 0 {
                out |= self.tm_prepared_bit(rm);
            }
            if v & 8 != 0 {
                out |= self.prepared_msg_bit(rm);
            }
        }
        State(out)
    }

    fn describe_state(&self, s: &State) -> Value {
        let tm = match self.tm_state(*s) {
            TmState::Init => "init",
            TmState::Committed => "committed",
            TmState::Aborted => "aborted",
        };
        let mut msgs: Vec<Value> = (0..self.rms)
            .filter(|&rm| s.0 & self.prepared_msg_bit(rm) != 0)
            .map(|rm| json!({"prepared": rm}))
            .collect();
        if s.0 & self.commit_bit() != 0 {
            msgs.push(json!("commit"));
        }
        if s.0 & self.abort_bit() != 0 {
            msgs.push(json!("abort"));
        }
        json!({
            "rm_state": (0..self.rms).map(|rm| self.rm_state(*s, rm).name()).collect::<Vec<_>>(),
            "tm_state": tm,
            "tm_prepared": (0..self.rms).filter(|&rm| s.0 & self.tm_prepared_bit(rm) != 0).collect::<Vec<_>>(),
            "msgs": msgs,
        })
    }
}
