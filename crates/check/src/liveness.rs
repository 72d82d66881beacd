//! `eventually` under weak fairness, by strongly connected components of the state graph.
//!
//! A behaviour violates `eventually P` iff P never holds on it. Restrict the graph to states where
//! P fails, reachable from an initial state through such states. A violating *fair* behaviour
//! exists iff this subgraph contains either
//!
//! - a state where no weakly fair action is enabled (the behaviour may stop there: it stutters
//!   forever, which weak fairness allows), or
//! - a nontrivial strongly connected component C that is weakly fair: for every fair action class
//!   `a` enabled in *every* state of C, some edge inside C is an `a` step. (If `a` is enabled in
//!   every state of C and never taken inside C, every run that stays in C violates weak fairness of
//!   `a`, and so does every run inside any sub-component; otherwise the run that cycles through all
//!   of C's edges is fair.)
//!
//! Steps that leave the state unchanged are stuttering: they are neither edges nor "enabled"
//! (as in TLA+'s `WF_vars`). An action class is an action value: every action is fair unless the
//! model says otherwise ([`Model::is_fair`]). Enabledness counts every non-stuttering step of a state,
//! including steps into P-states, which is what lets fairness force an exit.
//!
//! The graph is built without symmetry reduction, and [`check`](crate::check) refuses the
//! combination rather than ignore the option: fairness here is per action value, and on a
//! symmetry-reduced graph a state stands for its whole orbit, so an edge labelled `a` out of a
//! representative is, in the state it stands for, the permuted action π(a). A cycle of
//! representatives unrolls into a model path from s to π(s), repeated until π returns to the
//! identity, along which the enabled actions are permuted at each lap; "a is enabled everywhere
//! and taken somewhere in C" therefore says nothing about any one action of the unrolled cycle,
//! so a reduced component can look fair when no model cycle is, and the converse (Emerson & Sistla
//! handle this with annotated quotient structures, which this checker does not build). The graph
//! is explored sequentially; its order is that of a BFS, so the lasso reported is a pure function
//! of the model.

use crate::fingerprint::fingerprint;
use crate::model::{Expectation, Model, Path, Property};
use crate::pool::Progress;
use crate::search::{Outcome, Verdict};
use crate::table::FpMap;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;

/// The explored state graph.
struct Graph<M: Model> {
    states: Vec<M::State>,
    /// CSR: edges of state i are `edges[offsets[i]..offsets[i + 1]]`, as (target, action index).
    offsets: Vec<usize>,
    edges: Vec<(u32, u32)>,
    /// Action values, indexed by the edges; `fair[i]` and `class[i]` describe them.
    actions: Vec<M::Action>,
    fair: Vec<bool>,
    class: Vec<u64>,
    /// BFS parent of each state (`u32::MAX` for initial ones).
    parent: Vec<u32>,
    inits: Vec<u32>,
}

fn build<M: Model>(model: &M, max_states: Option<u64>, progress: &Progress) -> Option<Graph<M>> {
    let index = FpMap::new();
    let mut g = Graph {
        states: Vec::new(),
        offsets: vec![0],
        edges: Vec::new(),
        actions: Vec::new(),
        fair: Vec::new(),
        class: Vec::new(),
        parent: Vec::new(),
        inits: Vec::new(),
    };
    let intern = |g: &mut Graph<M>, s: M::State, parent: u32| -> u32 {
        let fp = model.fingerprint(&s);
        let id = g.states.len() as u64;
        if index.insert([fp, id]) {
            g.states.push(s);
            g.parent.push(parent);
            id as u32
        } else {
            index.get(fp).expect("present")[1] as u32
        }
    };
    for s in model.init_states() {
        let id = intern(&mut g, s, u32::MAX);
        if !g.inits.contains(&id) {
            g.inits.push(id);
        }
    }
    let mut buf = Vec::new();
    let mut i = 0;
    while i < g.states.len() {
        if max_states.is_some_and(|m| g.states.len() as u64 > m) || progress.timed_out.load(Ordering::Acquire) {
            return None;
        }
        let s = g.states[i].clone();
        buf.clear();
        if model.within_boundary(&s) {
            model.actions(&s, &mut buf);
        }
        for a in &buf {
            let Some(next) = model.next_state(&s, a) else { continue };
            if next == s {
                continue;
            }
            let t = intern(&mut g, next, i as u32);
            g.edges.push((t, g.actions.len() as u32));
            g.fair.push(model.is_fair(a));
            g.class.push(fingerprint(a));
            g.actions.push(a.clone());
        }
        g.offsets.push(g.edges.len());
        i += 1;
    }
    Some(g)
}

