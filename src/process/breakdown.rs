//! The figures behind `heapscope.process.memory_breakdown()` that come from the operating
//! system and from the allocator: the resident set and its file-backed part
//! (`/proc/self/smaps_rollup`, else `/proc/self/status`), and pymalloc's arenas (the text
//! of `_PyObject_DebugMallocStats`, read by `ffi::pymalloc_stats_text`).
//!
//! The parsers take text and never panic: a file that is truncated, garbled or from a
//! kernel that lacks a line gives an error naming what is missing, and the Python side
//! reports that part as unavailable with the reason.

use super::status_lines;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

/// The resident set of the process and how much of it maps files.
#[derive(Debug, PartialEq, Eq)]
pub struct Resident {
    /// Resident set size in bytes.
    pub rss: u64,
    /// Resident pages that map files (shared libraries, the interpreter's code, `mmap`ed
    /// files, shared memory), in bytes; `None` when the file does not split the RSS.
    pub file_backed: Option<u64>,
    /// Which file the figures come from.
    pub source: &'static str,
}

pub const SMAPS_ROLLUP: &str = "/proc/self/smaps_rollup";
pub const STATUS: &str = "/proc/self/status";

/// The first value of `key` among the `key: N kB` lines of a `/proc` file, in bytes.
fn kb_line(text: &str, key: &str) -> Option<u64> {
    status_lines(text).find(|(k, _)| *k == key).map(|(_, bytes)| bytes)
}

/// `Rss` and `Anonymous` of `/proc/self/smaps_rollup` (Linux 4.14+): everything resident
/// that is not anonymous maps a file (or is shared memory, which the kernel keeps as files).
pub fn parse_smaps_rollup(text: &str) -> Result<Resident, String> {
    let rss = kb_line(text, "Rss").ok_or_else(|| format!("{SMAPS_ROLLUP} has no 'Rss: N kB' line"))?;
    let anonymous =
        kb_line(text, "Anonymous").ok_or_else(|| format!("{SMAPS_ROLLUP} has no 'Anonymous: N kB' line"))?;
    let file_backed = rss
        .checked_sub(anonymous)
        .ok_or_else(|| format!("{SMAPS_ROLLUP} gives more anonymous memory than resident memory"))?;
    Ok(Resident { rss, file_backed: Some(file_backed), source: SMAPS_ROLLUP })
}

/// `VmRSS` of `/proc/self/status`, split by `RssFile` and `RssShmem` where the kernel
/// gives them (Linux 4.5+).
pub fn parse_status(text: &str) -> Result<Resident, String> {
    let rss = kb_line(text, "VmRSS").ok_or_else(|| format!("{STATUS} has no 'VmRSS: N kB' line"))?;
    let file_backed = match (kb_line(text, "RssFile"), kb_line(text, "RssShmem")) {
        (Some(file), Some(shmem)) => file.checked_add(shmem).filter(|&sum| sum <= rss),
        _ => None,
    };
    Ok(Resident { rss, file_backed, source: STATUS })
}

/// pymalloc's arenas as `_PyObject_DebugMallocStats` reports them, in bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Arenas {
    /// Memory of the arenas currently allocated (`N arenas * M bytes/arena`).
    pub arena_bytes: u64,
    /// Bytes in blocks handed out (`# bytes in allocated blocks`).
    pub allocated: u64,
    /// Free blocks in pools that also hold used ones (`# bytes in available blocks`).
    pub free_blocks: Option<u64>,
    /// Pools with no used block (`N unused pools * M bytes`).
    pub empty_pools: Option<u64>,
}

/// `label = 1,234,567` lines as `(label, value)`; lines of another form are skipped.
fn stats_lines(text: &str) -> impl Iterator<Item = (&str, u64)> {
    text.lines().filter_map(|line| {
        let (label, value) = line.rsplit_once('=')?;
        let digits: String = value.trim().chars().filter(|&c| c != ',').collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((label.trim(), digits.parse().ok()?))
    })
}

