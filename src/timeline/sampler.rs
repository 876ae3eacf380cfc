//! The sampler behind `heapscope.Timeline`: a Rust thread that reads the resident set
//! size from `/proc/self/statm` every `interval` seconds, and asks the main thread for a
//! whole-heap summary now and then, spaced so that summaries cost about a fixed share of
//! the run's time.
//!
//! The thread never takes the GIL and creates no Python object: a sample is two `u64`s
//! (nanoseconds since the start on a monotonic clock, bytes) pushed onto a buffer that
//! grows fallibly; at [`MAX_SAMPLES`] every other sample is dropped and the interval
//! doubles, so a run of any length keeps a bounded buffer. Summaries need the GIL and
//! Python code, so the thread queues them for the main thread (`ffi::run_on_main_thread`,
//! which runs them between two bytecodes, as a signal handler runs); every summary is
//! timed and the next is due by [`summary_due`]: spaced after the last one, and late
//! enough that all of them, the one at the stop included, keep within their share.
//! Before Python 3.13, the interpreter notices a call queued from another thread only
//! when the main thread takes the GIL again, so a second thread takes and releases the
//! GIL once per queued summary (never per sample).

use crate::ffi;
use crate::ffi::IntoNew;
use crate::grow::Grow;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Samples kept before the oldest are thinned out (4 MiB of buffer).
pub const MAX_SAMPLES: usize = 1 << 18;
/// Samples room is made for at the start (a minute at 0.01 s).
const FIRST_CAPACITY: usize = 6000;

/// One reading: nanoseconds since the sampler started, resident bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at_ns: u64,
    pub rss: u64,
}

