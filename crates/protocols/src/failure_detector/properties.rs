//! The failure-detector properties (lecture §4.2, in their CGR form) as pure functions over a run's
//! detector observations and its crash times. Any driver can call them; each returns the *first*
//! violation (earliest time), with the seed it came from.
//!
//! - Strong completeness: every crashed node is eventually suspected, permanently, by every correct
//!   node. A finite run can only check "eventually" against a bound: the suspicion must hold from
//!   `crash + bound` to the end of the run. Crashes later than `end − bound` are not judged.
//! - Strong accuracy: no node is suspected before it crashes (by any observer).
//! - Eventual strong accuracy: from time `after` on, no correct node suspects a correct node.

use super::Change;
use herald_core::NodeId;
use std::fmt;

/// What the properties judge.
#[derive(Clone, Copy, Debug)]
pub struct History<'a> {
    /// The run's seed, for the report.
    pub seed: u64,
    /// Every change any node reported: (global time ns, observer, change), in time order.
    pub changes: &'a [(u64, NodeId, Change)],
    /// Crash-stop crashes: (node, global time ns). A node not listed is correct.
    pub crashes: &'a [(NodeId, u64)],
    /// Cluster size.
    pub nodes: usize,
    /// When the run ended, ns.
    pub end_ns: u64,
}

/// The first violation of a property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdViolation {
    /// Which property.
    pub property: &'static str,
    /// The run's seed.
    pub seed: u64,
    /// When, global ns.
    pub t_ns: u64,
    /// The observer that got it wrong.
    pub observer: NodeId,
    /// The node it was wrong about.
    pub node: NodeId,
    /// What happened.
    pub detail: String,
}

impl fmt::Display for FdViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} violated at {} ns (seed {}): {}", self.property, self.t_ns, self.seed, self.detail)
    }
}

impl History<'_> {
    /// When `node` crashed, if it did.
    pub fn crash_of(&self, node: NodeId) -> Option<u64> {
        self.crashes.iter().find(|(n, _)| *n == node).map(|&(_, t)| t)
    }

    fn correct(&self) -> impl Iterator<Item = NodeId> + '_ {
        NodeId::range(self.nodes).filter(|&n| self.crash_of(n).is_none())
    }

    /// The last change `observer` reported about `node` strictly before `before`.
    fn last_about(&self, observer: NodeId, node: NodeId, before: u64) -> Option<(u64, Change)> {
        self.changes
            .iter()
            .rev()
            .find(|(t, o, c)| *o == observer && c.node() == node && *t < before)
            .map(|&(t, _, c)| (t, c))
    }

    fn violation(
        &self,
        property: &'static str,
        t_ns: u64,
        observer: NodeId,
        node: NodeId,
        detail: String,
    ) -> FdViolation {
        FdViolation { property, seed: self.seed, t_ns, observer, node, detail }
    }
}

