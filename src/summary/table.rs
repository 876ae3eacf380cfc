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

/// The widest a cell is shown, in display columns: a longer text (a type name of
/// megabytes, say) is cut and ends with [`ELLIPSIS`], so that a table stays readable and
/// takes memory in proportion to its rows, not to its longest name. The rows themselves
/// keep the whole text.
pub const MAX_CELL_WIDTH: usize = 120;

/// What ends a shortened cell.
pub const ELLIPSIS: &str = "...";

/// `text` as shown in a cell: itself if at most [`MAX_CELL_WIDTH`] columns wide, else its
/// start and [`ELLIPSIS`], that wide. Reads no more of `text` than it keeps.
pub fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    let mut width = 0;
    let mut cut = None;
    let mut buffer = [0u8; 4];
    for (at, c) in text.char_indices() {
        width += tabled::grid::util::string::get_text_width(c.encode_utf8(&mut buffer));
        if cut.is_none() && width > MAX_CELL_WIDTH - ELLIPSIS.len() {
            cut = Some(at);
        }
        if width > MAX_CELL_WIDTH {
            let cut = cut.unwrap_or(at);
            return std::borrow::Cow::Owned(format!("{}{ELLIPSIS}", &text[..cut]));
        }
    }
    std::borrow::Cow::Borrowed(text)
}

/// Renders `rows` (the first one is the header) as pympler's table lines, each cell at
/// most [`MAX_CELL_WIDTH`] columns wide.
pub fn render(rows: &[Vec<String>]) -> Vec<String> {
    let rows: Vec<Vec<std::borrow::Cow<'_, str>>> =
        rows.iter().map(|row| row.iter().map(|cell| shorten(cell)).collect()).collect();
    let Some(header) = rows.first() else { return Vec::new() };
    let columns = header.len();
    if columns == 0 {
        return vec![String::new(); rows.len() + 1];
    }
    let mut widths = vec![0usize; columns];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(tabled::grid::util::string::get_text_width(cell.as_ref()));
        }
    }
    let mut builder = Builder::default();
    builder.push_record(header.iter().map(|c| c.to_string()));
    builder.push_record(widths.iter().map(|w| "=".repeat(w + 2)));
    for row in &rows[1..] {
        builder.push_record(row.iter().map(|c| c.to_string()));
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
    fn long_cells_are_shortened() {
        let long = "x".repeat(10_000);
        let lines = table(&[HEADER, [&long, "1", "8"]]);
        let shown = format!("{}{ELLIPSIS}", "x".repeat(MAX_CELL_WIDTH - ELLIPSIS.len()));
        assert_eq!(lines[2], format!("  {shown} |           1 |            8"));
        assert_eq!(shorten(&"y".repeat(MAX_CELL_WIDTH)), "y".repeat(MAX_CELL_WIDTH));
        // Wide characters count two columns.
        let text = "\u{4e2d}".repeat(MAX_CELL_WIDTH);
        let wide = shorten(&text);
        assert_eq!(tabled::grid::util::string::get_text_width(&wide), MAX_CELL_WIDTH - 1);
        assert!(wide.ends_with(ELLIPSIS));
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
