//! Heap summaries: objects aggregated by type name into `[type, count, total size]`
//! rows, as pympler's `summary.summarize` makes them, and diffs of two summaries.
//!
//! The type name of an object is pympler's: `str(type(obj))` with `<class '...'>`
//! unwrapped and ` at 0x...` addresses removed, except for functions (`function
//! (name)`), modules (`module(name)`) and frames (`frame (codename: name)`), and for
//! types the caller gives its own representation function. Names are worked out once per
//! type (once per function name), so most objects are counted with two table look-ups
//! and a size formula, without Python code. The flat size is `sys.getsizeof`'s
//! (see `flat`).

use super::rows::{Rows, Totals};
use crate::asizeof::flat::{self, FlatRule, FlatSizer};
use crate::ffi::{self, RawObj, Strong};
use crate::heap::edges::{self, unless_exception};
use crate::heap::passes::HeapVisitor;
use ahash::AHashMap;
use indexmap::IndexMap;
use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

/// pympler's clean-up of a representation: every ` at 0x<hex digits>` removed, then
/// `<class 'X'>` (or `<type 'X'>`) reduced to `X` when `X` has no white space.
pub fn clean_name(text: &str) -> String {
    let without_addresses = edges::without_addresses(text, |b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match unwrap_type_repr(&without_addresses) {
        Some(inner) => inner,
        None => without_addresses,
    }
}

/// `re.sub(r"^<(type|class) '(\S+)'>$", r'\2', text)`; `$` also matches before a final
/// newline, which is kept.
fn unwrap_type_repr(text: &str) -> Option<String> {
    let (body, newline) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    let inner = body.strip_prefix("<class '").or_else(|| body.strip_prefix("<type '"))?.strip_suffix("'>")?;
    if inner.is_empty() || inner.chars().any(is_python_space) {
        return None;
    }
    Some(format!("{inner}{newline}"))
}

/// Python's `\s` for str patterns (`str.isspace`).
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// How the objects of one type are named.
enum Naming {
    /// One name for the whole type, worked out when the rows are made.
    Type,
    /// Exact functions: named after `__name__`.
    Function,
    /// Exact modules.
    Module,
    /// Exact frames.
    Frame,
    /// A representation function given by the caller.
    Custom(Py<PyAny>),
}

struct TypeEntry {
    naming: Naming,
    rule: FlatRule,
    /// The objects counted under the type's own name ([`Naming::Type`]).
    totals: Totals,
    /// When the type was met, for the order of the rows.
    first: u32,
    /// Keeps the type alive (and its address unique) while it is a key of the cache.
    type_ref: Strong,
}

/// The functions of one name.
struct FunctionRow {
    /// Keeps the name alive (and its address unique) while it is a key.
    name: Strong,
    totals: Totals,
    first: u32,
}

const RECENT: usize = 64;

/// How far ahead in a list of objects their headers are prefetched (measured best on a
/// million-object list).
const LIST_AHEAD: usize = 20;

/// Aggregates objects into rows; a [`HeapVisitor`] for whole-heap passes.
///
/// Objects are counted per type (per function name) without Python code, also for a
/// type met for the first time: a whole-heap pass runs no Python code while it reads the
/// collector's lists. Names are worked out once, when the rows are made; objects named
/// one by one (modules, frames, representation functions) wait for the slow path.
pub struct Aggregator<'py> {
    py: Python<'py>,
    sizer: FlatSizer,
    entries: Vec<TypeEntry>,
    by_type: AHashMap<usize, u32>,
    /// Direct-mapped cache of `by_type`: (type address, entry index).
    recent: [(usize, u32); RECENT],
    /// Function rows, by the address of the (held) name string.
    functions: AHashMap<usize, FunctionRow>,
    /// Rows of objects named one by one, with when each name was first met.
    named: IndexMap<String, (Totals, u32), ahash::RandomState>,
    /// Types whose objects are named by a Python function, by type address.
    overrides: AHashMap<usize, Py<PyAny>>,
    /// How many types and names were met so far.
    met: u32,
    /// When to look for a pending Ctrl-C next.
    poll: ffi::SignalPoll,
}

