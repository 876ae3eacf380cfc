//! The ClassTracker statistics file: a versioned JSON document (see
//! `docs/classtracker-format.md`), written and read with serde.
//!
//! pympler pickles its statistics; unpickling a file can run arbitrary code, so
//! heapscope writes plain JSON and checks everything it reads: a file that is not valid
//! JSON, has the wrong shape, a version this build does not know, or indices pointing
//! nowhere is refused with a [`FormatError`] that says why (a `ValueError` in Python).

use crate::classtracker::log::{Entry, Log, ProcessMemory, Record, Snapshot, TraceFrame, TreeNode, Watch};
use ahash::AHashMap;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;
use serde::{Deserialize, Serialize};

/// The `format` member of every stats file.
pub const FORMAT: &str = "heapscope.classtracker.stats";
/// The version this build writes; it reads this one and every older one.
pub const VERSION: u32 = 1;

/// Why a stats file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a valid heapscope ClassTracker stats file: {}", self.0)
    }
}

impl From<FormatError> for PyErr {
    fn from(err: FormatError) -> PyErr {
        PyValueError::new_err(err.to_string())
    }
}

fn bad<T>(reason: impl Into<String>) -> Result<T, FormatError> {
    Err(FormatError(reason.into()))
}

#[derive(Serialize, Deserialize)]
struct FileOut {
    format: String,
    version: u32,
    #[serde(default)]
    writer: String,
    names: Vec<String>,
    objects: Vec<ObjectOut>,
    snapshots: Vec<SnapshotOut>,
}

/// `[file, line, function, source line or null]`.
type FrameOut = (String, u32, String, Option<String>);

#[derive(Serialize, Deserialize)]
struct ObjectOut {
    id: u64,
    name: u32,
    level: u32,
    birth: f64,
    death: Option<f64>,
    basicsize: u64,
    repr: String,
    watch: String,
    trace: Option<Vec<FrameOut>>,
}

#[derive(Serialize, Deserialize)]
struct ProcessOut {
    available: bool,
    rss: u64,
    vms: u64,
    #[serde(default)]
    data: u64,
    #[serde(default)]
    code: u64,
    #[serde(default)]
    shared: u64,
    #[serde(default)]
    stack: u64,
    #[serde(default)]
    peak_rss: u64,
    #[serde(default)]
    pagefaults: u64,
}

/// `[parent or null, name, size, flat]`.
type NodeOut = (Option<u32>, String, u64, u64);

#[derive(Serialize, Deserialize)]
struct TreeOut {
    object: u32,
    nodes: Vec<NodeOut>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotOut {
    timestamp: f64,
    description: String,
    tracked_total: u64,
    asizeof_total: u64,
    overhead: u64,
    process: ProcessOut,
    /// `[object, size, flat]`, by object index.
    sizes: Vec<(u32, u64, u64)>,
    #[serde(default)]
    trees: Vec<TreeOut>,
}

/// The log as a stats file.
pub fn to_json(log: &Log) -> Result<Vec<u8>, FormatError> {
    let objects = log
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| ObjectOut {
            id: r.id,
            name: r.name,
            level: r.level,
            birth: r.birth,
            death: r.death,
            basicsize: u64::from(r.basicsize),
            repr: log.repr_of(i as u32),
            watch: r.watch.as_str().to_owned(),
            trace: log
                .traces
                .get(&(i as u32))
                .map(|t| t.iter().map(|f| (f.file.clone(), f.line, f.function.clone(), f.code.clone())).collect()),
        })
        .collect();
    let snapshots = log
        .snapshots
        .iter()
        .map(|s| SnapshotOut {
            timestamp: s.timestamp,
            description: s.description.clone(),
            tracked_total: s.tracked_total,
            asizeof_total: s.asizeof_total,
            overhead: s.overhead,
            process: ProcessOut {
                available: s.process.available,
                rss: s.process.rss,
                vms: s.process.vms,
                data: s.process.data,
                code: s.process.code,
                shared: s.process.shared,
                stack: s.process.stack,
                peak_rss: s.process.peak_rss,
                pagefaults: s.process.pagefaults,
            },
            sizes: s.entries.iter().map(|e| (e.record, e.size, s.flat(e.record))).collect(),
            trees: s
                .entries
                .iter()
                .filter_map(|e| {
                    s.tree(e.record).map(|t| TreeOut {
                        object: e.record,
                        nodes: t.iter().map(|n| (n.parent, n.name.clone(), n.size, n.flat)).collect(),
                    })
                })
                .collect(),
        })
        .collect();
    let file = FileOut {
        format: FORMAT.to_owned(),
        version: VERSION,
        writer: format!("heapscope {}", env!("CARGO_PKG_VERSION")),
        names: log.names.iter().cloned().collect(),
        objects,
        snapshots,
    };
    serde_json::to_vec(&file).map_err(|e| FormatError(format!("cannot be written: {e}")))
}

