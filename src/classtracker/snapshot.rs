//! The sizing half of a class-tracker snapshot, done with the `asizeof` walk directly:
//! the tracked objects one after the other (oldest first) over one ledger, as one
//! `heapscope.asizeof.Asizer` would size them, then the tracker itself over the same
//! ledger (its overhead), and with `compute_total` every object the collector knows.
//!
//! Sizing runs Python code (foreign `__sizeof__`, node names): the tracker's state must
//! not be locked meanwhile, and the objects are held strongly by the caller.

use crate::asizeof::ledger::Ledger;
use crate::asizeof::rules::{self, ClassifyOptions, Registry, RuleCache};
use crate::asizeof::walk::{Node, Options, Walker};
use crate::classtracker::log::TreeNode;
use pyo3::exceptions::{PyException, PyMemoryError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

/// The size of one tracked object at a snapshot: its total, or (`resolution_level` > 0)
/// its `asized` tree, whose root holds the total.
pub enum Measured {
    Size(u64),
    Tree(Box<[TreeNode]>),
}

/// The options of a default `Asizer()` (see `heapscope.asizeof.DEFAULTS`), with `detail`
/// and `code` as given.
fn options(detail: u32, code: bool) -> Options {
    Options { code, detail, ..Options::default() }
}

/// One snapshot's sizer: what it has seen stays seen until it is dropped.
pub struct SnapshotSizer {
    ledger: Ledger,
    registry: &'static Registry,
    /// The `detail` of the latest run (an `Asizer` keeps its last `set()`).
    detail: u32,
}

impl SnapshotSizer {
    pub fn new(py: Python<'_>) -> PyResult<SnapshotSizer> {
        Ok(SnapshotSizer { ledger: Ledger::default(), registry: rules::registry(py)?, detail: 0 })
    }

    fn walker<'a, 'py>(&'a mut self, py: Python<'py>, code: bool) -> Walker<'a, 'py> {
        let rules = RuleCache::new(self.registry, ClassifyOptions::default());
        Walker::new(py, &mut self.ledger, options(self.detail, code), rules)
    }

    /// Sizes `objects`, `levels[i]` being the resolution level of `objects[i]`: each
    /// object's referents shared with an earlier one were counted with that one, and no
    /// tracked object is counted as a referent of another.
    pub fn size_tracked(&mut self, py: Python<'_>, objects: &[Py<PyAny>], levels: &[u32]) -> PyResult<Vec<Measured>> {
        for obj in objects {
            self.ledger.exclude_refs(obj.as_ptr())?;
        }
        let mut measured = Vec::with_capacity(objects.len());
        let mut start = 0;
        while start < objects.len() {
            // A run of consecutive objects with the same level shares one walker.
            let level = levels[start];
            let end = levels[start..].iter().position(|&l| l != level).map_or(objects.len(), |n| start + n);
            self.detail = level;
            let mut walker = self.walker(py, false);
            for obj in &objects[start..end] {
                let size = walker.size_top(obj.bind(py), level > 0)?;
                measured.push(match walker.nodes.take() {
                    Some(nodes) if !nodes.is_empty() => Measured::Tree(tree_of(py, nodes)?),
                    _ => Measured::Size(size),
                });
            }
            start = end;
        }
        Ok(measured)
    }

    /// Combined size of everything sized so far.
    pub fn total(&self) -> u64 {
        self.ledger.total
    }

    /// Size of `obj` and what it reaches that was not sized before (`Asizer.asizeof`).
    pub fn size_more(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.ledger.exclude_refs(obj.as_ptr())?;
        self.walker(obj.py(), false).size_top(obj, false)
    }
}

/// `asizeof(all=True, code=True)`: the combined size of every object `gc.get_objects()`
/// returns (the list itself left out).
pub fn size_everything(py: Python<'_>) -> PyResult<u64> {
    let objects = py
        .import(crate::pystr!(py, "gc")?)?
        .getattr(crate::pystr!(py, "get_objects")?)?
        .call0()?
        .cast_into::<PyList>()?;
    let mut ledger = Ledger::default();
    ledger.exclude_obj(objects.as_ptr())?;
    for obj in objects.iter() {
        ledger.exclude_refs(obj.as_ptr())?;
    }
    let rules = RuleCache::new(rules::registry(py)?, ClassifyOptions::default());
    let mut walker = Walker::new(py, &mut ledger, options(0, true), rules);
    // The list is ours alone: no code the walk runs can change it.
    let mut total = 0;
    for obj in objects.iter() {
        total = walker.size_top(&obj, false)?.saturating_add(total);
    }
    Ok(total)
}

/// An `asized` tree with its names as text (`str()` of a name that is not a `str`, or
/// `N/A` when that raises an `Exception`).
fn tree_of(py: Python<'_>, nodes: Vec<Node>) -> PyResult<Box<[TreeNode]>> {
    nodes
        .into_iter()
        .map(|node| {
            let name = node.name.bind(py);
            let name = match name.cast::<PyString>() {
                Ok(text) => crate::ffi::text_of(text)?,
                Err(_) => text_or_na(py, name.str())?,
            };
            Ok(TreeNode { parent: node.parent, name: name.into(), size: node.size, flat: node.flat })
        })
        .collect()
}

/// The text of a `str()` or `repr()`, `N/A` if it raised an `Exception` other than
/// `MemoryError` (that, and anything else, such as `KeyboardInterrupt`, propagates).
pub fn text_or_na(py: Python<'_>, text: PyResult<Bound<'_, PyString>>) -> PyResult<String> {
    match text {
        Ok(text) => crate::ffi::text_of(&text),
        Err(error) if error.is_instance_of::<PyMemoryError>(py) => Err(error),
        Err(error) if error.is_instance_of::<PyException>(py) => Ok("N/A".to_owned()),
        Err(error) => Err(error),
    }
}
