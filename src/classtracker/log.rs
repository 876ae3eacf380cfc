//! Lifetimes of tracked objects and the size snapshots taken of them: the data behind
//! `heapscope.classtracker` and `heapscope.classtracker_stats`.
//!
//! Nothing here holds a Python object: a [`Log`] is plain data (what a stats file
//! contains), so the same queries answer for a live tracker and for a loaded file. The
//! live side (weak references, the objects kept alive) is in `core`.
//!
//! Times are seconds since the tracker's fixpoint (the import of
//! `heapscope.classtracker`), as in pympler.

use ahash::AHashMap;
use indexmap::IndexSet;

/// One frame of the stack that created a tracked object, outermost first.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFrame {
    pub file: String,
    pub line: u32,
    pub function: String,
    /// The source line, when it could be read.
    pub code: Option<String>,
}

/// How the death of a tracked object is observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    /// A weak reference whose callback records the death time.
    Weak,
    /// The object cannot be weakly referenced: the tracker holds it and notices, when it
    /// polls (at snapshots and while tracking), that it holds the last reference; the
    /// death time is the time of that poll.
    Polled,
    /// `keep=True`: the tracker keeps the object alive until `detach_all()`/`clear()`.
    Kept,
}

impl Watch {
    pub fn as_str(self) -> &'static str {
        match self {
            Watch::Weak => "weakref",
            Watch::Polled => "polled",
            Watch::Kept => "kept",
        }
    }

    pub fn parse(text: &str) -> Option<Watch> {
        match text {
            "weakref" => Some(Watch::Weak),
            "polled" => Some(Watch::Polled),
            "kept" => Some(Watch::Kept),
            _ => None,
        }
    }
}

/// Lifetime and identity of one tracked object.
#[derive(Clone, Debug)]
pub struct Record {
    /// `id()` of the object while it lived.
    pub id: u64,
    /// Index of the name it is tracked under in [`Log::names`].
    pub name: u32,
    /// `resolution_level`: levels of referents sized individually at snapshots.
    pub level: u32,
    pub birth: f64,
    pub death: Option<f64>,
    /// pympler's size at birth: the basic size of the object's type.
    pub basicsize: u32,
    /// Index of the object's type label in [`Log::type_labels`] when its class keeps
    /// `object.__repr__`, whose text follows from the label and the id.
    pub default_repr: Option<u32>,
    pub watch: Watch,
}

/// One node of a size tree (`asized`), in pre-order; the root has no parent.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeNode {
    pub parent: Option<u32>,
    /// Not a `String`: a loaded file may hold millions of nodes.
    pub name: NodeName,
    pub size: u64,
    pub flat: u64,
}

/// The name of a [`TreeNode`]: up to 7 bytes kept in place, longer ones boxed, in 16
/// bytes either way, so that a file of millions of tiny nodes does not make millions of
/// small allocations (each of which costs 32 bytes).
#[derive(Clone)]
pub enum NodeName {
    Inline(u8, [u8; 7]),
    Boxed(Box<str>),
}

impl NodeName {
    /// The name `text`; `Err` when the memory for a long one is refused.
    pub fn try_new(text: &str) -> Result<NodeName, std::collections::TryReserveError> {
        if let Some(inline) = NodeName::inline(text) {
            return Ok(inline);
        }
        let mut boxed = String::new();
        boxed.try_reserve_exact(text.len())?;
        boxed.push_str(text);
        Ok(NodeName::Boxed(boxed.into_boxed_str()))
    }

    fn inline(text: &str) -> Option<NodeName> {
        let mut bytes = [0u8; 7];
        bytes.get_mut(..text.len())?.copy_from_slice(text.as_bytes());
        Some(NodeName::Inline(text.len() as u8, bytes))
    }

    /// The bytes it takes outside the node.
    pub fn heap_bytes(&self) -> usize {
        match self {
            NodeName::Inline(..) => 0,
            NodeName::Boxed(text) => text.len(),
        }
    }
}

impl std::ops::Deref for NodeName {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            // Copied from a `str` whole: always UTF-8.
            NodeName::Inline(len, bytes) => std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default(),
            NodeName::Boxed(text) => text,
        }
    }
}

