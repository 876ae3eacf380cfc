//! Per-library footprints: types whose memory lives outside Python objects (Arrow
//! buffers, Polars frames, memory-mapped files) or whose `__sizeof__` is already deep
//! (pandas) are sized by a function registered for them from Python
//! (`heapscope.datalibs.register`), without the walker knowing the library.
//!
//! A footprint function returns `(size, buffers, referents[, usual])`: the object's own
//! size (`None`: the size without the registered class's own `__sizeof__`), the
//! buffers it uses as `(key, nbytes, kind)`, each counted once per walk by its key
//! whichever object reaches it first, the referents to follow as `(name, object[,
//! made])` (`None`: the usual ones; `made`: an object made for the tree, such as a
//! table's column, whose own size is not counted), and whether the usual ones follow
//! the given ones.
//! Buffers of kind `"mapped"` (file-backed pages) and `"device"` (accelerator memory)
//! are reported apart and never added to a size.

use crate::asizeof::rules::{lenient, str_equals, Names};
use crate::ffi::{self, Strong};
use crate::grow::TryPush;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

/// Registered footprint functions: `names` maps a qualified type name to an index into
/// `hooks`, which only ever grows, so an index kept in a rule stays valid.
struct Registry {
    names: Py<PyDict>,
    hooks: Py<PyList>,
}

static REGISTRY: PyOnceLock<Registry> = PyOnceLock::new();

fn registry(py: Python<'_>) -> PyResult<&Registry> {
    REGISTRY
        .get_or_try_init(py, || Ok(Registry { names: ffi::new_dict(py)?.unbind(), hooks: PyList::empty(py).unbind() }))
}

/// Registers `hook` for the type named `type_name` (`module.QualName`) and its
/// subclasses; a second registration of a name replaces the first.
#[pyfunction]
pub fn register_footprint(py: Python<'_>, type_name: &Bound<'_, PyString>, hook: &Bound<'_, PyAny>) -> PyResult<()> {
    if !hook.is_callable() {
        return Err(PyTypeError::new_err("a footprint function must be callable: it is called with the object"));
    }
    let reg = registry(py)?;
    let (names, hooks) = (reg.names.bind(py), reg.hooks.bind(py));
    if names.get_item(type_name)?.is_none() && hooks.len() >= usize::from(u16::MAX - 1) {
        return Err(pyo3::exceptions::PyValueError::new_err("too many footprint functions are registered"));
    }
    crate::asizeof::rules::plain_arrays::forget();
    match names.get_item(type_name)? {
        Some(index) => hooks.set_item(index.extract::<usize>()?, hook)?,
        None => {
            names.set_item(type_name, hooks.len())?;
            hooks.append(hook)?;
        }
    }
    Ok(())
}

/// A footprint function found for a type.
pub struct Found<'py> {
    pub index: u16,
    /// The class after the registered one in the type's MRO, whose `__sizeof__` the
    /// type's own size comes from; `None` when the registered class is the last.
    pub next: Option<Bound<'py, PyType>>,
}

/// The footprint function registered for `tp` or the nearest of its bases, if any.
/// Reads the classes' `__module__` and `__qualname__` only (a metaclass could run code
/// for them; an `Exception` it raises skips the class).
pub fn hook_for<'py>(tp: &Bound<'py, PyType>, names: &Names) -> PyResult<Option<Found<'py>>> {
    let py = tp.py();
    let Some(reg) = REGISTRY.get(py) else { return Ok(None) };
    let registered = reg.names.bind(py);
    if registered.is_empty() {
        return Ok(None);
    }
    let Some(mro) = lenient(py, tp.getattr(crate::pystr!(py, "__mro__")?))? else { return Ok(None) };
    let Ok(mro) = mro.cast_into::<PyTuple>() else { return Ok(None) };
    for (position, class) in mro.iter().enumerate() {
        let Ok(class) = class.cast_into::<PyType>() else { continue };
        // `type.__module__`: a static type's comes from its name, not its dict.
        let Some(module) = lenient(py, class.getattr(names.module.bind(py)))? else { continue };
        let Some(qualname) = lenient(py, class.getattr(crate::pystr!(py, "__qualname__")?))? else { continue };
        if !module.is_instance_of::<PyString>() || !qualname.is_instance_of::<PyString>() {
            continue;
        }
        let key = lenient(py, module.add(crate::pystr!(py, ".")?).and_then(|m| m.add(&qualname)))?;
        let Some(key) = key else { continue };
        if let Some(index) = registered.get_item(&key)? {
            let next = mro.get_item(position + 1).ok().and_then(|next| next.cast_into::<PyType>().ok());
            return Ok(Some(Found { index: index.extract::<u16>()?, next }));
        }
    }
    Ok(None)
}

