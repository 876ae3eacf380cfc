//! Ctrl-C during long loops: a pending SIGINT is noticed without running Python code,
//! then raised where Python code may run.
//!
//! `PyErr_CheckSignals` runs the program's Python signal handlers (and on 3.12+ may run
//! a scheduled collection), so loops that hold borrowed pointers cannot call it. They
//! poll [`interrupt_pending`] instead: `PyOS_InterruptOccurred` only reads and clears
//! the SIGINT flag (main thread of the main interpreter only; elsewhere it reports
//! nothing, as Python itself handles signals there only). A SIGINT found is tripped
//! again at once (`PyErr_SetInterruptEx`), so that the loop, once it has let go of its
//! borrowed pointers, calls [`check_signals`], which runs the handler: the
//! `KeyboardInterrupt`, or whatever the program's handler raises, propagates.

use pyo3::ffi;
use pyo3::prelude::*;

use super::progress;

/// How many steps of a loop pass between two polls (about a millisecond of work).
const EVERY: u32 = 1 << 16;

/// A countdown for polling signals in a hot loop: one decrement per step.
pub struct SignalPoll(u32);

impl Default for SignalPoll {
    fn default() -> Self {
        SignalPoll(EVERY)
    }
}

impl SignalPoll {
    /// Whether this step ends a run of [`EVERY`] steps; counts nothing.
    #[inline(always)]
    fn rollover(&mut self) -> bool {
        self.0 -= 1;
        if self.0 == 0 {
            self.0 = EVERY;
            return true;
        }
        false
    }

    /// Whether this step is one at which signals are polled (every [`EVERY`]th); the
    /// steps count towards the progress of the call (see `progress`).
    #[inline(always)]
    pub fn due(&mut self) -> bool {
        if self.rollover() {
            progress::tick(EVERY);
            return true;
        }
        false
    }

    /// [`due`](Self::due) and [`interrupt_pending`]: runs no Python code. A progress
    /// report never makes it true: loops that start over after a signal use it.
    #[inline(always)]
    pub fn interrupted(&mut self, py: Python<'_>) -> bool {
        self.due() && interrupt_pending(py)
    }

    /// [`interrupted`](Self::interrupted), or a progress report is due: runs no Python
    /// code. For loops that can secure their borrowed pointers, call [`check_signals`]
    /// and go on where they were when it returns; whether a SIGINT is pending, they
    /// learn from [`interrupt_pending`] (only a SIGINT may mean the call stops).
    #[inline(always)]
    pub fn woken(&mut self, py: Python<'_>) -> bool {
        self.rollover() && (progress::tick(EVERY) || interrupt_pending(py))
    }

    /// [`due`](Self::due) and [`check_signals`]: may run Python code.
    #[inline(always)]
    pub fn check(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.due() {
            return check_signals(py);
        }
        Ok(())
    }
}

/// Whether a SIGINT arrived that Python has not handled yet; runs no Python code. The
/// signal stays pending: the caller must call [`check_signals`] as soon as Python code
/// may run.
#[cold]
pub fn interrupt_pending(_py: Python<'_>) -> bool {
    // SAFETY: the GIL is held (the token); the call reads and clears the SIGINT flag of
    // the signal module and runs no Python code.
    if unsafe { ffi::PyOS_InterruptOccurred() } == 0 {
        return false;
    }
    // The flag was cleared: set it again, for `PyErr_CheckSignals` to run the handler.
    // Either call only sets flags (and writes the wakeup fd, as a real signal would);
    // it does nothing when SIGINT is ignored or has its default action, which cannot be
    // the case here, since the flag is only set by Python's own handler.
    // SAFETY: the GIL is held; SIGINT is a valid signal number.
    #[cfg(Py_3_10)]
    unsafe {
        ffi::PyErr_SetInterruptEx(SIGINT)
    };
    // SAFETY: the GIL is held.
    #[cfg(not(Py_3_10))]
    unsafe {
        ffi::PyErr_SetInterrupt()
    };
    true
}

/// SIGINT's number (2 on every platform CPython supports).
const SIGINT: std::ffi::c_int = 2;

/// Makes the progress report that is due, if any, then runs the handlers of the
/// signals that arrived (`PyErr_CheckSignals`): `Err` with what the progress callback or
/// a handler raised. Runs Python code: no borrowed pointer may be held across it.
pub fn check_signals(py: Python<'_>) -> PyResult<()> {
    progress::report(py)?;
    // SAFETY: the GIL is held (the token); on failure the error is set and fetched.
    if unsafe { ffi::PyErr_CheckSignals() } != 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

struct SignalModule {
    getsignal: Py<PyAny>,
    default_int_handler: Py<PyAny>,
}

static SIGNAL: pyo3::sync::PyOnceLock<SignalModule> = pyo3::sync::PyOnceLock::new();

/// Whether SIGINT's handler is Python's own `signal.default_int_handler`, which only
/// raises `KeyboardInterrupt`: a loop that finds a pending SIGINT then knows the call
/// stops, and can let go of its borrowed pointers without keeping what is left to do.
/// Runs Python code (a call of `signal.getsignal`); `false` when that fails.
pub fn sigint_handler_is_default(py: Python<'_>) -> bool {
    let module = SIGNAL.get_or_try_init(py, || -> PyResult<SignalModule> {
        let signal = py.import("signal")?;
        Ok(SignalModule {
            getsignal: signal.getattr("getsignal")?.unbind(),
            default_int_handler: signal.getattr("default_int_handler")?.unbind(),
        })
    });
    let Ok(module) = module else { return false };
    match module.getsignal.bind(py).call1((SIGINT,)) {
        Ok(handler) => handler.is(module.default_int_handler.bind(py)),
        Err(_) => false,
    }
}
