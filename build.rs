fn main() {
    // Exposes `Py_3_10`, `Py_3_11`, ... cfgs so the layout code can follow the interpreter it is built for.
    pyo3_build_config::use_pyo3_cfgs();
}
