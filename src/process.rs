//! Memory of the current process as the operating system reports it: one reader and one
//! parser of Linux's `/proc/self/stat` and `/proc/self/status`, serving both
//! `heapscope.process.ProcessMemoryInfo` ([`proc_memory`], [`ProcMemory`]) and the class
//! tracker's snapshots ([`read`], the log's [`ProcessMemory`]).
//!
//! A [`Reading`] holds the two files as read at one moment and [`Figures`] what is parsed
//! from them, once; the two views are built from the same figures. Where the files cannot
//! be read, `proc_memory` raises `OSError` (the Python side falls back on
//! `resource.getrusage`) and the class tracker's figures are unavailable (the Python side
//! falls back on `psutil` when it is installed).
//!
//! [`breakdown`] reads what `heapscope.process.memory_breakdown()` needs besides:
//! `/proc/self/smaps_rollup` and pymalloc's statistics.

pub mod breakdown;

use crate::classtracker::log::ProcessMemory;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

/// The `Vm*` lines of `/proc/self/status` that are read, with pympler's descriptions.
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

/// `majflt` in `/proc/self/stat`.
pub const STAT_MAJOR_FAULTS: usize = 12;
/// `vsize` (bytes) in `/proc/self/stat`.
const STAT_VSIZE: usize = 23;
/// `rss` (pages) in `/proc/self/stat`.
const STAT_RSS: usize = 24;

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

/// The two files as read at one moment.
pub struct Reading {
    pub stat: std::io::Result<String>,
    pub status: std::io::Result<String>,
}

impl Reading {
    /// Reads `/proc/self/stat` and `/proc/self/status`, once each.
    pub fn now() -> Reading {
        Reading {
            stat: std::fs::read_to_string("/proc/self/stat"),
            status: std::fs::read_to_string("/proc/self/status"),
        }
    }

    pub fn figures(&self) -> Figures {
        Figures::parse(self.stat.as_deref().ok(), self.status.as_deref().ok())
    }
}

/// What is parsed from one reading; a figure is `None` when its file could not be read
/// or does not hold it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub major_faults: Option<u64>,
    /// Virtual size in bytes.
    pub vsize: Option<u64>,
    /// Resident set size in pages.
    pub rss_pages: Option<u64>,
    /// The lines of `/proc/self/status` listed in `STATUS_KEYS`, as `(index into
    /// STATUS_KEYS, bytes)` in file order; `None` without that file.
    pub status: Option<Vec<(usize, u64)>>,
}

impl Figures {
    pub fn parse(stat: Option<&str>, status: Option<&str>) -> Figures {
        let field = |k| stat.and_then(|s| stat_field(s, k));
        Figures {
            major_faults: field(STAT_MAJOR_FAULTS),
            vsize: field(STAT_VSIZE),
            rss_pages: field(STAT_RSS),
            status: status.map(|text| {
                status_lines(text)
                    .filter_map(|(key, bytes)| Some((STATUS_KEYS.iter().position(|(k, _)| *k == key)?, bytes)))
                    .collect()
            }),
        }
    }

    /// The status lines as `(key, bytes)`.
    fn status_lines(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.status.iter().flatten().map(|&(i, bytes)| (STATUS_KEYS[i].0, bytes))
    }

    /// The figures of `heapscope.process`; `None` without both files, or when `stat`
    /// is not in the expected form.
    pub fn proc_memory(&self, pagesize: u64) -> Option<ProcMemory> {
        self.status.as_ref()?;
        let mut info = ProcMemory {
            pagefaults: self.major_faults?,
            vsz: self.vsize?,
            rss: self.rss_pages?.saturating_mul(pagesize),
            ..ProcMemory::default()
        };
        for (key, bytes) in self.status_lines() {
            match key {
                "VmData" => info.data_segment = bytes,
                "VmExe" => info.code_segment = bytes,
                "VmLib" => info.shared_segment = bytes,
                "VmStk" => info.stack_segment = bytes,
                _ => {}
            }
        }
        info.os_specific = self.status.iter().flatten().map(|&(i, bytes)| (STATUS_KEYS[i].1, bytes)).collect();
        Some(info)
    }

    /// The figures of a class-tracker snapshot: from `/proc/self/status` (available
    /// when it gives both `VmRSS` and `VmSize`), with the major faults of
    /// `/proc/self/stat` when that can be read.
    pub fn tracker_memory(&self) -> ProcessMemory {
        if self.status.is_none() {
            return ProcessMemory::default();
        }
        let mut memory = ProcessMemory::default();
        let mut found_rss = false;
        let mut found_vms = false;
        for (key, bytes) in self.status_lines() {
            match key {
                "VmRSS" => {
                    memory.rss = bytes;
                    found_rss = true;
                }
                "VmSize" => {
                    memory.vms = bytes;
                    found_vms = true;
                }
                "VmHWM" => memory.peak_rss = bytes,
                "VmData" => memory.data = bytes,
                "VmExe" => memory.code = bytes,
                "VmLib" => memory.shared = bytes,
                "VmStk" => memory.stack = bytes,
                _ => {}
            }
        }
        memory.available = found_rss && found_vms;
        memory.pagefaults = self.major_faults.unwrap_or(0);
        memory
    }
}

/// What `heapscope.process` reports, in bytes (page faults counted).
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

/// The process's memory now, for a class-tracker snapshot. Only read on Linux: elsewhere
/// nothing is available.
pub fn read() -> ProcessMemory {
    #[cfg(target_os = "linux")]
    {
        Reading::now().figures().tracker_memory()
    }
    #[cfg(not(target_os = "linux"))]
    {
        ProcessMemory::default()
    }
}

