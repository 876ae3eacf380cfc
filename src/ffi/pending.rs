//! Work handed from a thread without the GIL to the main thread, to run between two
//! bytecodes: `Py_AddPendingCall`, which needs neither the GIL nor a thread state.
//!
//! The interpreter runs pending calls on the main thread of the main interpreter, at
//! the next check of its eval breaker (where signal handlers run), with the GIL held:
//! the running Python code is paused at a safe point, so the task may run Python code
//! and allocate. A task is boxed; the box is owned by the queue until the call runs.

use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::c_void;
use std::os::raw::c_int;

/// A task for the main thread. An error it returns is raised in the interrupted code
/// only when it is a `KeyboardInterrupt` (a Ctrl-C that arrived during the task);
/// anything else is reported as unraisable, so that the program goes on.
pub type MainThreadTask = Box<dyn FnOnce(Python<'_>) -> PyResult<()> + Send>;

/// Queues `task` for the main thread; callable from any thread, with or without the
/// GIL. `false` when the interpreter's queue is full (the task is dropped, so the caller
/// may try again later).
pub fn run_on_main_thread(task: MainThreadTask) -> bool {
    let raw = Box::into_raw(Box::new(task)) as *mut c_void;
    // SAFETY: `Py_AddPendingCall` may be called from any thread without the GIL or a
    // thread state; `raw` is a leaked box that only `run_task` reclaims, once.
    let queued = unsafe { ffi::Py_AddPendingCall(Some(run_task), raw) } == 0;
    if !queued {
        // SAFETY: the call was refused, so `run_task` never sees `raw`: the box is still ours.
        drop(unsafe { Box::from_raw(raw as *mut MainThreadTask) });
    }
    queued
}

extern "C" fn run_task(raw: *mut c_void) -> c_int {
    // SAFETY: `raw` is the box `run_on_main_thread` leaked, handed over once by the queue.
    let task = unsafe { Box::from_raw(raw as *mut MainThreadTask) };
    // A panic must not cross into the interpreter's C frames.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Python::attach(|py| match task(py) {
            Ok(()) => 0,
            Err(err) if err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) => {
                err.restore(py);
                -1
            }
            Err(err) => {
                err.write_unraisable(py, None);
                0
            }
        })
    }));
    outcome.unwrap_or(0)
}

/// Whether a pending call queued from another thread waits for the main thread to take
/// the GIL again before it runs. Before 3.13 the interpreter raises its eval breaker for
/// pending calls only when the thread that queues them is the main thread, so a main
/// thread that never waits for the GIL (a loop of bytecodes) would not notice the call
/// until its next blocking call; 3.13 raises the main thread's breaker directly.
pub const PENDING_CALLS_NEED_HANDOVER: bool = cfg!(not(Py_3_13));

/// Takes the GIL and lets it go at once, from a thread that is not the main thread: the
/// main thread is asked to drop the GIL (after the switch interval), and it runs its
/// pending calls as it does. Blocks until the GIL is free.
pub fn hand_over_gil() {
    Python::attach(|_py| ());
}
