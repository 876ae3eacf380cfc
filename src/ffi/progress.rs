//! Progress reports of long calls, from the same polls as Ctrl-C (see `signals`).
//!
//! A call that may take long opens a [`ProgressScope`] with the Python callback its
//! caller gave (or none). Every [`SignalPoll`](super::SignalPoll) rollover (65,536 steps
//! of a loop) counts towards the scope's steps and, only then, reads the clock: once a
//! report is due (two seconds after the start, then at most every quarter of a second,
//! see [`Schedule`]), polls that can stop at a safe point report a wake-up, and the next
//! [`check_signals`](super::check_signals) calls the callback with `(done, total)`
//! before it runs the signal handlers. Loops that start over after a signal (the heap
//! passes, which read the collector's lists) cannot call Python code: a heap pass's scope
//! ([`ProgressScope::enter_pass`]) whose display is a terminal line (it has a `line`
//! attribute: the text before the count) writes that line to stderr itself, from Rust,
//! at every report of the call, and ends it when the scope closes; without one (in a
//! notebook, whose output needs Python code) only the loops that can run Python code
//! report. The callback's error, `KeyboardInterrupt` included, propagates as a signal
//! handler's does.

use std::cell::RefCell;
use std::io::Write;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// When the first report is due by default.
pub const FIRST_REPORT: Duration = Duration::from_secs(2);
/// The shortest time between two reports.
pub const REPORT_EVERY: Duration = Duration::from_millis(250);

/// When reports are due, as a function of the time elapsed since the start of the call
/// (given by the caller: the clock is the caller's, which keeps this testable).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    first: Duration,
    last: Option<Duration>,
}

impl Schedule {
    pub fn new(first: Duration) -> Self {
        Schedule { first, last: None }
    }

    /// Whether a report is due at `elapsed`; if so it counts as made.
    pub fn due(&mut self, elapsed: Duration) -> bool {
        if elapsed < self.first {
            return false;
        }
        if let Some(last) = self.last {
            if elapsed.saturating_sub(last) < REPORT_EVERY {
                return false;
            }
        }
        self.last = Some(elapsed);
        true
    }
}

struct Scope {
    callback: Py<PyAny>,
    start: Instant,
    schedule: Schedule,
    steps: u64,
    total: Option<u64>,
    /// A report is due: made by the next `check_signals`.
    due: bool,
    /// A heap pass's terminal line, written from Rust.
    line: Option<Line>,
}

/// The line a heap pass writes to stderr itself: `{text} {done} {unit}, {seconds} s`.
struct Line {
    text: String,
    unit: String,
    written: bool,
}

impl Line {
    fn write(&mut self, done: u64, elapsed: Duration) {
        let shown = format!(
            "\r{} {} {}, {:.1} s",
            self.text,
            crate::units::grouped(i128::from(done), false),
            self.unit,
            elapsed.as_secs_f64()
        );
        // A failed write (stderr closed) only loses the report.
        let _ = std::io::stderr().lock().write_all(shown.as_bytes());
        self.written = true;
    }

    fn end(&self) {
        if self.written {
            let _ = std::io::stderr().lock().write_all(b"\n");
        }
    }
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// The progress scope of one call: while it lives, polls on this thread count towards
/// its callback's reports. Scopes nest (a call made by a callback or a `__sizeof__`
/// opens its own); the outer one is back when the inner one is dropped.
pub struct ProgressScope {
    outer: Option<Scope>,
}

impl ProgressScope {
    /// A scope reporting to `callback` (none: no reports, also for polls of nested
    /// loops). The callback's `delay` attribute, when it has one, is the time in seconds
    /// before the first report (default two seconds).
    pub fn enter(callback: Option<&Bound<'_, PyAny>>, total: Option<u64>) -> PyResult<Self> {
        Self::open(callback, total, false)
    }

    /// The scope of a heap pass, whose loops over the collector's lists cannot run
    /// Python code: if `callback` has a `line` (a `str`: it is a terminal line), every
    /// report of the call is that line, written to stderr from Rust, followed by the
    /// count and the callback's `unit`.
    pub fn enter_pass(callback: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Self::open(callback, None, true)
    }