/// Checks every `eventually` property; returns (property index, outcome) for each.
pub(crate) fn check<M: Model>(
    model: &M,
    props: &[Property<M>],
    max_states: Option<u64>,
    progress: &Progress,
) -> Vec<(usize, Outcome<M>)> {
    let graph = build(model, max_states, progress);
    props
        .iter()
        .enumerate()
        .filter(|(_, p)| p.expectation == Expectation::Eventually)
        .map(|(i, p)| {
            let (verdict, path) = match &graph {
                None => (Verdict::Unknown, None),
                Some(g) => match find_lasso(model, g, p) {
                    None => (Verdict::Holds, None),
                    Some(path) => (Verdict::Violated, Some(path)),
                },
            };
            (i, Outcome { name: p.name.clone(), expectation: p.expectation, verdict, path })
        })
        .collect()
}

fn find_lasso<M: Model>(model: &M, g: &Graph<M>, p: &Property<M>) -> Option<Path<M>> {
    let n = g.states.len();
    let bad: Vec<bool> = g.states.iter().map(|s| !(p.condition)(model, s)).collect();
    // States reachable from an initial state through bad states only, BFS order, with parents.
    let mut reach_parent = vec![u32::MAX; n];
    let mut seen = vec![false; n];
    let mut order = Vec::new();
    let mut queue: VecDeque<u32> = g.inits.iter().copied().filter(|&i| bad[i as usize]).collect();
    for &i in &queue {
        seen[i as usize] = true;
    }
    while let Some(v) = queue.pop_front() {
        order.push(v);
        for &(t, _) in &g.edges[g.offsets[v as usize]..g.offsets[v as usize + 1]] {
            if bad[t as usize] && !seen[t as usize] {
                seen[t as usize] = true;
                reach_parent[t as usize] = v;
                queue.push_back(t);
            }
        }
    }
    let prefix = |v: u32| -> Vec<u32> {
        let mut chain = vec![v];
        let mut cur = v;
        while reach_parent[cur as usize] != u32::MAX {
            cur = reach_parent[cur as usize];
            chain.push(cur);
        }
        chain.reverse();
        chain
    };
    let out = |v: u32| &g.edges[g.offsets[v as usize]..g.offsets[v as usize + 1]];
    // A state where the behaviour may stop: no fair action enabled.
    for &v in &order {
        if !out(v).iter().any(|&(_, a)| g.fair[a as usize]) {
            return Some(to_path(g, &prefix(v), None));
        }
    }
    // Fair strongly connected components of the bad subgraph.
    let comp = tarjan(g, &seen);
    let mut members: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &v in &order {
        members.entry(comp[v as usize]).or_default().push(v);
    }
    for &v in &order {
        let c = comp[v as usize];
        let Some(states) = members.get(&c) else { continue };
        if states[0] != v {
            continue; // judge each component once, at its first state in BFS order
        }
        let inside = |t: u32| seen[t as usize] && comp[t as usize] == c;
        let nontrivial = states.len() > 1 || out(v).iter().any(|&(t, _)| t == v);
        if !nontrivial {
            continue;
        }
        // For each fair class: in how many states of C it is enabled, and whether C takes it.
        let mut classes: BTreeMap<u64, (usize, bool)> = BTreeMap::new();
        for &s in states {
            let mut here: Vec<u64> =
                out(s).iter().filter(|&&(_, a)| g.fair[a as usize]).map(|&(_, a)| g.class[a as usize]).collect();
            here.sort_unstable();
            here.dedup();
            for c in here {
                classes.entry(c).or_default().0 += 1;
            }
            for &(t, a) in out(s) {
                if g.fair[a as usize] && inside(t) {
                    classes.entry(g.class[a as usize]).or_default().1 = true;
                }
            }
        }
        let fair = classes.values().all(|&(enabled, taken)| enabled < states.len() || taken);
        if fair {
            // Lasso: the prefix to v, then a cycle from v back to v inside C.
            let mut cycle_parent: BTreeMap<u32, u32> = BTreeMap::new();
            let mut q = VecDeque::from([v]);
            let mut back = None;
            'bfs: while let Some(x) = q.pop_front() {
                for &(t, _) in out(x) {
                    if t == v {
                        back = Some(x);
                        break 'bfs;
                    }
                    if inside(t) && !cycle_parent.contains_key(&t) && t != v {
                        cycle_parent.insert(t, x);
                        q.push_back(t);
                    }
                }
            }
            let mut x = back.expect("a nontrivial component has a cycle through each state");
            let mut between = Vec::new();
            while x != v {
                between.push(x);
                x = cycle_parent[&x];
            }
            between.reverse();
            let mut full = prefix(v);
            let loop_start = full.len() - 1;
            full.extend_from_slice(&between);
            full.push(v);
            return Some(to_path(g, &full, Some(loop_start)));
        }
    }
    None
}

