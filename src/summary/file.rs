//! Summaries saved as JSON, to be loaded and diffed later or by another process.
//!
//! The format is versioned (`docs/snapshot-format.md`). Reading checks, in order: that
//! the text is JSON, that it says it is a heapscope summary, that its version is one
//! this build reads, and then that the rows are consistent with the totals written next
//! to them. Every failure is a `SnapshotError` (a `ValueError` in Python), so a file
//! that is truncated, foreign or from a newer heapscope never yields a wrong diff.

use crate::errors::Error;
use crate::jsonfile::{self, Failure, Scalar, Source};
use crate::summary::rows::{sums, Rows, Totals};
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
    let sys = py.import(crate::pystr!(py, "sys")?)?;
    let (major, minor, micro): (u32, u32, u32) = {
        let info = sys.getattr(crate::pystr!(py, "version_info")?)?;
        let part = |k: u64| -> PyResult<u32> { info.get_item(crate::ffi::new_int(py, k)?)?.extract() };
        (part(0)?, part(1)?, part(2)?)
    };
    let implementation: String =
        sys.getattr(crate::pystr!(py, "implementation")?)?.getattr(crate::pystr!(py, "name")?)?.extract()?;
    let platform: String = sys.getattr(crate::pystr!(py, "platform")?)?.extract()?;
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

/// Version 1 of the format, field for field, as it is read: rows go straight into
/// [`Rows`], each type once.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u32,
    kind: Kind,
    created: f64,
    #[serde(default)]
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
    rows: RowsIn,
}

/// Version 1 as it is written, borrowing the rows.
#[derive(Serialize)]
struct FileV1Out<'a> {
    format: &'a str,
    version: u32,
    kind: Kind,
    created: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: &'a Option<String>,
    python: &'a str,
    implementation: &'a str,
    platform: &'a str,
    pid: u32,
    heapscope: &'a str,
    objects: i64,
    bytes: i64,
    rows: RowsOut<'a>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowV1<'a> {
    #[serde(rename = "type", borrow)]
    type_name: std::borrow::Cow<'a, str>,
    count: i64,
    size: i64,
}

struct RowsOut<'a>(&'a Rows);

impl Serialize for RowsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(name, t)| RowV1 {
            type_name: std::borrow::Cow::Borrowed(name.as_str()),
            count: t.count,
            size: t.size,
        }))
    }
}

/// The `rows` array, read row by row into [`Rows`].
struct RowsIn(Rows);

impl<'de> Deserialize<'de> for RowsIn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RowsIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of rows")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RowsIn, A::Error> {
                use serde::de::Error as _;
                let mut rows = Rows::default();
                loop {
                    let row = match seq.next_element::<RowV1<'de>>() {
                        Ok(Some(row)) => row,
                        Ok(None) => return Ok(RowsIn(rows)),
                        Err(e) => return Err(A::Error::custom(format!("row {}: {e}", rows.len()))),
                    };
                    let name = row.type_name.into_owned();
                    if rows.contains_key(&name) {
                        return Err(A::Error::custom(format!("type {name:?} has two rows")));
                    }
                    rows.insert(name, Totals { count: row.count, size: row.size });
                }
            }
        }
        deserializer.deserialize_seq(V)
    }
}

/// The sums of the rows as the file's `objects` and `bytes` fields, or why they do not
/// fit there.
fn file_sums(rows: &Rows) -> Result<(i64, i64), String> {
    let (objects, bytes) = sums(rows);
    let fit = |sum: i128, field: &str| {
        i64::try_from(sum).map_err(|_| {
            format!("the rows' {field} add up to {sum}, more than the \"{field}\" field holds (2**63 - 1)")
        })
    };
    Ok((fit(objects, "objects")?, fit(bytes, "bytes")?))
}

pub fn to_json(rows: &Rows, meta: &Meta) -> Result<String, Error> {
    let (objects, bytes) = file_sums(rows).map_err(|detail| Error::Unsaveable { detail })?;
    let file = FileV1Out {
        format: FORMAT,
        version: VERSION,
        kind: meta.kind,
        created: meta.created,
        label: &meta.label,
        python: &meta.python,
        implementation: &meta.implementation,
        platform: &meta.platform,
        pid: meta.pid,
        heapscope: &meta.heapscope,
        objects,
        bytes,
        rows: RowsOut(rows),
    };
    serde_json::to_string_pretty(&file).map_err(|e| Error::Unsaveable { detail: e.to_string() })
}

/// Reads a summary from JSON text: see the module's documentation for the checks.
pub fn from_json(text: &str, path: Option<&str>) -> Result<(Rows, Meta), Error> {
    read(Source::Bytes(text.as_bytes()), path.map(str::to_owned))
}

