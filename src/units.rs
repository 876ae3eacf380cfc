//! Byte counts for people: `512 B`, `1.5 KiB`, `3.20 MiB`. One formatter for every view
//! (size trees, magics, the HTML views, the class-tracker report); pympler's own
//! `stringutils.pp` format, which its users parse, stays in `summary::table`.

use pyo3::prelude::*;

/// The binary units, each 1024 times the one before.
pub const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// `bytes` in the largest binary unit that keeps it under 1024, with `decimals` digits
/// (whole bytes below 1 KiB); negative counts keep their sign.
pub fn human_size(bytes: f64, decimals: usize) -> String {
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.decimals$} {}", UNITS[unit])
    }
}

/// A byte count for people: `512 B`, `1.5 KiB` (`decimals` digits above 1 KiB).
#[pyfunction]
#[pyo3(name = "human_size", signature = (bytes, decimals = 1))]
pub fn human_size_py(py: Python<'_>, bytes: f64, decimals: usize) -> PyResult<Bound<'_, PyAny>> {
    if decimals > 20 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!("decimals must be from 0 to 20, not {decimals}")));
    }
    crate::ffi::IntoNew::into_new(human_size(bytes, decimals), py)
}

/// `value` with thousands separators (`-12,345`); `+` before growth in a diff.
pub fn grouped(value: i128, signed: bool) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    } else if signed && value > 0 {
        out.push('+');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_step_by_1024() {
        assert_eq!(human_size(0.0, 1), "0 B");
        assert_eq!(human_size(512.0, 2), "512 B");
        assert_eq!(human_size(1023.0, 1), "1023 B");
        assert_eq!(human_size(1024.0, 1), "1.0 KiB");
        assert_eq!(human_size(1536.0, 2), "1.50 KiB");
        assert_eq!(human_size(3.0 * 1024.0 * 1024.0, 2), "3.00 MiB");
        assert_eq!(human_size(5.0 * 1024f64.powi(6), 1), "5.0 EiB");
        assert_eq!(human_size(4096.0 * 1024f64.powi(6), 1), "4096.0 EiB");
    }

    #[test]
    fn negative_counts_keep_their_sign() {
        assert_eq!(human_size(-2048.0, 1), "-2.0 KiB");
        assert_eq!(human_size(-18.0, 1), "-18 B");
    }
}
