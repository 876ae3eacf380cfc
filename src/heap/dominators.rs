//! The dominator tree of a graph in compressed rows, and the retained size of every
//! node: SEMI-NCA (semidominators by Lengauer-Tarjan's simple link-eval, then each
//! immediate dominator as the nearest common ancestor of the DFS parent and the
//! semidominator). Every step is a loop over `u32` arrays with explicit stacks, never
//! recursion, so a chain of a million objects costs no call stack.
//!
//! Node `n` (one past the last) is the virtual super-root; its successors are the roots.

use crate::grow::{self, Grow, OutOfMemory};

/// No node: not reached, or not linked yet.
pub const NONE: u32 = u32::MAX;

/// What the arrays of the dominator computation are called in a `MemoryError`.
const DOMINATORS: &str = "the dominator tree";

/// A graph of `n` nodes in compressed rows: the successors of `v` are
/// `targets[offsets[v]..offsets[v + 1]]`; node `n` is the super-root, whose successors
/// are `roots`.
#[derive(Clone, Copy)]
pub struct Csr<'a> {
    pub offsets: &'a [u32],
    pub targets: &'a [u32],
    pub roots: &'a [u32],
}

impl<'a> Csr<'a> {
    /// The number of real nodes (the super-root not counted).
    pub fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    fn successors(&self, v: u32) -> &'a [u32] {
        let v = v as usize;
        if v == self.nodes() {
            self.roots
        } else {
            &self.targets[self.offsets[v] as usize..self.offsets[v + 1] as usize]
        }
    }
}

/// The dominator tree, in the DFS preorder from the super-root.
pub struct Dominators {
    /// Node of each preorder number; `vertex[0]` is the super-root.
    pub vertex: Vec<u32>,
    /// Preorder number of each node (the super-root last); [`NONE`] when unreached.
    pub pre: Vec<u32>,
    /// Preorder number of each reached node's immediate dominator (`idom[0] == 0`).
    /// Always smaller than the node's own number.
    pub idom: Vec<u32>,
    /// Nodes no root reached, made roots (see [`dominators`]).
    pub adopted: Vec<u32>,
    /// The predecessors of each reached node, by preorder numbers:
    /// `preds[pred_start[p]..pred_start[p + 1]]` (the super-root's number, 0, for a root).
    /// Kept in place of the graph's successor rows, which can then be freed.
    pred_start: Vec<u32>,
    preds: Vec<u32>,
}

impl Dominators {
    #[cfg(test)]
    /// The immediate dominator of `node`, as a node (`n` for the super-root); `None`
    /// for the super-root itself and for unreached nodes.
    pub fn idom_of(&self, node: u32) -> Option<u32> {
        let p = *self.pre.get(node as usize)?;
        if p == NONE || p == 0 {
            return None;
        }
        Some(self.vertex[self.idom[p as usize] as usize])
    }

    /// Whether node `from` has a reference to node `to` (both reached).
    pub fn refers(&self, from: u32, to: u32) -> bool {
        let (Some(&p_from), Some(&p_to)) = (self.pre.get(from as usize), self.pre.get(to as usize)) else {
            return false;
        };
        if p_from == NONE || p_to == NONE {
            return false;
        }
        let p_to = p_to as usize;
        self.preds[self.pred_start[p_to] as usize..self.pred_start[p_to + 1] as usize].contains(&p_from)
    }

    /// Bytes held by the arrays (capacity, not length).
    pub fn footprint(&self) -> usize {
        (self.vertex.capacity()
            + self.pre.capacity()
            + self.idom.capacity()
            + self.adopted.capacity()
            + self.pred_start.capacity()
            + self.preds.capacity())
            * 4
    }