impl From<&str> for NodeName {
    fn from(text: &str) -> NodeName {
        NodeName::inline(text).unwrap_or_else(|| NodeName::Boxed(text.into()))
    }
}

impl From<String> for NodeName {
    fn from(text: String) -> NodeName {
        NodeName::inline(&text).unwrap_or_else(|| NodeName::Boxed(text.into_boxed_str()))
    }
}

impl PartialEq for NodeName {
    fn eq(&self, other: &NodeName) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for NodeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// The size of one tracked object at one snapshot. Kept to 16 bytes: a snapshot holds
/// one per object alive, and periodic snapshots add up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub record: u32,
    pub size: u64,
}

/// What some entries have besides their size: the flat size and, for objects tracked
/// with `resolution_level > 0`, the size tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detail {
    pub flat: u64,
    pub tree: Option<Box<[TreeNode]>>,
}

/// Process memory read from the operating system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessMemory {
    pub available: bool,
    /// Resident set size in bytes.
    pub rss: u64,
    /// Virtual memory size in bytes.
    pub vms: u64,
    pub data: u64,
    pub code: u64,
    pub shared: u64,
    pub stack: u64,
    pub peak_rss: u64,
    pub pagefaults: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub timestamp: f64,
    pub description: String,
    /// Combined size of the tracked objects (shared referents counted once).
    pub tracked_total: u64,
    /// Size of every object the garbage collector knows (`compute_total=True`), less
    /// the overhead; 0 when not computed.
    pub asizeof_total: u64,
    /// Memory of the tracker's own bookkeeping.
    pub overhead: u64,
    pub process: ProcessMemory,
    /// Sorted by record index; one per object alive when the snapshot was taken.
    pub entries: Vec<Entry>,
    /// Flat sizes and trees, by record, for the entries that have them.
    pub details: AHashMap<u32, Detail>,
}

impl Snapshot {
    /// pympler's `Snapshot.total`: the process's virtual size when known, else the best
    /// figure available.
    pub fn total(&self) -> u64 {
        if self.process.available {
            self.process.vms
        } else if self.asizeof_total > 0 {
            self.asizeof_total
        } else {
            self.tracked_total
        }
    }

    pub fn entry(&self, record: u32) -> Option<&Entry> {
        self.entries.binary_search_by_key(&record, |e| e.record).ok().map(|i| &self.entries[i])
    }

    /// The flat size recorded for a record (0: not measured).
    pub fn flat(&self, record: u32) -> u64 {
        self.details.get(&record).map_or(0, |d| d.flat)
    }

    pub fn tree(&self, record: u32) -> Option<&[TreeNode]> {
        self.details.get(&record).and_then(|d| d.tree.as_deref())
    }

    /// Records a flat size and tree, if there is either.
    pub fn set_detail(&mut self, record: u32, flat: u64, tree: Option<Box<[TreeNode]>>) {
        if flat != 0 || tree.is_some() {
            self.details.insert(record, Detail { flat, tree });
        }
    }
}

/// Per-class figures of one snapshot (pympler's `Snapshot.classes[name]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ClassRow {
    pub name: String,
    /// Instances alive at the snapshot.
    pub active: u64,
    /// Their combined size.
    pub sum: u64,
    pub average: f64,
    /// `sum` as a percentage of [`Snapshot::total`] (pympler's `pct`: of the process's
    /// virtual size when known).
    pub percent: f64,
    /// `sum` as a percentage of the snapshot's tracked total (what the report shows as
    /// "share of tracked"); 0 when nothing was tracked.
    pub tracked_percent: f64,
}

/// The keys `sort_stats` accepts, in pympler's default order.
pub const SORT_KEYS: [&str; 7] = ["classname", "tsize", "birth", "death", "name", "repr", "size"];

#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Names objects are tracked under, in the order first used.
    pub names: IndexSet<String>,
    /// `module.qualname` of classes whose instances use `object.__repr__`.
    pub type_labels: IndexSet<String>,
    /// In tracking order (so in birth order). Kept small: a record is made for every
    /// tracked instance, so what few records have is kept aside.
    pub records: Vec<Record>,
    /// The repr seen at the latest snapshot, by record (objects with their own
    /// `__repr__`).
    pub reprs: AHashMap<u32, Box<str>>,
    /// The creation stack, by record (objects tracked with `trace=True`).
    pub traces: AHashMap<u32, Box<[TraceFrame]>>,
    pub snapshots: Vec<Snapshot>,
}

