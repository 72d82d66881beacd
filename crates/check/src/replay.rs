//! The bridge from the simulator: a Herald trace (for example one `herald sim --trace` wrote)
//! followed as a path of an [`ActorModel`].
//!
//! [`ActorModel::replay`] turns the trace's scheduling decisions into the model's actions, in
//! order: a `deliver` becomes `Deliver` of the message its `send` carried (decoded from the send's
//! `bytes`), a `drop` for loss `Drop`, a `duplicate` `Duplicate`, a `timer_fire` `Fire`, `crash` and
//! `recover` theirs, and a `send` by a node the model treats as Byzantine the `Forge` of the domain
//! message it matches (taken when the message is first needed: just before its delivery, loss or
//! duplication, so that a traitor's send at a round boundary waits for the honest nodes' timers of
//! that boundary; at the end if never). Each action must be enabled in the model's state at that
//! point (so the trace is a run of the model's system model, budgets included), and each `output`
//! the trace shows — for the nodes' start, then for each step — must be exactly what the model's
//! node produced: the checker confirms the simulator's observations with its own run of the same
//! nodes. Everything else in the trace (`start`, honest sends, timer sets, persists, and whatever
//! a Byzantine node's strategy does besides sending) is an effect the model recomputes or has no
//! counterpart for.
//!
//! What the replay gives: the path, and for each `always` property the first step at which it
//! fails along it. With the path, [`ActorModel::starting_from`] explores from its first state (a
//! breadth-first search then finds a shortest counterexample for the same property: the trace
//! shrunk) or from any state along it (exhaustive checking from the middle of a simulation).
//!
//! Not covered: traces whose messages carry no `bytes` (they cannot be decoded), adversary events
//! (`modify`, `inject`, `replay`) and drops for reasons other than loss, which `ActorModel` has no
//! action for; and timing: the model's timing rules decide what is enabled, so a simulator run
//! that the checker's timing model does not allow is refused with the step that breaks it. Under
//! [`Timing::PartiallySynchronous`](crate::actor::Timing) a `heal` is GST, and `Wait` steps (time
//! passing is not an event) are taken before an event as far as its `local` clock reading says:
//! the checker writes the model's clock there, so its own counterexamples replay step for step; a
//! simulator trace's times are not the model's, so one that needs time to pass does not.

use crate::actor::{ActorAction, ActorModel, ActorState, Envelope, NO_BOUND};
use crate::model::{Expectation, Model, Path};
use herald_core::trace::{DropReason, EventKind, TraceEvent};
use herald_core::{Node, NodeId, codec};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

/// Why a trace cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// An event refers to a message or a timer that cannot be decoded.
    #[error("event {event}: {what} cannot be decoded")]
    Undecodable {
        /// The event's index in the trace.
        event: usize,
        /// What.
        what: String,
    },
    /// The event has no counterpart among the model's actions.
    #[error("event {event}: {what} is not something this model can do")]
    Unsupported {
        /// The event's index.
        event: usize,
        /// What.
        what: String,
    },
    /// The action is not enabled in the model's state at that point.
    #[error("event {event}: {action} is not enabled here")]
    NotEnabled {
        /// The event's index.
        event: usize,
        /// The action.
        action: String,
    },
    /// The model's node observed something else than the trace says.
    #[error("event {event}: node {node} observed {expected}, the trace says {found}")]
    Observation {
        /// The event's index.
        event: usize,
        /// The node.
        node: u32,
        /// What the model's node reported (JSON), or "nothing".
        expected: String,
        /// What the trace shows.
        found: String,
    },
    /// No cast of the model runs the trace; each cast's reason, in cast order.
    #[error("no cast runs this trace: {}", .0.join("; "))]
    NoCast(Vec<String>),
}

