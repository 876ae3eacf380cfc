//! The ClassTracker statistics file: a versioned JSON document (see
//! `docs/classtracker-format.md`), written and read with serde.
//!
//! pympler pickles its statistics; unpickling a file can run arbitrary code, so
//! heapscope writes plain JSON and checks everything it reads: a file that is not valid
//! JSON, has the wrong shape, a version this build does not know, or indices pointing
//! nowhere is refused with a [`FormatError`] that says why (a `ValueError` in Python).

use crate::classtracker::log::{Entry, Log, NodeName, ProcessMemory, Record, Snapshot, TraceFrame, TreeNode, Watch};
use crate::grow::{Grow, OutOfMemory, TryPush};
use crate::jsonfile::{self, Failure, Scalar, Source};
use ahash::AHashMap;
use indexmap::IndexSet;
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::PyErr;
use serde::{Deserialize, Serialize};

/// The buffers a stats file is read into, as `MemoryError` names them.
const NAMES: &str = "the class names of a stats file";
const OBJECTS: &str = "the objects of a stats file";
const SIZES: &str = "the sizes of a stats file";
const NODES: &str = "the size-tree nodes of a stats file";
const SNAPSHOTS: &str = "the snapshots of a stats file";

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
                        nodes: t.iter().map(|n| (n.parent, n.name.to_string(), n.size, n.flat)).collect(),
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

/// Reads a stats file held in memory; see [`read`].
pub fn from_json(data: &[u8]) -> Result<Log, LoadError> {
    read(Source::Bytes(data))
}

/// Reads a stats file from disk, streaming it: memory in proportion to what it holds.
pub fn load(path: &std::path::Path) -> Result<Log, LoadError> {
    // A file that cannot be opened is an `OSError`, as for `open()`.
    std::fs::File::open(path).map_err(LoadError::Io)?;
    read(Source::File(path))
}

/// Why reading failed: the file could not be opened, it is not a stats file, or what it
/// holds did not fit in memory.
#[derive(Debug)]
pub enum LoadError {
    Io(std::io::Error),
    Format(FormatError),
    Memory(OutOfMemory),
}

impl From<FormatError> for LoadError {
    fn from(err: FormatError) -> LoadError {
        LoadError::Format(err)
    }
}

impl From<LoadError> for PyErr {
    fn from(err: LoadError) -> PyErr {
        match err {
            LoadError::Io(e) => e.into(),
            LoadError::Format(e) => e.into(),
            LoadError::Memory(OutOfMemory(what)) => PyMemoryError::new_err(format!(
                "heapscope ran out of memory reading {what} (loading takes a few times the file's size); \
                 free memory or raise the process's memory limit"
            )),
        }
    }
}

/// Why reading stopped inside the file: a check failed (the reason), or a buffer could
/// not grow.
enum Refusal {
    Reason(String),
    Memory(OutOfMemory),
}

impl From<String> for Refusal {
    fn from(reason: String) -> Refusal {
        Refusal::Reason(reason)
    }
}

impl From<OutOfMemory> for Refusal {
    fn from(err: OutOfMemory) -> Refusal {
        Refusal::Memory(err)
    }
}

thread_local! {
    /// The latest refusal while reading, to tell it from serde's own errors (which are
    /// about the shape of the content).
    static REFUSED: std::cell::RefCell<Option<Refusal>> = const { std::cell::RefCell::new(None) };
}

/// A refusal, as a serde error that stops the reading.
fn refuse<E: serde::de::Error>(refusal: Refusal) -> E {
    let error = match &refusal {
        Refusal::Reason(reason) => E::custom(reason),
        Refusal::Memory(err) => E::custom(err),
    };
    REFUSED.with(|r| *r.borrow_mut() = Some(refusal));
    error
}