impl Log {
    pub fn name_of(&self, record: &Record) -> &str {
        self.names.get_index(record.name as usize).map_or("", String::as_str)
    }

    /// The object's repr as last known; empty if never seen.
    pub fn repr_of(&self, index: u32) -> String {
        if let Some(text) = self.reprs.get(&index) {
            return text.to_string();
        }
        let Some(record) = self.records.get(index as usize) else { return String::new() };
        match record.default_repr.and_then(|label| self.type_labels.get_index(label as usize)) {
            Some(label) => clip_repr(&format!("<{label} object at {:#x}>", record.id)),
            None => String::new(),
        }
    }

    /// Sizes of a record over time: its size at birth, then one per snapshot that saw it.
    pub fn sizes_of(&self, index: u32) -> Vec<(f64, u64, u64, Option<&[TreeNode]>)> {
        let Some(record) = self.records.get(index as usize) else { return Vec::new() };
        let mut out = vec![(record.birth, u64::from(record.basicsize), u64::from(record.basicsize), None)];
        for snapshot in self.snapshots_from(record.birth) {
            if let Some(entry) = snapshot.entry(index) {
                out.push((snapshot.timestamp, entry.size, snapshot.flat(index), snapshot.tree(index)));
            }
        }
        out
    }

    /// Snapshots taken at or after `time` (snapshots are in time order).
    fn snapshots_from(&self, time: f64) -> &[Snapshot] {
        let first = self.snapshots.partition_point(|s| s.timestamp < time);
        &self.snapshots[first..]
    }

    /// The largest size recorded for a record, its size at birth included.
    pub fn max_size(&self, index: u32) -> u64 {
        self.sizes_of(index).iter().map(|s| s.1).max().unwrap_or(0)
    }

    /// The size recorded at the snapshot taken at `timestamp`, or 0.
    pub fn size_at_time(&self, index: u32, timestamp: f64) -> u64 {
        self.sizes_of(index).iter().rev().find(|s| s.0 == timestamp).map_or(0, |s| s.1)
    }

    /// Whether a record was alive at `time`.
    pub fn alive_at(record: &Record, time: f64) -> bool {
        record.birth <= time && record.death.map_or(true, |death| death > time)
    }

    /// Names that have records, sorted (pympler's `tracked_classes`).
    pub fn tracked_classes(&self) -> Vec<u32> {
        let mut used = vec![false; self.names.len()];
        for record in &self.records {
            used[record.name as usize] = true;
        }
        let mut names: Vec<u32> = (0..self.names.len() as u32).filter(|&n| used[n as usize]).collect();
        names.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        names
    }

    /// Records by name, names in the order first used (pympler's `index`).
    pub fn index(&self) -> Vec<(u32, Vec<u32>)> {
        let mut by_name: Vec<Vec<u32>> = vec![Vec::new(); self.names.len()];
        for (i, record) in self.records.iter().enumerate() {
            by_name[record.name as usize].push(i as u32);
        }
        by_name.into_iter().enumerate().filter(|(_, r)| !r.is_empty()).map(|(n, r)| (n as u32, r)).collect()
    }

    /// Per-class figures of one snapshot, classes sorted by name.
    pub fn class_rows(&self, snapshot: usize) -> Vec<ClassRow> {
        let Some(snap) = self.snapshots.get(snapshot) else { return Vec::new() };
        let mut sums = vec![0u64; self.names.len()];
        let mut active = vec![0u64; self.names.len()];
        for entry in &snap.entries {
            if let Some(record) = self.records.get(entry.record as usize) {
                let sum = &mut sums[record.name as usize];
                *sum = sum.saturating_add(entry.size);
            }
        }
        for record in &self.records {
            if Self::alive_at(record, snap.timestamp) {
                active[record.name as usize] += 1;
            }
        }
        let (total, tracked) = (snap.total(), snap.tracked_total);
        let share = |sum: u64, of: u64| if of > 0 { sum as f64 * 100.0 / of as f64 } else { 0.0 };
        self.tracked_classes()
            .into_iter()
            .map(|n| {
                let (sum, count) = (sums[n as usize], active[n as usize]);
                ClassRow {
                    name: self.names[n as usize].clone(),
                    active: count,
                    sum,
                    average: if count > 0 { sum as f64 / count as f64 } else { 0.0 },
                    percent: share(sum, total),
                    tracked_percent: share(sum, tracked),
                }
            })
            .collect()
    }