/// The path through states `ids` (consecutive ids joined by an edge), taking the first such edge.
fn to_path<M: Model>(g: &Graph<M>, ids: &[u32], loop_start: Option<usize>) -> Path<M> {
    let mut path = Path { states: vec![g.states[ids[0] as usize].clone()], actions: Vec::new(), loop_start };
    for w in ids.windows(2) {
        let (from, to) = (w[0] as usize, w[1]);
        let &(_, a) = g.edges[g.offsets[from]..g.offsets[from + 1]].iter().find(|&&(t, _)| t == to).expect("an edge");
        path.actions.push(g.actions[a as usize].clone());
        path.states.push(g.states[to as usize].clone());
    }
    path
}

/// Tarjan's algorithm, iteratively, over the states with `keep[v]`; returns a component id per state.
fn tarjan<M: Model>(g: &Graph<M>, keep: &[bool]) -> Vec<u32> {
    let n = g.states.len();
    let mut index = vec![u32::MAX; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut comp = vec![u32::MAX; n];
    let mut stack = Vec::new();
    let mut next_index = 0u32;
    let mut next_comp = 0u32;
    for root in 0..n {
        if !keep[root] || index[root] != u32::MAX {
            continue;
        }
        // Call stack of (vertex, next edge position).
        let mut calls = vec![(root, g.offsets[root])];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut e)) = calls.last_mut() {
            if *e < g.offsets[v + 1] {
                let (t, _) = g.edges[*e];
                *e += 1;
                let t = t as usize;
                if !keep[t] {
                    continue;
                }
                if index[t] == u32::MAX {
                    index[t] = next_index;
                    low[t] = next_index;
                    next_index += 1;
                    stack.push(t);
                    on_stack[t] = true;
                    calls.push((t, g.offsets[t]));
                } else if on_stack[t] {
                    low[v] = low[v].min(index[t]);
                }
            } else {
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    loop {
                        let w = stack.pop().expect("on stack");
                        on_stack[w] = false;
                        comp[w] = next_comp;
                        if w == v {
                            break;
                        }
                    }
                    next_comp += 1;
                }
            }
        }
    }
    comp
}