/// Reads a stats file, checking that it is one and that its parts fit together.
pub fn from_json(data: &[u8]) -> Result<Log, FormatError> {
    let start = data.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| data[i]) {
        None => return bad("the file is empty"),
        Some(0x80) => {
            return bad("it looks like a pickle (pympler's format); heapscope reads only its own JSON \
                 format, because unpickling an untrusted file can run arbitrary code")
        }
        Some(b'{') => {}
        Some(_) => return bad("it is not a JSON object"),
    }
    // The identity members first, so a foreign or newer document is named as such
    // rather than reported by the first field it lacks.
    #[derive(Deserialize)]
    struct Header {
        format: Option<serde_json::Value>,
        version: Option<serde_json::Value>,
    }
    let header: Header = serde_json::from_slice(data).map_err(|e| FormatError(format!("invalid JSON: {e}")))?;
    if header.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
        return bad(format!("its \"format\" member is not {FORMAT:?}"));
    }
    match header.version.as_ref().and_then(|v| v.as_u64()) {
        Some(v) if v >= 1 && v <= u64::from(VERSION) => {}
        Some(v) if v > u64::from(VERSION) => {
            return bad(format!(
                "it has format version {v}, written by a newer heapscope; this one reads versions up to {VERSION}"
            ))
        }
        _ => return bad("its \"version\" member is missing or not a supported version number"),
    }
    let file: FileOut = serde_json::from_slice(data).map_err(|e| FormatError(format!("unexpected content: {e}")))?;
    convert(file)
}

fn finite(value: f64, what: &str) -> Result<f64, FormatError> {
    if value.is_finite() {
        Ok(value)
    } else {
        bad(format!("{what} is not a finite number"))
    }
}