/// The two passes of [`jsonfile`] over `source`: identity and syntax, then content.
fn read(source: Source<'_>, path: Option<String>) -> Result<(Rows, Meta), Error> {
    let failed = |failure: Failure, path: &Option<String>| match failure {
        Failure::Io(source) => Error::Io { path: path.clone().unwrap_or_default(), source },
        f if f.is_syntax() => Error::NotJson { path: path.clone(), detail: f.to_string() },
        f => Error::Invalid { path: path.clone(), detail: f.to_string() },
    };
    jsonfile::check_utf8(source).map_err(|f| failed(f, &path))?;
    let identity = jsonfile::parse(source, jsonfile::IdentitySeed).map_err(|f| failed(f, &path))?;
    // What the file is, from the two fields that say it, before anything else.
    let Some((format, version)) = identity else {
        return Err(Error::Foreign { path, found: "missing: the JSON is not an object".to_owned() });
    };
    match format {
        Some(Scalar::Str(format)) if format == FORMAT => {}
        Some(other) => return Err(Error::Foreign { path, found: other.to_string() }),
        None => return Err(Error::Foreign { path, found: "missing".to_owned() }),
    }
    let version = match version {
        Some(Scalar::Unsigned(n)) => n,
        other => {
            let found = other.map_or_else(|| "missing".to_owned(), |v| v.to_string());
            return Err(Error::Invalid { path, detail: format!("version {found} is not a positive integer") });
        }
    };
    if version > u64::from(VERSION) {
        return Err(Error::NewerVersion { path, version });
    }
    if version != 1 {
        return Err(Error::Invalid { path, detail: format!("unknown format version {version}") });
    }
    let file: FileV1 = jsonfile::parse(source, jsonfile::Plain::new()).map_err(|f| failed(f, &path))?;
    let invalid = |detail: String| Error::Invalid { path: path.clone(), detail };
    let rows = file.rows.0;
    if file.kind == Kind::Summary {
        if let Some((name, _)) = rows.iter().find(|(_, t)| t.count < 0 || t.size < 0) {
            return Err(invalid(format!("row {name:?} has a negative count or size in a summary")));
        }
    }
    let (objects, bytes) = sums(&rows);
    if objects != i128::from(file.objects) || bytes != i128::from(file.bytes) {
        return Err(invalid(format!(
            "the rows add up to {objects} objects and {bytes} bytes, but the file's \"objects\" and \"bytes\" fields say {} and {}",
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

/// Reads a summary file, streaming it: memory in proportion to the rows it holds.
pub fn load(path: &Path) -> Result<(Rows, Meta), Error> {
    let shown = path.display().to_string();
    read(Source::File(path), Some(shown))
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

    #[test]
    fn overflowing_and_mistyped_numbers_are_refused() {
        let mut big = Rows::default();
        big.insert("a".into(), Totals { count: i64::MAX, size: 1 });
        big.insert("b".into(), Totals { count: 1, size: 1 });
        // Cannot be written: the file's total would not fit.
        assert!(matches!(to_json(&big, &meta()).unwrap_err(), Error::Unsaveable { .. }));
        // A file whose rows add up past its totals (a wrapped sum).
        let text = to_json(&rows(), &meta())
            .unwrap()
            .replace("\"count\": 3", &format!("\"count\": {}", i64::MAX))
            .replace("\"objects\": 4", &format!("\"objects\": {}", i64::MIN));
        let err = from_json(&text, None).unwrap_err().to_string();
        assert!(err.contains("\"objects\""), "{err}");
        let text = to_json(&rows(), &meta()).unwrap().replace("\"count\": 3", "\"count\": 99999999999999999999");
        assert!(matches!(from_json(&text, None).unwrap_err(), Error::Invalid { .. }));
        let text = to_json(&rows(), &meta()).unwrap().replace("\"count\": 3", "\"count\": \"3\"");
        let err = from_json(&text, None).unwrap_err().to_string();
        assert!(err.contains("row 0"), "{err}");
    }

    #[test]
    fn files_stream_from_disk() {
        let path = std::env::temp_dir().join(format!("heapscope-summary-{}.json", std::process::id()));
        save(&path, &rows(), &meta()).unwrap();
        assert_eq!(load(&path).unwrap(), (rows(), meta()));
        std::fs::write(&path, b"\xff\xfe{}").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("not UTF-8"));
        let _ = std::fs::remove_file(&path);
        assert!(matches!(load(&path).unwrap_err(), Error::Io { .. }));
    }
}
