//! Summary tables as pympler prints them, rendered with `tabled`.
//!
//! pympler's layout: every cell right-justified to its column's widest entry plus two,
//! cells joined by `" | "`, and under the header a line of `=` as wide as each column:
//!
//! ```text
//!   types |   # objects |   total size
//! ======= | =========== | ============
//!     str |           3 |      150     B
//! ```
//!
//! The `=` line is a row of the table, so that `tabled` gives it the columns' width; the
//! `|` separators are the table's only border, with one space of padding either side.
//! Widths are display widths (`tabled` measures wide characters as two columns), which
//! for the ASCII names of nearly every type equal pympler's character counts.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt};
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Padding, Style};

/// Renders `rows` (the first one is the header) as pympler's table lines.
pub fn render(rows: &[Vec<String>]) -> Vec<String> {
    let Some(header) = rows.first() else { return Vec::new() };
    let columns = header.len();
    if columns == 0 {
        return vec![String::new(); rows.len() + 1];
    }
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(tabled::grid::util::string::get_text_width(cell));
        }
    }
    let mut builder = Builder::default();
    builder.push_record(header.iter().cloned());
    builder.push_record(widths.iter().map(|w| "=".repeat(w + 2)));
    for row in &rows[1..] {
        builder.push_record(row.iter().cloned());
    }
    let mut table = builder.build();
    table.with(Style::empty().vertical('|'));
    table.with(Alignment::right());
    table.with(Padding::new(1, 1, 0, 0));
    table.modify(Columns::first(), Padding::new(0, 1, 0, 0));
    table.modify(Columns::last(), Padding::new(1, 0, 0, 0));
    if columns == 1 {
        table.modify(Columns::first(), Padding::new(0, 0, 0, 0));
    }
    table.to_string().lines().map(str::to_owned).collect()
}

/// pympler's `stringutils.pp` for an integer: bytes as `%4d     B`, larger sizes divided
/// by 1024 until at most 1024 and shown as `%7.2f KB` (MB, GB, TB, then EB, as pympler
/// names them). Negative sizes stay in bytes, as in pympler.
pub fn pretty_int(value: i128) -> String {
    if value <= 1024 {
        return format!("{value:4}     B");
    }
    scaled(value as f64)
}

/// [`pretty_int`] for a float (`%4d` truncates toward zero, as Python's does).
pub fn pretty_float(value: f64) -> String {
    if value.is_nan() || value <= 1024.0 {
        let whole = if value.is_finite() { format!("{:4}", value.trunc() as i128) } else { format!("{value:4}") };
        return format!("{whole}     B");
    }
    scaled(value)
}

fn scaled(mut value: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "EB"];
    let mut degree = 0;
    while value > 1024.0 && degree < UNITS.len() - 1 {
        value /= 1024.0;
        degree += 1;
    }
    format!("{value:7.2} {}", UNITS[degree])
}

/// pympler's `stringutils.pp(size)` for an int or float size.
#[pyfunction]
pub fn pretty_size(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if value.is_instance_of::<PyInt>() {
        return Ok(pretty_int(value.extract()?));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(pretty_float(value.extract()?));
    }
    Err(PyTypeError::new_err(format!("a size must be an int or a float, not {}", value.get_type().name()?)))
}

/// Lines of pympler's summary table for `rows` of cell texts (the first row is the
/// header, underlined with `=`).
#[pyfunction]
pub fn format_table(rows: Vec<Vec<String>>) -> PyResult<Vec<String>> {
    if let Some(columns) = rows.first().map(Vec::len) {
        if rows.iter().any(|row| row.len() != columns) {
            return Err(pyo3::exceptions::PyValueError::new_err("every row must have as many cells as the header"));
        }
    }
    Ok(render(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [&str; 3] = ["types", "# objects", "total size"];

    fn table(rows: &[[&str; 3]]) -> Vec<String> {
        let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        render(&rows)
    }

    #[test]
    fn pympler_layout() {
        let lines = table(&[HEADER, ["str", "3", " 150     B"], ["<class 'x'>", "12", "   1.21 KB"]]);
        assert_eq!(
            lines,
            vec![
                "        types |   # objects |   total size",
                "============= | =========== | ============",
                "          str |           3 |    150     B",
                "  <class 'x'> |          12 |      1.21 KB",
            ]
        );
    }

    #[test]
    fn header_only() {
        assert_eq!(
            table(&[HEADER]),
            vec!["  types |   # objects |   total size", "======= | =========== | ============"]
        );
    }

    #[test]
    fn sizes_like_pympler() {
        assert_eq!(pretty_int(0), "   0     B");
        assert_eq!(pretty_int(1024), "1024     B");
        assert_eq!(pretty_int(1025), "   1.00 KB");
        assert_eq!(pretty_int(1152), "   1.12 KB");
        assert_eq!(pretty_int(-5000), "-5000     B");
        assert_eq!(pretty_int(5 * 1024 * 1024), "   5.00 MB");
        assert_eq!(pretty_int(5 * 1024 * 1024 + 1), "   5.00 MB");
        assert_eq!(pretty_float(3.7), "   3     B");
        assert_eq!(pretty_float(-3.7), "  -3     B");
    }
}
