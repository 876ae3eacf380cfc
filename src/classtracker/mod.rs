//! The class tracker: live records and snapshots (`core`), the sizing of a snapshot
//! (`snapshot`), the plain-data log and the statistics computed from it (`log`), the
//! versioned stats file (`stats_file`), the self-contained HTML report (`report`) and
//! its durations and round axis ticks (`axis`).

pub mod axis;
pub mod core;
pub mod log;
pub mod report;
pub mod snapshot;
pub mod stats_file;
