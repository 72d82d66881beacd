//! The lecture's "likes" services [K L3240–3445]: a non-idempotent counter, and the idempotent set
//! of likers, which is either a plain set or a last-writer-wins register per user with tombstones.

use super::{ServerError, Service, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The likes counter's starting value [K L3240].
pub const LIKES_START: u64 = 12_300;

/// The "likes" workload's service: a counter with a non-idempotent `Increment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Likes {
    /// The count.
    pub count: u64,
}

impl Default for Likes {
    fn default() -> Self {
        Self { count: LIKES_START }
    }
}

/// [`Likes`] methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LikesRequest {
    /// `count += 1` (not idempotent).
    Increment,
    /// Read the count.
    Get,
}

/// [`Likes`] results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LikesResponse {
    /// The count after the call.
    Count(u64),
}

impl Service for Likes {
    type Request = LikesRequest;
    type Response = LikesResponse;
    fn handle(&mut self, req: &LikesRequest) -> Result<LikesResponse, ServerError> {
        if *req == LikesRequest::Increment {
            self.count += 1;
        }
        Ok(LikesResponse::Count(self.count))
    }
}

/// One user's like: present, or (last-writer-wins only) a tombstone, with the timestamp of the
/// write that made it so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Like {
    /// The write's timestamp.
    pub t: Timestamp,
    /// Liked (`false` is a tombstone).
    pub present: bool,
}

/// The idempotent alternative to [`Likes`]: the set of likers, the count derived as the number of
/// present likes.
///
/// - A **plain** set ([`LikeSet::default`]): add inserts, remove deletes. Idempotent, yet a retried
///   add that arrives after another client's remove brings the like back (R4's bug).
/// - **Last-writer-wins with tombstones** ([`LikeSet::lww`]): each user's record keeps the timestamp
///   of its latest write; a remove writes a tombstone `(t, false)`; a write older than the record
///   is ignored. A retry carries its original timestamp, so it cannot undo a later remove.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LikeSet {
    /// Each user's like (plain sets hold only present ones).
    pub likers: BTreeMap<u64, Like>,
    /// Last-writer-wins with tombstones, rather than a plain set.
    pub lww: bool,
}

impl Default for LikeSet {
    fn default() -> Self {
        let like = Like { t: Timestamp::default(), present: true };
        Self { likers: (0..LIKES_START).map(|u| (u, like)).collect(), lww: false }
    }
}

impl LikeSet {
    /// The last-writer-wins set with tombstones, starting with the same likers.
    pub fn lww() -> Self {
        Self { lww: true, ..Self::default() }
    }

    /// Present likes.
    pub fn count(&self) -> u64 {
        self.likers.values().filter(|l| l.present).count() as u64
    }

    /// Whether `user` likes the post.
    pub fn likes(&self, user: u64) -> bool {
        self.likers.get(&user).is_some_and(|l| l.present)
    }

    fn write(&mut self, user: u64, t: Timestamp, present: bool) {
        if self.lww {
            // Keep the newest write per user; a tombstone is a write like any other.
            if self.likers.get(&user).is_none_or(|old| old.t < t) {
                self.likers.insert(user, Like { t, present });
            }
        } else if present {
            self.likers.insert(user, Like { t, present });
        } else {
            self.likers.remove(&user);
        }
    }
}

/// [`LikeSet`] methods. The timestamps are filled in by the client when it issues the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LikeSetRequest {
    /// `likers ∪= {user}` (idempotent).
    Add {
        /// The user.
        user: u64,
        /// The write's timestamp.
        t: Timestamp,
    },
    /// `likers −= {user}` (idempotent).
    Remove {
        /// The user.
        user: u64,
        /// The write's timestamp.
        t: Timestamp,
    },
    /// Read `user`'s like.
    Get {
        /// The user.
        user: u64,
    },
}

impl LikeSetRequest {
    /// Adds `user`'s like (stamped when issued).
    pub fn add(user: u64) -> Self {
        Self::Add { user, t: Timestamp::default() }
    }
    /// Removes `user`'s like (stamped when issued).
    pub fn remove(user: u64) -> Self {
        Self::Remove { user, t: Timestamp::default() }
    }
}

/// [`LikeSet`] results: the user's like after the call, and the count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LikeSetResponse {
    /// The user asked about.
    pub user: u64,
    /// Whether they like it now.
    pub present: bool,
    /// The timestamp of the record's latest write (if there is a record).
    pub t: Option<Timestamp>,
    /// Present likes in all.
    pub count: u64,
}

impl Service for LikeSet {
    type Request = LikeSetRequest;
    type Response = LikeSetResponse;
    // Add and remove set a user's record to a value; get reads. With timestamps, a write applies
    // iff it is newer, which is idempotent too.
    const IDEMPOTENT: bool = true;

    fn handle(&mut self, req: &LikeSetRequest) -> Result<LikeSetResponse, ServerError> {
        let user = match *req {
            LikeSetRequest::Add { user, t } => {
                self.write(user, t, true);
                user
            }
            LikeSetRequest::Remove { user, t } => {
                self.write(user, t, false);
                user
            }
            LikeSetRequest::Get { user } => user,
        };
        let record = self.likers.get(&user);
        Ok(LikeSetResponse {
            user,
            present: record.is_some_and(|l| l.present),
            t: record.map(|l| l.t),
            count: self.count(),
        })
    }

    fn stamp(req: &mut LikeSetRequest, at: Timestamp) {
        if let LikeSetRequest::Add { t, .. } | LikeSetRequest::Remove { t, .. } = req {
            *t = at;
        }
    }

    fn observed(resp: &LikeSetResponse) -> Option<Timestamp> {
        resp.t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::NodeId;

    fn at(counter: u64, node: u32) -> Timestamp {
        Timestamp { counter, node: NodeId(node) }
    }

    #[test]
    fn like_set_is_idempotent() {
        let mut s = LikeSet::default();
        let add = LikeSetRequest::add(99_999);
        s.handle(&add).unwrap();
        assert_eq!(s.handle(&add).unwrap().count, 12_301);
    }

    /// f = add (t1), g = remove (t2 > t1), then f retried with its original t1.
    fn race(mut s: LikeSet) -> bool {
        let f = LikeSetRequest::Add { user: 7_777, t: at(1, 0) };
        let g = LikeSetRequest::Remove { user: 7_777, t: at(2, 2) };
        for req in [f, g, f] {
            s.handle(&req).unwrap();
        }
        s.likes(7_777)
    }

    #[test]
    fn a_retry_after_a_remove_resurrects_the_like_in_a_plain_set_but_not_with_tombstones() {
        assert!(race(LikeSet::default()), "f(g(f(x))) ≠ g(f(x)): the bug");
        assert!(!race(LikeSet::lww()), "the tombstone's later timestamp wins");
    }

    #[test]
    fn last_writer_wins_whatever_the_arrival_order() {
        let w1 = LikeSetRequest::Add { user: 1, t: at(5, 0) };
        let w2 = LikeSetRequest::Remove { user: 1, t: at(5, 1) };
        let mut a = LikeSet::lww();
        let mut b = LikeSet::lww();
        for r in [w1, w2] {
            a.handle(&r).unwrap();
        }
        for r in [w2, w1] {
            b.handle(&r).unwrap();
        }
        assert_eq!(a, b, "replicas converge: ties broken by node id");
        assert!(!a.likes(1));
    }
}
