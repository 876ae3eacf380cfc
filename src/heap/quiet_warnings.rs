//! Python code that heapscope runs on the user's objects (a `__class__` asked during a
//! census, a `__name__` or `repr` to describe what a view shows) runs with warnings
//! ignored: looking at the heap must not make the program warn about objects it never
//! touched, such as a deprecated module attribute whose `__getattribute__` warns on every
//! access (`torch.distributed.reduce_op`).
//!
//! `warnings.catch_warnings()` restores the filters on exit. Before 3.14 (and without
//! context-aware warnings) the filters are the process's, so a warning another thread
//! gives during those few calls is not shown either.

use pyo3::prelude::*;

/// Runs `work` with warnings ignored, then restores the filters (also when `work`
/// fails; its error comes first).
pub fn quietly<'py, T>(py: Python<'py>, work: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    let warnings = py.import(crate::pystr!(py, "warnings")?)?;
    let manager = warnings.call_method0(crate::pystr!(py, "catch_warnings")?)?;
    manager.call_method0(crate::pystr!(py, "__enter__")?)?;
    let result = warnings.call_method1(crate::pystr!(py, "simplefilter")?, ("ignore",)).and_then(|_| work());
    let restored = manager.call_method1(crate::pystr!(py, "__exit__")?, (py.None(), py.None(), py.None()));
    let value = result?;
    restored?;
    Ok(value)
}
