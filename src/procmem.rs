//! Process-level memory figures from Linux's `/proc/self/stat` and `/proc/self/status`,
//! behind `heapscope.process.ProcessMemoryInfo`. Pure parsing; the Python side chooses
//! a fallback on other systems.

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

/// What one reading of `/proc/self` gives, in bytes (page faults counted).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProcMemory {
    pub vsz: u64,
    pub rss: u64,
    pub pagefaults: u64,
    pub data_segment: u64,
    pub code_segment: u64,
    pub shared_segment: u64,
    pub stack_segment: u64,
    /// `(description, bytes)` for the `Vm*` lines pympler reports, in file order.
    pub os_specific: Vec<(&'static str, u64)>,
}

const STATUS_KEYS: [(&str, &str); 10] = [
    ("VmPeak", "Peak virtual memory size"),
    ("VmSize", "Virtual memory size"),
    ("VmLck", "Locked memory size"),
    ("VmHWM", "Peak resident set size"),
    ("VmRSS", "Resident set size"),
    ("VmStk", "Size of stack segment"),
    ("VmData", "Size of data segment"),
    ("VmExe", "Size of code segment"),
    ("VmLib", "Shared library code size"),
    ("VmPTE", "Page table entries size"),
];

/// The `key: value kB` lines of `/proc/self/status`, values in bytes, in file order.
pub fn status_lines(status: &str) -> impl Iterator<Item = (&str, u64)> {
    status.lines().filter_map(|line| {
        let (key, value) = line.split_once(':')?;
        let mut parts = value.split_whitespace();
        let number: u64 = parts.next()?.parse().ok()?;
        match parts.next() {
            Some("kB") => Some((key, number.checked_mul(1024)?)),
            _ => None,
        }
    })
}

/// Field `k` (1-based, as numbered in proc(5)) of `/proc/self/stat`, for `k` > 2. The
/// command name (field 2) is in parentheses and may hold spaces and parentheses, so the
/// fields are counted after its last `)`.
pub fn stat_field(stat: &str, k: usize) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(k.checked_sub(3)?)?.parse().ok()
}

/// `majflt` in `/proc/self/stat`.
pub const STAT_MAJOR_FAULTS: usize = 12;

/// Parses the contents of `/proc/self/stat` and `/proc/self/status`; `None` if `stat`
/// is not in the expected form.
pub fn parse(stat: &str, status: &str, pagesize: u64) -> Option<ProcMemory> {
    let mut info = ProcMemory {
        pagefaults: stat_field(stat, STAT_MAJOR_FAULTS)?,
        vsz: stat_field(stat, 23)?,
        rss: stat_field(stat, 24)?.saturating_mul(pagesize),
        ..ProcMemory::default()
    };
    for (key, bytes) in status_lines(status) {
        match key {
            "VmData" => info.data_segment = bytes,
            "VmExe" => info.code_segment = bytes,
            "VmLib" => info.shared_segment = bytes,
            "VmStk" => info.stack_segment = bytes,
            _ => {}
        }
        if let Some((_, label)) = STATUS_KEYS.iter().find(|(k, _)| *k == key) {
            info.os_specific.push((label, bytes));
        }
    }
    Some(info)
}

/// Reads `/proc/self/stat` and `/proc/self/status`: a dict with `vsz`, `rss`,
/// `pagefaults`, `data_segment`, `code_segment`, `shared_segment`, `stack_segment`
/// and `os_specific` (`[(description, bytes)]`). `OSError` when they cannot be read
/// (not Linux) or parsed.
#[pyfunction]
pub fn proc_memory(py: Python<'_>, pagesize: u64) -> PyResult<Py<PyAny>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let info = parse(&stat, &status, pagesize)
        .ok_or_else(|| PyOSError::new_err("/proc/self/stat is not in the expected form"))?;
    let dict = pyo3::types::PyDict::new(py);
    dict.set_item("vsz", info.vsz)?;
    dict.set_item("rss", info.rss)?;
    dict.set_item("pagefaults", info.pagefaults)?;
    dict.set_item("data_segment", info.data_segment)?;
    dict.set_item("code_segment", info.code_segment)?;
    dict.set_item("shared_segment", info.shared_segment)?;
    dict.set_item("stack_segment", info.stack_segment)?;
    dict.set_item("os_specific", info.os_specific)?;
    Ok(dict.into_any().unbind())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1500 0 7 0 10 5 0 0 20 0 1 0 100 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
    const STATUS: &str = "Name:\tpython\nVmPeak:\t  20000 kB\nVmSize:\t  19000 kB\nVmRSS:\t   8192 kB\nVmData:\t   4000 kB\nVmStk:\t    132 kB\nVmExe:\t      8 kB\nVmLib:\t   6000 kB\nThreads:\t1\n";

    #[test]
    fn parses_stat_with_parentheses_in_the_name() {
        let info = parse(STAT, STATUS, 4096).unwrap();
        assert_eq!(info.pagefaults, 7);
        assert_eq!(info.vsz, 123456789);
        assert_eq!(info.rss, 2048 * 4096);
    }

    #[test]
    fn parses_status_segments() {
        let info = parse(STAT, STATUS, 4096).unwrap();
        assert_eq!(info.data_segment, 4000 * 1024);
        assert_eq!(info.code_segment, 8 * 1024);
        assert_eq!(info.shared_segment, 6000 * 1024);
        assert_eq!(info.stack_segment, 132 * 1024);
        let labels: Vec<_> = info.os_specific.iter().map(|(l, _)| *l).collect();
        assert_eq!(labels[0], "Peak virtual memory size");
        assert_eq!(labels.len(), 7);
    }

    #[test]
    fn rejects_truncated_stat() {
        assert_eq!(parse("1 (x) S 1 2", STATUS, 4096), None);
        assert_eq!(parse("no parenthesis", STATUS, 4096), None);
    }
}
