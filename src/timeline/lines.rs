//! The recorder behind `@heapscope.profile`: per line of the decorated functions, how
//! often it ran, the resident memory after it and how much that grew while it ran.
//!
//! It is fed one event per line executed (`sys.monitoring`'s `LINE` events on 3.12+,
//! which fire only for the decorated functions' code, or `sys.settrace` before) and
//! keeps everything in Rust: a hash map keyed by (code object, line). Reading
//! `/proc/self/statm` costs a system call, so it is read again only when
//! `min_read_gap` has passed since the last reading (and at every call's start and
//! end); between readings the last figure stands. A line that grows memory by much
//! allocates for a while, so a reading follows it at once, and what it grew is
//! attributed to it; short lines in between are attributed their share at the next
//! reading, to the line that ends there. Where a reading shows a line grew by at least
//! `growth_threshold` bytes, the Python callback is told, to find out which types grew.

use crate::ffi::IntoNew;
use crate::timeline::sampler::resident_bytes;
use ahash::AHashMap;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// What is known of one line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineStats {
    pub occurrences: u64,
    /// Sum of the growth over its runs (may be negative).
    pub increment: i64,
    /// The largest resident size seen after it.
    pub mem_after: u64,
}

/// A line: the address of its code object (held by the recorder) and its number.
type LineKey = (usize, u32);

/// One call of a decorated function in progress.
#[derive(Debug, Clone, Copy)]
struct Call {
    running: Option<LineKey>,
    /// The resident size when the running line started.
    line_start: u64,
}

/// The pure bookkeeping, apart from Python and `/proc`.
#[derive(Debug, Default)]
pub struct Ledger {
    lines: AHashMap<LineKey, LineStats>,
    calls: Vec<Call>,
}

impl Ledger {
    /// A call starts with `rss` resident.
    pub fn begin(&mut self, rss: u64) {
        self.calls.push(Call { running: None, line_start: rss });
    }

    /// The running line of the innermost call ends with `rss` resident; returns it and
    /// what it grew by.
    pub fn finish_line(&mut self, rss: u64) -> Option<(LineKey, i64)> {
        let call = self.calls.last_mut()?;
        let key = call.running.take()?;
        let grew = rss as i64 - call.line_start as i64;
        call.line_start = rss;
        let stats = self.lines.entry(key).or_default();
        stats.increment += grew;
        stats.mem_after = stats.mem_after.max(rss);
        Some((key, grew))
    }

    /// Line `key` starts in the innermost call (after the last one was finished).
    pub fn start_line(&mut self, key: LineKey) {
        if let Some(call) = self.calls.last_mut() {
            call.running = Some(key);
            self.lines.entry(key).or_default().occurrences += 1;
        }
    }

    /// The innermost call ends with `rss` resident.
    pub fn end(&mut self, rss: u64) -> Option<(LineKey, i64)> {
        let finished = self.finish_line(rss);
        // The caller's running line (a decorated function calling another) goes on,
        // from the size it started at: the call's growth is the calling line's too.
        self.calls.pop();
        finished
    }

    pub fn in_call(&self) -> bool {
        !self.calls.is_empty()
    }
}

/// `LineRecorder(page_size, min_read_gap, growth_threshold)`: see the module's text.
#[pyclass(module = "heapscope._core")]
pub struct LineRecorder {
    ledger: Ledger,
    /// The watched code objects, held so that their addresses stay theirs.
    codes: AHashMap<usize, Py<PyAny>>,
    statm: File,
    page_size: u64,
    min_read_gap: Duration,
    last_read: Option<Instant>,
    last_rss: u64,
    growth_threshold: i64,
    reads: u64,
    /// `callback(code, line, grew)`, told of the lines that grew past the threshold.
    on_growth: Option<Py<PyAny>>,
    /// What `trace` returns for a watched frame: the recorder's own bound `trace`.
    local_tracer: Option<Py<PyAny>>,
}

impl LineRecorder {
    /// The resident size: read again when `fresh` or `min_read_gap` has passed.
    fn rss(&mut self, fresh: bool) -> (u64, bool) {
        let now = Instant::now();
        let due = fresh
            || match self.last_read {
                Some(at) => now.duration_since(at) >= self.min_read_gap,
                None => true,
            };
        if due {
            let mut buffer = [0u8; 256];
            if let Some(rss) =
                self.statm.read_at(&mut buffer, 0).ok().and_then(|n| resident_bytes(&buffer[..n], self.page_size))
            {
                self.last_rss = rss;
                self.reads += 1;
            }
            self.last_read = Some(now);
        }
        (self.last_rss, due)
    }

