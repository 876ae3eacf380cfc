//! pympler's per-type estimates behind `basicsize`, `itemsize` and `leng`: a type's basic
//! size (GC header included, as pympler's estimate of it), the size of one item and an
//! estimate of the number of items allocated.
//!
//! These describe types, they do not measure objects (`flatsize` and `asizeof` do): the
//! figures of the builtin types come from their entry in `rules::TYPES`, those of other
//! types from the shape `rules` gives them when it classifies them.

use crate::asizeof::rules::{self, ClassifyOptions, RuleCache};
use crate::ffi::{self, new_i64, new_int, Strong};
use pyo3::exceptions::{PyAttributeError, PyException, PyImportError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyInt, PyString, PyType};

const PTR: usize = std::mem::size_of::<usize>();
/// One entry of a dict's table as pympler counts it (`struct.calcsize("P") * 3`).
pub const DICT_ENTRY: usize = 3 * PTR;
/// One entry of a set's table (`struct.calcsize("lP")`).
pub const SET_ENTRY: usize = round_up(std::mem::size_of::<std::ffi::c_long>(), PTR) + PTR;
/// pympler's module object (`struct.calcsize("PPP")`).
const MODULE_OBJECT: usize = 3 * PTR;
/// pympler's code object (`struct.calcsize("PP10P5i0P")`).
const CODE_OBJECT: usize = round_up(12 * PTR + 5 * 4, PTR);
/// pympler's frame object (`struct.calcsize("PPP13P63i0P")`).
const FRAME_OBJECT: usize = round_up(16 * PTR + 63 * 4, PTR);
const TPFLAGS_HEAPTYPE: u64 = 1 << 9;

const fn round_up(size: usize, to: usize) -> usize {
    size.div_ceil(to) * to
}

/// How pympler estimates the number of items of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leng {
    /// Objects without items (`leng` is `None`).
    None,
    /// `len(obj)`, 0 when that fails.
    SafeLen,
    /// Digits of an int.
    Int,
    /// Allocated slots of a list.
    List,
    /// Allocated slots of a dict's table.
    Dict,
    /// Allocated slots of a set's table.
    Set,
    /// `(stop - start + 1) // step`.
    Slice,
    /// `__length_hint__()`, else `len(obj)`.
    Iter,
    /// Free and cell variables, stack and locals of a code object.
    Code,
    /// That of the frame's code.
    Frame,
    /// Entries of the module's dict.
    Module,
    /// `bytearray.__alloc__()`.
    Alloc,
    /// `len(obj) + 1`.
    StrLen,
    /// A `struct.Struct`'s size.
    StructSize,
    /// A numpy array's `nbytes`.
    Numpy,
    /// `len(obj) * obj.itemsize` of an `array.array`.
    Array,
}

impl Leng {
    /// The name of pympler's length function (`print_typedefs` shows it).
    pub fn name(self) -> &'static str {
        match self {
            Leng::None => "n/a",
            Leng::SafeLen => "safe_len",
            Leng::Int => "len_int",
            Leng::List => "len_list",
            Leng::Dict => "len_dict",
            Leng::Set => "len_set",
            Leng::Slice => "len_slice",
            Leng::Iter => "len_iter",
            Leng::Code => "len_code",
            Leng::Frame => "len_frame",
            Leng::Module => "len_module",
            Leng::Alloc | Leng::StrLen | Leng::StructSize | Leng::Numpy | Leng::Array => "<lambda>",
        }
    }
}

/// The estimates of a builtin type, as given in its table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// The item size when the type reports none (`__itemsize__` 0).
    item: usize,
    leng: Leng,
    /// Basic and item size of the module type's own kind (at least a dict's).
    module: bool,
    /// Whether `asizeof` follows referents of such objects (`refs()` is not `None`).
    has_refs: bool,
}

