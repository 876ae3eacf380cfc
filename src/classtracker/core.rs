//! `TrackerCore`: the Rust state behind `heapscope.classtracker.ClassTracker`: the
//! records of tracked objects, how each one is watched, and the snapshots.
//!
//! Concurrency. The state sits behind a `Mutex` that is only ever held by pure Rust
//! code: nothing that can run Python code (calling Python, allocating Python objects,
//! releasing a reference that may be the last one) happens while it is held. With the
//! GIL that means no other thread can be waiting for it, and no finalizer can re-enter
//! it; references that must be released are collected and dropped after unlocking.
//!
//! Deaths. A weak reference's callback ([`DeathWatch`]) does not touch the state: it
//! appends `(weakref address, time)` to a separate queue, which every operation drains
//! into the records first. The records hold their weak references, so an address in
//! the queue names one record until the queue is drained.

use crate::classtracker::log::{clip_repr, Entry, Log, ProcessMemory, Record, Snapshot, TraceFrame, TreeNode, Watch};
use crate::classtracker::snapshot::{self, Measured, SnapshotSizer};
use crate::classtracker::{report, stats_file};
use crate::ffi::{self, IntoNew};
use crate::process;
use ahash::AHashMap;
use pyo3::exceptions::{PyIndexError, PyKeyError, PyRuntimeError, PyValueError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyWeakrefReference};
use pyo3::PyTraverseError;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (what Python's `time.time()` returns).
fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

type DeathQueue = Arc<Mutex<Vec<(usize, f64)>>>;

fn lock_queue(queue: &DeathQueue) -> MutexGuard<'_, Vec<(usize, f64)>> {
    queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The callback of every weak reference a tracker makes: notes when the object died.
#[pyclass(module = "heapscope._core", frozen)]
pub struct DeathWatch {
    queue: DeathQueue,
    start: f64,
}

#[pymethods]
impl DeathWatch {
    fn __call__(&self, reference: &Bound<'_, PyAny>) {
        let time = unix_now() - self.start;
        lock_queue(&self.queue).push((reference.as_ptr() as usize, time));
    }
}

/// How a live record's object is held.
enum Live {
    Weak(Py<PyWeakrefReference>),
    /// Held strongly: `keep=True`, or an object that cannot be weakly referenced.
    Held(Py<PyAny>),
    Gone,
}

/// What the tracker needs to know about a class, learnt from its first instance.
struct TypeFacts {
    /// Keeps the address the facts are filed under from being reused.
    _class: Py<PyAny>,
    weakrefable: bool,
    basicsize: u32,
    default_repr: Option<u32>,
}

/// `(weakrefable, basicsize, default repr label)` of a class.
type Facts = (bool, u32, Option<u32>);

#[derive(Clone, Copy)]
struct Observer {
    name: u32,
    level: u32,
    keep: bool,
    trace: bool,
    active: bool,
}

/// The least number of polled objects before a sweep runs while tracking.
const SWEEP_MIN: usize = 1024;

#[derive(Default)]
struct State {
    log: Log,
    /// Parallel to `log.records`.
    live: Vec<Live>,
    /// The latest record of each `id()` (dead ones stay until their id is reused).
    objects: AHashMap<u64, u32>,
    /// Records by the address of their weak reference.
    weakrefs: AHashMap<usize, u32>,
    /// Records held strongly whose death is noticed by polling.
    polled: Vec<u32>,
    next_sweep: usize,
    types: AHashMap<usize, TypeFacts>,
    observers: Vec<Observer>,
    /// Bumped whenever the records are forgotten, so stale record indices are refused.
    generation: u64,
}

impl State {
    /// Records the deaths reported by weak reference callbacks; returns the weak
    /// references to release (after unlocking).
    fn absorb(&mut self, deaths: Vec<(usize, f64)>, garbage: &mut Vec<Py<PyAny>>) {
        for (address, time) in deaths {
            let Some(index) = self.weakrefs.remove(&address) else { continue };
            let record = &mut self.log.records[index as usize];
            if record.death.is_none() {
                record.death = Some(time);
            }
            if let Live::Weak(reference) = std::mem::replace(&mut self.live[index as usize], Live::Gone) {
                garbage.push(reference.into_any());
            }
        }
    }

    /// Whether the object with this id is tracked and alive.
    fn tracked_alive(&self, py: Python<'_>, id: u64) -> bool {
        let Some(&index) = self.objects.get(&id) else { return false };
        match &self.live[index as usize] {
            Live::Weak(reference) => reference.bind(py).upgrade().is_some(),
            Live::Held(_) => true,
            Live::Gone => false,
        }
    }

    /// Notes the death of polled objects the tracker holds the last reference to.
    fn sweep(&mut self, py: Python<'_>, time: f64, garbage: &mut Vec<Py<PyAny>>) {
        let polled = std::mem::take(&mut self.polled);
        for index in polled {
            let last = match &self.live[index as usize] {
                Live::Held(obj) => ffi::reference_count(obj.bind(py)) <= 1,
                _ => continue,
            };
            if !last {
                self.polled.push(index);
                continue;
            }
            self.log.records[index as usize].death = Some(time);
            if let Live::Held(obj) = std::mem::replace(&mut self.live[index as usize], Live::Gone) {
                garbage.push(obj);
            }
        }
        self.next_sweep = SWEEP_MIN.max(2 * self.polled.len());
    }

    fn record(&self, generation: u64, index: u32) -> PyResult<&Record> {
        if generation != self.generation {
            return Err(PyRuntimeError::new_err(
                "this TrackedObject was forgotten by detach_all() or clear() of its tracker",
            ));
        }
        self.log.records.get(index as usize).ok_or_else(|| PyIndexError::new_err("no such tracked object"))
    }

    fn heap_bytes(&self) -> u64 {
        let live = self.live.capacity() * std::mem::size_of::<Live>();
        let maps = (self.objects.capacity() + self.weakrefs.capacity()) * 16;
        self.log.heap_bytes() + (live + maps + self.polled.capacity() * 4) as u64
    }
}

/// Size tree rows as `asized` gives them: `(parent, name, size, flat)`.
type Row = (Option<u32>, String, u64, u64);
/// `(timestamp, description, tracked_total, asizeof_total, overhead, process)`.
type SnapshotTuple = (f64, String, u64, u64, u64, process::ProcessTuple);
/// `(name, active, sum, average, percent)`.
type ClassRowTuple = (String, u64, u64, f64, f64);
/// `(name, [(time, instances alive), ...])`.
type HistoryTuple = (String, Vec<(f64, u64)>);

/// A query's result as a new Python object; a failed allocation is a `MemoryError`.
fn out<'py, T: IntoNew<'py>>(py: Python<'py>, result: PyResult<T>) -> PyResult<Bound<'py, PyAny>> {
    result?.into_new(py)
}

fn rows_of(tree: &[TreeNode]) -> Vec<Row> {
    tree.iter().map(|n| (n.parent, n.name.to_string(), n.size, n.flat)).collect()
}

fn snapshot_tuple(s: &Snapshot) -> SnapshotTuple {
    (s.timestamp, s.description.clone(), s.tracked_total, s.asizeof_total, s.overhead, process::as_tuple(&s.process))
}

/// The objects alive at a snapshot, oldest first, held until their sizes are stored.
struct JobData {
    timestamp: f64,
    generation: u64,
    records: Vec<u32>,
    objects: Vec<Py<PyAny>>,
    levels: Vec<u32>,
    /// Whether the object's class has its own `__repr__` (read at the snapshot).
    needs_repr: Vec<bool>,
}

/// The Rust state behind a `ClassTracker` (or behind statistics loaded from a file).
#[pyclass(module = "heapscope._core", frozen)]
pub struct TrackerCore {
    state: Mutex<State>,
    deaths: DeathQueue,
    watch: Py<DeathWatch>,
    /// Unix time of the fixpoint that times are relative to.
    start: f64,
    /// `type_facts(obj) -> (weakrefable, basicsize, default_repr_label or None)`;
    /// `None` for data loaded from a file, which cannot track.
    type_facts: Option<Py<PyAny>>,
    /// `capture_trace() -> [(file, line, function, code or None), ...]`.
    capture_trace: Option<Py<PyAny>>,
}

impl TrackerCore {
    fn with_log(py: Python<'_>, log: Log, start: f64, helpers: Option<(Py<PyAny>, Py<PyAny>)>) -> PyResult<Self> {
        let deaths: DeathQueue = Arc::default();
        let watch = Py::new(py, DeathWatch { queue: deaths.clone(), start })?;
        let live = log.records.iter().map(|_| Live::Gone).collect();
        let state = State { log, live, next_sweep: SWEEP_MIN, ..State::default() };
        let (type_facts, capture_trace) = match helpers {
            Some((facts, trace)) => (Some(facts), Some(trace)),
            None => (None, None),
        };
        Ok(TrackerCore { state: Mutex::new(state), deaths, watch, start, type_facts, capture_trace })
    }

    /// Approximate memory of the Rust-side bookkeeping, in bytes.
    fn own_bytes(&self) -> PyResult<u64> {
        Ok(self.lock()?.heap_bytes() + std::mem::size_of::<Self>() as u64)
    }

    /// The state, locked. Never contended with the GIL (see the module docs), so a lock
    /// already held means re-entry from code the tracker itself ran: an error, not a hang.
    fn lock(&self) -> PyResult<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(guard) => Ok(guard),
            Err(TryLockError::Poisoned(poisoned)) => Ok(poisoned.into_inner()),
            #[cfg(Py_GIL_DISABLED)]
            Err(TryLockError::WouldBlock) => Ok(self.state.lock().unwrap_or_else(|p| p.into_inner())),
            #[cfg(not(Py_GIL_DISABLED))]
            Err(TryLockError::WouldBlock) => Err(PyRuntimeError::new_err(
                "the ClassTracker was re-entered while busy (from a finalizer run by the tracker)",
            )),
        }
    }

    /// The state with the pending deaths recorded; `garbage` gets references to release
    /// once the lock is dropped.
    fn lock_current(&self, garbage: &mut Vec<Py<PyAny>>) -> PyResult<MutexGuard<'_, State>> {
        let deaths = std::mem::take(&mut *lock_queue(&self.deaths));
        let mut state = self.lock()?;
        state.absorb(deaths, garbage);
        Ok(state)
    }

    /// Runs a read-only query on the current state.
    fn read<T>(&self, query: impl FnOnce(&State) -> PyResult<T>) -> PyResult<T> {
        let mut garbage = Vec::new();
        let result = {
            let state = self.lock_current(&mut garbage)?;
            query(&state)
        };
        drop(garbage);
        result
    }

    fn now(&self) -> f64 {
        unix_now() - self.start
    }

    /// What the tracker knows of the class of `obj`, learnt from `obj` if new (this
    /// runs Python code, so the state must not be locked).
    fn learn_type(&self, obj: &Bound<'_, PyAny>) -> PyResult<Facts> {
        let py = obj.py();
        let class = obj.get_type().into_any();
        let key = class.as_ptr() as usize;
        let Some(type_facts) = &self.type_facts else {
            return Err(PyRuntimeError::new_err("statistics loaded from a file cannot track objects"));
        };
        let (weakrefable, basicsize, label): (bool, u64, Option<String>) = type_facts.call1(py, (obj,))?.extract(py)?;
        let basicsize = u32::try_from(basicsize).unwrap_or(u32::MAX);
        let mut state = self.lock()?;
        let default_repr = label.map(|l| state.log.type_labels.insert_full(l).0 as u32);
        state.types.entry(key).or_insert(TypeFacts { _class: class.unbind(), weakrefable, basicsize, default_repr });
        Ok((weakrefable, basicsize, default_repr))
    }

    fn capture(&self, py: Python<'_>) -> PyResult<Box<[TraceFrame]>> {
        let Some(capture) = &self.capture_trace else { return Ok(Box::new([])) };
        let frames: Vec<(String, u32, String, Option<String>)> = capture.call0(py)?.extract(py)?;
        Ok(frames.into_iter().map(|(file, line, function, code)| TraceFrame { file, line, function, code }).collect())
    }

    /// Starts tracking `obj` unless it is tracked and alive already, with the options of
    /// an observer (by number: inactive ones track nothing) or the given ones.
    fn track_impl(&self, obj: &Bound<'_, PyAny>, observer: Result<u32, Observer>) -> PyResult<bool> {
        let py = obj.py();
        let id = obj.as_ptr() as usize as u64;
        let class = obj.get_type().as_ptr() as usize;
        // One look at the state decides the common cases.
        let mut garbage = Vec::new();
        let (observer, facts) = {
            let state = self.lock_current(&mut garbage)?;
            let observer = match observer {
                Ok(number) => match state.observers.get(number as usize) {
                    Some(observer) if observer.active => *observer,
                    Some(_) => return Ok(false),
                    None => return Err(PyIndexError::new_err("no such observer")),
                },
                Err(given) => given,
            };
            if state.tracked_alive(py, id) {
                return Ok(false);
            }
            (observer, state.types.get(&class).map(|f| (f.weakrefable, f.basicsize, f.default_repr)))
        };
        drop(garbage);
        let (weakrefable, basicsize, default_repr) = match facts {
            Some(facts) => facts,
            None => self.learn_type(obj)?,
        };
        let trace = if observer.trace { Some(self.capture(py)?) } else { None };
        let (live, watch) = if observer.keep {
            (Live::Held(obj.clone().unbind()), Watch::Kept)
        } else if weakrefable {
            match PyWeakrefReference::new_with(obj, self.watch.bind(py)) {
                Ok(reference) => (Live::Weak(reference.unbind()), Watch::Weak),
                // The class said it supports weak references but this object does not.
                Err(_) => (Live::Held(obj.clone().unbind()), Watch::Polled),
            }
        } else {
            (Live::Held(obj.clone().unbind()), Watch::Polled)
        };
        let birth = self.now();
        let mut garbage = Vec::new();
        let newly = {
            let mut state = self.lock_current(&mut garbage)?;
            // Allocating the weak reference may have run a finalizer that tracked it.
            if state.tracked_alive(py, id) {
                garbage.push(match live {
                    Live::Weak(r) => r.into_any(),
                    Live::Held(o) => o,
                    Live::Gone => py.None(),
                });
                false
            } else {
                let index = state.log.records.len() as u32;
                state.log.records.push(Record {
                    id,
                    name: observer.name,
                    level: observer.level,
                    birth,
                    death: None,
                    basicsize,
                    default_repr,
                    watch,
                });
                if let Some(trace) = trace {
                    state.log.traces.insert(index, trace);
                }
                if let Live::Weak(reference) = &live {
                    state.weakrefs.insert(reference.as_ptr() as usize, index);
                }
                state.live.push(live);
                state.objects.insert(id, index);
                if watch == Watch::Polled {
                    state.polled.push(index);
                    if state.polled.len() >= state.next_sweep {
                        state.sweep(py, birth, &mut garbage);
                    }
                }
                true
            }
        };
        drop(garbage);
        Ok(newly)
    }

    /// The start of a snapshot: records pending deaths, polls, and gathers the objects
    /// alive, oldest first.
    fn gather(&self, py: Python<'_>) -> PyResult<JobData> {
        let mut garbage = Vec::new();
        let data = {
            let mut state = self.lock_current(&mut garbage)?;
            let timestamp = self.now();
            state.sweep(py, timestamp, &mut garbage);
            let mut order: Vec<u32> = (0..state.log.records.len() as u32).collect();
            order.sort_by(|&a, &b| state.log.records[a as usize].birth.total_cmp(&state.log.records[b as usize].birth));
            let mut data = JobData {
                timestamp,
                generation: state.generation,
                records: Vec::new(),
                objects: Vec::new(),
                levels: Vec::new(),
                needs_repr: Vec::new(),
            };
            for index in order {
                let obj = match &state.live[index as usize] {
                    Live::Weak(reference) => reference.bind(py).upgrade().map(Bound::unbind),
                    Live::Held(obj) => Some(obj.clone_ref(py)),
                    Live::Gone => None,
                };
                let record = &mut state.log.records[index as usize];
                let Some(obj) = obj else {
                    // Died without its callback having run yet.
                    if record.death.is_none() {
                        record.death = Some(timestamp);
                    }
                    continue;
                };
                data.records.push(index);
                data.objects.push(obj);
                data.levels.push(record.level);
                data.needs_repr.push(record.default_repr.is_none());
            }
            data
        };
        drop(garbage);
        Ok(data)
    }

    /// The end of a snapshot: stores the sizes of its objects (`measured[i]` is that of
    /// `data.objects[i]`) with the reprs of those whose class has its own `__repr__`.
    /// Returns the snapshot's index.
    fn store(
        &self,
        data: JobData,
        measured: Vec<Measured>,
        reprs: Vec<(u32, Box<str>)>,
        mut snapshot: Snapshot,
    ) -> PyResult<usize> {
        let mut entries = Vec::with_capacity(measured.len());
        for (i, result) in measured.into_iter().enumerate() {
            let record = data.records[i];
            match result {
                Measured::Size(size) => entries.push(Entry { record, size }),
                Measured::Tree(tree) => {
                    entries.push(Entry { record, size: tree[0].size });
                    snapshot.set_detail(record, tree[0].flat, Some(tree));
                }
            }
        }
        entries.sort_by_key(|e| e.record);
        snapshot.entries = entries;
        let mut garbage = Vec::new();
        let index = {
            let mut state = self.lock_current(&mut garbage)?;
            if state.generation == data.generation {
                for (record, text) in reprs {
                    state.log.reprs.insert(record, text);
                }
            } else {
                snapshot.entries = Vec::new();
                snapshot.details = AHashMap::new();
            }
            state.log.snapshots.push(snapshot);
            state.log.snapshots.len() - 1
        };
        drop(garbage);
        drop(data);
        Ok(index)
    }

    fn name_index(&self, name: &str) -> PyResult<u32> {
        Ok(self.lock()?.log.names.insert_full(name.to_owned()).0 as u32)
    }
}