    /// The retained size of every reached node, by preorder number: its own `size` plus
    /// those of every node it dominates. `None` if a sum overflows.
    pub fn retained(&self, size: impl Fn(u32) -> u64) -> Result<Option<Vec<u64>>, OutOfMemory> {
        let m = self.vertex.len();
        let mut retained: Vec<u64> = grow::vec_with_capacity(m, DOMINATORS)?;
        retained.extend(self.vertex.iter().enumerate().map(|(i, &v)| if i == 0 { 0 } else { size(v) }));
        // A dominator always comes before what it dominates in preorder.
        for i in (1..m).rev() {
            let parent = self.idom[i] as usize;
            match retained[parent].checked_add(retained[i]) {
                Some(sum) => retained[parent] = sum,
                None => return Ok(None),
            }
        }
        Ok(Some(retained))
    }
}

/// The first half of the computation, the only one that reads the graph: the
/// depth-first preorder from the super-root and every reached node's predecessors.
/// The graph's successor rows can be freed once this is made.
pub struct Preorder {
    /// The number of real nodes.
    nodes: usize,
    vertex: Vec<u32>,
    /// Preorder number of each reached node's DFS parent.
    parent: Vec<u32>,
    pred_start: Vec<u32>,
    preds: Vec<u32>,
    adopted: Vec<u32>,
}

/// Computes the dominator tree of `graph` from its super-root. With `adopt`, a node the
/// roots do not reach becomes a root itself (in node order, once the nodes reached
/// before it are numbered), so that every node is in the tree; the adopted nodes are in
/// [`Dominators::adopted`].
#[cfg(test)]
pub fn dominators(graph: Csr<'_>, adopt: bool) -> Result<Dominators, OutOfMemory> {
    Ok(dominators_unless(graph, adopt, &mut || false)?.expect("never interrupted"))
}

/// [`dominators`], called `interrupted()` once per step of its long loops: `None` as
/// soon as that says so.
#[cfg(test)]
pub fn dominators_unless(
    graph: Csr<'_>,
    adopt: bool,
    interrupted: &mut dyn FnMut() -> bool,
) -> Result<Option<Dominators>, OutOfMemory> {
    let mut targets = graph.targets.to_vec();
    match preorder_unless(graph.offsets, &mut targets, graph.roots, adopt, interrupted)? {
        Some(mut order) => finish_unless(&mut order, interrupted),
        None => Ok(None),
    }
}