/// Reads a stats file, checking that it is one and that its parts fit together: the
/// whole text is checked to be JSON and to say what it is first, then read straight
/// into the log, each part checked as it comes.
fn read(source: Source<'_>) -> Result<Log, LoadError> {
    let failed = |failure: Failure| match failure {
        Failure::Io(e) => FormatError(format!("it could not be read: {e}")),
        f if f.is_syntax() => FormatError(format!("invalid JSON: {f}")),
        f => FormatError(format!("unexpected content: {f}")),
    };
    match jsonfile::first_byte(source).map_err(failed)? {
        None => return Ok(bad("the file is empty")?),
        Some(0x80) => {
            return Ok(bad("it looks like a pickle (pympler's format); heapscope reads only its own JSON \
                 format, because unpickling an untrusted file can run arbitrary code")?)
        }
        Some(b'{') => {}
        Some(_) => return Ok(bad("it is not a JSON object")?),
    }
    // The identity members first, so a foreign or newer document is named as such
    // rather than reported by the first field it lacks.
    let identity = jsonfile::parse(source, jsonfile::IdentitySeed).map_err(failed)?;
    let (format, version) = identity.unwrap_or_default();
    if format != Some(Scalar::Str(FORMAT.to_owned())) {
        return Ok(bad(format!("its \"format\" member is not {FORMAT:?}"))?);
    }
    match version {
        Some(Scalar::Unsigned(v)) if v >= 1 && v <= u64::from(VERSION) => {}
        Some(Scalar::Unsigned(v)) if v > u64::from(VERSION) => {
            return Ok(bad(format!(
                "it has format version {v}, written by a newer heapscope; this one reads versions up to {VERSION}"
            ))?)
        }
        _ => return Ok(bad("its \"version\" member is missing or not a supported version number")?),
    }
    REFUSED.with(|r| r.borrow_mut().take());
    let file: FileIn =
        jsonfile::parse(source, jsonfile::Plain::new()).map_err(|f| match REFUSED.with(|r| r.borrow_mut().take()) {
            Some(Refusal::Reason(reason)) => LoadError::Format(FormatError(reason)),
            Some(Refusal::Memory(err)) => LoadError::Memory(err),
            None => LoadError::Format(failed(f)),
        })?;
    Ok(finish(file)?)
}

fn finite(value: f64, what: &str) -> Result<f64, String> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("{what} is not a finite number"))
    }
}

/// The file as read: every part already in its final form and checked on its own.
#[derive(Deserialize)]
struct FileIn {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: u32,
    #[serde(default)]
    #[allow(dead_code)]
    writer: String,
    names: NamesIn,
    objects: ObjectsIn,
    snapshots: SnapshotsIn,
}

struct NamesIn(IndexSet<String>);
struct ObjectsIn(Vec<Record>, AHashMap<u32, Box<str>>, AHashMap<u32, Box<[TraceFrame]>>);
/// The snapshots, and the first reason to refuse one that is only reported if the
/// references to objects are all right (an object out of range says more).
struct SnapshotsIn(Vec<Snapshot>, Option<String>);

/// A seq visitor calling `each` on every element of type `T`.
struct Each<T, F>(F, std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>, F: FnMut(usize, T) -> Result<(), Refusal>> serde::de::Visitor<'de> for Each<T, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(item) = seq.next_element::<T>()? {
            (self.0)(i, item).map_err(refuse)?;
            i += 1;
        }
        Ok(())
    }
}

fn each<'de, D, T, F>(deserializer: D, f: F) -> Result<(), D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
    F: FnMut(usize, T) -> Result<(), Refusal>,
{
    deserializer.deserialize_seq(Each(f, std::marker::PhantomData))
}

impl<'de> Deserialize<'de> for NamesIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut names = IndexSet::new();
        each(d, |_, name: String| {
            if names.contains(&name) {
                return Err(format!("the name {name:?} is listed twice").into());
            }
            names.try_reserve(1).map_err(|_| OutOfMemory(NAMES))?;
            names.insert(name);
            Ok(())
        })?;
        Ok(NamesIn(names))
    }
}

impl<'de> Deserialize<'de> for ObjectsIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = ObjectsIn(Vec::new(), AHashMap::new(), AHashMap::new());
        each(d, |i, object: ObjectOut| {
            let birth = finite(object.birth, &format!("the birth time of object {i}"))?;
            let death = object.death.map(|d| finite(d, &format!("the death time of object {i}"))).transpose()?;
            let Some(watch) = Watch::parse(&object.watch) else {
                return Err(format!("object {i} has an unknown watch kind {:?}", object.watch).into());
            };
            let Ok(basicsize) = u32::try_from(object.basicsize) else {
                return Err(format!("object {i} has an implausible basic size {}", object.basicsize).into());
            };
            let index = u32::try_from(i).map_err(|_| "there are more than 2**32 objects".to_owned())?;
            jsonfile::try_push_lean(
                &mut out.0,
                Record {
                    id: object.id,
                    name: object.name,
                    level: object.level,
                    birth,
                    death,
                    basicsize,
                    default_repr: None,
                    watch,
                },
                OBJECTS,
            )?;
            if !object.repr.is_empty() {
                out.1.grow(1, OBJECTS)?;
                out.1.insert(index, object.repr.into_boxed_str());
            }
            if let Some(frames) = object.trace {
                let frames = frames
                    .into_iter()
                    .map(|(file, line, function, code)| TraceFrame { file, line, function, code })
                    .collect();
                out.2.grow(1, OBJECTS)?;
                out.2.insert(index, frames);
            }
            Ok(())
        })?;
        out.0.shrink_to_fit();
        Ok(out)
    }
}

