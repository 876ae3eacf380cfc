//! Summaries saved as JSON, to be loaded and diffed later or by another process.
//!
//! The format is versioned (`docs/snapshot-format.md`). Reading checks, in order: that
//! the text is JSON, that it says it is a heapscope summary, that its version is one
//! this build reads, and then that the rows are consistent with the totals written next
//! to them. Every failure is a `SnapshotError` (a `ValueError` in Python), so a file
//! that is truncated, foreign or from a newer heapscope never yields a wrong diff.

use crate::errors::Error;
use crate::summary::rows::{Rows, Totals};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` field of every snapshot.
pub const FORMAT: &str = "heapscope-summary";
/// The version this build writes, and the newest it reads.
pub const VERSION: u32 = 1;

/// Whether rows are a summary (counts and sizes never negative) or a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Summary,
    Diff,
}

impl Kind {
    pub fn parse(text: &str) -> PyResult<Kind> {
        match text {
            "summary" => Ok(Kind::Summary),
            "diff" => Ok(Kind::Diff),
            other => Err(PyValueError::new_err(format!("kind must be 'summary' or 'diff', not {other:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Summary => "summary",
            Kind::Diff => "diff",
        }
    }
}

/// Where and when a summary was taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    pub kind: Kind,
    /// Seconds since the Unix epoch.
    pub created: f64,
    pub label: Option<String>,
    pub python: String,
    pub implementation: String,
    pub platform: String,
    pub pid: u32,
    pub heapscope: String,
}

impl Meta {
    pub fn now(py: Python<'_>, kind: Kind, label: Option<String>) -> Meta {
        let created =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let (python, implementation, platform) = interpreter(py).unwrap_or_default();
        Meta {
            kind,
            created,
            label,
            python,
            implementation,
            platform,
            pid: std::process::id(),
            heapscope: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

fn interpreter(py: Python<'_>) -> PyResult<(String, String, String)> {
    let sys = py.import("sys")?;
    let (major, minor, micro): (u32, u32, u32) = {
        let info = sys.getattr("version_info")?;
        (info.get_item(0)?.extract()?, info.get_item(1)?.extract()?, info.get_item(2)?.extract()?)
    };
    let implementation: String = sys.getattr("implementation")?.getattr("name")?.extract()?;
    let platform: String = sys.getattr("platform")?.extract()?;
    Ok((format!("{major}.{minor}.{micro}"), implementation, platform))
}

/// `created` as an ISO 8601 UTC time (to the second).
pub fn format_time(seconds: f64) -> String {
    let secs = seconds.max(0.0) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

/// Days since 1970-01-01 to a (year, month, day) of the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Version 1 of the format, field for field.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    format: String,
    version: u32,
    kind: Kind,
    created: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    python: String,
    implementation: String,
    platform: String,
    pid: u32,
    heapscope: String,
    /// Sum of the rows' counts: a check on the rows.
    objects: i64,
    /// Sum of the rows' sizes: a check on the rows.
    bytes: i64,
    rows: Vec<RowV1>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowV1 {
    #[serde(rename = "type")]
    type_name: String,
    count: i64,
    size: i64,
}

pub fn to_json(rows: &Rows, meta: &Meta) -> Result<String, Error> {
    let file = FileV1 {
        format: FORMAT.to_owned(),
        version: VERSION,
        kind: meta.kind,
        created: meta.created,
        label: meta.label.clone(),
        python: meta.python.clone(),
        implementation: meta.implementation.clone(),
        platform: meta.platform.clone(),
        pid: meta.pid,
        heapscope: meta.heapscope.clone(),
        objects: rows.values().map(|t| t.count).sum(),
        bytes: rows.values().map(|t| t.size).sum(),
        rows: rows.iter().map(|(name, t)| RowV1 { type_name: name.clone(), count: t.count, size: t.size }).collect(),
    };
    serde_json::to_string_pretty(&file).map_err(|e| Error::Invalid { path: None, detail: e.to_string() })
}

pub fn from_json(text: &str, path: Option<&str>) -> Result<(Rows, Meta), Error> {
    let path = path.map(str::to_owned);
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::NotJson { path: path.clone(), detail: e.to_string() })?;
    // What the file is, from the two fields that say it, before anything else.
    let Some(fields) = value.as_object() else {
        return Err(Error::Foreign { path, found: "missing: the JSON is not an object".to_owned() });
    };
    match fields.get("format") {
        Some(serde_json::Value::String(format)) if format == FORMAT => {}
        Some(other) => return Err(Error::Foreign { path, found: other.to_string() }),
        None => return Err(Error::Foreign { path, found: "missing".to_owned() }),
    }
    let version = match fields.get("version") {
        Some(serde_json::Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        other => {
            let found = other.as_ref().map_or_else(|| "missing".to_owned(), |v| v.to_string());
            return Err(Error::Invalid { path, detail: format!("version {found} is not a positive integer") });
        }
    };
    if version > u64::from(VERSION) {
        return Err(Error::NewerVersion { path, version });
    }
    if version != 1 {
        return Err(Error::Invalid { path, detail: format!("unknown format version {version}") });
    }
    let file: FileV1 =
        serde_json::from_value(value).map_err(|e| Error::Invalid { path: path.clone(), detail: e.to_string() })?;
    let invalid = |detail: String| Error::Invalid { path: path.clone(), detail };
    let mut rows = Rows::default();
    for row in file.rows {
        if file.kind == Kind::Summary && (row.count < 0 || row.size < 0) {
            return Err(invalid(format!("row {:?} has a negative count or size in a summary", row.type_name)));
        }
        if rows.insert(row.type_name.clone(), Totals { count: row.count, size: row.size }).is_some() {
            return Err(invalid(format!("type {:?} has two rows", row.type_name)));
        }
    }
    let objects: i64 = rows.values().map(|t| t.count).sum();
    let bytes: i64 = rows.values().map(|t| t.size).sum();
    if objects != file.objects || bytes != file.bytes {
        return Err(invalid(format!(
            "the rows add up to {objects} objects and {bytes} bytes, but the file says {} and {}",
            file.objects, file.bytes
        )));
    }
    let meta = Meta {
        kind: file.kind,
        created: file.created,
        label: file.label,
        python: file.python,
        implementation: file.implementation,
        platform: file.platform,
        pid: file.pid,
        heapscope: file.heapscope,
    };
    Ok((rows, meta))
}

pub fn save(path: &Path, rows: &Rows, meta: &Meta) -> Result<(), Error> {
    let text = to_json(rows, meta)?;
    let shown = path.display().to_string();
    let io = |source| Error::Io { path: shown.clone(), source };
    // Write next to the target and rename, so a reader never sees half a file.
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = std::path::PathBuf::from(temp);
    std::fs::write(&temp, text.as_bytes()).map_err(io)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io(e)
    })
}

pub fn load(path: &Path) -> Result<(Rows, Meta), Error> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: shown.clone(), source })?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::NotJson { path: Some(shown.clone()), detail: format!("not UTF-8 text: {e}") })?;
    from_json(&text, Some(&shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            kind: Kind::Summary,
            created: 1_700_000_000.5,
            label: Some("before".into()),
            python: "3.11.7".into(),
            implementation: "cpython".into(),
            platform: "linux".into(),
            pid: 42,
            heapscope: "0.1.0".into(),
        }
    }

    fn rows() -> Rows {
        let mut rows = Rows::default();
        rows.insert("str".into(), Totals { count: 3, size: 150 });
        rows.insert("<class 'a b'>".into(), Totals { count: 1, size: 56 });
        rows
    }

    #[test]
    fn round_trip() {
        let text = to_json(&rows(), &meta()).unwrap();
        let (back, back_meta) = from_json(&text, None).unwrap();
        assert_eq!(back, rows());
        assert_eq!(back_meta, meta());
    }

    #[test]
    fn truncated_text_is_rejected() {
        let text = to_json(&rows(), &meta()).unwrap();
        for cut in [1, text.len() / 2, text.len() - 2] {
            let err = from_json(&text[..cut], None).unwrap_err();
            assert!(matches!(err, Error::NotJson { .. }), "{err}");
        }
    }

    #[test]
    fn foreign_and_newer_files_are_rejected() {
        assert!(matches!(from_json("[1, 2]", None).unwrap_err(), Error::Foreign { .. }));
        assert!(matches!(from_json("not json", None).unwrap_err(), Error::NotJson { .. }));
        assert!(matches!(from_json("{\"rows\": []}", None).unwrap_err(), Error::Foreign { .. }));
        assert!(matches!(from_json("{\"format\": \"other\"}", None).unwrap_err(), Error::Foreign { .. }));
        let newer = to_json(&rows(), &meta()).unwrap().replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(from_json(&newer, None).unwrap_err(), Error::NewerVersion { version: 2, .. }));
    }

    #[test]
    fn inconsistent_rows_are_rejected() {
        let text = to_json(&rows(), &meta()).unwrap().replace("\"count\": 3", "\"count\": 4");
        assert!(matches!(from_json(&text, None).unwrap_err(), Error::Invalid { .. }));
        let text = to_json(&rows(), &meta()).unwrap().replace("\"count\": 3", "\"count\": -3");
        assert!(matches!(from_json(&text, None).unwrap_err(), Error::Invalid { .. }));
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(format_time(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000.0), "2023-11-14T22:13:20Z");
        assert_eq!(format_time(951_782_400.0), "2000-02-29T00:00:00Z");
    }
}
