//! heapscope's Rust core: the object-graph walk and sizing behind `heapscope.asizeof`.
//!
//! The module list is the architecture: raw CPython access in `cpython`, per-type rules
//! in `rules`, the walk in `walk`, what an `Asizer` remembers in `ledger`, and the
//! Python-facing class in `sizer`.

mod class_tracker;
mod cpython;
mod flat;
mod heap;
mod ledger;
mod lifetimes;
mod names;
mod objects;
mod process;
mod procmem;
mod referrers;
mod rules;
mod sizer;
mod snapshot;
mod stats_format;
mod stats_html;
mod summary;
mod table;
mod visited;
mod walk;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<sizer::Sizer>()?;
    m.add_function(wrap_pyfunction!(sizer::getsizeof, m)?)?;
    m.add_function(wrap_pyfunction!(sizer::named_referents, m)?)?;
    m.add_class::<referrers::Chains>()?;
    m.add_function(wrap_pyfunction!(referrers::reference_chains, m)?)?;
    m.add_function(wrap_pyfunction!(referrers::referrers_of, m)?)?;
    m.add_function(wrap_pyfunction!(procmem::proc_memory, m)?)?;
    m.add_class::<summary::Summary>()?;
    m.add("SnapshotError", m.py().get_type::<snapshot::SnapshotError>())?;
    m.add_function(wrap_pyfunction!(heap::heap_objects, m)?)?;
    m.add_function(wrap_pyfunction!(heap::_read_gc_lists, m)?)?;
    m.add_function(wrap_pyfunction!(summary::summarize, m)?)?;
    m.add_function(wrap_pyfunction!(summary::summarize_heap, m)?)?;
    m.add_function(wrap_pyfunction!(table::pretty_size, m)?)?;
    m.add_function(wrap_pyfunction!(table::format_table, m)?)?;
    m.add_function(wrap_pyfunction!(objects::flat_sizes, m)?)?;
    m.add_function(wrap_pyfunction!(objects::total_flat_size, m)?)?;
    m.add_function(wrap_pyfunction!(objects::filter_objects, m)?)?;
    m.add_function(wrap_pyfunction!(objects::identity_diff, m)?)?;
    m.add_function(wrap_pyfunction!(objects::referents, m)?)?;
    m.add_class::<class_tracker::TrackerCore>()?;
    m.add_class::<class_tracker::SnapshotJob>()?;
    m.add_class::<class_tracker::DeathWatch>()?;
    m.add_function(wrap_pyfunction!(class_tracker::process_memory, m)?)?;
    Ok(())
}