impl Estimate {
    /// The type's own basic and item size, no items.
    pub const fn plain(has_refs: bool) -> Estimate {
        Estimate { item: 0, leng: Leng::None, module: false, has_refs }
    }
    pub const fn items(self, item: usize, leng: Leng) -> Estimate {
        Estimate { item, leng, ..self }
    }
    #[cfg(test)]
    pub fn has_refs(&self) -> bool {
        self.has_refs
    }
    pub const fn module() -> Estimate {
        Estimate { item: 0, leng: Leng::Module, module: true, has_refs: true }
    }
}

/// Which estimate describes a type that is not in the table (see `rules::Rule::shape`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// In the table: its [`Estimate`].
    Static,
    /// Basic size only (classes, functions, named tuples, ignored objects).
    Plain,
    /// Basic size, item size and, with items, `len`.
    Instance,
    /// Basic and item size, no length (cells).
    Cell,
    Module,
    Frame,
    Code,
    /// A dict's figures.
    Dict,
    Numpy,
    Array,
}

/// pympler's figures for one type (or one object, for numpy arrays and `array.array`).
#[pyclass(frozen, module = "heapscope._core")]
pub struct TypeDef {
    base: i64,
    item: i64,
    leng: Leng,
    /// Items are bytes, counted in units of the object's `itemsize` attribute.
    item_attr: bool,
    #[pyo3(get)]
    has_refs: bool,
}

#[pymethods]
impl TypeDef {
    /// The basic size (pympler's `base`).
    #[getter]
    fn base<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_i64(py, self.base)
    }

    /// The item size (pympler's `item`).
    #[getter]
    fn item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_i64(py, self.item)
    }

    /// The name of the length estimate (`"n/a"` without one).
    #[getter]
    fn leng_name<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        ffi::new_str(py, self.leng.name())
    }

    /// The size of one item of `obj`.
    fn item_size<'py>(&self, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = obj.py();
        let item = new_i64(py, self.item)?;
        if self.item_attr && self.item == 1 {
            return getattr_or(obj, crate::pystr!(py, "itemsize")?, item);
        }
        Ok(item)
    }

    /// The estimated number of items of `obj`, `None` for objects without items.
    fn length<'py>(&self, obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = obj.py();
        if self.leng == Leng::None {
            return Ok(None);
        }
        // As pympler: an estimate that raises an `Exception` is 0.
        let mut n = match length_of(self.leng, obj) {
            Ok(n) => n,
            Err(err) if err.is_instance_of::<PyException>(py) => new_i64(py, 0)?,
            Err(err) => return Err(err),
        };
        if self.item_attr && self.item == 1 {
            let size = getattr_or(obj, crate::pystr!(py, "itemsize")?, new_i64(py, 1)?)?;
            if size.gt(1)? {
                n = n.floor_div(&size)?;
            }
        }
        Ok(Some(n))
    }
}

/// `getattr(obj, name, default)`: only an `AttributeError` gives the default.
fn getattr_or<'py>(
    obj: &Bound<'py, PyAny>,
    name: Bound<'py, PyString>,
    default: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    match obj.getattr(name) {
        Ok(value) => Ok(value),
        Err(err) if err.is_instance_of::<PyAttributeError>(obj.py()) => Ok(default),
        Err(err) => Err(err),
    }
}

/// pympler's `_len`: `len(obj)`, 0 when that raises an `Exception` (any other error
/// propagates).
fn safe_len(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    Ok(crate::heap::edges::unless_exception(obj.py(), obj.len())?.unwrap_or(0))
}

/// `len(obj)` as an estimate of allocated list slots.
fn list_slots(n: usize) -> usize {
    match n {
        0 => 0,
        1..=8 => n + 4,
        _ => n + 6 + (n >> 3),
    }
}

/// Allocated slots of a dict table with `n` entries.
fn dict_slots(n: usize) -> usize {
    if n < 6 {
        0
    } else {
        (n + 1).next_power_of_two()
    }
}

