//! A trace function in C form (`PyEval_SetTrace`), for line events before Python 3.12.
//!
//! A Python-level `sys.settrace` function is called through the interpreter's
//! trampoline, which copies the frame's fast locals into a dict before each call and
//! back after it: most of the cost of a line event. A C trace function is called
//! directly, with the frame. Frames of code the handler does not want have their line
//! events switched off (`f_trace_lines = False`) at their `call` event.

use pyo3::ffi;
use pyo3::prelude::*;
use std::os::raw::c_int;
use std::sync::OnceLock;

/// What the tracer calls: `(trace object, code, line, is_call)`. For a call it returns
/// whether the frame's lines are wanted; for a line, the return value is ignored.
pub type LineHandler = for<'py> fn(&Bound<'py, PyAny>, &Bound<'py, PyAny>, u32, bool) -> PyResult<bool>;

static HANDLER: OnceLock<LineHandler> = OnceLock::new();

/// Installs the C tracer on the current thread, with `obj` handed to `handler` at each
/// event (held by the interpreter while installed). One handler per process.
pub fn set_line_tracer(obj: &Bound<'_, PyAny>, handler: LineHandler) {
    let _ = HANDLER.set(handler);
    // SAFETY: the GIL is held (`Bound`); the interpreter takes its own reference to `obj`.
    unsafe { ffi::PyEval_SetTrace(Some(trace), obj.as_ptr()) };
}

unsafe extern "C" fn trace(
    obj: *mut ffi::PyObject,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    if what != ffi::PyTrace_LINE && what != ffi::PyTrace_CALL {
        return 0;
    }
    let Some(handler) = HANDLER.get() else { return 0 };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the interpreter calls trace functions with the GIL held.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: `obj` is the object the tracer was installed with, alive while it is
        // installed; `frame` is the frame being executed, alive during the call.
        let (obj, frame) =
            unsafe { (Bound::from_borrowed_ptr(py, obj), Bound::from_borrowed_ptr(py, frame as *mut ffi::PyObject)) };
        // SAFETY: `frame` is a frame object (see above); a new reference is returned.
        let code =
            unsafe { Bound::from_owned_ptr(py, ffi::PyFrame_GetCode(frame.as_ptr() as _) as *mut ffi::PyObject) };
        // SAFETY: as above; the call only reads the frame.
        let line = unsafe { ffi::PyFrame_GetLineNumber(frame.as_ptr() as _) }.max(0) as u32;
        let is_call = what == ffi::PyTrace_CALL;
        match handler(&obj, &code, line, is_call) {
            Ok(true) => 0,
            Ok(false) if is_call => match frame.setattr("f_trace_lines", false) {
                Ok(()) => 0,
                Err(err) => {
                    err.restore(py);
                    -1
                }
            },
            Ok(false) => 0,
            Err(err) => {
                err.restore(py);
                -1
            }
        }
    }));
    outcome.unwrap_or(0)
}