/// The first half of [`dominators`] (see [`Preorder`]), called `interrupted()` once per
/// step of its long loop: `None` as soon as that says so (the caller has an error to
/// raise).
///
/// Once the walk is done (nothing can interrupt it then), `targets` is rewritten in
/// place in preorder numbers, for the predecessor rows: it is of no use as the graph's
/// edges afterwards.
pub fn preorder_unless(
    offsets: &[u32],
    targets: &mut [u32],
    roots: &[u32],
    adopt: bool,
    interrupted: &mut dyn FnMut() -> bool,
) -> Result<Option<Preorder>, OutOfMemory> {
    let graph = Csr { offsets, targets: &*targets, roots };
    let n = graph.nodes();
    let root = n as u32;
    let mut pre: Vec<u32> = grow::vec_filled(NONE, n + 1, DOMINATORS)?;
    // At most every node and the super-root: made at their full length at once, so that
    // no growth copies them (an allocator keeps the old copies resident).
    let mut vertex: Vec<u32> = grow::vec_with_capacity(n + 1, DOMINATORS)?;
    let mut parent: Vec<u32> = grow::vec_with_capacity(n + 1, DOMINATORS)?;
    // Depth-first preorder, with a stack of (node, next successor to look at).
    let mut stack: Vec<(u32, u32)> = Vec::new();
    pre[n] = 0;
    vertex.push(root);
    parent.push(0);
    stack.grow(1, DOMINATORS)?;
    stack.push((root, 0));
    let mut root_successors: Vec<u32> = grow::vec_with_capacity(graph.roots.len(), DOMINATORS)?;
    root_successors.extend_from_slice(graph.roots);
    let mut adopted: Vec<u32> = Vec::new();
    let mut next_unreached = 0usize;
    loop {
        while let Some(top) = stack.last_mut() {
            if interrupted() {
                return Ok(None);
            }
            let (v, next) = *top;
            let successors = if v == root { &root_successors[..] } else { graph.successors(v) };
            if let Some(&w) = successors.get(next as usize) {
                top.1 += 1;
                if pre[w as usize] == NONE {
                    let number = vertex.len() as u32;
                    pre[w as usize] = number;
                    vertex.push(w);
                    parent.push(pre[v as usize]);
                    stack.grow(1, DOMINATORS)?;
                    stack.push((w, 0));
                }
            } else {
                stack.pop();
            }
        }
        if !adopt {
            break;
        }
        while next_unreached < n && pre[next_unreached] != NONE {
            next_unreached += 1;
        }
        if next_unreached == n {
            break;
        }
        // A new successor of the super-root, walked from the super-root's frame.
        adopted.grow(1, DOMINATORS)?;
        adopted.push(next_unreached as u32);
        root_successors.grow(1, DOMINATORS)?;
        root_successors.push(next_unreached as u32);
        stack.push((root, root_successors.len() as u32 - 1));
    }
    drop(stack);
    // Without adoption, fewer nodes may have been reached.
    vertex.shrink_to_fit();
    parent.shrink_to_fit();
    let m = vertex.len();

    // The reached nodes' edges in preorder numbers, so that `pre` can be freed before
    // the predecessor rows are made (the second half makes it again).
    let row = |v: u32| offsets[v as usize] as usize..offsets[v as usize + 1] as usize;
    for &v in &vertex[1..] {
        for w in &mut targets[row(v)] {
            *w = pre[*w as usize];
        }
    }
    for w in &mut root_successors {
        *w = pre[*w as usize];
    }
    drop(pre);
    let targets = &*targets;
    let successors_of = |v: u32| if v == root { &root_successors[..] } else { &targets[row(v)] };

    // Predecessors of each reached node, by preorder numbers, in compressed rows.
    let mut pred_start: Vec<u32> = grow::vec_filled(0, m + 1, DOMINATORS)?;
    for &v in &vertex {
        for &pw in successors_of(v) {
            pred_start[pw as usize + 1] += 1;
        }
    }
    for i in 0..m {
        pred_start[i + 1] += pred_start[i];
    }
    // Filled from the end of each row, moving its start down to where it belongs.
    let mut preds: Vec<u32> = grow::vec_filled(0, pred_start[m] as usize, DOMINATORS)?;
    for (pv, &v) in vertex.iter().enumerate().rev() {
        for &pw in successors_of(v) {
            let pw = pw as usize;
            pred_start[pw + 1] -= 1;
            preds[pred_start[pw + 1] as usize] = pv as u32;
        }
    }
    // Row `w` now starts at `pred_start[w + 1]`: shift the starts back by one.
    pred_start.rotate_left(1);
    pred_start[m] = preds.len() as u32;
    Ok(Some(Preorder { nodes: n, vertex, parent, pred_start, preds, adopted }))
}