/// The arena figures of the text `_PyObject_DebugMallocStats` writes (the same on
/// CPython 3.9 to 3.15). An error when it is not in that form (another allocator's
/// statistics, a cut-off text) or its figures contradict each other.
pub fn parse_pymalloc_stats(text: &str) -> Result<Arenas, String> {
    let mut arena_bytes = None;
    let mut allocated = None;
    let mut free_blocks = None;
    let mut empty_pools = None;
    for (label, value) in stats_lines(text) {
        if label.ends_with("bytes/arena") && label.contains(" arenas * ") {
            arena_bytes.get_or_insert(value);
        } else if label == "# bytes in allocated blocks" {
            allocated.get_or_insert(value);
        } else if label == "# bytes in available blocks" {
            free_blocks.get_or_insert(value);
        } else if label.contains(" unused pools * ") {
            empty_pools.get_or_insert(value);
        }
    }
    let not_pymalloc = |line: &str| format!("the allocator statistics are not pymalloc's: no '{line}' line");
    let arena_bytes = arena_bytes.ok_or_else(|| not_pymalloc("N arenas * M bytes/arena = ..."))?;
    let allocated = allocated.ok_or_else(|| not_pymalloc("# bytes in allocated blocks = ..."))?;
    let parts =
        [Some(allocated), free_blocks, empty_pools].iter().flatten().try_fold(0u64, |sum, &v| sum.checked_add(v));
    if !matches!(parts, Some(sum) if sum <= arena_bytes) {
        return Err(format!(
            "pymalloc's statistics contradict each other: {allocated} bytes in blocks and pools \
             but {arena_bytes} bytes of arenas"
        ));
    }
    Ok(Arenas { arena_bytes, allocated, free_blocks, empty_pools })
}

/// `(rss, file_backed, source)`: the resident set size in bytes, how much of it maps
/// files (`None` when the kernel does not say) and the file read. `OSError` naming both
/// files and what went wrong when neither gives the figures (not Linux, `/proc` not
/// mounted).
#[pyfunction]
pub fn resident_memory(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    crate::ffi::IntoNew::into_new(read_resident_memory()?, py)
}

/// [`resident_memory`]'s figures, as Rust values.
fn read_resident_memory() -> PyResult<(u64, Option<u64>, &'static str)> {
    let from_rollup = std::fs::read_to_string(SMAPS_ROLLUP)
        .map_err(|e| format!("cannot read {SMAPS_ROLLUP}: {e}"))
        .and_then(|text| parse_smaps_rollup(&text));
    let resident = match from_rollup {
        Ok(resident) => resident,
        Err(rollup_error) => std::fs::read_to_string(STATUS)
            .map_err(|e| format!("cannot read {STATUS}: {e}"))
            .and_then(|text| parse_status(&text))
            .map_err(|status_error| PyOSError::new_err(format!("{rollup_error}; {status_error}")))?,
    };
    Ok((resident.rss, resident.file_backed, resident.source))
}

/// `(arena_bytes, allocated, free_blocks, empty_pools)`.
pub type ArenaTuple = (u64, u64, Option<u64>, Option<u64>);