impl<'py> Aggregator<'py> {
    pub fn new(py: Python<'py>, overrides: Option<Bound<'py, PyDict>>) -> PyResult<Aggregator<'py>> {
        let mut by_address = AHashMap::new();
        // Held by `Bound`s only for this loop: the summary's caller keeps the dict and its
        // types alive until the summary is made.
        for (tp, function) in overrides.iter().flat_map(|o| o.iter()) {
            by_address.insert(tp.as_ptr() as usize, function.unbind());
        }
        Ok(Aggregator {
            py,
            sizer: FlatSizer::new(py)?,
            entries: Vec::new(),
            by_type: AHashMap::new(),
            recent: [(0, 0); RECENT],
            functions: AHashMap::new(),
            named: IndexMap::default(),
            overrides: by_address,
            met: 0,
            poll: ffi::SignalPoll::default(),
        })
    }

    #[inline]
    fn entry_index(&mut self, tp: usize) -> Option<u32> {
        let slot = (tp >> 4) % RECENT;
        if self.recent[slot].0 == tp {
            return Some(self.recent[slot].1);
        }
        let index = *self.by_type.get(&tp)?;
        self.recent[slot] = (tp, index);
        Some(index)
    }

    fn next_met(&mut self) -> u32 {
        self.met += 1;
        self.met
    }

    /// The cache entry for the type of `obj`, made if new; runs no Python code.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    unsafe fn entry_of(&mut self, obj: RawObj) -> u32 {
        // SAFETY: `obj` is alive (caller).
        let tp = unsafe { ffi::type_of(obj) };
        if let Some(index) = self.entry_index(tp as usize) {
            return index;
        }
        // SAFETY: `tp` is the type of a live object; the entry keeps it alive.
        let type_ref = unsafe { Strong::from_borrowed(tp.cast()) };
        // SAFETY: as above.
        let rule = unsafe { self.sizer.type_rule(tp) };
        let naming = if let Some(function) = self.overrides.get(&(tp as usize)) {
            Naming::Custom(function.clone_ref(self.py))
        } else if ffi::is_function_type(tp) {
            Naming::Function
        } else if ffi::is_module_type(tp) {
            Naming::Module
        } else if ffi::is_frame_type(tp) {
            Naming::Frame
        } else {
            Naming::Type
        };
        let index = self.entries.len() as u32;
        let first = self.next_met();
        self.entries.push(TypeEntry { naming, rule, totals: Totals::default(), first, type_ref });
        self.by_type.insert(tp as usize, index);
        index
    }

    /// Counts `obj` under its type or function name if that needs no Python code.
    ///
    /// # Safety
    /// `obj` must be alive and of the type of entry `index`.
    #[inline]
    unsafe fn count_quick(&mut self, index: u32, obj: RawObj, size: usize) -> bool {
        let entry = &mut self.entries[index as usize];
        let totals = match entry.naming {
            Naming::Type => &mut entry.totals,
            Naming::Function => {
                // SAFETY: `obj` is a live, exact function (caller).
                let name = unsafe { ffi::function_name(obj) };
                let first = self.met + 1;
                let row = self.functions.entry(name as usize).or_insert_with(|| FunctionRow {
                    // SAFETY: `name` is held by the live function.
                    name: unsafe { Strong::from_borrowed(name) },
                    totals: Totals::default(),
                    first,
                });
                if row.first == first {
                    self.met = first;
                }
                &mut row.totals
            }
            _ => return false,
        };
        *totals = totals.saturating_add(Totals { count: 1, size: size.min(i64::MAX as usize) as i64 });
        true
    }

    /// The row name of an object named one by one (modules, frames, custom).
    fn object_name(&self, entry: u32, obj: &Strong) -> PyResult<String> {
        let py = self.py;
        // SAFETY: `obj` is held strongly.
        let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        Ok(match &self.entries[entry as usize].naming {
            Naming::Module => module_name(&bound)?,
            Naming::Frame => frame_name(&bound)?,
            Naming::Custom(function) => {
                let result = function.bind(py).call1((&bound,))?;
                let text = result
                    .cast_into::<PyString>()
                    .map_err(|_| PyTypeError::new_err("a summary representation function must return a str"))?;
                clean_name(&text.to_string_lossy())
            }
            Naming::Type | Naming::Function => unreachable!("counted without a name"),
        })
    }

    /// Adds every object of a list or other iterable (pympler's `summarize`).
    pub fn add_all(&mut self, objects: &Bound<'py, PyAny>) -> PyResult<()> {
        if let Ok(list) = objects.cast::<PyList>() {
            let mut index = 0;
            loop {
                // Signal handlers run before the next item is read.
                self.poll.check(self.py)?;
                // SAFETY: the list is held by the caller and re-read at every step, so an
                // item is alive until Python code runs; it is taken strongly before the
                // slow path.
                let Some(item) = (unsafe { ffi::list_item(list.as_ptr(), index) }) else { break };
                index += 1;
                // SAFETY: a bounds-checked read of the held list; only used as a hint.
                if let Some(ahead) = unsafe { ffi::list_item(list.as_ptr(), index + LIST_AHEAD) } {
                    ffi::prefetch(ahead);
                }
                // SAFETY: as above; `quick` runs no Python code.
                if !unsafe { self.quick(item, false) } {
                    // SAFETY: as above.
                    let obj = unsafe { Strong::from_borrowed(item) };
                    self.slow(self.py, &obj, false)?;
                }
            }
            return Ok(());
        }
        if let Ok(tuple) = objects.cast::<PyTuple>() {
            for item in tuple.iter() {
                self.poll.check(self.py)?;
                // SAFETY: `item` is held by the Bound.
                let obj = unsafe { Strong::from_borrowed(item.as_ptr()) };
                self.add_held(&obj)?;
            }
            return Ok(());
        }
        for item in objects.try_iter()? {
            self.poll.check(self.py)?;
            let item = item?;
            // SAFETY: `item` is held by the Bound.
            let obj = unsafe { Strong::from_borrowed(item.as_ptr()) };
            self.add_held(&obj)?;
        }
        Ok(())
    }

    fn add_held(&mut self, obj: &Strong) -> PyResult<()> {
        // SAFETY: `obj` is held strongly.
        if unsafe { self.quick(obj.as_ptr(), false) } {
            return Ok(());
        }
        self.slow(self.py, obj, false)
    }

    /// The rows, in the order their names were first met (runs Python code: `str` of
    /// each type, `__str__` of each function name; an error of that code that is not an
    /// `Exception` is returned).
    pub fn into_rows(self) -> PyResult<Rows> {
        let py = self.py;
        let mut met: Vec<(u32, String, Totals)> = Vec::new();
        for entry in &self.entries {
            if matches!(entry.naming, Naming::Type) && entry.totals.count > 0 {
                // SAFETY: the type is held by the entry.
                let tp = unsafe { Bound::from_borrowed_ptr(py, entry.type_ref.as_ptr()) };
                met.push((entry.first, type_name(&tp)?, entry.totals));
            }
        }
        for row in self.functions.values() {
            // SAFETY: the name is held by the row.
            let name = unsafe { Bound::from_borrowed_ptr(py, row.name.as_ptr()) };
            let text =
                unless_exception(py, name.str())?.map_or_else(|| "?".into(), |t| t.to_string_lossy().into_owned());
            met.push((row.first, clean_name(&format!("function ({text})")), row.totals));
        }
        met.extend(self.named.into_iter().map(|(name, (totals, first))| (first, name, totals)));
        met.sort_by_key(|(first, _, _)| *first);
        let mut rows = Rows::default();
        for (_, name, totals) in met {
            let row = rows.entry(name).or_default();
            *row = row.saturating_add(totals);
        }
        Ok(rows)
    }
}