    /// The size trees of a class's instances at one snapshot merged into one: referents
    /// with the same name (up to its first `:`) are added together, level by level
    /// (pympler's `merged`). Objects sized without a tree add only their sizes.
    pub fn merged_tree(&self, snapshot: usize, name: &str) -> Vec<TreeNode> {
        let mut merged = Merged::default();
        let Some(snap) = self.snapshots.get(snapshot) else { return merged.into_nodes() };
        let Some(name_index) = self.names.get_index_of(name) else { return merged.into_nodes() };
        for entry in &snap.entries {
            let Some(record) = self.records.get(entry.record as usize) else { continue };
            if record.name as usize != name_index {
                continue;
            }
            match snap.tree(entry.record) {
                Some(tree) if !tree.is_empty() => merged.add(tree),
                _ => merged.add(&[TreeNode {
                    parent: None,
                    name: NodeName::from(""),
                    size: entry.size,
                    flat: snap.flat(entry.record),
                }]),
            }
        }
        merged.into_nodes()
    }

    /// The snapshot that tracked the most memory (the first of equals).
    pub fn largest_snapshot(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, snap) in self.snapshots.iter().enumerate() {
            if snap.tracked_total > 0 && best.map_or(true, |b| snap.tracked_total > self.snapshots[b].tracked_total) {
                best = Some(i);
            }
        }
        best
    }

    /// A record's size at the snapshot that tracked the most memory (pympler's `tsize`).
    pub fn tsize(&self, index: u32) -> u64 {
        self.largest_snapshot().and_then(|s| self.snapshots[s].entry(index)).map_or(0, |e| e.size)
    }

    /// Record indices sorted by `keys` (each one of [`SORT_KEYS`]; none: all of them).
    /// Sizes sort largest first, everything else ascending; objects still alive sort
    /// after the dead ones by `death`. The sort is stable.
    pub fn sorted_records(&self, keys: &[&str]) -> Result<Vec<u32>, String> {
        if let Some(bad) = keys.iter().find(|k| !SORT_KEYS.contains(k)) {
            return Err(format!("invalid sort key {bad:?}; valid keys are: {}", SORT_KEYS.join(", ")));
        }
        let keys: Vec<&str> = if keys.is_empty() { SORT_KEYS.to_vec() } else { keys.to_vec() };
        let tmax = self.largest_snapshot();
        let needs = |k: &str| keys.contains(&k);
        let max_sizes: Vec<u64> =
            if needs("size") { (0..self.records.len() as u32).map(|i| self.max_size(i)).collect() } else { Vec::new() };
        let tsizes: Vec<u64> = if needs("tsize") {
            (0..self.records.len() as u32)
                .map(|i| tmax.and_then(|s| self.snapshots[s].entry(i)).map_or(0, |e| e.size))
                .collect()
        } else {
            Vec::new()
        };
        let reprs: Vec<String> =
            if needs("repr") { (0..self.records.len() as u32).map(|i| self.repr_of(i)).collect() } else { Vec::new() };
        let mut order: Vec<u32> = (0..self.records.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) = (&self.records[a as usize], &self.records[b as usize]);
            for key in &keys {
                let ordering = match *key {
                    "classname" | "name" => self.name_of(ra).cmp(self.name_of(rb)),
                    "tsize" => tsizes[b as usize].cmp(&tsizes[a as usize]),
                    "size" => max_sizes[b as usize].cmp(&max_sizes[a as usize]),
                    "birth" => ra.birth.total_cmp(&rb.birth),
                    "death" => ra.death.unwrap_or(f64::INFINITY).total_cmp(&rb.death.unwrap_or(f64::INFINITY)),
                    "repr" => reprs[a as usize].cmp(&reprs[b as usize]),
                    _ => std::cmp::Ordering::Equal,
                };
                if ordering.is_ne() {
                    return ordering;
                }
            }
            std::cmp::Ordering::Equal
        });
        Ok(order)
    }

    /// Number of instances alive over time, per name (pympler's `history`): one point
    /// per birth and per death, in time order.
    pub fn history(&self) -> Vec<(u32, Vec<(f64, u64)>)> {
        let mut events: Vec<Vec<(f64, i8)>> = vec![Vec::new(); self.names.len()];
        for record in &self.records {
            events[record.name as usize].push((record.birth, 1));
            if let Some(death) = record.death {
                events[record.name as usize].push((death, -1));
            }
        }
        let mut out = Vec::new();
        for (name, mut list) in events.into_iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            // Births before deaths at equal times, so the count never goes below zero.
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            let mut count: i64 = 0;
            let points = list
                .into_iter()
                .map(|(time, step)| {
                    count += i64::from(step);
                    (time, count.max(0) as u64)
                })
                .collect();
            out.push((name as u32, points));
        }
        out
    }

    /// Forgets every record (and the sizes snapshots hold for them); snapshot totals stay.
    pub fn forget_records(&mut self) {
        self.records = Vec::new();
        self.reprs = AHashMap::new();
        self.traces = AHashMap::new();
        for snapshot in &mut self.snapshots {
            snapshot.entries = Vec::new();
            snapshot.details = AHashMap::new();
        }
    }

    /// Approximate heap memory of the log, in bytes.
    pub fn heap_bytes(&self) -> u64 {
        let strings: usize = self.names.iter().chain(self.type_labels.iter()).map(|s| s.capacity() + 48).sum();
        let records = self.records.capacity() * std::mem::size_of::<Record>();
        let record_extra: usize = self.reprs.values().map(|t| t.len() + 24).sum::<usize>()
            + self
                .traces
                .values()
                .map(|t| {
                    t.iter().map(|f| std::mem::size_of::<TraceFrame>() + f.file.len() + f.function.len()).sum::<usize>()
                })
                .sum::<usize>();
        let snapshots: usize = self
            .snapshots
            .iter()
            .map(|s| {
                std::mem::size_of::<Snapshot>()
                    + s.description.len()
                    + s.entries.capacity() * std::mem::size_of::<Entry>()
                    + s.details.len() * (std::mem::size_of::<Detail>() + 8)
                    + s.details
                        .values()
                        .filter_map(|d| d.tree.as_ref())
                        .map(|t| t.iter().map(|n| std::mem::size_of::<TreeNode>() + n.name.heap_bytes()).sum::<usize>())
                        .sum::<usize>()
            })
            .sum();
        (strings + records + record_extra + snapshots) as u64
    }
}