/// `(arena_bytes, allocated, free_blocks, empty_pools)` of pymalloc, in bytes (the last
/// two `None` when not reported), read without printing anything; `None` when pymalloc
/// is not the object allocator. `ValueError` when the statistics are not in the expected
/// form, `OSError` when they cannot be read on this system.
#[pyfunction]
pub fn pymalloc_stats(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let Some(text) = crate::ffi::pymalloc_stats_text(py).map_err(PyOSError::new_err)? else {
        return crate::ffi::IntoNew::into_new(None::<u64>, py);
    };
    let arenas = parse_pymalloc_stats(&text).map_err(PyValueError::new_err)?;
    let stats: ArenaTuple = (arenas.arena_bytes, arenas.allocated, arenas.free_blocks, arenas.empty_pools);
    crate::ffi::IntoNew::into_new(stats, py)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLLUP: &str = "55faffe15000-7ffc3aa05000 ---p 00000000 00:00 0                          [rollup]\n\
        Rss:                1776 kB\nPss:                 345 kB\nPss_Anon:            112 kB\n\
        Shared_Clean:       1632 kB\nPrivate_Dirty:       112 kB\nAnonymous:           112 kB\n\
        LazyFree:              0 kB\nSwap:                  0 kB\n";

    const STATS: &str = "Small block threshold = 512, in 32 size classes.\n\n\
        class   size   num pools   blocks in use  avail blocks\n\
        -----   ----   ---------   -------------  ------------\n\
        \x20   0     16           1              22           999\n\
        \x20   1     32           1             445            65\n\n\
        # arenas allocated total           =                    2\n\
        # arenas reclaimed                 =                    0\n\
        # arenas highwater mark            =                    2\n\
        # arenas allocated current         =                    2\n\
        2 arenas * 1048576 bytes/arena     =            2,097,152\n\n\
        # bytes in allocated blocks        =              829,392\n\
        # bytes in available blocks        =              341,888\n\
        54 unused pools * 16384 bytes      =              884,736\n\
        # bytes lost to pool headers       =                3,456\n\
        # bytes lost to quantization       =                4,912\n\
        # bytes lost to arena alignment    =               32,768\n\
        Total                              =            2,097,152\n\n\
        arena map counts\n\
        # arena map mid nodes              =                    1\n\
        # bytes lost to arena map root     =              262,144\n\
        Total                              =              655,360\n";

    #[test]
    fn smaps_rollup_splits_file_backed_memory() {
        let resident = parse_smaps_rollup(ROLLUP).unwrap();
        assert_eq!(resident.rss, 1776 * 1024);
        assert_eq!(resident.file_backed, Some((1776 - 112) * 1024));
        assert_eq!(resident.source, SMAPS_ROLLUP);
    }

    #[test]
    fn garbled_smaps_rollup_is_an_error() {
        for text in [
            "",
            "Rss:                17",                        // cut off before the unit
            "Rss:                1776 kB\nAnonym",           // cut off in a key
            "Rss:                1776 kB\n",                 // no Anonymous line
            "Rss: lots kB\nAnonymous: 1 kB\n",               // not a number
            "Rss: 10 kB\nAnonymous: 20 kB\n",                // more anonymous than resident
            "Rss: 99999999999999999999 kB\nAnonymous: 1 kB", // overflows
            "\u{0}\u{fffd}::: kB kB\n=\n",
        ] {
            assert!(parse_smaps_rollup(text).is_err(), "{text:?}");
        }
        assert!(parse_smaps_rollup("Rss: 10 kB\nAnonymous: 20 kB\n").unwrap_err().contains("more anonymous"));
    }

    #[test]
    fn status_gives_rss_and_its_file_part() {
        let text = "Name:\tpython\nVmRSS:\t    8192 kB\nRssAnon:\t    6000 kB\nRssFile:\t    2000 kB\n\
                    RssShmem:\t     192 kB\n";
        assert_eq!(
            parse_status(text),
            Ok(Resident { rss: 8192 * 1024, file_backed: Some(2192 * 1024), source: STATUS })
        );
        // An old kernel without the split: the RSS alone.
        assert_eq!(parse_status("VmRSS:\t 100 kB\n").unwrap().file_backed, None);
        // A split larger than the whole is not believed.
        assert_eq!(parse_status("VmRSS: 1 kB\nRssFile: 5 kB\nRssShmem: 0 kB\n").unwrap().file_backed, None);
        assert!(parse_status("VmRS").is_err());
        assert!(parse_status("VmRSS:\t 100 MB\n").is_err());
    }

    #[test]
    fn pymalloc_arenas_and_their_free_space() {
        let arenas = parse_pymalloc_stats(STATS).unwrap();
        assert_eq!(
            arenas,
            Arenas {
                arena_bytes: 2_097_152,
                allocated: 829_392,
                free_blocks: Some(341_888),
                empty_pools: Some(884_736)
            }
        );
    }

    #[test]
    fn the_first_arena_line_counts() {
        // 3.9's 256 KiB arenas, and a later line that looks alike is not taken.
        let text = "5 arenas * 262144 bytes/arena = 1,310,720\n# bytes in allocated blocks = 1,000,000\n\
                    9 arenas * 262144 bytes/arena = 2,359,296\n";
        let arenas = parse_pymalloc_stats(text).unwrap();
        assert_eq!((arenas.arena_bytes, arenas.allocated), (1_310_720, 1_000_000));
        assert_eq!((arenas.free_blocks, arenas.empty_pools), (None, None));
    }

    #[test]
    fn other_or_broken_statistics_are_errors() {
        let cut = &STATS[..STATS.find("# bytes in allocated").unwrap() + 10];
        let mimalloc = "heap stats:     peak      total      freed    current       unit      count\n\
                        normal   1:    1.2 KiB    2.3 KiB      0         1.2 KiB    16 B     10   not all freed!\n";
        for text in [
            "",
            cut,
            mimalloc,
            "2 arenas * 1048576 bytes/arena = 2,097,152\n# bytes in allocated blocks = 2,1x7,152\n",
            "2 arenas * 1048576 bytes/arena = \n# bytes in allocated blocks = 5\n",
            "2 arenas * 1048576 bytes/arena = 99999999999999999999999\n# bytes in allocated blocks = 5\n",
            "\u{feff}===\n==,,==\n",
        ] {
            let error = parse_pymalloc_stats(text).unwrap_err();
            assert!(error.contains("not pymalloc's"), "{text:?}: {error}");
        }
        let impossible = "1 arenas * 1048576 bytes/arena = 1,048,576\n# bytes in allocated blocks = 2,000,000\n";
        assert!(parse_pymalloc_stats(impossible).unwrap_err().contains("contradict"));
        let too_many_pools = "1 arenas * 1048576 bytes/arena = 1,048,576\n# bytes in allocated blocks = 500,000\n\
                              64 unused pools * 16384 bytes = 1,048,576\n";
        assert!(parse_pymalloc_stats(too_many_pools).unwrap_err().contains("contradict"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let (rss, file_backed, _) = read_resident_memory().unwrap();
        assert!(rss > 0);
        assert!(file_backed.is_some_and(|file| file <= rss));
    }
}