/// Where a buffer's bytes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferKind {
    Ram,
    Mapped,
    Device,
}

/// One buffer a footprint names.
pub struct BufferUse {
    pub key: u64,
    pub nbytes: u64,
    pub kind: BufferKind,
}

/// A referent a footprint names.
pub struct Referent {
    /// Its name in trees; `None` for the object's own.
    pub name: Option<Py<PyString>>,
    pub obj: Strong,
    /// Made for the tree (a table's column): what it reaches is counted, not itself.
    pub made: bool,
}

/// What a footprint function returned, checked.
pub struct Footprint {
    pub size: Option<u64>,
    pub buffers: Vec<BufferUse>,
    /// Named referents; `None` for the instance's usual ones.
    pub referents: Option<Vec<Referent>>,
    /// Whether the usual referents follow `referents` too.
    pub usual: bool,
}

/// Calls the footprint function `index` on `obj` and checks its result. A result of the
/// wrong shape is a `TypeError`, which the walker counts as missed like any other
/// `Exception` the function raises.
pub fn footprint(py: Python<'_>, index: u16, obj: &Strong) -> PyResult<Footprint> {
    let hook = registry(py)?.hooks.bind(py).get_item(index as usize)?;
    // SAFETY: `obj` is held strongly by the caller for as long as the borrow lives.
    let obj = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
    let result = hook.call1((obj,))?;
    let shape = || {
        PyTypeError::new_err("a footprint function returns (size, buffers, referents[, usual]): see heapscope.datalibs")
    };
    let Ok(parts) = result.cast::<PyTuple>() else { return Err(shape()) };
    if parts.len() != 3 && parts.len() != 4 {
        return Err(shape());
    }
    let usual = parts.len() == 4 && parts.get_item(3)?.is_truthy()?;
    let size = parts.get_item(0)?;
    let size = if size.is_none() { None } else { Some(size.extract::<u64>()?) };
    let mut buffers = Vec::new();
    for buffer in parts.get_item(1)?.try_iter()? {
        let buffer = buffer?;
        let Ok(fields) = buffer.cast::<PyTuple>() else { return Err(shape()) };
        if fields.len() != 3 {
            return Err(shape());
        }
        let kind = fields.get_item(2)?;
        let kind = if str_equals(&kind, c"ram") {
            BufferKind::Ram
        } else if str_equals(&kind, c"mapped") {
            BufferKind::Mapped
        } else if str_equals(&kind, c"device") {
            BufferKind::Device
        } else {
            return Err(PyTypeError::new_err("a buffer's kind is 'ram', 'mapped' or 'device'"));
        };
        let key = fields.get_item(0)?.extract::<u64>()?;
        let nbytes = fields.get_item(1)?.extract::<u64>()?;
        buffers.try_push(BufferUse { key, nbytes, kind }, "the buffers of an object")?;
    }
    let referents = parts.get_item(2)?;
    let referents = if referents.is_none() {
        None
    } else {
        let mut items = Vec::new();
        for item in referents.try_iter()? {
            let item = item?;
            let Ok(pair) = item.cast::<PyTuple>() else { return Err(shape()) };
            if pair.len() != 2 && pair.len() != 3 {
                return Err(shape());
            }
            let name = pair.get_item(0)?;
            let name = name.cast_into::<PyString>().ok().map(Bound::unbind);
            let value = pair.get_item(1)?;
            let made = pair.len() == 3 && pair.get_item(2)?.is_truthy()?;
            // SAFETY: `value` is alive (owned by `value` for the borrow).
            let value = unsafe { Strong::from_borrowed(value.as_ptr()) };
            items.try_push(Referent { name, obj: value, made }, "the referents of an object")?;
        }
        Some(items)
    };
    Ok(Footprint { size, buffers, referents, usual })
}