/// Allocated slots of a set table with `n` entries.
fn set_slots(n: usize) -> usize {
    match n {
        0 => 0,
        1..=8 => 8,
        _ => (2 * n - 2).next_power_of_two(),
    }
}

fn code_length<'py>(code: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = code.py();
    let free = code.getattr(crate::pystr!(py, "co_freevars")?)?.len()?;
    let cells = code.getattr(crate::pystr!(py, "co_cellvars")?)?.len()?;
    let counted =
        code.getattr(crate::pystr!(py, "co_stacksize")?)?.add(code.getattr(crate::pystr!(py, "co_nlocals")?)?)?;
    counted.add(new_int(py, (free + cells) as u64)?)?.sub(1)
}

/// pympler's length function `leng` applied to `obj`; errors are the caller's to treat.
fn length_of<'py>(leng: Leng, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let int = |n: usize| new_int(py, n as u64);
    match leng {
        Leng::None | Leng::SafeLen => int(safe_len(obj)?),
        Leng::Int => {
            let int_type = py.get_type::<PyInt>();
            let total: i64 = py
                .import(crate::pystr!(py, "sys")?)?
                .call_method1(crate::pystr!(py, "getsizeof")?, (obj, 0))?
                .extract()?;
            let basic: i64 = int_type.getattr(crate::pystr!(py, "__basicsize__")?)?.extract()?;
            let digit: i64 = int_type.getattr(crate::pystr!(py, "__itemsize__")?)?.extract()?;
            let n = total - basic;
            let digits =
                if n > 0 { n.checked_div_euclid(digit).ok_or_else(|| PyAttributeError::new_err(""))? } else { 0 };
            new_i64(py, digits)
        }
        Leng::List => int(list_slots(safe_len(obj)?)),
        Leng::Dict => int(dict_slots(safe_len(obj)?)),
        Leng::Set => int(set_slots(safe_len(obj)?)),
        Leng::Slice => obj
            .getattr(crate::pystr!(py, "stop")?)?
            .sub(obj.getattr(crate::pystr!(py, "start")?)?)?
            .add(1)?
            .floor_div(obj.getattr(crate::pystr!(py, "step")?)?),
        Leng::Iter => match getattr_or(obj, crate::pystr!(py, "__length_hint__")?, py.None().into_bound(py))? {
            hint if hint.is_truthy()? && hint.is_callable() => hint.call0(),
            _ => int(safe_len(obj)?),
        },
        Leng::Code => code_length(obj),
        Leng::Frame => match getattr_or(obj, crate::pystr!(py, "f_code")?, py.None().into_bound(py))? {
            code if code.is_truthy()? => code_length(&code),
            _ => int(0),
        },
        Leng::Module => int(safe_len(&obj.getattr(crate::pystr!(py, "__dict__")?)?)?),
        Leng::Alloc => obj.call_method0(crate::pystr!(py, "__alloc__")?),
        Leng::StrLen => int(obj.len()? + 1),
        Leng::StructSize => getattr_or(obj, crate::pystr!(py, "size")?, new_i64(py, 0)?),
        Leng::Numpy => obj.getattr(crate::pystr!(py, "nbytes")?),
        Leng::Array => new_int(py, obj.len()? as u64)?.mul(obj.getattr(crate::pystr!(py, "itemsize")?)?),
    }
}

/// The GC header size pympler's basic sizes include: `_testcapi`'s figure, or the header
/// padded to 16 bytes when `_testcapi` is missing.
fn gc_header_estimate(py: Python<'_>) -> PyResult<usize> {
    static GC_HEAD: PyOnceLock<usize> = PyOnceLock::new();
    GC_HEAD
        .get_or_try_init(py, || {
            let fallback = (3 * PTR + 15) & !15;
            let figure = match py.import(crate::pystr!(py, "_testcapi")?) {
                Ok(module) => match module.getattr(crate::pystr!(py, "SIZEOF_PYGC_HEAD")?) {
                    Ok(figure) => figure,
                    Err(err) if err.is_instance_of::<PyAttributeError>(py) => return Ok(fallback),
                    Err(err) => return Err(err),
                },
                Err(err) if err.is_instance_of::<PyImportError>(py) => return Ok(fallback),
                Err(err) => return Err(err),
            };
            figure.call_method0(crate::pystr!(py, "__int__")?)?.extract()
        })
        .copied()
}

