//! What a specification is: [`Model`], its [`Property`]s, and the [`Path`]s that witness them.

use crate::fingerprint::fingerprint;
use herald_core::trace::{EventKind, TraceEvent};
use serde_json::{Value, json};
use std::fmt::Debug;
use std::hash::Hash;

/// A nondeterministic transition system: initial states, enabled actions, and what each does.
///
/// `actions` and `next_state` must be pure functions of their arguments: the checker calls them
/// from several threads, and again when it replays a counterexample.
pub trait Model: Sync + Sized {
    /// A state. Cloned into queues and stacks: keep it small.
    type State: Clone + Eq + Hash + Debug + Send + Sync;
    /// A transition label.
    type Action: Clone + Eq + Hash + Debug + Send + Sync;

    /// The initial states.
    fn init_states(&self) -> Vec<Self::State>;

    /// Appends the actions enabled in `state` to `out`.
    fn actions(&self, state: &Self::State, out: &mut Vec<Self::Action>);

    /// The state `action` leads to from `state`, or `None` if it is not enabled after all.
    fn next_state(&self, state: &Self::State, action: &Self::Action) -> Option<Self::State>;

    /// The properties to check.
    fn properties(&self) -> Vec<Property<Self>>;

    /// The 64-bit fingerprint the visited set stores. The default hashes the state; a model whose
    /// state packs into a `u64` can return a bijection of it and never collide.
    #[inline]
    fn fingerprint(&self, state: &Self::State) -> u64 {
        fingerprint(state)
    }

    /// For symmetry reduction: a canonical member of `state`'s equivalence class (for example the
    /// state with interchangeable nodes sorted). Must map equivalent states to one representative,
    /// and equivalent states must satisfy the same properties. The default is the identity.
    fn representative(&self, state: &Self::State) -> Self::State {
        state.clone()
    }

    /// Whether [`Model::representative`] is more than the identity. [`check`](crate::check)
    /// refuses symmetry reduction for a model without one rather than ignore the option.
    fn has_symmetry(&self) -> bool {
        false
    }

    /// Whether `action` is weakly fair: if it stays enabled forever, it is eventually taken. Only
    /// `eventually` properties use this. The default makes every action weakly fair; a lossy
    /// network's drop actions, for instance, should not be.
    fn is_fair(&self, action: &Self::Action) -> bool {
        let _ = action;
        true
    }

    /// Whether the search should expand `state` (a model-level bound, such as a message budget).
    fn within_boundary(&self, state: &Self::State) -> bool {
        let _ = state;
        true
    }

    /// A state for people (traces, reports).
    fn describe_state(&self, state: &Self::State) -> Value {
        Value::String(format!("{state:?}"))
    }

    /// An action for people.
    fn describe_action(&self, action: &Self::Action) -> Value {
        Value::String(format!("{action:?}"))
    }

    /// How many nodes a trace of this model draws. Plain models draw one line.
    fn trace_nodes(&self) -> u32 {
        1
    }

    /// Trace events that precede a path from `init` (for example the nodes' start-up).
    fn trace_prelude(&self, init: &Self::State) -> Vec<TraceEvent> {
        let _ = init;
        Vec::new()
    }

    /// The trace events of one step of a path: `action` taken in `from`, leading to `to`, as step
    /// number `step` (steps are the trace's time). The default draws each step as an `output` on
    /// node 0 with the action and the new state.
    fn trace_step(&self, step: u64, from: &Self::State, action: &Self::Action, to: &Self::State) -> Vec<TraceEvent> {
        let _ = from;
        vec![TraceEvent::new(
            step,
            0,
            EventKind::Output {
                value: json!({"action": self.describe_action(action), "state": self.describe_state(to)}),
            },
        )]
    }
}

/// When a property's condition must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// In every reachable state (safety). A counterexample is a path to a state where it fails.
    Always,
    /// In some reachable state. An example is a path to such a state.
    Sometimes,
    /// On every behaviour, at some point (liveness, under weak fairness of the fair actions). A
    /// counterexample is a lasso: a path into a fair cycle, or to a dead end, where it never holds.
    Eventually,
}

/// A named condition with an expectation.
pub struct Property<M: Model> {
    /// The name reports use.
    pub name: String,
    /// When the condition must hold.
    pub expectation: Expectation,
    /// The condition.
    pub condition: fn(&M, &M::State) -> bool,
}

