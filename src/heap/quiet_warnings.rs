//! Python code that heapscope runs on the user's objects (a `__class__` asked during a
//! census, a `__name__` or `repr` to describe what a view shows) runs with warnings
//! ignored: looking at the heap must not make the program warn about objects it never
//! touched, such as a deprecated module attribute whose `__getattribute__` warns on every
//! access (`torch.distributed.reduce_op`).
//!
//! An "ignore" filter is put first in `warnings.filters` and taken out again, without
//! `warnings.catch_warnings()` or `simplefilter`: those tell every module's
//! `__warningregistry__` that the filters changed, so that each warning the program had
//! shown once would show again after every census (and the registries, cleared and
//! refilled, would change the heap between two censuses). The filters are the process's
//! (or, with 3.14's context-aware warnings inside a `catch_warnings` block, the
//! context's, which the entry does not reach: warnings are then shown as without
//! heapscope); a warning another thread gives during those few calls is ignored too.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// Runs `work` with warnings ignored, then takes the filter out again (also when `work`
/// fails; its error comes first).
pub fn quietly<'py, T>(py: Python<'py>, work: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    let warnings = py.import(crate::pystr!(py, "warnings")?)?;
    let filters = warnings.getattr(crate::pystr!(py, "filters")?)?;
    // Not a list: replaced by the program; warnings then go as they would.
    let Ok(filters) = filters.cast_into::<PyList>() else {
        return work();
    };
    let entry =
        (crate::pystr!(py, "ignore")?, py.None(), py.get_type::<pyo3::exceptions::PyWarning>(), py.None(), 0u32)
            .into_pyobject(py)?;
    filters.insert(0, &entry)?;
    let result = work();
    let removed = remove_entry(&filters, &entry);
    let value = result?;
    removed?;
    Ok(value)
}

/// Removes `entry` (the object itself: the program may have added an equal filter
/// meanwhile) from `filters`, wherever other code has moved it.
fn remove_entry(filters: &Bound<'_, PyList>, entry: &Bound<'_, PyTuple>) -> PyResult<()> {
    for index in 0..filters.len() {
        if filters.get_item(index)?.is(entry) {
            return filters.del_item(index);
        }
    }
    Ok(())
}