    fn open(callback: Option<&Bound<'_, PyAny>>, total: Option<u64>, pass: bool) -> PyResult<Self> {
        let scope = match callback {
            Some(callback) if !callback.is_none() => {
                let py = callback.py();
                let first = match callback.getattr(crate::pystr!(py, "delay")?) {
                    Ok(delay) => Duration::try_from_secs_f64(delay.extract::<f64>()?).unwrap_or(FIRST_REPORT),
                    Err(_) => FIRST_REPORT,
                };
                let line = if pass { terminal_line(callback)? } else { None };
                Some(Scope {
                    callback: callback.clone().unbind(),
                    start: Instant::now(),
                    schedule: Schedule::new(first),
                    steps: 0,
                    total,
                    due: false,
                    line,
                })
            }
            _ => None,
        };
        let outer = SCOPE.with(|cell| cell.try_borrow_mut().map(|mut current| std::mem::replace(&mut *current, scope)));
        Ok(ProgressScope { outer: outer.unwrap_or(None) })
    }
}

/// The display's `line` and `unit` (`str`s), when it is a terminal line.
fn terminal_line(callback: &Bound<'_, PyAny>) -> PyResult<Option<Line>> {
    let text = |name: &str| -> PyResult<Option<String>> {
        match callback.getattr(name) {
            Ok(value) if value.is_none() => Ok(None),
            Ok(value) => Ok(Some(value.extract::<String>()?)),
            Err(error) if error.is_instance_of::<pyo3::exceptions::PyAttributeError>(callback.py()) => Ok(None),
            Err(error) => Err(error),
        }
    };
    let Some(line) = text("line")? else { return Ok(None) };
    let unit = text("unit")?.unwrap_or_else(|| "objects".to_owned());
    Ok(Some(Line { text: line, unit, written: false }))
}

impl Drop for ProgressScope {
    fn drop(&mut self) {
        let outer = self.outer.take();
        SCOPE.with(|cell| {
            if let Ok(mut current) = cell.try_borrow_mut() {
                if let Some(line) = current.as_ref().and_then(|scope| scope.line.as_ref()) {
                    line.end();
                }
                *current = outer;
            }
        });
    }
}

/// Counts `steps` towards the current scope and tells whether a report is due; reads
/// the clock only when a scope is open. A heap pass's terminal line is written here, at
/// once: no report is then left for Python code to make. Runs no Python code.
#[cold]
pub fn tick(steps: u32) -> bool {
    SCOPE.with(|cell| {
        let Ok(mut current) = cell.try_borrow_mut() else { return false };
        let Some(scope) = current.as_mut() else { return false };
        scope.steps = scope.steps.saturating_add(u64::from(steps));
        if let Some(line) = scope.line.as_mut() {
            let elapsed = scope.start.elapsed();
            if scope.schedule.due(elapsed) {
                line.write(scope.steps, elapsed);
            }
            return false;
        }
        if !scope.due {
            scope.due = scope.schedule.due(scope.start.elapsed());
        }
        scope.due
    })
}

/// Calls the current scope's callback with `(done, total)` if a report is due. Runs
/// Python code: no borrowed pointer may be held across it.
pub fn report(py: Python<'_>) -> PyResult<()> {
    let call = SCOPE.with(|cell| {
        let mut current = cell.try_borrow_mut().ok()?;
        let scope = current.as_mut()?;
        if !scope.due {
            return None;
        }
        scope.due = false;
        Some((scope.callback.clone_ref(py), scope.steps, scope.total))
    });
    if let Some((callback, done, total)) = call {
        callback.bind(py).call1((done, total))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_is_due_before_two_seconds() {
        let mut schedule = Schedule::new(FIRST_REPORT);
        for t in (0..2000).step_by(50) {
            assert!(!schedule.due(ms(t)), "{t} ms");
        }
        assert!(schedule.due(ms(2000)));
    }

    #[test]
    fn reports_come_at_most_every_quarter_second() {
        let mut schedule = Schedule::new(FIRST_REPORT);
        let made: Vec<u64> = (0..4000).step_by(10).filter(|&t| schedule.due(ms(t))).collect();
        assert_eq!(made, vec![2000, 2250, 2500, 2750, 3000, 3250, 3500, 3750]);
    }

    #[test]
    fn late_polls_report_once_then_wait_again() {
        let mut schedule = Schedule::new(FIRST_REPORT);
        assert!(schedule.due(ms(5000)));
        assert!(!schedule.due(ms(5100)));
        assert!(!schedule.due(ms(5249)));
        assert!(schedule.due(ms(5250)));
        assert!(schedule.due(ms(9000)));
    }

    #[test]
    fn a_zero_delay_reports_at_once() {
        let mut schedule = Schedule::new(Duration::ZERO);
        assert!(schedule.due(ms(0)));
        assert!(!schedule.due(ms(100)));
        assert!(schedule.due(ms(300)));
    }

    #[test]
    fn ticks_without_a_scope_report_nothing() {
        assert!(!tick(1 << 16));
    }
}
