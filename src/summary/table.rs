//! Summary tables as pympler prints them.
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
//! A cell of several lines makes its row as tall, each line justified on its own.
//! Widths are display widths (wide characters count as two columns), which for the
//! ASCII names of nearly every type equal pympler's character counts. Every line is
//! built in memory reserved fallibly: a table with a huge type name raises
//! `MemoryError` instead of aborting.

use crate::ffi;
use crate::grow::{Grow, OutOfMemory, TryPush};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyList};
use tabled::grid::util::string::get_text_width;

const WHAT: &str = "a summary table";

/// One line of the table: `cells` as (column width, text), right-justified, joined.
fn table_line<'a>(
    line_len: usize,
    cells: impl Iterator<Item = (usize, &'a str)>,
    lines: &mut Vec<String>,
) -> Result<(), OutOfMemory> {
    let mut line = String::new();
    line.grow(line_len, WHAT)?;
    for (i, (width, text)) in cells.enumerate() {
        if i > 0 {
            line.push_str(" | ");
        }
        let pad = width.saturating_sub(get_text_width(text));
        line.grow(pad.saturating_add(text.len()), WHAT)?;
        line.extend(std::iter::repeat(' ').take(pad));
        line.push_str(text);
    }
    lines.try_push(line, WHAT)
}

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
        width += get_text_width(c.encode_utf8(&mut buffer));
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
pub fn render(rows: &[Vec<String>]) -> Result<Vec<String>, OutOfMemory> {
    let mut shortened: Vec<Vec<std::borrow::Cow<'_, str>>> = Vec::new();
    shortened.grow(rows.len(), WHAT)?;
    shortened.extend(rows.iter().map(|row| row.iter().map(|cell| shorten(cell)).collect()));
    let rows = &shortened;
    let Some(header) = rows.first() else { return Ok(Vec::new()) };
    let columns = header.len();
    let mut lines: Vec<String> = Vec::new();
    if columns == 0 {
        lines.grow(rows.len() + 1, WHAT)?;
        lines.resize(rows.len() + 1, String::new());
        return Ok(lines);
    }
    // Column widths: the widest line of any cell, plus the two of the `=` rule.
    let mut widths: Vec<usize> = vec![0; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            for line in cell.lines() {
                *width = (*width).max(get_text_width(line));
            }
        }
    }
    for width in &mut widths {
        *width = width.saturating_add(2);
    }
    let line_len: usize = widths.iter().fold(3 * (columns - 1), |sum, w| sum.saturating_add(*w));
    let mut rule: Vec<String> = Vec::new();
    rule.grow(columns, WHAT)?;
    for &width in &widths {
        let mut text = String::new();
        text.grow(width, WHAT)?;
        text.extend(std::iter::repeat('=').take(width));
        rule.push(text);
    }
    for (number, row) in rows.iter().enumerate() {
        let height = row.iter().map(|cell| cell.lines().count().max(1)).max().unwrap_or(1);
        for k in 0..height {
            let cells = widths.iter().zip(row).map(|(&width, cell)| (width, cell.lines().nth(k).unwrap_or("")));
            table_line(line_len, cells, &mut lines)?;
        }
        if number == 0 {
            let cells = widths.iter().zip(&rule).map(|(&width, text)| (width, text.as_str()));
            table_line(line_len, cells, &mut lines)?;
        }
    }
    Ok(lines)
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
pub fn pretty_size<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    use crate::ffi::IntoNew;
    if value.is_instance_of::<PyInt>() {
        return pretty_int(value.extract()?).into_new(value.py());
    }
    if value.is_instance_of::<PyFloat>() {
        return pretty_float(value.extract()?).into_new(value.py());
    }
    Err(PyTypeError::new_err(format!("a size must be an int or a float, not {}", value.get_type().name()?)))
}

/// Lines of pympler's summary table for `rows` of cell texts (the first row is the
/// header, underlined with `=`).
#[pyfunction]
pub fn format_table(py: Python<'_>, rows: Vec<Vec<String>>) -> PyResult<Bound<'_, PyList>> {
    if let Some(columns) = rows.first().map(Vec::len) {
        if rows.iter().any(|row| row.len() != columns) {
            return Err(pyo3::exceptions::PyValueError::new_err("every row must have as many cells as the header"));
        }
    }
    let lines = render(&rows)?;
    let mut texts = Vec::new();
    crate::grow::Grow::grow(&mut texts, lines.len(), "the lines of a table")?;
    for line in lines {
        texts.push(ffi::new_str(py, &line)?.into_any());
    }
    ffi::new_list(py, texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [&str; 3] = ["types", "# objects", "total size"];

    fn table(rows: &[[&str; 3]]) -> Vec<String> {
        let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        render(&rows).unwrap()
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
    fn multiline_and_wide_cells() {
        let lines = table(&[HEADER, ["a\nbb", "1", "2"], ["\u{4e2d}", "3", "4"]]);
        assert_eq!(
            lines,
            vec![
                "  types |   # objects |   total size",
                "======= | =========== | ============",
                "      a |           1 |            2",
                "     bb |             |             ",
                "     \u{4e2d} |           3 |            4",
            ]
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
        assert_eq!(get_text_width(&wide), MAX_CELL_WIDTH - 1);
        assert!(wide.ends_with(ELLIPSIS));
    }
}
