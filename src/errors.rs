//! heapscope's errors: one enum for what the crate reports to Python, converted to Python
//! exceptions at the edge (`From<Error> for PyErr`). The exception classes of heapscope's
//! own are importable from `heapscope.exceptions`.

use crate::summary::file::{FORMAT, VERSION};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    heapscope._core,
    SnapshotError,
    PyValueError,
    "A saved summary that cannot be read: not JSON, truncated, foreign, from a newer heapscope, or inconsistent."
);

/// What can go wrong in heapscope: reading or writing a snapshot file.
#[derive(Debug)]
pub enum Error {
    Io {
        path: String,
        source: std::io::Error,
    },
    NotJson {
        path: Option<String>,
        detail: String,
    },
    Foreign {
        path: Option<String>,
        found: String,
    },
    NewerVersion {
        path: Option<String>,
        version: u64,
    },
    Invalid {
        path: Option<String>,
        detail: String,
    },
    /// A summary that cannot be written in the format (its totals do not fit).
    Unsaveable {
        detail: String,
    },
}

fn source(path: &Option<String>) -> String {
    path.as_deref().map_or_else(|| "text".to_owned(), |p| format!("file {p:?}"))
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::NotJson { path, detail } => write!(
                f,
                "{} is not a heapscope summary: not valid JSON, or cut short ({detail})",
                source(path)
            ),
            Error::Foreign { path, found } => {
                write!(f, "{} is not a heapscope summary (format {found}, expected {FORMAT:?})", source(path))
            }
            Error::NewerVersion { path, version } => write!(
                f,
                "{} was written by a newer heapscope (snapshot format version {version}; this version reads up to {VERSION})",
                source(path)
            ),
            Error::Invalid { path, detail } => write!(f, "{} is not a valid heapscope summary: {detail}", source(path)),
            Error::Unsaveable { detail } => write!(f, "the summary cannot be saved: {detail}"),
        }
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        match err {
            Error::Io { source, path } => {
                let message = format!("{path}: {source}");
                match source.kind() {
                    std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
                    std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
                    _ => PyOSError::new_err(message),
                }
            }
            other => SnapshotError::new_err(other.to_string()),
        }
    }
}