impl HeapVisitor for Aggregator<'_> {
    #[inline]
    unsafe fn quick(&mut self, obj: RawObj, _tracked: bool) -> bool {
        // SAFETY: `obj` is alive (trait contract); nothing below runs Python code.
        unsafe {
            let index = self.entry_of(obj);
            let size = match flat::leaf_size(obj) {
                Some(size) => size,
                None => match self.sizer.size_with(obj, self.entries[index as usize].rule) {
                    Some(size) => size,
                    None => return false,
                },
            };
            self.count_quick(index, obj, size)
        }
    }

    fn slow(&mut self, _py: Python<'_>, obj: &Strong, _tracked: bool) -> PyResult<()> {
        // SAFETY: `obj` is held strongly.
        let index = unsafe { self.entry_of(obj.as_ptr()) };
        let size = self.sizer.size(self.py, obj)?;
        // SAFETY: as above; the entry is of its type.
        if unsafe { self.count_quick(index, obj.as_ptr(), size) } {
            return Ok(());
        }
        let name = self.object_name(index, obj)?;
        let first = self.met + 1;
        let (totals, row_first) = self.named.entry(name).or_insert((Totals::default(), first));
        if *row_first == first {
            self.met = first;
        }
        *totals = totals.saturating_add(Totals { count: 1, size: size.min(i64::MAX as usize) as i64 });
        Ok(())
    }
}