/// What the thread and the Python object share, behind one mutex that is never held
/// while Python code runs.
#[derive(Debug)]
struct State {
    running: bool,
    samples: Vec<Sample>,
    interval: Duration,
    /// Samples lost to a refused allocation (sampling stops growing the buffer).
    out_of_memory: bool,
    /// Time spent by the thread reading and parsing `/proc/self/statm`.
    sampling_ns: u64,
    /// Summaries: whether the thread schedules them, whether one is queued, and the time
    /// they took on the main thread.
    summaries_enabled: bool,
    summary_queued: bool,
    summary_ns: u64,
    summary_count: u64,
    /// The latest summary: when it ended, how long it took and the resident bytes then
    /// (0 before the first sample), from which the next one's cost is estimated.
    last_summary_end_ns: u64,
    last_summary_ns: u64,
    last_summary_rss: u64,
    share: f64,
    min_gap: Duration,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    started: Instant,
    /// The Python callable that takes one summary; set while the sampler runs.
    callback: Mutex<Option<Py<PyAny>>>,
    /// Requests to the hand-over thread (see `ffi::PENDING_CALLS_NEED_HANDOVER`).
    handover: Mutex<bool>,
    handover_wake: Condvar,
    /// `running`, readable without the state's lock (the hand-over thread holds its own).
    alive: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while locked cannot leave the plain data inconsistent: keep going.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The resident bytes of one `/proc/self/statm` text (its second field, in pages).
pub fn resident_bytes(statm: &[u8], page_size: u64) -> Option<u64> {
    let text = std::str::from_utf8(statm).ok()?;
    let pages: u64 = text.split_ascii_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(page_size)
}

/// Drops every other sample (keeping the first and the last), for a bounded buffer.
pub fn thin_out(samples: &mut Vec<Sample>) {
    let last = samples.last().copied();
    let mut index = 0usize;
    samples.retain(|_| {
        index += 1;
        index % 2 == 1
    });
    if let (Some(last), Some(kept)) = (last, samples.last()) {
        if *kept != last {
            samples.push(last); // room exists: at least one sample was dropped
        }
    }
}

/// How long to wait after a summary that took `took` before the next, so that summaries
/// take `share` of the time.
pub fn gap_after(took: Duration, share: f64, min_gap: Duration) -> Duration {
    let share = share.clamp(1e-3, 1.0);
    took.mul_f64(1.0 / share - 1.0).max(min_gap)
}

/// How much longer than the latest summary the next is expected to take: as much longer
/// as the resident memory grew since (a larger heap takes longer to summarize), at most
/// [`MAX_GROWTH_ESTIMATE`] times (memory outside the heap, a large array, costs a summary
/// nothing), and never shorter.
pub fn expected_summary_ns(last_ns: u64, rss_then: u64, rss_now: u64) -> u64 {
    if rss_then == 0 || rss_now <= rss_then {
        return last_ns;
    }
    let growth = (rss_now as f64 / rss_then as f64).min(MAX_GROWTH_ESTIMATE);
    let expected = last_ns as f64 * growth;
    if expected >= u64::MAX as f64 {
        u64::MAX
    } else {
        expected as u64
    }
}

/// The growth of the resident memory beyond which a summary is not expected to cost more.
pub const MAX_GROWTH_ESTIMATE: f64 = 8.0;

/// Whether a summary taken at `now_ns` and expected to take `expected_ns` keeps the
/// summaries within `share` of the run: those so far (`spent_ns`), this one, and the one
/// still to come at the stop (whatever the schedule, and expected to cost as much). So the
/// whole run's overhead keeps to its share even when the first and the last summaries
/// are much of it, as on a run of a few seconds.
pub fn summary_fits(now_ns: u64, spent_ns: u64, expected_ns: u64, share: f64) -> bool {
    spent_ns.saturating_add(expected_ns.saturating_mul(2)) as f64 <= share * now_ns as f64
}

/// Whether the next scheduled summary is due at `now_ns`: at least [`gap_after`] the
/// latest one (which ended at `last_end_ns` after `last_ns`), so that summaries never
/// come in a burst, and when it [`summary_fits`].
pub fn summary_due(
    now_ns: u64,
    last_end_ns: u64,
    last_ns: u64,
    spent_ns: u64,
    expected_ns: u64,
    share: f64,
    min_gap: Duration,
) -> bool {
    let spaced = last_end_ns.saturating_add(duration_ns(gap_after(Duration::from_nanos(last_ns), share, min_gap)));
    now_ns >= spaced && summary_fits(now_ns, spent_ns, expected_ns, share)
}

impl State {
    /// The next summary's expected duration, from the latest sample.
    fn expected_summary_ns(&self) -> u64 {
        let rss_now = self.samples.last().map_or(0, |sample| sample.rss);
        expected_summary_ns(self.last_summary_ns, self.last_summary_rss, rss_now)
    }
}

fn duration_ns(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Resident-memory sampler: `RssSampler(interval, page_size)`, then `start(callback)`
/// and `stop()`. While it runs, `callback()` is called on the main thread whenever a
/// summary is due.
#[pyclass(module = "heapscope._core", frozen)]
pub struct RssSampler {
    shared: Arc<Shared>,
    page_size: u64,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    handover_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[pymethods]
impl RssSampler {
    #[new]
    #[pyo3(signature = (interval, page_size, *, share = 0.05, min_gap = 0.5))]
    fn new(interval: f64, page_size: u64, share: f64, min_gap: f64) -> PyResult<RssSampler> {
        if !(interval.is_finite() && (0.001..=3600.0).contains(&interval)) {
            return Err(PyValueError::new_err(format!(
                "interval must be between 0.001 and 3600 seconds, not {interval}"
            )));
        }
        let valid = share > 0.0 && share <= 1.0 && min_gap.is_finite() && min_gap >= 0.0;
        if !valid || page_size == 0 {
            return Err(PyValueError::new_err("share must be in (0, 1], min_gap >= 0 and page_size > 0"));
        }
        let mut samples = Vec::new();
        samples.grow(FIRST_CAPACITY, "the memory samples")?;
        let state = State {
            running: false,
            samples,
            interval: Duration::from_secs_f64(interval),
            out_of_memory: false,
            sampling_ns: 0,
            summaries_enabled: false,
            summary_queued: false,
            summary_ns: 0,
            summary_count: 0,
            last_summary_end_ns: 0,
            last_summary_ns: 0,
            last_summary_rss: 0,
            share,
            min_gap: Duration::from_secs_f64(min_gap),
        };
        Ok(RssSampler {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                wake: Condvar::new(),
                started: Instant::now(),
                callback: Mutex::new(None),
                handover: Mutex::new(false),
                handover_wake: Condvar::new(),
                alive: AtomicBool::new(false),
            }),
            page_size,
            thread: Mutex::new(None),
            handover_thread: Mutex::new(None),
        })
    }

    /// Starts the thread. With `callback`, summaries are scheduled: `callback()` runs on
    /// the main thread whenever one is due. Raises `RuntimeError` when already started
    /// (a sampler runs once) and `OSError` when `/proc/self/statm` cannot be read.
    #[pyo3(signature = (callback = None))]
    fn start(&self, callback: Option<Py<PyAny>>) -> PyResult<()> {
        let mut thread = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        if thread.is_some() {
            return Err(PyRuntimeError::new_err("this sampler was already started; create a new Timeline"));
        }
        let file = File::open("/proc/self/statm").map_err(|err| {
            PyOSError::new_err(format!("cannot read /proc/self/statm ({err}); a timeline needs Linux's /proc"))
        })?;
        {
            let mut state = self.shared.lock();
            state.running = true;
            self.shared.alive.store(true, Ordering::SeqCst);
            state.summaries_enabled = callback.is_some();
        }
        let scheduled = callback.is_some();
        *self.shared.callback.lock().unwrap_or_else(|p| p.into_inner()) = callback;
        if scheduled && ffi::PENDING_CALLS_NEED_HANDOVER {
            let shared = Arc::clone(&self.shared);
            let handle = std::thread::Builder::new()
                .name("heapscope-timeline-handover".into())
                .spawn(move || hand_over_when_asked(&shared))
                .map_err(|err| PyOSError::new_err(format!("cannot start the sampling thread: {err}")))?;
            *self.handover_thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
        let shared = Arc::clone(&self.shared);
        let page_size = self.page_size;
        let handle = std::thread::Builder::new()
            .name("heapscope-timeline".into())
            .spawn(move || sample_until_stopped(&shared, file, page_size))
            .map_err(|err| PyOSError::new_err(format!("cannot start the sampling thread: {err}")))?;
        *thread = Some(handle);
        Ok(())
    }

    /// Stops the thread and waits for it (without the GIL); a no-op when stopped.
    fn stop(&self, py: Python<'_>) {
        self.shared.lock().running = false;
        self.shared.alive.store(false, Ordering::SeqCst);
        self.shared.wake.notify_all();
        self.shared.handover_wake.notify_all();
        let handles = [
            self.thread.lock().unwrap_or_else(|p| p.into_inner()).take(),
            self.handover_thread.lock().unwrap_or_else(|p| p.into_inner()).take(),
        ];
        // Without the GIL: the hand-over thread may be waiting for it.
        py.detach(|| {
            for handle in handles.into_iter().flatten() {
                let _ = handle.join();
            }
        });
        // The callback is released with the GIL held.
        let callback = self.shared.callback.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(callback);
    }

    /// Seconds since the sampler was created, on the clock of the samples.
    fn elapsed(&self) -> f64 {
        self.shared.started.elapsed().as_secs_f64()
    }

    /// Records `seconds` as the duration of a summary taken outside the schedule (at the
    /// start, the end, at a mark or when asked), so that it counts in the overhead; the
    /// next scheduled one is timed from it as from any other.
    fn add_summary_time(&self, seconds: f64) {
        let now = self.shared.now_ns();
        let mut state = self.shared.lock();
        note_summary(&mut state, now, (seconds.max(0.0) * 1e9) as u64);
    }

    /// Whether a summary taken now keeps the summaries within their share of the run,
    /// counting the one to come at the stop (see [`summary_fits`]).
    fn summary_fits(&self) -> bool {
        let now = self.shared.now_ns();
        let state = self.shared.lock();
        summary_fits(now, state.summary_ns, state.expected_summary_ns(), state.share)
    }

    /// The samples so far as two lists: seconds since the start, resident bytes.
    fn samples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let copy: Vec<Sample> = {
            let state = self.shared.lock();
            let mut copy = Vec::new();
            copy.grow(state.samples.len(), "a copy of the memory samples")?;
            copy.extend_from_slice(&state.samples);
            copy
        };
        let mut times = Vec::new();
        times.grow(copy.len(), "the sample times")?;
        let mut rss = Vec::new();
        rss.grow(copy.len(), "the sample sizes")?;
        for sample in copy {
            times.push(sample.at_ns as f64 / 1e9);
            rss.push(sample.rss);
        }
        (times, rss).into_new(py)
    }

    /// Figures about the sampling itself: a dict of `interval` (seconds, after any
    /// thinning), `sampling_seconds` (the thread's time reading), `summary_seconds` and
    /// `summaries` (time and number of summaries on the main thread), `out_of_memory`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (interval, sampling, summary, count, oom) = {
            let s = self.shared.lock();
            (s.interval.as_secs_f64(), s.sampling_ns, s.summary_ns, s.summary_count, s.out_of_memory)
        };
        let dict = ffi::new_dict(py)?;
        dict.set_item(ffi::new_str(py, "interval")?, interval.into_new(py)?)?;
        dict.set_item(ffi::new_str(py, "sampling_seconds")?, (sampling as f64 / 1e9).into_new(py)?)?;
        dict.set_item(ffi::new_str(py, "summary_seconds")?, (summary as f64 / 1e9).into_new(py)?)?;
        dict.set_item(ffi::new_str(py, "summaries")?, count.into_new(py)?)?;
        dict.set_item(ffi::new_str(py, "out_of_memory")?, oom.into_new(py)?)?;
        Ok(dict.into_any())
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        // A sampler dropped while running: the thread ends at its next wake-up.
        self.shared.lock().running = false;
        self.shared.alive.store(false, Ordering::SeqCst);
        self.shared.wake.notify_all();
        self.shared.handover_wake.notify_all();
        // Dropped here, with the GIL held (a queued summary finds none and does nothing).
        drop(self.shared.callback.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// The thread's loop: one reading per tick, ticks on a fixed grid from the start.
fn sample_until_stopped(shared: &Arc<Shared>, mut file: File, page_size: u64) {
    let mut buffer = [0u8; 256];
    loop {
        let began = shared.now_ns();
        let rss = read_statm(&mut file, &mut buffer).and_then(|n| resident_bytes(&buffer[..n], page_size));
        let read_ns = shared.now_ns().saturating_sub(began);
        let mut state = shared.lock();
        if !state.running {
            return;
        }
        state.sampling_ns += read_ns;
        if let Some(rss) = rss {
            record(&mut state, Sample { at_ns: began, rss });
            if state.last_summary_rss == 0 {
                state.last_summary_rss = rss; // the start summary came before any sample
            }
        }
        let now = shared.now_ns();
        let due = state.summaries_enabled
            && !state.summary_queued
            && summary_due(
                now,
                state.last_summary_end_ns,
                state.last_summary_ns,
                state.summary_ns,
                state.expected_summary_ns(),
                state.share,
                state.min_gap,
            );
        if due {
            state.summary_queued = true;
            let task_shared = Arc::clone(shared);
            if !ffi::run_on_main_thread(Box::new(move |py| take_summary(py, &task_shared))) {
                state.summary_queued = false; // the queue is full: try at the next tick
            } else if ffi::PENDING_CALLS_NEED_HANDOVER {
                *shared.handover.lock().unwrap_or_else(|p| p.into_inner()) = true;
                shared.handover_wake.notify_all();
            }
        }
        // Wait for the next tick of the grid, or for `stop`.
        let interval = (state.interval.as_nanos() as u64).max(1);
        let deadline = (now / interval + 1).saturating_mul(interval);
        while state.running {
            let now = shared.now_ns();
            if now >= deadline {
                break;
            }
            state = shared
                .wake
                .wait_timeout(state, Duration::from_nanos(deadline - now))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        if !state.running {
            return;
        }
    }
}

/// The hand-over thread: takes and releases the GIL each time a summary is queued, so
/// that the main thread runs it soon (a separate thread, so that sampling goes on while
/// the main thread holds the GIL in a long C call).
fn hand_over_when_asked(shared: &Shared) {
    loop {
        {
            let mut asked = shared.handover.lock().unwrap_or_else(|p| p.into_inner());
            // Never the state's lock here: the sampler holds it while it asks.
            while !*asked && shared.alive.load(Ordering::SeqCst) {
                asked = shared
                    .handover_wake
                    .wait_timeout(asked, Duration::from_millis(200))
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            if !shared.alive.load(Ordering::SeqCst) {
                return;
            }
            *asked = false;
        }
        ffi::hand_over_gil();
    }
}

/// Reads `/proc/self/statm` from its start; the number of bytes read.
fn read_statm(file: &mut File, buffer: &mut [u8]) -> Option<usize> {
    use std::os::unix::fs::FileExt;
    let n = file.read_at(buffer, 0).ok()?;
    if n == 0 {
        // Some kernels want a fresh read position: fall back on a sequential read.
        return file.read(buffer).ok();
    }
    Some(n)
}

fn record(state: &mut State, sample: Sample) {
    if state.samples.len() >= MAX_SAMPLES {
        thin_out(&mut state.samples);
        state.interval *= 2;
    }
    if state.samples.grow(1, "the memory samples").is_err() {
        state.out_of_memory = true;
        return;
    }
    state.samples.push(sample);
}

/// The main thread's side of a scheduled summary: calls the callback, times it, and
/// schedules the next.
fn take_summary(py: Python<'_>, shared: &Shared) -> PyResult<()> {
    let callback = shared.callback.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|c| c.clone_ref(py));
    let began = Instant::now();
    let result = match callback {
        Some(callback) => callback.call0(py).map(drop),
        None => Ok(()), // stopped since the task was queued
    };
    let took = duration_ns(began.elapsed());
    let now = shared.now_ns();
    let mut state = shared.lock();
    state.summary_queued = false;
    note_summary(&mut state, now, took);
    result
}

/// Counts a summary that ended at `now_ns` after `took_ns`: the next is timed from it.
fn note_summary(state: &mut State, now_ns: u64, took_ns: u64) {
    state.summary_ns = state.summary_ns.saturating_add(took_ns);
    state.summary_count += 1;
    state.last_summary_end_ns = now_ns;
    state.last_summary_ns = took_ns;
    state.last_summary_rss = state.samples.last().map_or(0, |sample| sample.rss);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_bytes_reads_the_second_field() {
        assert_eq!(resident_bytes(b"1000 250 30 4 0 60 0\n", 4096), Some(250 * 4096));
        assert_eq!(resident_bytes(b"1000\n", 4096), None);
        assert_eq!(resident_bytes(b"1000 x 3\n", 4096), None);
        assert_eq!(resident_bytes(b"1 18446744073709551615", 4096), None);
    }

    #[test]
    fn thinning_halves_and_keeps_both_ends() {
        let mut samples: Vec<Sample> = (0..10).map(|i| Sample { at_ns: i, rss: i * 10 }).collect();
        thin_out(&mut samples);
        let times: Vec<u64> = samples.iter().map(|s| s.at_ns).collect();
        assert_eq!(times, vec![0, 2, 4, 6, 8, 9]);
    }

    #[test]
    fn summaries_are_spaced_to_their_share() {
        let gap = gap_after(Duration::from_millis(30), 0.05, Duration::from_millis(100));
        assert_eq!(gap, Duration::from_millis(570));
        let short = gap_after(Duration::from_millis(1), 0.05, Duration::from_millis(500));
        assert_eq!(short, Duration::from_millis(500));
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn the_next_summary_leaves_room_for_the_last() {
        let (share, min_gap) = (0.05, Duration::from_millis(500));
        // Early in a run, the budget decides: 50 ms spent and two more of 50 ms are 5 %
        // of 3 s.
        assert!(!summary_due(2999 * MS, 400 * MS, 50 * MS, 50 * MS, 50 * MS, share, min_gap));
        assert!(summary_due(3000 * MS, 400 * MS, 50 * MS, 50 * MS, 50 * MS, share, min_gap));
        // Late in a run with budget to spare, the spacing after the latest one decides.
        assert!(!summary_due(100_400 * MS, 100_000 * MS, 10 * MS, 100 * MS, 10 * MS, share, min_gap));
        assert!(summary_due(100_500 * MS, 100_000 * MS, 10 * MS, 100 * MS, 10 * MS, share, min_gap));
        assert!(!summary_due(101_800 * MS, 100_000 * MS, 100 * MS, 100 * MS, 100 * MS, share, min_gap));
        assert!(summary_due(101_900 * MS, 100_000 * MS, 100 * MS, 100 * MS, 100 * MS, share, min_gap));
        assert!(!summary_due(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX, share, min_gap));
    }

    #[test]
    fn a_marked_summary_fits_only_within_the_budget() {
        assert!(summary_fits(3000 * MS, 50 * MS, 50 * MS, 0.05));
        assert!(!summary_fits(2999 * MS, 50 * MS, 50 * MS, 0.05));
        assert!(summary_fits(1000 * MS, 0, 0, 0.05));
        assert!(!summary_fits(1000 * MS, u64::MAX, u64::MAX, 0.05));
    }

    #[test]
    fn a_grown_heap_is_expected_to_take_longer_to_summarize() {
        assert_eq!(expected_summary_ns(10 * MS, 100, 300), 30 * MS);
        assert_eq!(expected_summary_ns(10 * MS, 100, 10_000), 80 * MS);
        assert_eq!(expected_summary_ns(10 * MS, 300, 100), 10 * MS);
        assert_eq!(expected_summary_ns(10 * MS, 0, 100), 10 * MS);
        assert_eq!(expected_summary_ns(u64::MAX, 1, 2), u64::MAX);
    }

    #[test]
    fn a_short_run_keeps_its_summaries_within_their_share() {
        // Summaries of 40 ms from the start of a 4-s run, each taken as soon as it is due:
        // with the one at the stop, they stay within 5 % of the run.
        let (share, min_gap, took, end) = (0.05, Duration::from_millis(500), 40 * MS, 4000 * MS);
        let (mut spent, mut last_end) = (took, took); // the one at the start
        let mut now = took;
        while now + took <= end {
            if summary_due(now, last_end, took, spent, took, share, min_gap) {
                spent += took;
                now += took;
                last_end = now;
            } else {
                now += 10 * MS;
            }
        }
        spent += took; // the one at the stop
        assert!(spent > 2 * took, "no summary was scheduled");
        assert!(spent as f64 <= share * end as f64, "{spent}");
    }
}