/// A snapshot as read, before its sizes are joined to their details.
#[derive(Deserialize)]
struct SnapshotIn {
    timestamp: f64,
    description: String,
    tracked_total: u64,
    asizeof_total: u64,
    overhead: u64,
    process: ProcessOut,
    sizes: SizesIn,
    #[serde(default)]
    trees: TreesIn,
}

/// `[object, size, flat]` triples: the entries, and the flat sizes that are not 0.
struct SizesIn(Vec<Entry>, Vec<(u32, u64)>, u128);

impl<'de> Deserialize<'de> for SizesIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = SizesIn(Vec::new(), Vec::new(), 0);
        each(d, |_, (object, size, flat): (u32, u64, u64)| {
            jsonfile::try_push_lean(&mut out.0, Entry { record: object, size }, SIZES)?;
            out.2 += u128::from(size);
            if flat != 0 {
                jsonfile::try_push_lean(&mut out.1, (object, flat), SIZES)?;
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// The size trees, each node checked to have an earlier parent; with the sums of their
/// nodes' sizes and flat sizes.
#[derive(Default)]
struct TreesIn(Vec<(u32, NodesIn)>, u128);

#[derive(Deserialize)]
struct TreeIn {
    object: u32,
    nodes: NodesIn,
}

/// The nodes, the sum of their sizes, and the first node whose parent is not an
/// earlier node.
struct NodesIn(Box<[TreeNode]>, u128, Option<usize>);

/// A node's name, copied out of the reader's buffer (in place when short, else into
/// memory of its own size, whose refusal stops the reading).
struct NameIn(NodeName);

impl<'de> Deserialize<'de> for NameIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NameIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NameIn, E> {
                NodeName::try_new(v).map(NameIn).map_err(|_| refuse(OutOfMemory(NODES).into()))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for NodesIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut nodes: Vec<TreeNode> = Vec::new();
        let mut sum = 0u128;
        let mut bad_parent = None;
        each(d, |i, (parent, NameIn(name), size, flat): (Option<u32>, NameIn, u64, u64)| {
            let fits = match parent {
                None => i == 0,
                Some(p) => i > 0 && (p as usize) < i,
            };
            if !fits && bad_parent.is_none() {
                bad_parent = Some(i);
            }
            sum += u128::from(size).max(u128::from(flat));
            jsonfile::try_push_lean(&mut nodes, TreeNode { parent, name, size, flat }, NODES)?;
            Ok(())
        })?;
        Ok(NodesIn(nodes.into_boxed_slice(), sum, bad_parent))
    }
}

impl<'de> Deserialize<'de> for TreesIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = TreesIn::default();
        each(d, |_, tree: TreeIn| {
            out.1 += tree.nodes.1;
            out.0.try_push((tree.object, tree.nodes), NODES)?;
            Ok(())
        })?;
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for SnapshotsIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        let mut later = None;
        let mut previous = f64::NEG_INFINITY;
        each(d, |k, snap: SnapshotIn| {
            let snapshot = snapshot_from(k, snap, previous, &mut later)?;
            previous = snapshot.timestamp;
            out.try_push(snapshot, SNAPSHOTS)?;
            Ok(())
        })?;
        Ok(SnapshotsIn(out, later))
    }
}