#[pymethods]
impl TrackerCore {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.watch)?;
        visit.call(&self.type_facts)?;
        visit.call(&self.capture_trace)?;
        // Never blocks: the lock is only held by code that runs no Python (so no GC).
        if let Ok(state) = self.state.try_lock() {
            for facts in state.types.values() {
                visit.call(&facts._class)?;
            }
            for live in &state.live {
                match live {
                    Live::Weak(reference) => visit.call(reference)?,
                    Live::Held(obj) => visit.call(obj)?,
                    Live::Gone => {}
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let taken = self.state.try_lock().ok().map(|mut state| {
            let state = &mut *state;
            let live: Vec<Live> = state.live.iter_mut().map(|l| std::mem::replace(l, Live::Gone)).collect();
            state.weakrefs = AHashMap::new();
            state.polled = Vec::new();
            (live, std::mem::take(&mut state.types))
        });
        drop(taken);
    }

    /// A tracker whose times count from `start` (Unix time); `type_facts(obj)` and
    /// `capture_trace()` are the Python helpers described on the fields.
    #[new]
    fn new(py: Python<'_>, start: f64, type_facts: Py<PyAny>, capture_trace: Py<PyAny>) -> PyResult<Self> {
        TrackerCore::with_log(py, Log::default(), start, Some((type_facts, capture_trace)))
    }

    /// Statistics read from a stats file (`ValueError` with the reason if it is not one).
    #[staticmethod]
    fn from_json(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let log = stats_file::from_json(data)?;
        TrackerCore::with_log(py, log, 0.0, None)
    }

    /// Statistics read from the stats file at `path`, streamed: memory in proportion to
    /// what the file holds (`ValueError` with the reason if it is not a stats file,
    /// `OSError` if it cannot be opened).
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let log = py.detach(|| stats_file::load(&path))?;
        TrackerCore::with_log(py, log, 0.0, None)
    }

    /// The statistics as a stats file.
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.read(|state| Ok(stats_file::to_json(&state.log)?))?;
        ffi::new_bytes(py, &bytes)
    }

    /// The self-contained HTML report.
    #[pyo3(signature = (title, max_instances))]
    fn to_html<'py>(&self, py: Python<'py>, title: &str, max_instances: usize) -> PyResult<Bound<'py, PyAny>> {
        out(py, self.read(|state| Ok(report::render(&state.log, title, max_instances))))
    }

    /// The report in pympler's file layout: `(report, [(page file name, page)])`, the
    /// pages to be written to the folder `folder` beside the report file `report`.
    #[pyo3(signature = (title, max_instances, report, folder))]
    fn to_html_pages<'py>(
        &self,
        py: Python<'py>,
        title: &str,
        max_instances: usize,
        report: &str,
        folder: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (index, pages) =
            self.read(|state| Ok(report::render_pages(&state.log, title, max_instances, report, folder)))?;
        (index, pages).into_new(py)
    }

    #[getter]
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ffi::new_float(py, self.start)
    }

    /// Whether this core can track (it was not loaded from a file).
    #[getter]
    fn can_track(&self) -> bool {
        self.type_facts.is_some()
    }

    /// Registers how instances of a class are tracked; returns the observer's number.
    fn add_observer<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        level: u32,
        keep: bool,
        trace: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = self.name_index(name)?;
        let number = {
            let mut state = self.lock()?;
            state.observers.push(Observer { name, level, keep, trace, active: true });
            state.observers.len() as u32 - 1
        };
        number.into_new(py)
    }

    /// Changes an observer's options, or (`active=False`) makes it track nothing.
    fn set_observer(
        &self,
        observer: u32,
        name: &str,
        level: u32,
        keep: bool,
        trace: bool,
        active: bool,
    ) -> PyResult<()> {
        let name = self.name_index(name)?;
        let mut state = self.lock()?;
        let Some(slot) = state.observers.get_mut(observer as usize) else {
            return Err(PyIndexError::new_err("no such observer"));
        };
        *slot = Observer { name, level, keep, trace, active };
        Ok(())
    }

    /// Tracks a new instance with an observer's options (the injected constructors call
    /// this). Returns whether it was newly tracked.
    fn track_as(&self, obj: &Bound<'_, PyAny>, observer: u32) -> PyResult<bool> {
        self.track_impl(obj, Ok(observer))
    }

    /// Tracks one object. Returns whether it was newly tracked (False: it was already).
    fn track(&self, obj: &Bound<'_, PyAny>, name: &str, level: u32, keep: bool, trace: bool) -> PyResult<bool> {
        let name = self.name_index(name)?;
        self.track_impl(obj, Err(Observer { name, level, keep, trace, active: true }))
    }

    /// Sets the resolution level of a tracked object (`KeyError` if it is not tracked).
    fn track_change(&self, obj: &Bound<'_, PyAny>, level: u32) -> PyResult<()> {
        let py = obj.py();
        let id = obj.as_ptr() as usize as u64;
        let mut garbage = Vec::new();
        let found = {
            let mut state = self.lock_current(&mut garbage)?;
            if state.tracked_alive(py, id) {
                let index = state.objects[&id];
                state.log.records[index as usize].level = level;
                true
            } else {
                false
            }
        };
        drop(garbage);
        if found {
            Ok(())
        } else {
            Err(PyKeyError::new_err(format!("object {:#x} is not tracked", id)))
        }
    }

    /// Forgets every tracked object (releasing those kept alive); snapshots keep their
    /// totals but lose their per-object sizes.
    fn forget(&self) -> PyResult<()> {
        let mut garbage = Vec::new();
        {
            let mut state = self.lock_current(&mut garbage)?;
            state.generation += 1;
            for live in std::mem::take(&mut state.live) {
                match live {
                    Live::Weak(r) => garbage.push(r.into_any()),
                    Live::Held(o) => garbage.push(o),
                    Live::Gone => {}
                }
            }
            state.log.forget_records();
            state.objects = AHashMap::new();
            state.weakrefs = AHashMap::new();
            state.polled = Vec::new();
        }
        drop(garbage);
        Ok(())
    }

    /// Forgets every snapshot.
    fn clear_snapshots(&self) -> PyResult<()> {
        self.lock()?.log.snapshots = Vec::new();
        Ok(())
    }

    /// Releases the classes remembered for tracking (the records stay).
    fn release_types(&self) -> PyResult<()> {
        let types = std::mem::take(&mut self.lock()?.types);
        drop(types);
        Ok(())
    }

    /// Checks polled objects now; returns the number found dead.
    fn poll<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut garbage = Vec::new();
        {
            let mut state = self.lock_current(&mut garbage)?;
            let now = self.now();
            state.sweep(py, now, &mut garbage);
        }
        let dead = garbage.len();
        drop(garbage);
        dead.into_new(py)
    }

    /// Takes a snapshot of the objects alive, in one call: sizes them (oldest first,
    /// shared referents counted with the first), their trees down to their
    /// `resolution_level`, the reprs of those whose class has its own `__repr__`, the
    /// tracker's overhead (the size of `tracker`, the `ClassTracker`, beyond the tracked
    /// objects, plus this core's own memory), with `compute_total` the size of every
    /// object the collector knows, and the process's memory (`fallback_process()` gives
    /// `(rss, vms)` or `None` where the system's figures are unavailable). Returns the
    /// snapshot's index and what `snapshot(index)` gives.
    fn take_snapshot<'py>(
        &self,
        py: Python<'py>,
        tracker: &Bound<'_, PyAny>,
        description: String,
        compute_total: bool,
        fallback_process: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = self.gather(py)?;
        // Sizing runs Python code: the state is not locked.
        let mut sizer = SnapshotSizer::new(py)?;
        let measured = sizer.size_tracked(py, &data.objects, &data.levels)?;
        let tracked_total = sizer.total();
        let mut asizeof_total = if compute_total { snapshot::size_everything(py)? } else { 0 };
        let mut overhead = 0;
        if tracked_total != 0 {
            overhead = sizer.size_more(tracker)? + self.own_bytes()?;
            asizeof_total = asizeof_total.saturating_sub(overhead);
        }
        drop(sizer);
        let mut reprs: Vec<(u32, Box<str>)> = Vec::new();
        for (i, obj) in data.objects.iter().enumerate() {
            if data.needs_repr[i] {
                let text = snapshot::text_or_na(py, obj.bind(py).repr())?;
                reprs.push((data.records[i], clip_repr(&text).into_boxed_str()));
            }
        }
        let mut process = process::read();
        if !process.available {
            if let Some((rss, vms)) = fallback_process.call0()?.extract::<Option<(u64, u64)>>()? {
                process = ProcessMemory { available: true, rss, vms, ..ProcessMemory::default() };
            }
        }
        let snapshot = Snapshot {
            timestamp: data.timestamp,
            description,
            tracked_total,
            asizeof_total,
            overhead,
            process,
            entries: Vec::new(),
            details: AHashMap::new(),
        };
        let figures = snapshot_tuple(&snapshot);
        (self.store(data, measured, reprs, snapshot)?, figures).into_new(py)
    }

    /// Bumped by `forget()`; record indices are only valid with the current value.
    #[getter]
    fn generation<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let generation = self.lock()?.generation;
        generation.into_new(py)
    }

    fn record_count<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let count = self.lock()?.log.records.len();
        count.into_new(py)
    }

    /// Number of tracked objects alive (deaths noticed so far).
    fn alive_count<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        out(py, self.read(|state| Ok(state.live.iter().filter(|l| !matches!(l, Live::Gone)).count())))
    }

    /// `(id, name, level, birth, death, repr, trace, basicsize, watch)` of a record.
    fn record<'py>(&self, py: Python<'py>, generation: u64, index: u32) -> PyResult<Bound<'py, PyAny>> {
        let record = self.read(|state| {
            let r = state.record(generation, index)?;
            let trace = state.log.traces.get(&index).map(|t| {
                t.iter().map(|f| (f.file.clone(), f.line, f.function.clone(), f.code.clone())).collect::<Vec<_>>()
            });
            Ok((
                r.id,
                state.log.name_of(r).to_owned(),
                r.level,
                r.birth,
                r.death,
                state.log.repr_of(index),
                trace,
                u64::from(r.basicsize),
                r.watch.as_str(),
            ))
        });
        out(py, record)
    }

    /// `(timestamp, size, flat, rows or None)` of a record: at birth, then per snapshot.
    fn record_sizes<'py>(&self, py: Python<'py>, generation: u64, index: u32) -> PyResult<Bound<'py, PyAny>> {
        let sizes = self.read(|state| {
            state.record(generation, index)?;
            Ok(state
                .log
                .sizes_of(index)
                .into_iter()
                .map(|(t, size, flat, tree)| (t, size, flat, tree.map(rows_of)))
                .collect::<Vec<_>>())
        });
        out(py, sizes)
    }

    /// `(max size, size at the snapshot that tracked most)` of a record.
    fn record_size_summary<'py>(&self, py: Python<'py>, generation: u64, index: u32) -> PyResult<Bound<'py, PyAny>> {
        let summary = self.read(|state| {
            state.record(generation, index)?;
            Ok((state.log.max_size(index), state.log.tsize(index)))
        });
        out(py, summary)
    }

    fn record_size_at<'py>(
        &self,
        py: Python<'py>,
        generation: u64,
        index: u32,
        timestamp: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let size = self.read(|state| {
            state.record(generation, index)?;
            Ok(state.log.size_at_time(index, timestamp))
        });
        out(py, size)
    }

    fn set_record_level(&self, generation: u64, index: u32, level: u32) -> PyResult<()> {
        let mut state = self.lock()?;
        state.record(generation, index)?;
        state.log.records[index as usize].level = level;
        Ok(())
    }

    /// The tracked object if it is alive, else `None`.
    fn record_target(&self, py: Python<'_>, generation: u64, index: u32) -> PyResult<Option<Py<PyAny>>> {
        self.read(|state| {
            state.record(generation, index)?;
            Ok(match &state.live[index as usize] {
                Live::Weak(reference) => reference.bind(py).upgrade().map(Bound::unbind),
                Live::Held(obj) => Some(obj.clone_ref(py)),
                Live::Gone => None,
            })
        })
    }

    /// The record's weak reference, if it is watched by one and alive.
    fn record_weakref(&self, py: Python<'_>, generation: u64, index: u32) -> PyResult<Option<Py<PyWeakrefReference>>> {
        self.read(|state| {
            state.record(generation, index)?;
            Ok(match &state.live[index as usize] {
                Live::Weak(reference) => Some(reference.clone_ref(py)),
                _ => None,
            })
        })
    }

    /// `[(name, [record, ...]), ...]`, names in the order first used.
    fn index<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let index = self.read(|state| {
            Ok(state.log.index().into_iter().map(|(n, r)| (state.log.names[n as usize].clone(), r)).collect::<Vec<_>>())
        });
        out(py, index)
    }

    /// `[(id, record), ...]`: the latest record of every id seen.
    fn objects<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pairs = self.read(|state| {
            let mut pairs: Vec<(u64, u32)> = state.objects.iter().map(|(&id, &r)| (id, r)).collect();
            pairs.sort_by_key(|p| p.1);
            Ok(pairs)
        });
        out(py, pairs)
    }

    /// Names with records, sorted.
    fn tracked_classes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let names = self.read(|state| {
            Ok(state.log.tracked_classes().into_iter().map(|n| state.log.names[n as usize].clone()).collect::<Vec<_>>())
        });
        out(py, names)
    }

    fn snapshot_count<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let count = self.lock()?.log.snapshots.len();
        count.into_new(py)
    }

    /// `(timestamp, description, tracked_total, asizeof_total, overhead, process)`.
    fn snapshot<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyAny>> {
        let figures = {
            let state = self.lock()?;
            let s = state.log.snapshots.get(index).ok_or_else(|| PyIndexError::new_err("no such snapshot"))?;
            snapshot_tuple(s)
        };
        figures.into_new(py)
    }

    /// Per-class `(name, active, sum, average, percent)` of a snapshot, names sorted.
    fn class_rows<'py>(&self, py: Python<'py>, index: usize) -> PyResult<Bound<'py, PyAny>> {
        let rows = self.read(|state| {
            if index >= state.log.snapshots.len() {
                return Err(PyIndexError::new_err("no such snapshot"));
            }
            Ok(state
                .log
                .class_rows(index)
                .into_iter()
                .map(|r| (r.name, r.active, r.sum, r.average, r.percent))
                .collect::<Vec<ClassRowTuple>>())
        });
        out(py, rows)
    }

    /// The merged size tree of a class's instances at a snapshot, as `asized` rows.
    fn merged<'py>(&self, py: Python<'py>, index: usize, name: &str) -> PyResult<Bound<'py, PyAny>> {
        out(py, self.read(|state| Ok(rows_of(&state.log.merged_tree(index, name)))))
    }

    /// Record indices sorted by pympler's `sort_stats` keys.
    fn sorted_records<'py>(&self, py: Python<'py>, keys: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        out(py, self.read(|state| state.log.sorted_records(&keys).map_err(PyValueError::new_err)))
    }

    /// `[(name, [(time, instances alive), ...]), ...]`.
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let history = self.read(|state| {
            Ok(state
                .log
                .history()
                .into_iter()
                .map(|(n, points)| (state.log.names[n as usize].clone(), points))
                .collect::<Vec<HistoryTuple>>())
        });
        out(py, history)
    }

    /// Approximate memory of the tracker's Rust-side bookkeeping, in bytes.
    fn heap_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.own_bytes()?.into_new(py)
    }
}