/// The second half of [`dominators`]: semidominators, then immediate dominators, from
/// `order` alone, called `interrupted()` once per step of its long loop: `None` as
/// soon as that says so, with `order` kept; on success `order` is emptied into the
/// result.
pub fn finish_unless(
    order: &mut Preorder,
    interrupted: &mut dyn FnMut() -> bool,
) -> Result<Option<Dominators>, OutOfMemory> {
    let m = order.vertex.len();
    let (pred_start, preds, parent) = (&order.pred_start, &order.preds, &order.parent);
    // Semidominators, by decreasing preorder, with path-compressed link-eval.
    let mut semi: Vec<u32> = grow::collect_exact(0..m as u32, DOMINATORS)?;
    let mut label: Vec<u32> = grow::collect_exact(0..m as u32, DOMINATORS)?;
    let mut ancestor: Vec<u32> = grow::vec_filled(NONE, m, DOMINATORS)?;
    let mut path: Vec<u32> = Vec::new();
    for w in (1..m).rev() {
        if interrupted() {
            return Ok(None);
        }
        let mut best = semi[w];
        for &v in &preds[pred_start[w] as usize..pred_start[w + 1] as usize] {
            let u = eval(v, &mut ancestor, &mut label, &semi, &mut path)?;
            best = best.min(semi[u as usize]);
        }
        semi[w] = best;
        ancestor[w] = parent[w];
    }
    drop((ancestor, label, path));

    // Immediate dominators: the nearest ancestor of the parent not below the semidominator.
    let mut idom = std::mem::take(&mut order.parent);
    for w in 1..m {
        let mut d = idom[w];
        while d > semi[w] {
            d = idom[d as usize];
        }
        idom[w] = d;
    }
    drop(semi);
    let vertex = std::mem::take(&mut order.vertex);
    let mut pre: Vec<u32> = grow::vec_filled(NONE, order.nodes + 1, DOMINATORS)?;
    for (p, &v) in vertex.iter().enumerate() {
        pre[v as usize] = p as u32;
    }
    Ok(Some(Dominators {
        vertex,
        pre,
        idom,
        adopted: std::mem::take(&mut order.adopted),
        pred_start: std::mem::take(&mut order.pred_start),
        preds: std::mem::take(&mut order.preds),
    }))
}