/// Strong completeness within `bound_ns` of each crash (see the module docs).
pub fn strong_completeness(h: &History<'_>, bound_ns: u64) -> Result<(), FdViolation> {
    let mut first: Option<FdViolation> = None;
    for &(crashed, t_crash) in h.crashes {
        let due = t_crash.saturating_add(bound_ns);
        if due > h.end_ns {
            continue;
        }
        for observer in h.correct().filter(|&o| o != crashed) {
            let ok = match h.last_about(observer, crashed, u64::MAX) {
                Some((t, Change::Suspect { .. })) => t <= due,
                _ => false,
            };
            if !ok && first.as_ref().is_none_or(|v| due < v.t_ns) {
                let detail = format!(
                    "{crashed} crashed at {t_crash} ns but {observer} did not suspect it for good within {bound_ns} ns"
                );
                first = Some(h.violation("strong-completeness", due, observer, crashed, detail));
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// Strong accuracy: no suspicion of a node that has not crashed (yet).
pub fn strong_accuracy(h: &History<'_>) -> Result<(), FdViolation> {
    match false_suspicion_list(h).next() {
        None => Ok(()),
        Some((t, observer, node)) => {
            let detail = match h.crash_of(node) {
                Some(c) => format!("{observer} suspected {node} at {t} ns, before its crash at {c} ns"),
                None => format!("{observer} suspected {node} at {t} ns, and {node} never crashed"),
            };
            Err(h.violation("strong-accuracy", t, observer, node, detail))
        }
    }
}

/// Eventual strong accuracy from `after_ns` on: no correct node suspects a correct node then.
pub fn eventual_strong_accuracy(h: &History<'_>, after_ns: u64) -> Result<(), FdViolation> {
    let correct: Vec<NodeId> = h.correct().collect();
    let mut first: Option<FdViolation> = None;
    for &observer in &correct {
        for &node in correct.iter().filter(|&&n| n != observer) {
            let found = if let Some((t, Change::Suspect { .. })) =
                h.last_about(observer, node, after_ns.saturating_add(1))
            {
                Some((after_ns, format!("{observer} still suspected correct {node} at {after_ns} ns (since {t} ns)")))
            } else {
                h.changes
                    .iter()
                    .find(|(t, o, c)| {
                        *t >= after_ns && *o == observer && matches!(c, Change::Suspect { node: n, .. } if *n == node)
                    })
                    .map(|&(t, _, _)| {
                        (t, format!("{observer} suspected correct {node} at {t} ns, after {after_ns} ns"))
                    })
            };
            if let Some((t, detail)) = found {
                if first.as_ref().is_none_or(|v| t < v.t_ns) {
                    first = Some(h.violation("eventual-strong-accuracy", t, observer, node, detail));
                }
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// Suspicions of nodes that had not crashed at the time: (time, observer, suspected node).
pub fn false_suspicion_list<'h>(h: &'h History<'_>) -> impl Iterator<Item = (u64, NodeId, NodeId)> + 'h {
    h.changes.iter().filter_map(move |&(t, observer, c)| match c {
        Change::Suspect { node, .. } if h.crash_of(node).is_none_or(|crash| t < crash) => Some((t, observer, node)),
        _ => None,
    })
}

/// How many suspicions were false.
pub fn false_suspicions(h: &History<'_>) -> usize {
    false_suspicion_list(h).count()
}

/// For each crashed node and each correct observer that suspects it at the end: the time from the
/// crash to the start of that final suspicion (zero if it began before the crash), ns.
pub fn detection_times(h: &History<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    for &(crashed, t_crash) in h.crashes {
        for observer in h.correct().filter(|&o| o != crashed) {
            if let Some((t, Change::Suspect { .. })) = h.last_about(observer, crashed, u64::MAX) {
                out.push(t.saturating_sub(t_crash));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suspect(node: u32) -> Change {
        Change::Suspect { node: NodeId(node), local_ns: 0 }
    }
    fn trust(node: u32) -> Change {
        Change::Trust { node: NodeId(node), local_ns: 0, timeout_ns: 0 }
    }

    #[test]
    fn each_property_reports_its_first_violation() {
        // Node 2 crashes at 100. Node 0 suspects it at 130 for good; node 1 suspects node 0 falsely
        // at 50, trusts it at 60, and suspects 2 only at 400.
        let changes = [
            (50, NodeId(1), suspect(0)),
            (60, NodeId(1), trust(0)),
            (130, NodeId(0), suspect(2)),
            (400, NodeId(1), suspect(2)),
        ];
        let crashes = [(NodeId(2), 100)];
        let h = History { seed: 9, changes: &changes, crashes: &crashes, nodes: 3, end_ns: 1_000 };
        let v = strong_accuracy(&h).unwrap_err();
        assert_eq!((v.t_ns, v.observer, v.node, v.seed), (50, NodeId(1), NodeId(0), 9));
        let v = strong_completeness(&h, 200).unwrap_err();
        assert_eq!((v.t_ns, v.observer), (300, NodeId(1)));
        assert_eq!(strong_completeness(&h, 300), Ok(()));
        assert_eq!(strong_completeness(&h, 950), Ok(()), "a crash too close to the end is not judged");
        assert_eq!(eventual_strong_accuracy(&h, 55).unwrap_err().t_ns, 55);
        assert_eq!(eventual_strong_accuracy(&h, 60), Ok(()));
        assert_eq!(eventual_strong_accuracy(&h, 40).unwrap_err().t_ns, 50);
        assert_eq!(false_suspicions(&h), 1);
        assert_eq!(detection_times(&h), vec![30, 300]);
    }
}