fn snapshot_from(k: usize, snap: SnapshotIn, previous: f64, later: &mut Option<String>) -> Result<Snapshot, Refusal> {
    let timestamp = finite(snap.timestamp, &format!("the time of snapshot {k}"))?;
    if timestamp < previous {
        return Err(format!("snapshot {k} is older than the one before it").into());
    }
    let SizesIn(mut entries, flats, size_sum) = snap.sizes;
    // Every sum the statistics make of a snapshot's sizes (per class, merged trees) is a
    // part of these, so none can overflow once these fit.
    if size_sum > u128::from(u64::MAX) {
        return Err(format!("snapshot {k}: the \"sizes\" of its objects add up to more than 2**64 - 1 bytes").into());
    }
    if snap.trees.1 > u128::from(u64::MAX) {
        return Err(format!("snapshot {k}: the node sizes of its \"trees\" add up to more than 2**64 - 1 bytes").into());
    }
    // Unstable: no buffer (equal records are refused below).
    entries.sort_unstable_by_key(|e| e.record);
    if let Some(pair) = entries.windows(2).find(|w| w[0].record == w[1].record) {
        return Err(format!("snapshot {k} has two sizes for object {}", pair[0].record).into());
    }
    let mut trees: AHashMap<u32, Box<[TreeNode]>> = AHashMap::new();
    for (object, NodesIn(nodes, _, bad_parent)) in snap.trees.0 {
        if let Some(i) = bad_parent {
            return Err(format!("snapshot {k}: node {i} of the tree of object {object} has a bad parent").into());
        }
        if entries.binary_search_by_key(&object, |e| e.record).is_err() {
            later.get_or_insert_with(|| format!("snapshot {k} has a tree for object {object} but no size for it"));
            continue;
        }
        if trees.contains_key(&object) {
            return Err(format!("snapshot {k} has two trees for object {object}").into());
        }
        if nodes.is_empty() {
            return Err(format!("snapshot {k}: the tree of object {object} is empty").into());
        }
        trees.grow(1, NODES)?;
        trees.insert(object, nodes);
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
    snapshot.details.grow(flats.len() + trees.len(), SIZES)?;
    for (record, flat) in flats {
        let tree = trees.remove(&record);
        snapshot.set_detail(record, flat, tree);
    }
    for (record, tree) in trees {
        snapshot.set_detail(record, 0, Some(tree));
    }
    Ok(snapshot)
}

/// The checks across parts, once all are read: references to names and objects.
fn finish(file: FileIn) -> Result<Log, FormatError> {
    let ObjectsIn(records, reprs, traces) = file.objects;
    let names = file.names.0;
    if let Some((i, record)) = records.iter().enumerate().find(|(_, r)| r.name as usize >= names.len()) {
        return bad(format!("object {i} refers to name {} of {}", record.name, names.len()));
    }
    let count = records.len();
    for (k, snap) in file.snapshots.0.iter().enumerate() {
        if let Some(entry) = snap.entries.last().filter(|e| e.record as usize >= count) {
            return bad(format!("snapshot {k} has a size for object {}, but there are {count} objects", entry.record));
        }
    }
    if let Some(reason) = file.snapshots.1 {
        return bad(reason);
    }
    Ok(Log { names, records, reprs, traces, snapshots: file.snapshots.0, ..Log::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why a file was refused (a failure of another kind fails the test).
    fn reason(err: LoadError) -> String {
        match err {
            LoadError::Format(FormatError(reason)) => reason,
            other => panic!("not a refusal: {other:?}"),
        }
    }

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
        reason(from_json(text.as_bytes()).unwrap_err())
    }

    #[test]
    fn refuses_what_is_not_a_stats_file() {
        assert!(refused("").contains("empty"));
        assert!(refused("[1, 2]").contains("not a JSON object"));
        assert!(refused("{\"format\": \"x\", \"version\": 1}").contains("format"));
        assert!(reason(from_json(b"\x80\x04\x95").unwrap_err()).contains("pickle"));
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

    #[test]
    fn sums_of_sizes_that_overflow_are_refused() {
        let good = String::from_utf8(to_json(&sample()).unwrap()).unwrap();
        let max = u64::MAX;
        let huge = good.replace("\"sizes\":[[0,100,56]]", &format!("\"sizes\":[[0,{max},56]]"));
        assert!(from_json(huge.as_bytes()).is_ok());
        let mut log = sample();
        for _ in 0..19 {
            log.records.push(log.records[0].clone());
        }
        log.snapshots[0].entries = (0..20).map(|record| Entry { record, size: max }).collect();
        let text = to_json(&log).unwrap();
        let reason = reason(from_json(&text).unwrap_err());
        assert!(reason.contains("\"sizes\"") && reason.contains("2**64 - 1"), "{reason}");
        let trees = good.replace("[0,\"__dict__\",44,44]", &format!("[0,\"__dict__\",{max},44]"));
        assert!(refused(&trees).contains("\"trees\""));
    }

    #[test]
    fn files_stream_from_disk_with_the_same_checks() {
        let path = std::env::temp_dir().join(format!("heapscope-stats-{}.json", std::process::id()));
        std::fs::write(&path, to_json(&sample()).unwrap()).unwrap();
        let back = match load(&path) {
            Ok(log) => log,
            Err(_) => panic!("a written file loads"),
        };
        assert_eq!(back.snapshots[0].details, sample().snapshots[0].details);
        std::fs::write(&path, b"\x80\x04").unwrap();
        assert!(matches!(load(&path), Err(LoadError::Format(e)) if e.0.contains("pickle")));
        std::fs::write(&path, b"{\"format\": \"heapscope.classtracker.stats\", \"version\": 1, \"names\": [").unwrap();
        assert!(matches!(load(&path), Err(LoadError::Format(e)) if e.0.contains("invalid JSON")));
        let _ = std::fs::remove_file(&path);
        assert!(matches!(load(&path), Err(LoadError::Io(_))));
    }
}