    /// The line (if any) that a fresh reading found to have grown past the threshold.
    fn significant(&self, finished: Option<(LineKey, i64)>, fresh: bool) -> Option<(LineKey, i64)> {
        finished.filter(|&(_, grew)| fresh && grew >= self.growth_threshold)
    }

    fn code_of(&self, key: LineKey, py: Python<'_>) -> Option<Py<PyAny>> {
        self.codes.get(&key.0).map(|code| code.clone_ref(py))
    }
}

/// Calls `on_growth(code, line, grew)` for a line that grew past the threshold, with
/// the recorder not borrowed (the callback runs Python code).
fn report_growth(slf: &Bound<'_, LineRecorder>, found: Option<(LineKey, i64)>) -> PyResult<()> {
    let Some((key, grew)) = found else { return Ok(()) };
    let py = slf.py();
    let (code, callback) = {
        let this = slf.borrow();
        (this.code_of(key, py), this.on_growth.as_ref().map(|c| c.clone_ref(py)))
    };
    if let (Some(code), Some(callback)) = (code, callback) {
        callback.call1(py, (code, key.1.into_new(py)?, grew.into_new(py)?))?;
    }
    Ok(())
}

#[pymethods]
impl LineRecorder {
    #[new]
    #[pyo3(signature = (page_size, min_read_gap = 2e-05, growth_threshold = 1048576))]
    fn new(page_size: u64, min_read_gap: f64, growth_threshold: i64) -> PyResult<LineRecorder> {
        let statm = File::open("/proc/self/statm").map_err(|err| {
            PyOSError::new_err(format!("cannot read /proc/self/statm ({err}); line profiles need Linux's /proc"))
        })?;
        Ok(LineRecorder {
            ledger: Ledger::default(),
            codes: AHashMap::new(),
            statm,
            page_size: page_size.max(1),
            min_read_gap: Duration::from_secs_f64(min_read_gap.clamp(0.0, 1.0)),
            last_read: None,
            last_rss: 0,
            growth_threshold: growth_threshold.max(1),
            reads: 0,
            on_growth: None,
            local_tracer: None,
        })
    }

    /// Watches `code` (a code object): its lines are recorded.
    fn watch(&mut self, code: Bound<'_, PyAny>) {
        self.codes.insert(code.as_ptr() as usize, code.unbind());
    }

    /// Whether `code` is watched.
    fn watches(&self, code: &Bound<'_, PyAny>) -> bool {
        self.codes.contains_key(&(code.as_ptr() as usize))
    }

    /// A call of a watched function starts (memory read now).
    fn begin(&mut self) {
        let (rss, _) = self.rss(true);
        self.ledger.begin(rss);
    }

    /// Sets the callable told `(code, line, grew)` when a fresh reading shows a line grew
    /// by at least the threshold (`None`: nobody).
    fn set_on_growth(&mut self, callback: Option<Py<PyAny>>) {
        self.on_growth = callback;
    }

    /// The call ends (memory read now).
    fn end(slf: &Bound<'_, Self>) -> PyResult<()> {
        let found = {
            let mut this = slf.borrow_mut();
            let (rss, fresh) = this.rss(true);
            let finished = this.ledger.end(rss);
            this.significant(finished, fresh)
        };
        report_growth(slf, found)
    }

    /// A `sys.monitoring` `LINE` event: `(code, line)`, as `line_event`.
    fn __call__(slf: &Bound<'_, Self>, code: &Bound<'_, PyAny>, line: u32) -> PyResult<()> {
        Self::line_event(slf, code, line)
    }

    /// A line of `code` starts: ends the running one. Events of code not watched, or
    /// outside a call, are ignored.
    fn line_event(slf: &Bound<'_, Self>, code: &Bound<'_, PyAny>, line: u32) -> PyResult<()> {
        let key = (code.as_ptr() as usize, line);
        let found = {
            let mut this = slf.borrow_mut();
            if !this.ledger.in_call() || !this.codes.contains_key(&key.0) {
                return Ok(());
            }
            let (rss, fresh) = this.rss(false);
            let finished = this.ledger.finish_line(rss);
            this.ledger.start_line(key);
            this.significant(finished, fresh)
        };
        report_growth(slf, found)
    }