/// pympler's clip of reprs kept for tracked objects: at most 128 characters, the cut
/// marked by `..` before the last two.
pub fn clip_repr(text: &str) -> String {
    const CLIP: usize = 128;
    let length = text.chars().count();
    if length <= CLIP {
        return text.to_owned();
    }
    let head: String = text.chars().take(CLIP - 4).collect();
    let tail: String = text.chars().skip(length - 2).collect();
    format!("{head}..{tail}")
}

/// The key a referent is merged under: its name up to the first `:` (so dict values
/// `[V] key: value` of different values merge).
fn merge_key(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// A tree being merged: nodes with their children by key.
#[derive(Default)]
struct Merged {
    nodes: Vec<MergedNode>,
}

struct MergedNode {
    name: String,
    size: u64,
    flat: u64,
    children: Vec<u32>,
    by_key: AHashMap<String, u32>,
}

impl Merged {
    fn root(&mut self) -> u32 {
        if self.nodes.is_empty() {
            self.nodes.push(MergedNode {
                name: String::new(),
                size: 0,
                flat: 0,
                children: Vec::new(),
                by_key: AHashMap::new(),
            });
        }
        0
    }

    /// Adds a tree (pre-order nodes, the root first) into the merged tree.
    fn add(&mut self, tree: &[TreeNode]) {
        let root = self.root();
        // Where each node of `tree` landed in the merged tree.
        let mut landed: Vec<u32> = Vec::with_capacity(tree.len());
        for (i, node) in tree.iter().enumerate() {
            let target = match node.parent {
                None if i == 0 => root,
                Some(parent) if (parent as usize) < i => {
                    let parent = landed[parent as usize];
                    let key = merge_key(&node.name).to_owned();
                    match self.nodes[parent as usize].by_key.get(&key) {
                        Some(&existing) => existing,
                        None => {
                            let id = self.nodes.len() as u32;
                            self.nodes.push(MergedNode {
                                name: key.clone(),
                                size: 0,
                                flat: 0,
                                children: Vec::new(),
                                by_key: AHashMap::new(),
                            });
                            let parent_node = &mut self.nodes[parent as usize];
                            parent_node.children.push(id);
                            parent_node.by_key.insert(key, id);
                            id
                        }
                    }
                }
                // A malformed tree (checked when loading; cannot come from the sizer).
                _ => break,
            };
            let merged = &mut self.nodes[target as usize];
            merged.size = merged.size.saturating_add(node.size);
            merged.flat = merged.flat.saturating_add(node.flat);
            landed.push(target);
        }
    }

    /// The merged tree in pre-order.
    fn into_nodes(mut self) -> Vec<TreeNode> {
        self.root();
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<(u32, Option<u32>)> = vec![(0, None)];
        while let Some((id, parent)) = stack.pop() {
            let here = out.len() as u32;
            let node = &mut self.nodes[id as usize];
            out.push(TreeNode {
                parent,
                name: std::mem::take(&mut node.name).into(),
                size: node.size,
                flat: node.flat,
            });
            for &child in node.children.iter().rev() {
                stack.push((child, Some(here)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_up_to_seven_bytes_are_kept_in_place() {
        assert_eq!(std::mem::size_of::<NodeName>(), 16);
        for text in ["", "a", "[K] abc", "aaaaa\u{e9}"] {
            let name = NodeName::try_new(text).unwrap();
            assert!(matches!(name, NodeName::Inline(..)), "{text:?}");
            assert_eq!((&*name, name.heap_bytes()), (text, 0));
        }
        let long = NodeName::try_new("aaaaaa\u{e9}").unwrap();
        assert!(matches!(long, NodeName::Boxed(_)));
        assert_eq!((&*long, long.heap_bytes()), ("aaaaaa\u{e9}", 8));
        assert_eq!(NodeName::from("__dict__"), NodeName::from(String::from("__dict__")));
        assert_eq!(format!("{:?}", NodeName::from("x")), "\"x\"");
    }

    fn record(name: u32, birth: f64, death: Option<f64>) -> Record {
        Record {
            id: 0x1000 + birth as u64,
            name,
            level: 0,
            birth,
            death,
            basicsize: 16,
            default_repr: None,
            watch: Watch::Weak,
        }
    }

    fn entry(record: u32, size: u64) -> Entry {
        Entry { record, size }
    }

    fn log() -> Log {
        let mut log = Log::default();
        log.names.insert("b.B".into());
        log.names.insert("a.A".into());
        log.names.insert("unused".into());
        log.records =
            vec![record(0, 1.0, None), record(1, 2.0, Some(4.0)), record(1, 3.0, None), record(0, 5.0, Some(6.0))];
        log.snapshots = vec![
            Snapshot {
                timestamp: 3.5,
                tracked_total: 600,
                entries: vec![entry(0, 100), entry(1, 200), entry(2, 300)],
                ..Default::default()
            },
            Snapshot {
                timestamp: 7.0,
                tracked_total: 400,
                entries: vec![entry(0, 150), entry(2, 250)],
                ..Default::default()
            },
        ];
        log
    }

    #[test]
    fn class_rows_count_instances_alive_and_their_sizes() {
        let log = log();
        let rows = log.class_rows(0);
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a.A", "b.B"]);
        assert_eq!((rows[0].active, rows[0].sum, rows[0].average), (2, 500, 250.0));
        assert_eq!((rows[1].active, rows[1].sum), (1, 100));
        // No process figures: the total is the tracked total.
        assert_eq!(rows[0].percent, 500.0 * 100.0 / 600.0);
        let later = log.class_rows(1);
        assert_eq!((later[0].active, later[0].sum), (1, 250));
        assert_eq!((later[1].active, later[1].sum), (1, 150));
    }

    #[test]
    fn shares_of_tracked_ignore_the_process_size() {
        let mut log = log();
        log.snapshots[0].process = ProcessMemory { available: true, rss: 1 << 30, vms: 1 << 40, ..Default::default() };
        let rows = log.class_rows(0);
        // pympler's pct: of the virtual size, so about nothing.
        assert!(rows[0].percent < 1e-6);
        assert_eq!(rows[0].tracked_percent, 500.0 * 100.0 / 600.0);
        assert_eq!(rows.iter().map(|r| r.tracked_percent).sum::<f64>(), 100.0);
        log.snapshots[0].tracked_total = 0;
        assert!(log.class_rows(0).iter().all(|r| r.tracked_percent == 0.0));
    }

    #[test]
    fn sizes_over_time_start_at_birth() {
        let log = log();
        let sizes: Vec<(f64, u64)> = log.sizes_of(1).iter().map(|s| (s.0, s.1)).collect();
        assert_eq!(sizes, [(2.0, 16), (3.5, 200)]);
        assert_eq!(log.max_size(0), 150);
        assert_eq!(log.size_at_time(0, 7.0), 150);
        assert_eq!(log.size_at_time(0, 1.5), 0);
        assert_eq!(log.max_size(3), 16);
    }

    #[test]
    fn sorting_by_size_puts_the_largest_first() {
        let log = log();
        assert_eq!(log.sorted_records(&["size"]).unwrap(), [2, 1, 0, 3]);
        assert_eq!(log.sorted_records(&["classname", "birth"]).unwrap(), [1, 2, 0, 3]);
        assert_eq!(log.sorted_records(&["death"]).unwrap(), [1, 3, 0, 2]);
        // tsize: sizes at the snapshot that tracked most (the first).
        assert_eq!(log.sorted_records(&["tsize"]).unwrap(), [2, 1, 0, 3]);
        assert!(log.sorted_records(&["bogus"]).unwrap_err().contains("bogus"));
    }

    #[test]
    fn history_counts_births_and_deaths() {
        let log = log();
        let history = log.history();
        assert_eq!(history[0], (0, vec![(1.0, 1), (5.0, 2), (6.0, 1)]));
        assert_eq!(history[1], (1, vec![(2.0, 1), (3.0, 2), (4.0, 1)]));
        assert_eq!(history.len(), 2);
    }

    #[test]
    fn merged_trees_add_referents_by_name() {
        let mut log = log();
        let tree = |v: u64| -> Box<[TreeNode]> {
            vec![
                TreeNode { parent: None, name: "obj".into(), size: 10 * v, flat: v },
                TreeNode { parent: Some(0), name: "__dict__".into(), size: 8 * v, flat: v },
                TreeNode { parent: Some(1), name: format!("[V] data: {v}").into(), size: 5 * v, flat: v },
            ]
            .into_boxed_slice()
        };
        log.snapshots[0].set_detail(1, 1, Some(tree(1)));
        log.snapshots[0].set_detail(2, 2, Some(tree(2)));
        let merged = log.merged_tree(0, "a.A");
        let rows: Vec<(Option<u32>, &str, u64)> = merged.iter().map(|n| (n.parent, &*n.name, n.size)).collect();
        assert_eq!(rows, [(None, "", 30), (Some(0), "__dict__", 24), (Some(1), "[V] data", 15)]);
        // A class whose objects have no trees merges sizes only.
        assert_eq!(log.merged_tree(0, "b.B").len(), 1);
        assert_eq!(log.merged_tree(0, "b.B")[0].size, 100);
    }

    #[test]
    fn default_reprs_follow_from_type_and_id() {
        let mut log = log();
        log.type_labels.insert("mod.Thing".into());
        log.records[0].default_repr = Some(0);
        assert_eq!(log.repr_of(0), "<mod.Thing object at 0x1001>");
        let clipped = clip_repr(&"x".repeat(200));
        assert_eq!(clipped.chars().count(), 128);
        assert!(clipped.ends_with("..xx"));
        assert_eq!(clip_repr("short"), "short");
        log.reprs.insert(1, clipped.clone().into());
        assert_eq!(log.repr_of(1), clipped);
        assert_eq!(log.repr_of(2), "");
        assert_eq!(log.repr_of(99), "");
    }

    #[test]
    fn forgetting_records_keeps_snapshot_totals() {
        let mut log = log();
        log.forget_records();
        assert!(log.records.is_empty());
        assert_eq!(log.snapshots.len(), 2);
        assert_eq!(log.snapshots[0].tracked_total, 600);
        assert!(log.class_rows(0).is_empty());
    }
}