/// `(available, rss, vms, data, code, shared, stack, peak_rss, pagefaults)`.
pub type ProcessTuple = (bool, u64, u64, u64, u64, u64, u64, u64, u64);

pub fn as_tuple(p: &ProcessMemory) -> ProcessTuple {
    (p.available, p.rss, p.vms, p.data, p.code, p.shared, p.stack, p.peak_rss, p.pagefaults)
}

/// Reads `/proc/self/stat` and `/proc/self/status`: a dict with `vsz`, `rss`,
/// `pagefaults`, `data_segment`, `code_segment`, `shared_segment`, `stack_segment`
/// and `os_specific` (`[(description, bytes)]`). `OSError` when they cannot be read
/// (not Linux) or parsed.
#[pyfunction]
pub fn proc_memory(py: Python<'_>, pagesize: u64) -> PyResult<Py<PyAny>> {
    let Reading { stat, status } = Reading::now();
    let (stat, status) = (stat?, status?);
    let info = Figures::parse(Some(&stat), Some(&status))
        .proc_memory(pagesize)
        .ok_or_else(|| PyOSError::new_err("/proc/self/stat is not in the expected form"))?;
    // Made with the fallible constructors: a failed allocation is a MemoryError.
    use crate::ffi::IntoNew;
    let dict = crate::ffi::new_dict(py)?;
    dict.set_item(crate::pystr!(py, "vsz")?, info.vsz.into_new(py)?)?;
    dict.set_item(crate::pystr!(py, "rss")?, info.rss.into_new(py)?)?;
    dict.set_item(crate::pystr!(py, "pagefaults")?, info.pagefaults.into_new(py)?)?;
    dict.set_item(crate::pystr!(py, "data_segment")?, info.data_segment.into_new(py)?)?;
    dict.set_item(crate::pystr!(py, "code_segment")?, info.code_segment.into_new(py)?)?;
    dict.set_item(crate::pystr!(py, "shared_segment")?, info.shared_segment.into_new(py)?)?;
    dict.set_item(crate::pystr!(py, "stack_segment")?, info.stack_segment.into_new(py)?)?;
    dict.set_item(crate::pystr!(py, "os_specific")?, info.os_specific.into_new(py)?)?;
    Ok(dict.into_any().unbind())
}

/// The process's memory now, as a class-tracker snapshot records it.
#[pyfunction]
pub fn process_memory() -> ProcessTuple {
    as_tuple(&read())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `heapscope.process` reports for these contents of `/proc/self/stat` and
    /// `/proc/self/status`.
    fn parse(stat: &str, status: &str, pagesize: u64) -> Option<ProcMemory> {
        Figures::parse(Some(stat), Some(status)).proc_memory(pagesize)
    }

    /// What a class-tracker snapshot records from `/proc/self/status` alone.
    fn parse_status(text: &str) -> ProcessMemory {
        Figures::parse(None, Some(text)).tracker_memory()
    }

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

    #[test]
    fn status_lines_become_bytes() {
        let text = "Name:\tcat\nVmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nVmHWM:\t    1708 kB\n\
                    VmRSS:\t    1700 kB\nVmData:\t     360 kB\nVmStk:\t     132 kB\nVmExe:\t      20 kB\n\
                    VmLib:\t    1528 kB\nThreads:\t1\n";
        let memory = parse_status(text);
        assert!(memory.available);
        assert_eq!(memory.vms, 3060 * 1024);
        assert_eq!(memory.rss, 1700 * 1024);
        assert_eq!(memory.peak_rss, 1708 * 1024);
        assert_eq!(
            (memory.data, memory.stack, memory.code, memory.shared),
            (360 * 1024, 132 * 1024, 20 * 1024, 1528 * 1024)
        );
    }

    #[test]
    fn missing_figures_mean_unavailable() {
        assert!(!parse_status("Name:\tx\n").available);
        assert!(!parse_status("VmRSS: lots\nVmSize: 12 MB\n").available);
    }

    #[test]
    fn major_faults_after_a_name_with_spaces() {
        let stat = "13817 (my prog) R 13768 13768 791 0 -1 4194304 101 0 7 0 0 0 0 0 20 0 1 0 371384 3133440 410";
        assert_eq!(stat_field(stat, STAT_MAJOR_FAULTS), Some(7));
    }

    #[test]
    fn both_views_come_from_one_parse() {
        let figures = Figures::parse(Some(STAT), Some(STATUS));
        let tracker = figures.tracker_memory();
        let process = figures.proc_memory(4096).unwrap();
        assert!(tracker.available);
        assert_eq!(tracker.pagefaults, process.pagefaults);
        assert_eq!((tracker.vms, tracker.rss), (19000 * 1024, 8192 * 1024));
        assert_eq!((tracker.data, tracker.code), (process.data_segment, process.code_segment));
        assert_eq!((tracker.shared, tracker.stack), (process.shared_segment, process.stack_segment));
    }

    #[test]
    fn the_tracker_needs_only_status() {
        let tracker = Figures::parse(None, Some(STATUS)).tracker_memory();
        assert!(tracker.available);
        assert_eq!(tracker.pagefaults, 0);
        assert!(!Figures::parse(Some(STAT), None).tracker_memory().available);
        assert_eq!(Figures::parse(Some(STAT), None).proc_memory(4096), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let memory = read();
        assert!(memory.available);
        assert!(memory.rss > 0 && memory.vms >= memory.rss);
    }
}