/// A trace followed as a path of an [`ActorModel`].
#[derive(Debug)]
pub struct Replayed<M: Model> {
    /// The path: the cast's initial state, then one state per scheduling decision of the trace.
    pub path: Path<M>,
    /// Each `always` property that fails along the path, with the first state index where it does.
    pub violations: Vec<(String, usize)>,
}

impl<N: Node + Clone + Eq + Hash + Debug + Send + Sync> ActorModel<N>
where
    N::Msg: Send + Sync,
    N::Timer: Send + Sync,
{
    /// Follows `events` (a trace's events, in order) from each cast's initial state in turn; the
    /// first cast that runs the whole trace gives the path. See the module documentation.
    pub fn replay(&self, events: &[TraceEvent]) -> Result<Replayed<Self>, ReplayError> {
        let mut reasons = Vec::new();
        for init in self.init_states() {
            let cast = usize::from(init.cast);
            match self.replay_from(init, events) {
                Ok(path) => {
                    let violations = self
                        .properties()
                        .into_iter()
                        .filter(|p| p.expectation == Expectation::Always)
                        .filter_map(|p| {
                            let at = path.states.iter().position(|s| !(p.condition)(self, s))?;
                            Some((p.name.clone(), at))
                        })
                        .collect();
                    return Ok(Replayed { path, violations });
                }
                Err(e) => reasons.push(format!("{}: {e}", self.casts()[cast].name)),
            }
        }
        Err(ReplayError::NoCast(reasons))
    }

    fn replay_from(&self, init: ActorState<N>, events: &[TraceEvent]) -> Result<Path<Self>, ReplayError> {
        let mut sent: BTreeMap<u64, N::Msg> = BTreeMap::new();
        // The outputs not shown yet of the last step's node (at first: of every node's start).
        let mut pending: Vec<(u32, serde_json::Value)> = self
            .trace_prelude(&init)
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::Output { value } => Some((e.node, value)),
                _ => None,
            })
            .collect();
        let mut path: Path<Self> = Path { states: vec![init], actions: Vec::new(), loop_start: None };
        // Byzantine sends not forged yet: a Byzantine node's message enters the network when it is
        // first needed (its delivery, loss or duplication), so that a send the simulator made at a
        // round boundary waits for the honest nodes' timers of that boundary.
        let mut deferred: Vec<(usize, Envelope<N::Msg>)> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if let EventKind::Send { msg, bytes, .. } = &e.kind {
                let decoded = bytes.as_deref().and_then(unhex).and_then(|b| codec::decode::<N::Msg>(&b).ok());
                if let Some(m) = decoded {
                    sent.insert(*msg, m);
                }
            }
            let byzantine = self.cast_of(path.last()).nodes.get(e.node as usize).is_some_and(Option::is_none);
            if let EventKind::Output { value } = &e.kind {
                if byzantine {
                    continue; // a Byzantine node's observations are its strategy's business
                }
                match pending.first() {
                    Some((node, expected)) if *node == e.node && expected == value => {
                        pending.remove(0);
                    }
                    other => {
                        return Err(ReplayError::Observation {
                            event: i,
                            node: e.node,
                            expected: other.map_or("nothing".into(), |(_, v)| v.to_string()),
                            found: value.to_string(),
                        });
                    }
                }
                continue;
            }
            if byzantine {
                if let EventKind::Send { to, msg, .. } = &e.kind {
                    let m = sent
                        .get(msg)
                        .cloned()
                        .ok_or_else(|| ReplayError::Undecodable { event: i, what: format!("message {msg}") })?;
                    deferred.push((i, Envelope::new(NodeId(e.node), NodeId(*to), m)));
                }
                if !matches!(e.kind, EventKind::Deliver { .. } | EventKind::Drop { .. } | EventKind::Duplicate { .. }) {
                    continue; // its start, timers and sends are its strategy's, not the model's
                }
            }
            let Some(mut action) = self.action_of(i, e, path.last(), &sent)? else { continue };
            if let Some((node, expected)) = pending.first() {
                return Err(ReplayError::Observation {
                    event: i,
                    node: *node,
                    expected: expected.to_string(),
                    found: "nothing".into(),
                });
            }
            if let ActorAction::Deliver(env) | ActorAction::Drop(env) | ActorAction::Duplicate(env) = &action {
                let missing =
                    !path.last().network.iter().any(|f| f.from == env.from && f.to == env.to && f.msg == env.msg);
                let forged =
                    deferred.iter().position(|(_, d)| d.from == env.from && d.to == env.to && d.msg == env.msg);
                if let (true, Some(k)) = (missing, forged) {
                    self.wait_for(&mut path, i, e)?;
                    let (at, d) = deferred.remove(k);
                    let forge = self.forge_of(at, &d, path.last())?;
                    self.step(&mut path, at, forge)?;
                    action = self.action_of(i, e, path.last(), &sent)?.expect("the same event");
                }
            }
            self.wait_for(&mut path, i, e)?;
            pending = self.step(&mut path, i, action)?;
        }
        if let Some((node, expected)) = pending.first() {
            return Err(ReplayError::Observation {
                event: events.len(),
                node: *node,
                expected: expected.to_string(),
                found: "nothing".into(),
            });
        }
        // Byzantine messages the trace never delivers still entered the network.
        for (at, d) in deferred {
            let forge = self.forge_of(at, &d, path.last())?;
            self.step(&mut path, at, forge)?;
        }
        Ok(path)
    }

    /// Takes `action` (event `i`) from the path's last state, if enabled; returns the outputs it
    /// produced, for the trace to show next.
    fn step(
        &self,
        path: &mut Path<Self>,
        i: usize,
        action: ActionOf<N>,
    ) -> Result<Vec<(u32, serde_json::Value)>, ReplayError> {
        let state = path.last();
        let mut enabled = Vec::new();
        self.actions(state, &mut enabled);
        if !enabled.contains(&action) {
            let mut what = show(&action);
            if matches!(action, ActorAction::Fire(..)) && state.fires >= self.timer_fires_max {
                what.push_str(&format!(" (the model's {} timer firings are spent)", self.timer_fires_max));
            }
            if matches!(action, ActorAction::Duplicate(..)) && state.duplicates >= self.duplicates_max {
                what.push_str(&format!(" (the model allows {} duplications)", self.duplicates_max));
            }
            return Err(ReplayError::NotEnabled { event: i, action: what });
        }
        let actor = actor_of(&action);
        let outputs = self
            .effects_of(state, &action)
            .into_iter()
            .filter_map(|eff| match eff {
                herald_core::Effect::Output(o) => actor.map(|a| (a, codec::to_json(&o))),
                _ => None,
            })
            .collect();
        let next = self.next_state(state, &action).expect("an enabled action has a successor");
        path.states.push(next);
        path.actions.push(action);
        Ok(outputs)
    }

    /// Under partial synchrony, takes the `Wait` steps that bring the model's clock to the
    /// node's clock reading event `e` carries (a checker's trace shows none: time passing is not
    /// an event), as long as `Wait` is enabled and does not pass that reading.
    fn wait_for(&self, path: &mut Path<Self>, i: usize, e: &TraceEvent) -> Result<(), ReplayError> {
        let Some(local) = e.local.filter(|_| self.timing.partial().is_some()) else { return Ok(()) };
        while path.last().now < local && self.wait_until(path.last()).is_some_and(|t| t <= local) {
            self.step(path, i, ActorAction::Wait)?;
        }
        Ok(())
    }

    /// The `Forge` of the domain message a Byzantine node's send (event `i`) matches.
    fn forge_of(&self, i: usize, env: &Envelope<N::Msg>, state: &ActorState<N>) -> Result<ActionOf<N>, ReplayError> {
        let domain = &self.cast_of(state).domain;
        (0..domain.len())
            .find(|&k| {
                !state.forged[k] && domain[k].from == env.from && domain[k].to == env.to && domain[k].msg == env.msg
            })
            .map(ActorAction::Forge)
            .ok_or_else(|| ReplayError::Unsupported {
                event: i,
                what: format!("Byzantine node {}'s message to {}, outside its domain", env.from, env.to),
            })
    }

    /// The action event `e` stands for; `None` for an effect the model recomputes.
    fn action_of(
        &self,
        i: usize,
        e: &TraceEvent,
        state: &ActorState<N>,
        sent: &BTreeMap<u64, N::Msg>,
    ) -> Result<Option<ActionOf<N>>, ReplayError> {
        let node = NodeId(e.node);
        let message = |id: u64| {
            sent.get(&id).cloned().ok_or_else(|| ReplayError::Undecodable { event: i, what: format!("message {id}") })
        };
        // The copy in flight (the earliest due, if copies differ only in that), or a fresh envelope
        // that the enabledness check then refuses.
        let in_flight = |from: NodeId, to: NodeId, msg: N::Msg| {
            state
                .network
                .iter()
                .filter(|e| e.from == from && e.to == to && e.msg == msg)
                .min_by_key(|e| e.due)
                .cloned()
                .unwrap_or_else(|| Envelope::new(from, to, msg))
        };
        Ok(Some(match &e.kind {
            EventKind::Deliver { from, msg } => ActorAction::Deliver(in_flight(NodeId(*from), node, message(*msg)?)),
            EventKind::Drop { to, msg, reason: DropReason::Loss } => {
                ActorAction::Drop(in_flight(node, NodeId(*to), message(*msg)?))
            }
            EventKind::Duplicate { to, msg } => ActorAction::Duplicate(in_flight(node, NodeId(*to), message(*msg)?)),
            EventKind::TimerFire { timer } => {
                let t: N::Timer = serde_json::from_value(timer.clone())
                    .map_err(|_| ReplayError::Undecodable { event: i, what: format!("timer {timer}") })?;
                ActorAction::Fire(node, t)
            }
            // The end of the asynchronous period: GST, if the model has one still to come.
            EventKind::Heal if self.timing.partial().is_some() && state.gst.is_none() => ActorAction::Stabilise,
            EventKind::Crash { .. } => ActorAction::Crash(node),
            EventKind::Recover { .. } => ActorAction::Recover(node),
            EventKind::Modify { .. } | EventKind::Inject { .. } | EventKind::Replay { .. } | EventKind::Drop { .. } => {
                return Err(ReplayError::Unsupported { event: i, what: format!("{:?}", e.kind) });
            }
            _ => return Ok(None),
        }))
    }
}