/// Basic and item size of types, GC header by pympler's estimate.
struct Figures {
    gc_head: usize,
}

impl Figures {
    /// `max(tp.__basicsize__, at_least)`, plus the GC header if `gc`.
    fn basic(&self, tp: &Bound<'_, PyType>, at_least: usize, gc: bool) -> i64 {
        // SAFETY: `tp` is a live type (a bound reference).
        let size = unsafe { ffi::basicsize(tp.as_type_ptr()) }.max(at_least);
        (size + if gc { self.gc_head } else { 0 }) as i64
    }

    /// The basic size of a type other than `type`, its own GC flag deciding the header.
    fn own_basic(&self, tp: &Bound<'_, PyType>, at_least: usize) -> i64 {
        // SAFETY: `tp` is a live type (a bound reference).
        let gc = unsafe { ffi::has_gc(tp.as_type_ptr()) };
        self.basic(tp, at_least, gc)
    }

    /// `tp.__itemsize__`, or `default` when that is 0.
    fn item(&self, tp: &Bound<'_, PyType>, default: usize) -> i64 {
        // SAFETY: `tp` is a live type (a bound reference).
        let item = unsafe { ffi::itemsize(tp.as_type_ptr()) };
        (if item == 0 { default } else { item }) as i64
    }

    /// A dict's basic and item size (also those of dict subclasses, for pympler).
    fn dict(&self, py: Python<'_>) -> (i64, i64) {
        let dict = py.get_type::<pyo3::types::PyDict>();
        (self.own_basic(&dict, 0), self.item(&dict, DICT_ENTRY))
    }

    fn of_entry(&self, tp: &Bound<'_, PyType>, estimate: &Estimate) -> TypeDef {
        let (base, item) = if estimate.module {
            let (dict_base, dict_item) = self.dict(tp.py());
            (self.own_basic(tp, dict_base as usize), dict_item + MODULE_OBJECT as i64)
        } else {
            (self.own_basic(tp, 0), self.item(tp, estimate.item))
        };
        TypeDef { base, item, leng: estimate.leng, item_attr: false, has_refs: estimate.has_refs }
    }
}