/// Lengauer-Tarjan's `eval`: the node of smallest semidominator on the linked path from
/// `v` up to (not including) the root of its tree in the forest, compressing the path.
#[inline]
fn eval(
    v: u32,
    ancestor: &mut [u32],
    label: &mut [u32],
    semi: &[u32],
    path: &mut Vec<u32>,
) -> Result<u32, OutOfMemory> {
    if ancestor[v as usize] == NONE {
        return Ok(v);
    }
    // Collect the path up to the node whose ancestor is the forest root.
    path.clear();
    let mut u = v;
    while ancestor[ancestor[u as usize] as usize] != NONE {
        path.grow(1, DOMINATORS)?;
        path.push(u);
        u = ancestor[u as usize];
    }
    // Unwind from the top: each node takes its ancestor's label if that is better.
    while let Some(x) = path.pop() {
        let a = ancestor[x as usize] as usize;
        if semi[label[a] as usize] < semi[label[x as usize] as usize] {
            label[x as usize] = label[a];
        }
        ancestor[x as usize] = ancestor[a];
    }
    Ok(label[v as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    struct Owned {
        offsets: Vec<u32>,
        targets: Vec<u32>,
        roots: Vec<u32>,
    }

    impl Owned {
        fn from_edges(n: usize, edges: &[(u32, u32)], roots: Vec<u32>) -> Owned {
            let mut offsets = vec![0u32; n + 1];
            for &(a, _) in edges {
                offsets[a as usize + 1] += 1;
            }
            for i in 0..n {
                offsets[i + 1] += offsets[i];
            }
            let mut fill = offsets.clone();
            let mut targets = vec![0u32; edges.len()];
            for &(a, b) in edges {
                targets[fill[a as usize] as usize] = b;
                fill[a as usize] += 1;
            }
            Owned { offsets, targets, roots }
        }
        fn csr(&self) -> Csr<'_> {
            Csr { offsets: &self.offsets, targets: &self.targets, roots: &self.roots }
        }
    }

    /// Dominators by iterative data flow over node sets (quadratic, obviously right):
    /// `dom(root) = {root}`, `dom(v) = {v} ∪ ⋂ dom(p)` over predecessors, to a fixpoint;
    /// the immediate dominator is the strict dominator dominated by all the others.
    #[allow(clippy::needless_range_loop)]
    fn naive(graph: Csr<'_>) -> Vec<Option<u32>> {
        let n = graph.nodes() + 1;
        let root = graph.nodes();
        let mut reached = vec![false; n];
        let mut stack = vec![root];
        reached[root] = true;
        while let Some(v) = stack.pop() {
            for &w in graph.successors(v as u32) {
                if !reached[w as usize] {
                    reached[w as usize] = true;
                    stack.push(w as usize);
                }
            }
        }
        let mut preds = vec![Vec::new(); n];
        for v in 0..n {
            if reached[v] {
                for &w in graph.successors(v as u32) {
                    preds[w as usize].push(v);
                }
            }
        }
        let mut dom: Vec<Vec<bool>> = (0..n).map(|v| if v == root { vec![false; n] } else { vec![true; n] }).collect();
        dom[root][root] = true;
        let mut changed = true;
        while changed {
            changed = false;
            for v in 0..n {
                if v == root || !reached[v] {
                    continue;
                }
                let mut new = vec![true; n];
                for &p in &preds[v] {
                    for (x, slot) in new.iter_mut().enumerate() {
                        *slot &= dom[p][x];
                    }
                }
                new[v] = true;
                if new != dom[v] {
                    dom[v] = new;
                    changed = true;
                }
            }
        }
        (0..graph.nodes())
            .map(|v| {
                if !reached[v] {
                    return None;
                }
                let strict: Vec<usize> = (0..n).filter(|&d| d != v && dom[v][d]).collect();
                strict.iter().copied().find(|&d| strict.iter().all(|&o| dom[d][o])).map(|d| d as u32)
            })
            .collect()
    }

    fn fast(graph: Csr<'_>) -> Vec<Option<u32>> {
        let d = dominators(graph, false).unwrap();
        (0..graph.nodes() as u32).map(|v| d.idom_of(v)).collect()
    }

    #[test]
    fn random_graphs_match_the_naive_algorithm() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let n = 1 + rng.below(24) as usize;
            let density = 1 + rng.below(4);
            let mut edges = Vec::new();
            for _ in 0..(n as u64 * density) {
                edges.push((rng.below(n as u64) as u32, rng.below(n as u64) as u32));
            }
            let roots: Vec<u32> = (0..1 + rng.below(3)).map(|_| rng.below(n as u64) as u32).collect();
            let g = Owned::from_edges(n, &edges, roots);
            assert_eq!(fast(g.csr()), naive(g.csr()), "round {round}: {edges:?} roots {:?}", g.roots);
        }
    }

    #[test]
    fn chains_cycles_diamonds_and_unreached_nodes() {
        // 0 -> 1 -> 2 -> 3, 3 -> 1 (a cycle), 0 -> 4 -> 5, 0 -> 6 -> 5 (a diamond), 7 alone.
        let edges = [(0, 1), (1, 2), (2, 3), (3, 1), (0, 4), (4, 5), (0, 6), (6, 5)];
        let g = Owned::from_edges(8, &edges, vec![0]);
        let n = 8;
        assert_eq!(fast(g.csr()), vec![Some(n), Some(0), Some(1), Some(2), Some(0), Some(0), Some(0), None]);
        assert_eq!(fast(g.csr()), naive(g.csr()));
        let d = dominators(g.csr(), false).unwrap();
        let retained = d.retained(|_| 10).unwrap().unwrap();
        assert_eq!(retained[d.pre[0] as usize], 70);
        assert_eq!(retained[d.pre[1] as usize], 30);
        assert_eq!(retained[d.pre[4] as usize], 10);
        assert_eq!(d.pre[7], NONE);
        // The predecessor rows answer for the freed edges.
        assert!(d.refers(0, 1) && d.refers(3, 1) && d.refers(6, 5));
        assert!(!d.refers(0, 2) && !d.refers(1, 0) && !d.refers(7, 0) && !d.refers(0, 7));
        // Two roots both reaching 2: neither 0 nor 1 dominates it.
        let g = Owned::from_edges(3, &[(0, 2), (1, 2)], vec![0, 1]);
        assert_eq!(fast(g.csr()), vec![Some(3), Some(3), Some(3)]);
    }

    #[test]
    fn unreached_nodes_are_adopted_as_roots() {
        // 0 is a root; 1 -> 2 -> 3 -> 1 is a cycle no root reaches, 4 -> 2 too.
        let g = Owned::from_edges(5, &[(1, 2), (2, 3), (3, 1), (4, 2)], vec![0]);
        let d = dominators(g.csr(), true).unwrap();
        assert_eq!(d.adopted, vec![1, 4]);
        let idoms: Vec<Option<u32>> = (0..5).map(|v| d.idom_of(v)).collect();
        assert_eq!(idoms, vec![Some(5), Some(5), Some(5), Some(2), Some(5)]);
        let with_roots = Owned::from_edges(5, &[(1, 2), (2, 3), (3, 1), (4, 2)], vec![0, 1, 4]);
        assert_eq!(idoms, naive(with_roots.csr()));
    }

    #[test]
    fn a_million_long_chain_needs_no_recursion() {
        let n = 1_000_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let g = Owned::from_edges(n as usize, &edges, vec![0]);
        let d = dominators(g.csr(), false).unwrap();
        assert_eq!(d.idom_of(n - 1), Some(n - 2));
        let retained = d.retained(|_| 1).unwrap().unwrap();
        assert_eq!(retained[d.pre[0] as usize], n as u64);
        // Back edges to the start make every node a predecessor of the first.
        let mut edges = edges;
        edges.extend((1..n).map(|i| (i, 0)));
        let g = Owned::from_edges(n as usize, &edges, vec![0]);
        let d = dominators(g.csr(), false).unwrap();
        assert_eq!(d.idom_of(n / 2), Some(n / 2 - 1));
    }

    #[test]
    fn overflowing_sums_are_reported() {
        let g = Owned::from_edges(2, &[(0, 1)], vec![0]);
        let d = dominators(g.csr(), false).unwrap();
        assert!(d.retained(|_| u64::MAX).unwrap().is_none());
    }

    #[test]
    fn the_second_half_starts_again_after_an_interruption() {
        let mut rng = Rng(7);
        let edges: Vec<(u32, u32)> = (0..400).map(|_| (rng.below(100) as u32, rng.below(100) as u32)).collect();
        let g = Owned::from_edges(100, &edges, vec![0, 50]);
        let expected = fast(g.csr());
        let mut targets = g.targets.clone();
        let mut order = preorder_unless(&g.offsets, &mut targets, &g.roots, false, &mut || false).unwrap().unwrap();
        let mut calls = 0;
        assert!(finish_unless(&mut order, &mut || {
            calls += 1;
            calls == 10
        })
        .unwrap()
        .is_none());
        let d = finish_unless(&mut order, &mut || false).unwrap().unwrap();
        assert_eq!((0..100).map(|v| d.idom_of(v)).collect::<Vec<_>>(), expected);
        for &(a, b) in &edges {
            assert_eq!(d.refers(a, b), d.pre[a as usize] != NONE, "{a} -> {b}");
        }
    }

    #[test]
    fn an_interruption_stops_every_long_loop() {
        // A chain of 50 nodes: the walk and the semidominator loop each ask once a step.
        let offsets: Vec<u32> = (0..=50).map(|i| i.min(49)).collect();
        let targets: Vec<u32> = (1..50).collect();
        let roots = [0u32];
        let graph = Csr { offsets: &offsets, targets: &targets, roots: &roots };
        let mut asked = 0usize;
        let full = dominators_unless(graph, false, &mut || {
            asked += 1;
            false
        })
        .unwrap();
        assert!(full.is_some());
        for stop_at in [1, asked / 2, asked] {
            let mut calls = 0usize;
            let stopped = dominators_unless(graph, false, &mut || {
                calls += 1;
                calls == stop_at
            })
            .unwrap();
            assert!(stopped.is_none(), "stopped at call {stop_at} of {asked}");
            assert_eq!(calls, stop_at);
        }
    }
}
