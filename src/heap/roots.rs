//! The roots of the heap graph, each named by its kind as heap analyzers name their GC
//! roots: the modules of `sys.modules`, the locals of every thread's frames (a snapshot
//! dict per frame, as `why()` takes them), the exception each thread handles, and every
//! object whose reference count is larger than the references the graph sees (held from
//! C: an extension's state, the interpreter's caches, a running frame's stack). Module,
//! frame and thread roots are gathered by `why()`'s own functions in `referrers`.

use crate::grow::{self, OutOfMemory, TryPush};
use crate::heap::edges::{Kinds, RootKind};
use crate::heap::graph::HeapGraph;
use crate::heap::referrers::{self, Root};
use pyo3::prelude::*;

/// What a root is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A module in `sys.modules`.
    Module,
    /// A snapshot of a frame's locals, or the globals of a module-level frame.
    Locals,
    /// A list holding the exception a thread handles.
    Thread,
    /// Held by references the graph does not see (C code, the interpreter).
    HeldFromC,
    /// Reached from no other root (garbage the collector has not freed yet, or objects
    /// only C code can reach).
    Unreachable,
}

impl Kind {
    /// The name shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Locals => "frame locals",
            Kind::Thread => "thread exception",
            Kind::HeldFromC => "held from C",
            Kind::Unreachable => "unreachable",
        }
    }
}

/// The roots `why()` knows, each holder held, and the objects gathering them held
/// (frames, `sys._current_frames()`).
pub struct Gathered<'py> {
    pub roots: Vec<Root<'py>>,
    /// Kept for the computation, so that their addresses stay theirs.
    pub _held: Vec<Bound<'py, PyAny>>,
}

/// Gathers module, frame and thread roots (runs Python code). Frames running
/// `own_code` are left out.
pub fn gather<'py>(py: Python<'py>, own_code: &[Bound<'py, PyAny>]) -> PyResult<Gathered<'py>> {
    let kinds = Kinds::new(py)?;
    let mut roots = Vec::new();
    let mut held = Vec::new();
    referrers::module_roots(py, &kinds, &mut roots)?;
    referrers::frame_roots(py, own_code, &mut roots, &mut held)?;
    referrers::thread_roots(py, &mut roots)?;
    Ok(Gathered { roots, _held: held })
}

/// The root nodes of `graph` and their kinds: the gathered roots first, then every
/// node whose reference count exceeds the references to it in the graph.
pub fn root_nodes(graph: &HeapGraph, gathered: &Gathered<'_>) -> Result<(Vec<u32>, Vec<Kind>), OutOfMemory> {
    const ROOTS: &str = "the list of roots";
    let mut nodes = Vec::new();
    let mut kinds = Vec::new();
    let mut is_root: Vec<bool> = grow::vec_filled(false, graph.len(), ROOTS)?;
    for root in &gathered.roots {
        if let Some(node) = graph.node_of(root.holder.as_ptr()) {
            if !is_root[node as usize] {
                is_root[node as usize] = true;
                nodes.try_push(node, ROOTS)?;
                kinds.try_push(
                    match root.kind {
                        RootKind::Module => Kind::Module,
                        RootKind::Locals => Kind::Locals,
                        RootKind::Thread => Kind::Thread,
                    },
                    ROOTS,
                )?;
            }
        }
    }
    let mut seen: Vec<u32> = grow::vec_filled(0, graph.len(), ROOTS)?;
    for &target in &graph.targets {
        seen[target as usize] = seen[target as usize].saturating_add(1);
    }
    for (node, (&count, &refs)) in graph.refcounts.iter().zip(&seen).enumerate() {
        if count > refs && !is_root[node] {
            nodes.try_push(node as u32, ROOTS)?;
            kinds.try_push(Kind::HeldFromC, ROOTS)?;
        }
    }
    Ok((nodes, kinds))
}