/// pympler's figures for the type of `obj`, or with `instance=False` for the type `obj`.
pub fn typedef(obj: &Bound<'_, PyAny>, instance: bool) -> PyResult<TypeDef> {
    let py = obj.py();
    let registry = rules::registry(py)?;
    let figures = Figures { gc_head: gc_header_estimate(py)? };
    let plain = |base: i64, has_refs: bool| TypeDef { base, item: 0, leng: Leng::None, item_attr: false, has_refs };
    if !instance {
        let Ok(tp) = obj.cast::<PyType>() else {
            return Ok(plain(0, false));
        };
        if let Some(entry) = registry.entry(tp.as_type_ptr()) {
            return Ok(figures.of_entry(tp, &entry.estimate));
        }
        // `type` itself: pympler takes the GC flag from the object, here none.
        let gc = !ffi::is_type_type(tp.as_type_ptr()) && {
            // SAFETY: `tp` is a live type (a bound reference).
            unsafe { ffi::has_gc(tp.as_type_ptr()) }
        };
        let item = figures.item(tp, 0);
        return Ok(TypeDef { item, ..plain(figures.basic(tp, 0, gc), false) });
    }
    let tp = obj.get_type();
    if ffi::is_type_type(tp.as_type_ptr()) {
        // A class: its own heap-type flag decides the GC header.
        // SAFETY: `obj` is a live type object (its type is `type`).
        let heap = unsafe { ffi::type_flags(obj.as_ptr().cast()) } & TPFLAGS_HEAPTYPE != 0;
        return Ok(plain(figures.basic(&tp, 0, heap), true));
    }
    let mut rules = RuleCache::new(registry, ClassifyOptions { libraries: false, ..ClassifyOptions::default() });
    // SAFETY: `obj` is alive for the call.
    let held = unsafe { Strong::from_borrowed(obj.as_ptr()) };
    let rule = rules.classify(py, &held)?;
    let base = || figures.own_basic(&tp, 0);
    let has_refs = rule.refs != rules::Refs::None;
    use Shape::*;
    Ok(match rule.shape {
        Static => match registry.entry(tp.as_type_ptr()) {
            Some(entry) => figures.of_entry(&tp, &entry.estimate),
            None => plain(base(), has_refs),
        },
        Plain => plain(base(), has_refs),
        Instance => {
            let item = figures.item(&tp, 0);
            let leng = if item != 0 { Leng::SafeLen } else { Leng::None };
            TypeDef { item, leng, ..plain(base(), true) }
        }
        Cell => TypeDef { item: figures.item(&tp, 0), ..plain(base(), true) },
        Module => {
            let (dict_base, dict_item) = figures.dict(py);
            TypeDef { base: dict_base, item: dict_item + MODULE_OBJECT as i64, leng: Leng::Module, ..plain(0, true) }
        }
        Frame => TypeDef {
            item: figures.item(&tp, 0),
            leng: Leng::Frame,
            ..plain(figures.own_basic(&tp, FRAME_OBJECT), true)
        },
        Code => TypeDef { item: PTR as i64, leng: Leng::Code, ..plain(figures.own_basic(&tp, CODE_OBJECT), true) },
        Dict => {
            let (base, item) = figures.dict(py);
            TypeDef { base, item, leng: Leng::Dict, ..plain(0, true) }
        }
        Numpy => {
            let nbytes = obj.getattr(crate::pystr!(py, "nbytes")?)?;
            let sys = py.import(crate::pystr!(py, "sys")?)?;
            let base =
                sys.call_method1(crate::pystr!(py, "getsizeof")?, (obj, nbytes.add(96)?))?.sub(&nbytes)?.extract()?;
            TypeDef { base, item: 1, leng: Leng::Numpy, item_attr: true, has_refs: true }
        }
        Array => {
            let data = new_int(py, obj.len()? as u64)?.mul(obj.getattr(crate::pystr!(py, "itemsize")?)?)?;
            let total =
                py.import(crate::pystr!(py, "sys")?)?.call_method1(crate::pystr!(py, "getsizeof")?, (obj, 0))?;
            let base: i64 = total.sub(data)?.extract()?;
            TypeDef { base: base.max(56), item: 1, leng: Leng::Array, item_attr: true, has_refs: false }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_estimates_follow_pympler() {
        assert_eq!([0, 5, 12, 15].map(list_slots), [0, 9, 19, 22]);
        assert_eq!([0, 5, 6, 7, 8, 100].map(dict_slots), [0, 0, 8, 8, 16, 128]);
        assert_eq!([0, 1, 8, 9, 100].map(set_slots), [0, 8, 8, 16, 256]);
    }

    #[test]
    fn struct_figures_match_calcsize_on_64_bit() {
        if PTR == 8 {
            assert_eq!((SET_ENTRY, CODE_OBJECT, FRAME_OBJECT), (16, 120, 384));
        }
    }

    #[test]
    fn length_names() {
        assert_eq!(Leng::SafeLen.name(), "safe_len");
        assert_eq!(Leng::Alloc.name(), "<lambda>");
        assert_eq!(Leng::None.name(), "n/a");
    }
}
