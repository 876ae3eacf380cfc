//! Memory of the current process as the operating system reports it (Linux: `/proc`,
//! read with the parsers of `procmem`), for the class tracker's snapshots.
//!
//! On other systems [`read`] reports nothing (`available == false`) and the Python side
//! falls back to `psutil` when it is installed.

use crate::classtracker::log::ProcessMemory;
use crate::procmem;

/// The process's memory now.
pub fn read() -> ProcessMemory {
    #[cfg(target_os = "linux")]
    {
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return ProcessMemory::default() };
        let mut memory = parse_status(&status);
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            memory.pagefaults = procmem::stat_field(&stat, procmem::STAT_MAJOR_FAULTS).unwrap_or(0);
        }
        memory
    }
    #[cfg(not(target_os = "linux"))]
    {
        ProcessMemory::default()
    }
}

/// Figures from `/proc/self/status` (lines such as `VmRSS:   1708 kB`).
pub fn parse_status(text: &str) -> ProcessMemory {
    let mut memory = ProcessMemory::default();
    let mut found_rss = false;
    let mut found_vms = false;
    for (key, bytes) in procmem::status_lines(text) {
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
    memory
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(procmem::stat_field(stat, procmem::STAT_MAJOR_FAULTS), Some(7));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let memory = read();
        assert!(memory.available);
        assert!(memory.rss > 0 && memory.vms >= memory.rss);
    }
}
