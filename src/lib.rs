//! heapscope's Rust core. The module list is the architecture:
//! - `ffi`: every raw CPython read and call, per interpreter version;
//! - `asizeof`: the deep-size walk behind `heapscope.asizeof`;
//! - `heap`: whole-heap passes over the collector's objects, and the referrer index of `why()`;
//! - `summary`: per-type rows, diffs, the snapshot file and the table of `heapscope.summary`;
//! - `classtracker`: tracked instances, snapshots, statistics and reports of `heapscope.classtracker`;
//! - `jsonfile`: reading untrusted JSON files streamed, in bounded memory;
//! - `process`: the process's memory as the operating system reports it, and what it is made of;
//! - `timeline`: memory over time, sampled by a thread that never takes the GIL;
//! - `grow`: fallible growth of buffers that follow the heap's size (`MemoryError`, not an abort);
//! - `units`: byte counts for people (`1.5 KiB`);
//! - `visited`: the address bitmap that marks objects already seen.
//!
//! This file only declares them and lists what `heapscope._core` exports.

mod asizeof;
mod classtracker;
mod errors;
mod ffi;
mod grow;
mod heap;
mod jsonfile;
mod process;
mod summary;
mod timeline;
mod units;
mod visited;

// The interpreters `build.rs` accepts, compiled here for its unit tests.
#[cfg(test)]
#[path = "../build/supported.rs"]
mod supported;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Before anything can read a layout in place: which layouts this interpreter has.
    ffi::check_layouts(m.py())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<asizeof::sizer::Sizer>()?;
    m.add_class::<asizeof::estimates::TypeDef>()?;
    m.add_function(wrap_pyfunction!(asizeof::sizer::getsizeof, m)?)?;
    m.add_function(wrap_pyfunction!(asizeof::sizer::named_referents, m)?)?;
    m.add_function(wrap_pyfunction!(asizeof::libraries::register_footprint, m)?)?;
    m.add_function(wrap_pyfunction!(heap::referrers::referrers_of, m)?)?;
    m.add_function(wrap_pyfunction!(heap::referrers::why_chains, m)?)?;
    m.add_function(wrap_pyfunction!(heap::edges::graph_edges, m)?)?;
    m.add_function(wrap_pyfunction!(heap::retained::retained_size, m)?)?;
    m.add_function(wrap_pyfunction!(heap::retained::retained_top, m)?)?;
    m.add_function(wrap_pyfunction!(heap::retained::retained_by_type, m)?)?;
    m.add_function(wrap_pyfunction!(heap::retained::retained_stats, m)?)?;
    m.add_function(wrap_pyfunction!(heap::dominator_view::dominator_tree, m)?)?;
    m.add_function(wrap_pyfunction!(heap::suspects::leak_suspects, m)?)?;
    m.add_function(wrap_pyfunction!(heap::edges::node_name, m)?)?;
    m.add_function(wrap_pyfunction!(process::proc_memory, m)?)?;
    m.add_class::<summary::python::Summary>()?;
    m.add("SnapshotError", m.py().get_type::<errors::SnapshotError>())?;
    m.add_function(wrap_pyfunction!(heap::passes::heap_objects, m)?)?;
    m.add_function(wrap_pyfunction!(ffi::_layouts, m)?)?;
    m.add_function(wrap_pyfunction!(ffi::_use_layout, m)?)?;
    m.add_function(wrap_pyfunction!(ffi::_layout_fallbacks, m)?)?;
    m.add_function(wrap_pyfunction!(summary::python::summarize, m)?)?;
    m.add_function(wrap_pyfunction!(summary::python::summarize_heap, m)?)?;
    m.add_function(wrap_pyfunction!(summary::table::pretty_size, m)?)?;
    m.add_function(wrap_pyfunction!(units::human_size_py, m)?)?;
    m.add_function(wrap_pyfunction!(summary::table::format_table, m)?)?;
    m.add_function(wrap_pyfunction!(heap::objects::flat_sizes, m)?)?;
    m.add_function(wrap_pyfunction!(heap::objects::total_flat_size, m)?)?;
    m.add_function(wrap_pyfunction!(heap::objects::filter_objects, m)?)?;
    m.add_function(wrap_pyfunction!(heap::objects::identity_diff, m)?)?;
    m.add_function(wrap_pyfunction!(heap::objects::referents, m)?)?;
    m.add_function(wrap_pyfunction!(heap::objects::tracked_count, m)?)?;
    m.add_function(wrap_pyfunction!(heap::objects::collect_until_settled, m)?)?;
    m.add_class::<classtracker::core::TrackerCore>()?;
    m.add_class::<classtracker::core::DeathWatch>()?;
    m.add_function(wrap_pyfunction!(process::process_memory, m)?)?;
    m.add_function(wrap_pyfunction!(process::breakdown::resident_memory, m)?)?;
    m.add_function(wrap_pyfunction!(process::breakdown::pymalloc_stats, m)?)?;
    m.add_class::<timeline::sampler::RssSampler>()?;
    m.add_class::<timeline::lines::LineRecorder>()?;
    Ok(())
}