/// `str(tp)` cleaned as pympler does; the type's C name when `str` raises an
/// `Exception` (any other error propagates).
fn type_name(tp: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(match unless_exception(tp.py(), tp.str())? {
        Some(text) => clean_name(&text.to_string_lossy()),
        // Only types are named here; anything else would have no C name.
        None => tp.cast::<PyType>().map(ffi::type_c_name).unwrap_or_default(),
    })
}

/// pympler's `"module(%s)" % getattr(m, '__name__', getattr(m, '__file__', 'nameless,
/// id: %d' % id(m)))`; a module whose attributes raise other `Exception`s is
/// `module(?)`. Errors that are not `Exception`s propagate.
fn module_name<'py>(module: &Bound<'py, PyAny>) -> PyResult<String> {
    let py = module.py();
    let attribute = |name: PyResult<Bound<'py, PyString>>| -> PyResult<Result<Option<Bound<'py, PyAny>>, ()>> {
        let name = name?;
        Ok(match module.getattr(name) {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is_instance_of::<PyAttributeError>(py) => Ok(None),
            Err(err) => unless_exception::<()>(py, Err(err)).map(|_| Err(()))?,
        })
    };
    let text = |value: Bound<'_, PyAny>| -> PyResult<Option<String>> {
        Ok(unless_exception(py, value.str())?.map(|s| s.to_string_lossy().into_owned()))
    };
    let name = match (attribute(crate::pystr!(py, "__file__"))?, attribute(crate::pystr!(py, "__name__"))?) {
        (_, Ok(Some(name))) => text(name)?,
        (Ok(Some(file)), Ok(None)) => text(file)?,
        (Ok(None), Ok(None)) => Some(format!("nameless, id: {}", module.as_ptr() as usize)),
        _ => None,
    };
    Ok(clean_name(&format!("module({})", name.as_deref().unwrap_or("?"))))
}

/// pympler's `"frame (codename: %s)" % f.f_code.co_name` (`?` when that raises an
/// `Exception`; any other error propagates).
fn frame_name(frame: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = frame.py();
    let name = crate::pystr!(py, "f_code")
        .and_then(|attr| frame.getattr(attr))
        .and_then(|code| code.getattr(crate::pystr!(py, "co_name")?))
        .and_then(|name| name.str().map(|s| s.to_string_lossy().into_owned()));
    let name = unless_exception(frame.py(), name)?;
    Ok(clean_name(&format!("frame (codename: {})", name.as_deref().unwrap_or("?"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_like_pympler() {
        assert_eq!(clean_name("<class 'dict'>"), "dict");
        assert_eq!(clean_name("<class 'mod.Foo'>"), "mod.Foo");
        assert_eq!(clean_name("<type 'int'>"), "int");
        assert_eq!(clean_name("<class 'a b'>"), "<class 'a b'>");
        assert_eq!(clean_name("<class ''>"), "<class ''>");
        assert_eq!(clean_name("<class 'x'>\n"), "x\n");
        assert_eq!(clean_name("<thing at 0x7f00ab>"), "<thing>");
        assert_eq!(clean_name("a at 0x1 b at 0xff c"), "a b c");
        assert_eq!(clean_name("no at 0xZZ"), "no at 0xZZ");
        assert_eq!(clean_name("upper at 0xAB"), "upper at 0xAB");
        // Addresses go first, then the class is unwrapped.
        assert_eq!(clean_name("<class 'x at 0x10'>"), "x");
        assert_eq!(clean_name("function (f)"), "function (f)");
    }
}