    /// A `sys.settrace` trace function (before 3.12): a `call` of watched code gets the
    /// local tracer set with `set_local_tracer` (this method, bound), whose `line`
    /// events are `line_event`s; other frames are not traced.
    fn trace(
        slf: &Bound<'_, Self>,
        frame: &Bound<'_, PyAny>,
        event: &str,
        _arg: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let code = frame.getattr(crate::pystr!(py, "f_code")?)?;
        match event {
            "call" => {
                let this = slf.borrow();
                if this.codes.contains_key(&(code.as_ptr() as usize)) {
                    return Ok(this.local_tracer.as_ref().map(|t| t.clone_ref(py)));
                }
                Ok(None)
            }
            "line" => {
                let line: u32 = frame.getattr(crate::pystr!(py, "f_lineno")?)?.extract()?;
                Self::line_event(slf, &code, line)?;
                Ok(slf.borrow().local_tracer.as_ref().map(|t| t.clone_ref(py)))
            }
            _ => Ok(slf.borrow().local_tracer.as_ref().map(|t| t.clone_ref(py))),
        }
    }

    /// Installs the recorder as this thread's trace function in C form (before 3.12:
    /// no trampoline copying the locals at each event); `sys.settrace(previous)`
    /// removes it.
    fn install_c_tracer(slf: &Bound<'_, Self>) {
        crate::ffi::set_line_tracer(slf.as_any(), c_trace_event);
    }

    /// Sets what `trace` returns for watched frames (the bound `trace` itself).
    fn set_local_tracer(&mut self, tracer: Option<Py<PyAny>>) {
        self.local_tracer = tracer;
    }

    /// The lines so far: `(code, line, occurrences, increment, mem_after)` tuples.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut rows = Vec::new();
        crate::grow::Grow::grow(&mut rows, self.ledger.lines.len(), "the line statistics")?;
        for (&(code, line), stats) in &self.ledger.lines {
            if let Some(code) = self.codes.get(&code) {
                rows.push((code.clone_ref(py), line, stats.occurrences, stats.increment, stats.mem_after));
            }
        }
        rows.into_new(py)
    }

    /// How many times `/proc/self/statm` was read.
    #[getter]
    fn reads(&self) -> u64 {
        self.reads
    }

    /// Forgets the recorded lines (the watched functions stay watched).
    fn clear(&mut self) {
        self.ledger.lines.clear();
    }
}

/// An event of the C tracer: a call of watched code is wanted, a line is recorded.
fn c_trace_event<'py>(obj: &Bound<'py, PyAny>, code: &Bound<'py, PyAny>, line: u32, is_call: bool) -> PyResult<bool> {
    let recorder = obj.cast::<LineRecorder>()?;
    if is_call {
        return Ok(recorder.borrow().codes.contains_key(&(code.as_ptr() as usize)));
    }
    LineRecorder::line_event(recorder, code, line)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_goes_to_the_line_that_ran() {
        let mut ledger = Ledger::default();
        ledger.begin(100);
        ledger.start_line((1, 10));
        assert_eq!(ledger.finish_line(150), Some(((1, 10), 50)));
        ledger.start_line((1, 11));
        ledger.finish_line(120);
        ledger.start_line((1, 10));
        assert_eq!(ledger.end(130), Some(((1, 10), 10)));
        assert_eq!(ledger.lines[&(1, 10)], LineStats { occurrences: 2, increment: 60, mem_after: 150 });
        assert_eq!(ledger.lines[&(1, 11)], LineStats { occurrences: 1, increment: -30, mem_after: 120 });
        assert!(!ledger.in_call());
    }

    #[test]
    fn a_nested_call_counts_in_the_calling_line() {
        let mut ledger = Ledger::default();
        ledger.begin(100);
        ledger.start_line((1, 5)); // calls the other decorated function
        ledger.begin(100);
        ledger.start_line((2, 20));
        ledger.end(400);
        // The outer call's next line ends line 5.
        assert_eq!(ledger.finish_line(400), Some(((1, 5), 300)));
        ledger.start_line((1, 6));
        assert_eq!(ledger.lines[&(2, 20)].increment, 300);
        assert_eq!(ledger.lines[&(1, 5)].increment, 300);
    }
}
