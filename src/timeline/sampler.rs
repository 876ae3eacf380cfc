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
//! which runs them between two bytecodes, as a signal handler runs); the task times the
//! Python callback and the thread schedules the next one `duration * (1 / share - 1)`
//! later, never sooner than `min_gap`. Before Python 3.13, the interpreter notices a call
//! queued from another thread only when the main thread takes the GIL again, so a second
//! thread takes and releases the GIL once per queued summary (never per sample).

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
    /// Summaries: whether the thread schedules them, whether one is queued, when the
    /// next is due, and the time they took on the main thread.
    summaries_enabled: bool,
    summary_queued: bool,
    next_summary_ns: u64,
    summary_ns: u64,
    summary_count: u64,
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
            next_summary_ns: 0,
            summary_ns: 0,
            summary_count: 0,
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
            // The first scheduled summary waits as long after the start one (timed by
            // `add_summary_time`) as any other after its predecessor.
            let gap = gap_after(Duration::from_nanos(state.summary_ns), state.share, state.min_gap);
            state.next_summary_ns = self.shared.now_ns().saturating_add(gap.as_nanos() as u64);
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
    /// start, the end, or when asked), so that it counts in the overhead.
    fn add_summary_time(&self, seconds: f64) {
        let mut state = self.shared.lock();
        state.summary_ns += (seconds.max(0.0) * 1e9) as u64;
        state.summary_count += 1;
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
        }
        let now = shared.now_ns();
        if state.summaries_enabled && !state.summary_queued && now >= state.next_summary_ns {
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
    let took = began.elapsed();
    let mut state = shared.lock();
    state.summary_queued = false;
    state.summary_ns += u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
    state.summary_count += 1;
    let gap = gap_after(took, state.share, state.min_gap);
    state.next_summary_ns = shared.now_ns().saturating_add(u64::try_from(gap.as_nanos()).unwrap_or(u64::MAX));
    result
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
}
