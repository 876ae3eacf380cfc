//! Heap summaries: rows by type name (`rows`), the census that fills them (`aggregate`),
//! the Python-facing `Summary` and `summarize` functions (`python`), the versioned JSON
//! file (`file`), pympler's text table (`table`) and the text people read (`text`).

pub mod aggregate;
pub mod file;
pub mod python;
pub mod rows;
pub mod table;
pub mod text;