type ActionOf<N> = ActorAction<<N as Node>::Msg, <N as Node>::Timer>;

/// An action for an error message: envelopes as `from → to: message`, with a due time only if
/// it has one.
fn show<M: Debug, T: Debug>(action: &ActorAction<M, T>) -> String {
    let env = |e: &Envelope<M>| {
        let due = if e.due == NO_BOUND { String::new() } else { format!(" (due at {} ns)", e.due) };
        format!("{} → {}: {:?}{due}", e.from, e.to, e.msg)
    };
    match action {
        ActorAction::Deliver(e) => format!("delivering {}", env(e)),
        ActorAction::Drop(e) => format!("losing {}", env(e)),
        ActorAction::Duplicate(e) => format!("duplicating {}", env(e)),
        ActorAction::Fire(n, t) => format!("firing {n}'s timer {t:?}"),
        ActorAction::Crash(n) => format!("crashing {n}"),
        ActorAction::Recover(n) => format!("recovering {n}"),
        other => format!("{other:?}"),
    }
}

/// The node whose handler an action runs, if any.
fn actor_of<M, T>(action: &ActorAction<M, T>) -> Option<u32> {
    match action {
        ActorAction::Deliver(env) => Some(env.to.0),
        ActorAction::Fire(n, _) | ActorAction::Recover(n) => Some(n.0),
        _ => None,
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}