impl<M: Model> Property<M> {
    /// `condition` holds in every reachable state.
    pub fn always(name: impl Into<String>, condition: fn(&M, &M::State) -> bool) -> Self {
        Self { name: name.into(), expectation: Expectation::Always, condition }
    }
    /// `condition` holds in some reachable state.
    pub fn sometimes(name: impl Into<String>, condition: fn(&M, &M::State) -> bool) -> Self {
        Self { name: name.into(), expectation: Expectation::Sometimes, condition }
    }
    /// Every fair behaviour reaches a state where `condition` holds.
    pub fn eventually(name: impl Into<String>, condition: fn(&M, &M::State) -> bool) -> Self {
        Self { name: name.into(), expectation: Expectation::Eventually, condition }
    }
}

impl<M: Model> std::fmt::Debug for Property<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Property").field("name", &self.name).field("expectation", &self.expectation).finish()
    }
}

/// A run of the model: `states[0]` is initial and `actions[i]` leads from `states[i]` to
/// `states[i + 1]`. For a lasso, `loop_start` is the index of the state the path returns to after
/// its last step (the last state equals `states[loop_start]`).
pub struct Path<M: Model> {
    /// The states, the initial one first.
    pub states: Vec<M::State>,
    /// The actions between them.
    pub actions: Vec<M::Action>,
    /// For a lasso: where the cycle starts.
    pub loop_start: Option<usize>,
}

impl<M: Model> Clone for Path<M> {
    fn clone(&self) -> Self {
        Self { states: self.states.clone(), actions: self.actions.clone(), loop_start: self.loop_start }
    }
}

impl<M: Model> PartialEq for Path<M> {
    fn eq(&self, other: &Self) -> bool {
        self.states == other.states && self.actions == other.actions && self.loop_start == other.loop_start
    }
}

impl<M: Model> Eq for Path<M> {}

impl<M: Model> std::fmt::Debug for Path<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Path")
            .field("states", &self.states)
            .field("actions", &self.actions)
            .field("loop_start", &self.loop_start)
            .finish()
    }
}

impl<M: Model> Path<M> {
    /// The last state.
    pub fn last(&self) -> &M::State {
        self.states.last().expect("a path has a state")
    }

    /// Re-runs the path on `model`: every action must be enabled and lead to the next state.
    pub fn replays_on(&self, model: &M) -> bool {
        if self.states.len() != self.actions.len() + 1 || !model.init_states().contains(&self.states[0]) {
            return false;
        }
        let mut enabled = Vec::new();
        self.actions.iter().enumerate().all(|(i, a)| {
            enabled.clear();
            model.actions(&self.states[i], &mut enabled);
            enabled.contains(a) && model.next_state(&self.states[i], a).as_ref() == Some(&self.states[i + 1])
        })
    }

    /// The path as trace events in Herald's schema (times are step numbers).
    pub fn trace_events(&self, model: &M) -> Vec<TraceEvent> {
        let mut out = model.trace_prelude(&self.states[0]);
        for (i, a) in self.actions.iter().enumerate() {
            out.extend(model.trace_step(i as u64 + 1, &self.states[i], a, &self.states[i + 1]));
        }
        out
    }

    /// Rebuilds a path from the fingerprints of its (representative) states by replaying the model:
    /// at each step the first enabled action whose successor has the next fingerprint.
    pub(crate) fn from_fingerprints(model: &M, fps: &[u64], symmetry: bool) -> Option<Self> {
        let fp_of =
            |s: &M::State| if symmetry { model.fingerprint(&model.representative(s)) } else { model.fingerprint(s) };
        let first = model.init_states().into_iter().find(|s| fp_of(s) == fps[0])?;
        let mut path = Self { states: vec![first], actions: Vec::new(), loop_start: None };
        let mut actions = Vec::new();
        for &want in &fps[1..] {
            let cur = path.last().clone();
            actions.clear();
            model.actions(&cur, &mut actions);
            let (a, s) = actions
                .iter()
                .find_map(|a| model.next_state(&cur, a).filter(|s| fp_of(s) == want).map(|s| (a.clone(), s)))?;
            path.actions.push(a);
            path.states.push(s);
        }
        Some(path)
    }
}
