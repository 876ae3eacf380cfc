//! pymalloc's own statistics (the text `sys._debugmallocstats()` prints), read without
//! printing them.
//!
//! CPython writes them with `int _PyObject_DebugMallocStats(FILE *out)`, which returns 0
//! (and writes nothing) when pymalloc is not the object allocator: `PYTHONMALLOC=malloc`
//! or `malloc_debug`, or an allocator hook such as tracemalloc's. `sys._debugmallocstats()`
//! hands it C's `stderr`, so reading the text from Python would mean pointing file
//! descriptor 2 elsewhere for the call, which also takes whatever other threads (or C
//! code running without the GIL) write to stderr meanwhile, and can block on a full pipe.
//! Here the function gets a stream of its own, an in-memory `open_memstream` buffer:
//! file descriptor 2 is never touched and nothing is written to disk.
//!
//! The function is looked up at run time (`dlsym`) instead of being linked: an
//! interpreter built without pymalloc does not define it, and an unresolved symbol would
//! make the whole module fail to import. On systems without `open_memstream` and
//! `dlsym` (Windows) the statistics are not read.

use pyo3::Python;

/// Why the statistics could not be read (an error of the C library), in one line.
pub type StatsError = String;

/// The text of `_PyObject_DebugMallocStats`, or `None` when the interpreter has no
/// pymalloc statistics to give (the function is absent or returned 0). The GIL, proven
/// by `_py`, keeps the allocator's state still during the call, which runs no Python
/// code and allocates only with the C library's `malloc` (the stream's buffer).
#[cfg(unix)]
pub fn pymalloc_stats_text(_py: Python<'_>) -> Result<Option<String>, StatsError> {
    use std::ffi::{c_char, c_int, c_void};

    type StatsFn = unsafe extern "C" fn(*mut libc::FILE) -> c_int;

    // SAFETY: `dlsym` with `RTLD_DEFAULT` only searches the objects already loaded; the
    // name is a NUL-terminated literal.
    let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_PyObject_DebugMallocStats".as_ptr()) };
    if symbol.is_null() {
        return Ok(None);
    }
    // SAFETY: the symbol is CPython's `int _PyObject_DebugMallocStats(FILE *out)`, with
    // that signature on every supported version (3.9 to 3.15, `Include/cpython/objimpl.h`).
    let stats = unsafe { std::mem::transmute::<*mut c_void, StatsFn>(symbol) };

    let mut buffer: *mut c_char = std::ptr::null_mut();
    let mut length: libc::size_t = 0;
    // SAFETY: `buffer` and `length` are locals that outlive the stream: it is closed
    // below, before they go out of scope.
    let file = unsafe { libc::open_memstream(&mut buffer, &mut length) };
    if file.is_null() {
        return Err(format!("cannot open an in-memory stream: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `file` is an open stream; the GIL is held (see above), as the function
    // requires.
    let used = unsafe { stats(file) };
    // SAFETY: `file` is open and closed once; closing flushes it and sets `buffer` and
    // `length` to the final contents.
    let closed = unsafe { libc::fclose(file) };
    let close_error = std::io::Error::last_os_error();
    let text = if buffer.is_null() {
        None
    } else {
        // SAFETY: after `fclose`, `buffer` points to `length` bytes (and a NUL) that
        // `open_memstream` allocated and nothing else refers to.
        let bytes = unsafe { std::slice::from_raw_parts(buffer.cast::<u8>(), length) };
        let text = String::from_utf8_lossy(bytes).into_owned();
        // SAFETY: the buffer was allocated with `malloc` by the stream and is freed once,
        // after its last use.
        unsafe { libc::free(buffer.cast::<c_void>()) };
        Some(text)
    };
    if closed != 0 {
        return Err(format!("cannot read the in-memory stream: {close_error}"));
    }
    if used == 0 {
        return Ok(None);
    }
    match text {
        Some(text) => Ok(Some(text)),
        None => Err("the allocator wrote no statistics".to_owned()),
    }
}

/// Not read where there is no `open_memstream` and `dlsym`.
#[cfg(not(unix))]
pub fn pymalloc_stats_text(_py: Python<'_>) -> Result<Option<String>, StatsError> {
    Err("pymalloc's statistics are read on Unix-like systems only".to_owned())
}
