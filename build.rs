//! Selects the layouts for the interpreter being built for, and refuses, in one line and
//! before anything is compiled, an interpreter whose layouts heapscope does not know.

include!("build/supported.rs");

fn main() {
    println!("cargo:rerun-if-changed=build/supported.rs");
    let config = pyo3_build_config::get();
    let implementation = format!("{:?}", config.implementation());
    let free_threaded =
        config.is_free_threaded() || config.build_flags().0.contains(&pyo3_build_config::BuildFlag::Py_GIL_DISABLED);
    if let Some(reason) =
        unsupported_reason(&implementation, config.version().major, config.version().minor, free_threaded)
    {
        eprintln!("error: {reason}");
        std::process::exit(1);
    }
    // Exposes `Py_3_10`, `Py_3_11`, ... cfgs so the layout code can follow the interpreter it is built for.
    pyo3_build_config::use_pyo3_cfgs();
}