fn convert(file: FileOut) -> Result<Log, FormatError> {
    let mut log = Log::default();
    for name in file.names {
        if !log.names.insert(name.clone()) {
            return bad(format!("the name {name:?} is listed twice"));
        }
    }
    for (i, object) in file.objects.into_iter().enumerate() {
        if object.name as usize >= log.names.len() {
            return bad(format!("object {i} refers to name {} of {}", object.name, log.names.len()));
        }
        let birth = finite(object.birth, &format!("the birth time of object {i}"))?;
        let death = object.death.map(|d| finite(d, &format!("the death time of object {i}"))).transpose()?;
        let Some(watch) = Watch::parse(&object.watch) else {
            return bad(format!("object {i} has an unknown watch kind {:?}", object.watch));
        };
        let Ok(basicsize) = u32::try_from(object.basicsize) else {
            return bad(format!("object {i} has an implausible basic size {}", object.basicsize));
        };
        let index = log.records.len() as u32;
        log.records.push(Record {
            id: object.id,
            name: object.name,
            level: object.level,
            birth,
            death,
            basicsize,
            default_repr: None,
            watch,
        });
        if !object.repr.is_empty() {
            log.reprs.insert(index, object.repr.into_boxed_str());
        }
        if let Some(frames) = object.trace {
            let frames = frames
                .into_iter()
                .map(|(file, line, function, code)| TraceFrame { file, line, function, code })
                .collect();
            log.traces.insert(index, frames);
        }
    }
    let count = log.records.len();
    let mut previous = f64::NEG_INFINITY;
    for (k, snap) in file.snapshots.into_iter().enumerate() {
        let timestamp = finite(snap.timestamp, &format!("the time of snapshot {k}"))?;
        if timestamp < previous {
            return bad(format!("snapshot {k} is older than the one before it"));
        }
        previous = timestamp;
        let mut entries: Vec<Entry> = Vec::with_capacity(snap.sizes.len());
        let mut flats: AHashMap<u32, u64> = AHashMap::new();
        for &(object, size, flat) in &snap.sizes {
            if object as usize >= count {
                return bad(format!("snapshot {k} has a size for object {object}, but there are {count} objects"));
            }
            entries.push(Entry { record: object, size });
            if flat != 0 {
                flats.insert(object, flat);
            }
        }
        entries.sort_by_key(|e| e.record);
        if let Some(pair) = entries.windows(2).find(|w| w[0].record == w[1].record) {
            return bad(format!("snapshot {k} has two sizes for object {}", pair[0].record));
        }
        let mut trees: AHashMap<u32, Box<[TreeNode]>> = AHashMap::new();
        for tree in snap.trees {
            if entries.binary_search_by_key(&tree.object, |e| e.record).is_err() {
                return bad(format!("snapshot {k} has a tree for object {} but no size for it", tree.object));
            }
            if trees.contains_key(&tree.object) {
                return bad(format!("snapshot {k} has two trees for object {}", tree.object));
            }
            let mut nodes = Vec::with_capacity(tree.nodes.len());
            for (i, (parent, name, size, flat)) in tree.nodes.into_iter().enumerate() {
                let fits = match parent {
                    None => i == 0,
                    Some(p) => i > 0 && (p as usize) < i,
                };
                if !fits {
                    return bad(format!(
                        "snapshot {k}: node {i} of the tree of object {} has a bad parent",
                        tree.object
                    ));
                }
                nodes.push(TreeNode { parent, name, size, flat });
            }
            if nodes.is_empty() {
                return bad(format!("snapshot {k}: the tree of object {} is empty", tree.object));
            }
            trees.insert(tree.object, nodes.into_boxed_slice());
        }
        let p = snap.process;
        let mut snapshot = Snapshot {
            timestamp,
            description: snap.description,
            tracked_total: snap.tracked_total,
            asizeof_total: snap.asizeof_total,
            overhead: snap.overhead,
            process: ProcessMemory {
                available: p.available,
                rss: p.rss,
                vms: p.vms,
                data: p.data,
                code: p.code,
                shared: p.shared,
                stack: p.stack,
                peak_rss: p.peak_rss,
                pagefaults: p.pagefaults,
            },
            entries,
            details: AHashMap::new(),
        };
        for (record, flat) in flats {
            let tree = trees.remove(&record);
            snapshot.set_detail(record, flat, tree);
        }
        for (record, tree) in trees {
            snapshot.set_detail(record, 0, Some(tree));
        }
        log.snapshots.push(snapshot);
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Log {
        let mut log = Log::default();
        log.names.insert("m.A".into());
        log.type_labels.insert("m.A".into());
        log.records.push(Record {
            id: 0xabc,
            name: 0,
            level: 1,
            birth: 0.5,
            death: Some(2.0),
            basicsize: 56,
            default_repr: Some(0),
            watch: Watch::Weak,
        });
        log.traces
            .insert(0, vec![TraceFrame { file: "x.py".into(), line: 3, function: "f".into(), code: None }].into());
        log.snapshots.push(Snapshot {
            timestamp: 1.0,
            description: "first".into(),
            tracked_total: 100,
            process: ProcessMemory { available: true, rss: 10, vms: 20, ..Default::default() },
            entries: vec![Entry { record: 0, size: 100 }],
            ..Default::default()
        });
        log.snapshots[0].set_detail(
            0,
            56,
            Some(
                vec![
                    TreeNode { parent: None, name: "<m.A>".into(), size: 100, flat: 56 },
                    TreeNode { parent: Some(0), name: "__dict__".into(), size: 44, flat: 44 },
                ]
                .into(),
            ),
        );
        log
    }

    #[test]
    fn round_trip_keeps_everything() {
        let log = sample();
        let back = from_json(&to_json(&log).unwrap()).unwrap();
        assert_eq!(back.names, log.names);
        assert_eq!(back.records.len(), 1);
        let (a, b) = (&log.records[0], &back.records[0]);
        assert_eq!((a.id, a.birth, a.death, a.level, a.basicsize), (b.id, b.birth, b.death, b.level, b.basicsize));
        assert_eq!(back.repr_of(0), "<m.A object at 0xabc>");
        assert_eq!(log.traces, back.traces);
        assert_eq!(back.snapshots[0].process, log.snapshots[0].process);
        assert_eq!(back.snapshots[0].entries, log.snapshots[0].entries);
        assert_eq!(back.snapshots[0].details, log.snapshots[0].details);
        // Writing what was read gives the same file.
        assert_eq!(to_json(&back).unwrap(), to_json(&log).unwrap());
    }

    #[test]
    fn times_survive_exactly() {
        let mut log = sample();
        for (i, t) in [0.0028700828552246094, 1e-300, 123456.789_012_35, 0.1 + 0.2].into_iter().enumerate() {
            log.records[0].birth = t;
            log.snapshots[0].timestamp = t + i as f64;
            let back = from_json(&to_json(&log).unwrap()).unwrap();
            assert_eq!(back.records[0].birth.to_bits(), t.to_bits());
            assert_eq!(back.snapshots[0].timestamp.to_bits(), (t + i as f64).to_bits());
        }
    }

    fn refused(text: &str) -> String {
        from_json(text.as_bytes()).unwrap_err().0
    }

    #[test]
    fn refuses_what_is_not_a_stats_file() {
        assert!(refused("").contains("empty"));
        assert!(refused("[1, 2]").contains("not a JSON object"));
        assert!(refused("{\"format\": \"x\", \"version\": 1}").contains("format"));
        assert!(from_json(b"\x80\x04\x95").unwrap_err().0.contains("pickle"));
        assert!(refused("{\"format\": ").contains("invalid JSON"));
    }

    #[test]
    fn refuses_newer_versions_and_broken_references() {
        let good = String::from_utf8(to_json(&sample()).unwrap()).unwrap();
        assert!(refused(&good.replace("\"version\":1", "\"version\":99")).contains("newer heapscope"));
        assert!(refused(&good.replace("\"version\":1", "\"version\":0")).contains("version"));
        assert!(refused(&good.replace("\"sizes\":[[0,", "\"sizes\":[[5,")).contains("object 5"));
        assert!(refused(&good.replace("\"name\":0", "\"name\":3")).contains("name 3"));
        assert!(refused(&good.replace("[0,\"__dict__\"", "[1,\"__dict__\"")).contains("bad parent"));
        assert!(refused(&good.replace("\"watch\":\"weakref\"", "\"watch\":\"psychic\"")).contains("watch"));
        assert!(refused(&good.replace("\"birth\":0.5", "\"birth\":\"soon\"")).contains("unexpected content"));
    }
}
