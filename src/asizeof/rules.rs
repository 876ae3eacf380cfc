//! Per-type rules: how an object's flat size is computed and which referents count.
//!
//! The rules reproduce pympler's accounting so that the numbers agree: a table of exact
//! builtin types (one entry per type, see [`TYPES`]) and, for every other type,
//! the same classification pympler applies (modules, frames, code, callables, dict
//! subclasses, cells, named tuples, numpy arrays, arrays, instances).

use crate::asizeof::estimates::{Estimate, Leng, Shape, DICT_ENTRY, SET_ENTRY};
use crate::ffi::{self, RawObj, RawType, Strong};
use ahash::AHashMap;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};
use std::ffi::CStr;
use std::rc::Rc;

/// Which referents of an object are sized along with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refs {
    None,
    /// Items of a list, tuple or set.
    List,
    Tuple,
    Set,
    /// Keys and values of a real dict (also dict subclasses).
    Dict,
    /// Keys and values of the mapping behind a `mappingproxy`.
    MappingProxy,
    /// Keys and values of the module's dict, followed for a top-level module only.
    Module,
    /// `__dict__` (or values kept without one), `__class__`, then `__slots__` values.
    Instance,
    /// `__class__`, `__slots__` values, then the tuple items.
    NamedTuple,
    /// The referent of a weak reference (None once it died).
    WeakRef,
    /// What `tp_traverse` reports (iterators).
    Traverse,
    /// `.items()` of a dict-like object that is not a dict.
    DictLike,
    /// Named attributes, read with `getattr`.
    Attrs(&'static AttrSpec),
    /// A numpy array: its `base`, then the items of an object array, read as attributes.
    Numpy,
    /// The same, read from the array's struct (its layout checked for the type).
    NumpyFields,
}

/// Attributes followed by an [`Refs::Attrs`] rule: the `names` present, then every name of
/// `dir(obj)` starting with `prefix`, except `exclude`. With `via`, the attributes are
/// read from `getattr(obj, via)` instead of the object.
#[derive(Debug, PartialEq, Eq)]
pub struct AttrSpec {
    pub via: Option<&'static str>,
    pub names: &'static [&'static str],
    pub prefix: Option<&'static str>,
    pub exclude: &'static [&'static str],
}

impl AttrSpec {
    const fn names(names: &'static [&'static str]) -> AttrSpec {
        AttrSpec { via: None, names, prefix: None, exclude: &[] }
    }
    const fn prefix(prefix: &'static str) -> AttrSpec {
        AttrSpec { via: None, names: &[], prefix: Some(prefix), exclude: &[] }
    }
}

pub static DOC_ATTRS: AttrSpec = AttrSpec::names(&["__doc__"]);
pub static PROPERTY_ATTRS: AttrSpec = AttrSpec { prefix: Some("f"), ..AttrSpec::names(&["__doc__"]) };
pub static EXCEPTION_ATTRS: AttrSpec = AttrSpec::names(&["args", "filename", "lineno", "msg", "text"]);
pub static STAT_ATTRS: AttrSpec = AttrSpec::prefix("st_");
pub static STATVFS_ATTRS: AttrSpec = AttrSpec::prefix("f_");
pub static TRACEBACK_ATTRS: AttrSpec = AttrSpec::prefix("tb_");
pub static FRAME_ATTRS: AttrSpec = AttrSpec::prefix("f_");
pub static CODE_ATTRS: AttrSpec = AttrSpec::prefix("co_");
pub static METHOD_ATTRS: AttrSpec =
    AttrSpec { prefix: Some("im_"), ..AttrSpec::names(&["__doc__", "__name__", "__code__"]) };
pub static FUNCTION_ATTRS: AttrSpec = AttrSpec {
    via: None,
    names: &["__doc__", "__name__", "__code__", "__closure__"],
    prefix: Some("func_"),
    exclude: &["func_globals"],
};
pub static CLASS_ATTRS: AttrSpec =
    AttrSpec::names(&["__class__", "__doc__", "__mro__", "__name__", "__slots__", "__weakref__", "__dict__"]);
pub static GENERATOR_ATTRS: AttrSpec = AttrSpec { via: Some("gi_frame"), ..AttrSpec::names(&["f_locals", "f_code"]) };

/// How the flat size (what `sys.getsizeof` reports) is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flat {
    /// `object.__sizeof__`: basic size plus items.
    Object,
    Int,
    Str,
    List,
    Dict,
    Set,
    ByteArray,
    /// `ndarray.__sizeof__`, read from the array's struct (numpy 1 or 2 descriptors).
    Numpy(ffi::Elsize),
    /// The type has its own `__sizeof__`: call it.
    Call,
}

impl Flat {
    /// What `__sizeof__` returns for `obj`, by formula: the one flat-size dispatch of the
    /// crate. `None` for [`Flat::Call`], for a legacy (non-compact) str and where the
    /// layout a formula reads did not pass its check: `__sizeof__` must be called.
    ///
    /// # Safety
    /// `obj` must be alive and of a type this formula was chosen for (see
    /// [`Registry::flat_for`]).
    #[inline(always)]
    pub unsafe fn sizeof(self, obj: RawObj) -> Option<usize> {
        // SAFETY: `obj` is alive and each formula matches the `__sizeof__` the registry
        // identified for its type (caller).
        unsafe {
            match self {
                Flat::Object => Some(ffi::object_sizeof(obj)),
                Flat::Int => ffi::int_sizeof(obj),
                Flat::List => ffi::list_sizeof(obj),
                Flat::Dict => ffi::dict_sizeof(obj),
                Flat::Set => ffi::set_sizeof(obj),
                Flat::ByteArray => ffi::bytearray_sizeof(obj),
                Flat::Str => ffi::str_sizeof(obj),
                Flat::Numpy(elsize) => ffi::array_sizeof(obj, elsize),
                Flat::Call => None,
            }
        }
    }
}

/// A `__slots__` entry of an instance's type.
pub enum Slot {
    /// Read straight from the object at this offset.
    Member { name: Py<PyString>, offset: usize },
    /// Shadowed or unusual: read with `getattr`.
    Attr { name: Py<PyString> },
}

impl Slot {
    pub fn name(&self) -> &Py<PyString> {
        match self {
            Slot::Member { name, .. } | Slot::Attr { name } => name,
        }
    }
}

/// Everything the walker needs to know about the objects of one type. Small and `Copy`
/// so the hot path never touches a reference count; the slots live in the cache.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub refs: Refs,
    pub flat: Flat,
    /// Counted only with `code=True` (functions, classes, code, methods).
    pub code_only: bool,
    /// Skipped while the `ignored` option is on (its default).
    pub ignored: bool,
    /// Objects of this type are classes: `ignored` is decided per class.
    pub is_class: bool,
    pub is_module: bool,
    /// The `sys.getsizeof` pre-header of every instance, or [`PER_OBJECT`].
    pub pre_header: u32,
    /// Index of the type's `__slots__` in [`RuleCache::slots`].
    pub id: u32,
    /// Which of pympler's estimates (`basicsize`, `itemsize`, `leng`) describe the type.
    pub shape: Shape,
    /// 1 + the index of the type's footprint function (see `libraries`); 0 for none.
    pub library: u16,
}

/// [`Rule::pre_header`] when it depends on the object, not only on its type.
pub const PER_OBJECT: u32 = u32::MAX;

/// What the crate knows about one builtin type: its rule, the formula of the
/// `__sizeof__` it defines (if the crate knows it) and pympler's estimates for it.
#[derive(Clone, Copy)]
pub struct TypeEntry {
    refs: Refs,
    code_only: bool,
    ignored: bool,
    /// The formula of the type's own `__sizeof__` (found by its descriptor, so that
    /// subclasses that inherit it use it too).
    sizeof: Option<Flat>,
    pub estimate: Estimate,
}

const fn entry(refs: Refs, code_only: bool, ignored: bool) -> TypeEntry {
    TypeEntry { refs, code_only, ignored, sizeof: None, estimate: Estimate::plain(!matches!(refs, Refs::None)) }
}
const fn data(refs: Refs) -> TypeEntry {
    entry(refs, false, false)
}
const fn code(refs: Refs) -> TypeEntry {
    entry(refs, true, false)
}
const fn code_ignored() -> TypeEntry {
    entry(Refs::None, true, true)
}

impl TypeEntry {
    /// The type defines a `__sizeof__` computed by `flat`.
    const fn sizeof(self, flat: Flat) -> TypeEntry {
        TypeEntry { sizeof: Some(flat), ..self }
    }
    /// pympler's item size (when the type reports none) and length estimate.
    const fn items(self, item: usize, leng: Leng) -> TypeEntry {
        TypeEntry { estimate: self.estimate.items(item, leng), ..self }
    }
    /// pympler's estimates, given in full.
    const fn estimate(self, estimate: Estimate) -> TypeEntry {
        TypeEntry { estimate, ..self }
    }
}

const PTR: usize = std::mem::size_of::<usize>();

/// Exact builtin types, as Python expressions evaluated once per interpreter: how their
/// objects are sized and walked, and what pympler estimates for them. A new builtin type
/// is one line here.
const TYPES: &[(&CStr, TypeEntry)] = &[
    (c"complex", data(Refs::None)),
    (c"float", data(Refs::None)),
    (c"int", data(Refs::None).sizeof(Flat::Int).items(0, Leng::Int)),
    (c"bool", data(Refs::None)),
    (c"type(None)", data(Refs::None)),
    (c"type(Ellipsis)", data(Refs::None)),
    (c"type(NotImplemented)", data(Refs::None)),
    (c"str", data(Refs::None).sizeof(Flat::Str).items(1, Leng::StrLen)),
    // pympler never registers bytes as a builtin: they are sized as instances, whose
    // class is reached (and skipped); its estimates still say "no referents".
    (c"bytes", data(Refs::Instance).sizeof(Flat::Object).estimate(Estimate::plain(false).items(1, Leng::SafeLen))),
    (c"bytearray", data(Refs::None).sizeof(Flat::ByteArray).items(1, Leng::Alloc)),
    (c"range", data(Refs::None)),
    (c"slice", data(Refs::None).items(PTR, Leng::Slice)),
    (c"struct.Struct", data(Refs::None).items(1, Leng::StructSize)),
    (c"types.GetSetDescriptorType", data(Refs::None)),
    (c"types.MemberDescriptorType", data(Refs::None)),
    (c"weakref.ProxyType", data(Refs::None)),
    (c"list", data(Refs::List).sizeof(Flat::List).items(PTR, Leng::List)),
    (c"tuple", data(Refs::Tuple).sizeof(Flat::Object).items(PTR, Leng::SafeLen)),
    (c"set", data(Refs::Set).sizeof(Flat::Set).items(SET_ENTRY, Leng::Set)),
    (c"frozenset", data(Refs::Set).sizeof(Flat::Set).items(SET_ENTRY, Leng::Set)),
    (c"dict", data(Refs::Dict).sizeof(Flat::Dict).items(DICT_ENTRY, Leng::Dict)),
    (c"types.MappingProxyType", data(Refs::MappingProxy).items(DICT_ENTRY, Leng::Dict)),
    (c"types.ModuleType", data(Refs::Module).estimate(Estimate::module())),
    (c"property", data(Refs::Attrs(&PROPERTY_ATTRS))),
    (c"enumerate", data(Refs::Attrs(&DOC_ATTRS))),
    (c"reversed", data(Refs::Attrs(&DOC_ATTRS))),
    (c"Exception", data(Refs::Attrs(&EXCEPTION_ATTRS))),
    (c"os.stat_result", data(Refs::Attrs(&STAT_ATTRS))),
    (
        c"type(os.statvfs('.')) if hasattr(os, 'statvfs') else None",
        data(Refs::Attrs(&STATVFS_ATTRS)).items(PTR, Leng::SafeLen),
    ),
    (c"types.TracebackType", data(Refs::Attrs(&TRACEBACK_ATTRS))),
    (c"types.GeneratorType", data(Refs::Attrs(&GENERATOR_ATTRS))),
    (c"weakref.ref", data(Refs::WeakRef)),
    (c"weakref.KeyedRef", data(Refs::WeakRef)),
    // Calling a callable proxy would call its referent: nothing is followed.
    (c"weakref.CallableProxyType", code(Refs::None)),
    (c"classmethod", code(Refs::Attrs(&METHOD_ATTRS))),
    (c"staticmethod", code(Refs::Attrs(&METHOD_ATTRS))),
    (c"types.MethodType", code(Refs::Attrs(&METHOD_ATTRS))),
    (c"object", code_ignored().sizeof(Flat::Object)),
    (c"super", code_ignored()),
    // Iterators over builtin containers: sized with what they traverse.
    (c"type(iter({}.items()))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter({}.keys()))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter({}.values()))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(reversed([]))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(re.finditer('', ''))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter([]))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter(()))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter(bytearray()))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter(b''))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter(set()))", data(Refs::Traverse).items(0, Leng::Iter)),
    (c"type(iter(''))", data(Refs::Traverse).items(0, Leng::Iter)),
];

/// Modules whose classes, and the instances that report them as `__module__`, are shared
/// infrastructure skipped by default (as pympler does for its own module).
pub const IGNORED_MODULES: &[&CStr] = &[c"builtins", c"types", c"heapscope.asizeof"];

/// Per-interpreter constants: the static table, known `__sizeof__` descriptors, a few
/// types and interned names.
pub struct Registry {
    static_rules: AHashMap<usize, (Py<PyAny>, TypeEntry)>,
    sizeof_formulas: AHashMap<usize, (Py<PyAny>, Flat)>,
    array_type: Py<PyAny>,
    builtin_function_type: Py<PyAny>,
    method_type: Py<PyAny>,
    pub names: Names,
}

/// Interned attribute names used on hot paths.
pub struct Names {
    pub sizeof: Py<PyString>,
    pub module: Py<PyString>,
    pub fields: Py<PyString>,
    pub dtype: Py<PyString>,
    pub itemsize: Py<PyString>,
    pub nbytes: Py<PyString>,
    pub items: Py<PyString>,
}

static REGISTRY: PyOnceLock<Registry> = PyOnceLock::new();

pub fn registry(py: Python<'_>) -> PyResult<&'static Registry> {
    REGISTRY.get_or_try_init(py, || Registry::build(py))
}

impl Registry {
    fn build(py: Python<'_>) -> PyResult<Registry> {
        let globals = crate::ffi::new_dict(py)?;
        py.run(c"import types, weakref, os, struct, re, array", Some(&globals), None)?;
        let eval = |expr: &CStr| py.eval(expr, Some(&globals), None);
        let sizeof = PyString::intern(py, "__sizeof__");
        let mut static_rules = AHashMap::new();
        let mut sizeof_formulas = AHashMap::new();
        for (expr, entry) in TYPES {
            let tp = eval(expr)?;
            if tp.is_none() {
                continue;
            }
            if let Some(flat) = entry.sizeof {
                // SAFETY: `tp` is a live, ready builtin type and `sizeof` a live str.
                let descr = unsafe { ffi::type_lookup(tp.as_ptr().cast(), sizeof.as_ptr()) };
                if !descr.is_null() {
                    // SAFETY: `descr` is a live descriptor borrowed from the type's dict.
                    let owned = unsafe { Bound::from_borrowed_ptr(py, descr) }.unbind();
                    sizeof_formulas.entry(descr as usize).or_insert((owned, flat));
                }
            }
            static_rules.entry(tp.as_ptr() as usize).or_insert((tp.unbind(), *entry));
        }
        let names = Names {
            sizeof: sizeof.unbind(),
            module: PyString::intern(py, "__module__").unbind(),
            fields: PyString::intern(py, "_fields").unbind(),
            dtype: PyString::intern(py, "dtype").unbind(),
            itemsize: PyString::intern(py, "itemsize").unbind(),
            nbytes: PyString::intern(py, "nbytes").unbind(),
            items: PyString::intern(py, "items").unbind(),
        };
        Ok(Registry {
            static_rules,
            sizeof_formulas,
            array_type: eval(c"array.array")?.unbind(),
            builtin_function_type: eval(c"types.BuiltinFunctionType")?.unbind(),
            method_type: eval(c"types.MethodType")?.unbind(),
            names,
        })
    }

    /// The table entry of an exact builtin type.
    pub fn entry(&self, tp: RawType) -> Option<&TypeEntry> {
        self.static_rules.get(&(tp as usize)).map(|(_, entry)| entry)
    }

    /// The formula for a type's `__sizeof__`, or [`Flat::Call`] when it has its own.
    ///
    /// # Safety
    /// `tp` must be a live, ready type.
    #[inline]
    pub unsafe fn flat_for(&self, tp: RawType) -> Flat {
        // SAFETY: `tp` is a live, ready type (caller); the name is an interned str.
        let descr = unsafe { ffi::type_lookup(tp, self.names.sizeof.as_ptr()) };
        self.sizeof_formulas.get(&(descr as usize)).map_or(Flat::Call, |(_, flat)| *flat)
    }
}

/// Options that change how types are classified.
#[derive(Clone, Copy)]
pub struct ClassifyOptions {
    pub frames: bool,
    pub infer: bool,
    /// Whether the footprint functions of data libraries apply (deep sizes only: flat
    /// sizes stay what `sys.getsizeof` says).
    pub libraries: bool,
}

impl Default for ClassifyOptions {
    fn default() -> ClassifyOptions {
        ClassifyOptions { frames: false, infer: false, libraries: true }
    }
}

/// Rules computed during one sizing call, by type address.
pub struct RuleCache {
    registry: &'static Registry,
    options: ClassifyOptions,
    by_type: AHashMap<usize, (Strong, Rule)>,
    /// `__slots__` of each classified type, by [`Rule::id`].
    slots: Vec<Rc<[Slot]>>,
    /// The most recently used rules, checked before the map: a walk meets few types.
    recent: [(usize, Option<Rule>); RECENT],
    next_recent: usize,
    /// The last type asked of [`plain_arrays`], and the answer.
    last_array: (usize, Option<ffi::Elsize>),
}

const RECENT: usize = 8;

impl RuleCache {
    pub fn new(registry: &'static Registry, options: ClassifyOptions) -> RuleCache {
        RuleCache {
            registry,
            options,
            by_type: AHashMap::new(),
            slots: Vec::new(),
            recent: [(0, None); RECENT],
            next_recent: 0,
            last_array: (0, None),
        }
    }

    pub fn registry(&self) -> &'static Registry {
        self.registry
    }

    /// The `__slots__` of the type a rule was made for.
    pub fn slots(&self, id: u32) -> &Rc<[Slot]> {
        &self.slots[id as usize]
    }

    /// Where the item size of `tp`'s arrays is read, if `tp` is a plain numpy array type
    /// (see [`plain_arrays`]) and footprints apply. Runs no Python code.
    #[inline]
    pub fn plain_array(&mut self, tp: RawType) -> Option<ffi::Elsize> {
        if !self.options.libraries || !ffi::layout_ok(ffi::Layout::NumpyArray) {
            return None;
        }
        if self.last_array.0 != tp as usize {
            self.last_array = (tp as usize, plain_arrays::elsize(tp));
        }
        self.last_array.1
    }

    /// The cached rule for `tp`, if classified already.
    #[inline]
    pub fn cached(&mut self, tp: RawType) -> Option<Rule> {
        let key = tp as usize;
        for (recent_key, rule) in &self.recent {
            if *recent_key == key {
                return *rule;
            }
        }
        let rule = self.by_type.get(&key)?.1;
        self.recent[self.next_recent] = (key, Some(rule));
        self.next_recent = (self.next_recent + 1) % RECENT;
        Some(rule)
    }

    /// Classifies the type of `obj` (which the caller holds strongly: classification may
    /// run Python code) and caches the rule. An `Exception` raised by the code run is
    /// passed over as pympler does; any other error (`KeyboardInterrupt`) is returned,
    /// and the type stays unclassified.
    pub fn classify(&mut self, py: Python<'_>, obj: &Strong) -> PyResult<Rule> {
        // SAFETY: `obj` is held strongly, so it and its type are alive.
        let tp = unsafe { ffi::type_of(obj.as_ptr()) };
        if let Some(rule) = self.cached(tp) {
            return Ok(rule);
        }
        // SAFETY: `obj` is held strongly by the caller for as long as the borrow lives.
        let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
        let (mut rule, slots) = self.build(&bound)?;
        rule.id = self.slots.len() as u32;
        // SAFETY: `tp` is a live type.
        rule.pre_header = unsafe { ffi::type_pre_header(tp) }.map_or(PER_OBJECT, |size| size as u32);
        self.slots.push(slots);
        // SAFETY: `tp` is alive (the type of a live object); the cache keeps it so.
        let type_ref = unsafe { Strong::from_borrowed(tp.cast()) };
        self.by_type.insert(tp as usize, (type_ref, rule));
        Ok(rule)
    }

    /// The rule of `obj`'s type; with a footprint function registered for it (see
    /// `libraries`), the function's index, and the flat size the type would have
    /// without the registered class's own `__sizeof__` (which may already count what
    /// the function reports as buffers).
    fn build(&self, obj: &Bound<'_, PyAny>) -> PyResult<(Rule, Rc<[Slot]>)> {
        let (mut rule, slots) = self.build_plain(obj)?;
        if self.options.libraries {
            let class = obj.get_type();
            if let Some(found) = crate::asizeof::libraries::hook_for(&class, &self.registry.names)? {
                rule.library = found.index.saturating_add(1);
                rule.flat = match found.next.as_ref() {
                    // SAFETY: `next` is a live, ready type (a class of the MRO, held).
                    Some(next) => unsafe { self.registry.flat_for(next.as_type_ptr()) },
                    None => Flat::Object,
                };
                if rule.flat == Flat::Call {
                    rule.flat = Flat::Object;
                }
            }
            if let (0, Refs::NumpyFields, Flat::Numpy(elsize)) = (rule.library, rule.refs, rule.flat) {
                plain_arrays::note(&class, elsize);
            }
        }
        Ok((rule, slots))
    }

    fn build_plain(&self, obj: &Bound<'_, PyAny>) -> PyResult<(Rule, Rc<[Slot]>)> {
        let reg = self.registry;
        let class = obj.get_type();
        let tp = class.as_type_ptr();
        let ptr = obj.as_ptr();
        // SAFETY: `tp` is the live, ready type of a live object (held by `class`).
        let flat = unsafe { reg.flat_for(tp) };
        let no_slots = || Rc::from(Vec::new());
        let rule = |refs: Refs| Rule {
            refs,
            flat,
            code_only: false,
            ignored: false,
            is_class: false,
            is_module: false,
            pre_header: PER_OBJECT,
            id: 0,
            shape: Shape::Instance,
            library: 0,
        };
        if let Some((_, fixed)) = reg.static_rules.get(&(tp as usize)) {
            let rule = Rule {
                code_only: fixed.code_only,
                ignored: fixed.ignored,
                is_module: fixed.refs == Refs::Module,
                shape: Shape::Static,
                ..rule(fixed.refs)
            };
            return Ok((rule, no_slots()));
        }
        // Each check below reads only the type of `ptr`, alive as `obj` is: every
        // `unsafe` here relies on that and on `tp` being its (live) type.
        // SAFETY: see above.
        if unsafe { ffi::is_module(ptr) } {
            return Ok((Rule { is_module: true, shape: Shape::Module, ..rule(Refs::Module) }, no_slots()));
        }
        // SAFETY: see above.
        if unsafe { ffi::is_frame(ptr) } {
            let frame = Rule { ignored: !self.options.frames, shape: Shape::Frame, ..rule(Refs::Attrs(&FRAME_ATTRS)) };
            return Ok((frame, no_slots()));
        }
        // SAFETY: see above.
        if unsafe { ffi::is_code(ptr) } {
            return Ok((Rule { code_only: true, shape: Shape::Code, ..rule(Refs::Attrs(&CODE_ATTRS)) }, no_slots()));
        }
        // SAFETY: see above.
        if unsafe { ffi::is_callable_type(tp) } {
            // SAFETY: see above.
            if unsafe { ffi::is_type(ptr) } {
                let class =
                    Rule { code_only: true, is_class: true, shape: Shape::Plain, ..rule(Refs::Attrs(&CLASS_ATTRS)) };
                return Ok((class, no_slots()));
            }
            // SAFETY: see above; the registry holds the builtin function type.
            if unsafe { ffi::is_instance_of(ptr, reg.builtin_function_type.as_ptr().cast()) } {
                return Ok((
                    Rule { code_only: true, ignored: true, shape: Shape::Plain, ..rule(Refs::None) },
                    no_slots(),
                ));
            }
            // SAFETY: see above.
            if unsafe { ffi::is_function(ptr) } {
                let function = Rule { code_only: true, shape: Shape::Plain, ..rule(Refs::Attrs(&FUNCTION_ATTRS)) };
                return Ok((function, no_slots()));
            }
            // SAFETY: see above; the registry holds the method type.
            if unsafe { ffi::is_instance_of(ptr, reg.method_type.as_ptr().cast()) } {
                let method = Rule { code_only: true, shape: Shape::Plain, ..rule(Refs::Attrs(&METHOD_ATTRS)) };
                return Ok((method, no_slots()));
            }
            return Ok((rule(Refs::Instance), slots_of(&class)?));
        }
        // SAFETY: see above.
        if unsafe { ffi::is_dict(ptr) } {
            // pympler follows `items()`: a subclass that overrides it (OrderedDict)
            // may order or even choose its items differently from the table.
            let items = |t: RawType| {
                // SAFETY: `t` is `tp` or `dict`, both live and ready; the name is interned.
                unsafe { ffi::type_lookup(t, reg.names.items.as_ptr()) }
            };
            let own_items = items(tp) == items(ffi::dict_type());
            let refs = if own_items { Refs::Dict } else { Refs::DictLike };
            return Ok((Rule { shape: Shape::Dict, ..rule(refs) }, no_slots()));
        }
        if is_weak_dict_type(&class)? {
            return Ok((Rule { shape: Shape::Dict, ..rule(Refs::DictLike) }, no_slots()));
        }
        // pympler's estimates do not infer dicts: their shape stays that of an instance.
        if self.options.infer && looks_like_dict(obj)? {
            return Ok((rule(Refs::DictLike), no_slots()));
        }
        // SAFETY: see above.
        if unsafe { ffi::is_cell(ptr) } {
            return Ok((Rule { shape: Shape::Cell, ..rule(Refs::Attrs(&CELL_ATTRS)) }, no_slots()));
        }
        // SAFETY: see above.
        if unsafe { ffi::is_tuple(ptr) } && has_class_attr(&class, &reg.names.fields) {
            return Ok((Rule { shape: Shape::Plain, ..rule(Refs::NamedTuple) }, slots_of(&class)?));
        }
        if is_numpy_type(&class, &reg.names)? {
            // The struct is read only for types whose `__sizeof__` is numpy's own (a
            // subclass may override it).
            let layout = ffi::array_layout(obj)?;
            let (refs, numpy_flat) = match layout {
                ffi::ArrayLayout::Unknown => (Refs::Numpy, flat),
                ffi::ArrayLayout::Fields => (Refs::NumpyFields, flat),
                ffi::ArrayLayout::Sized(elsize) => (Refs::NumpyFields, Flat::Numpy(elsize)),
            };
            let numpy_flat = if numpy_sizeof_is_inherited(&class, &reg.names)? { numpy_flat } else { flat };
            return Ok((Rule { shape: Shape::Numpy, flat: numpy_flat, ..rule(refs) }, no_slots()));
        }
        // SAFETY: see above; the registry holds the array type.
        if unsafe { ffi::is_instance_of(ptr, reg.array_type.as_ptr().cast()) } {
            return Ok((Rule { shape: Shape::Array, ..rule(Refs::None) }, no_slots()));
        }
        if type_module(&class, &reg.names).is_some_and(|m| is_ignored_module(&m)) {
            return Ok((Rule { ignored: true, shape: Shape::Plain, ..rule(Refs::None) }, no_slots()));
        }
        // SAFETY: see above.
        if unsafe { ffi::is_exception_type(tp) } {
            return Ok((rule(Refs::Attrs(&EXCEPTION_ATTRS)), no_slots()));
        }
        Ok((rule(Refs::Instance), slots_of(&class)?))
    }
}

pub static CELL_ATTRS: AttrSpec = AttrSpec::names(&["cell_contents"]);

/// Whether `value` is a str equal to the ASCII text `expected`. Strings met while walking
/// are only ever compared and combined by Python's own string functions: converting one
/// to Rust text would store a UTF-8 copy inside a non-ASCII str, growing the heap being
/// measured.
pub fn str_equals(value: &Bound<'_, PyAny>, expected: &CStr) -> bool {
    // SAFETY: `value` is alive for the borrow; the comparison reads it without changing it.
    unsafe { ffi::str_equals_ascii(value.as_ptr(), expected) }
}

/// Whether `value` is a str starting with `prefix` (compared by Python); `false` when
/// that raises an `Exception` (a str subclass's own `startswith`), any other error
/// propagates.
pub fn str_starts_with(value: &Bound<'_, PyAny>, prefix: &str) -> PyResult<bool> {
    if !value.is_instance_of::<PyString>() {
        return Ok(false);
    }
    let py = value.py();
    let starts = crate::ffi::new_str(py, prefix)
        .and_then(|prefix| value.call_method1(crate::pystr!(py, "startswith")?, (prefix,)))
        .and_then(|r| r.is_truthy());
    Ok(lenient(py, starts)?.unwrap_or(false))
}

/// `Some(value)`, or `None` for an `Exception`, which classification passes over as
/// pympler does; any other error (`KeyboardInterrupt`, `SystemExit`) is returned.
pub fn lenient<T>(py: Python<'_>, result: PyResult<T>) -> PyResult<Option<T>> {
    crate::heap::edges::unless_exception(py, result)
}

/// Whether a module name is one of the [`IGNORED_MODULES`].
pub fn is_ignored_module(module: &Bound<'_, PyAny>) -> bool {
    IGNORED_MODULES.iter().any(|name| str_equals(module, name))
}

/// `__module__` as an instance of `tp` would see it (a class attribute, read without
/// running code), or `None`.
fn type_module<'py>(tp: &Bound<'py, PyType>, names: &Names) -> Option<Bound<'py, PyAny>> {
    class_attr(tp, &names.module)
}

/// An attribute found along the MRO of `tp` (no descriptor called, no code run).
fn class_attr<'py>(tp: &Bound<'py, PyType>, name: &Py<PyString>) -> Option<Bound<'py, PyAny>> {
    // SAFETY: `tp` is a live type (a bound reference) and `name` a live str; the
    // borrowed result is taken strongly at once, before anything else runs.
    unsafe {
        let found = ffi::type_lookup(tp.as_type_ptr(), name.as_ptr());
        (!found.is_null()).then(|| Bound::from_borrowed_ptr(tp.py(), found))
    }
}

/// Whether `name` is found along the MRO of `tp` (no descriptor called, no code run).
fn has_class_attr(tp: &Bound<'_, PyType>, name: &Py<PyString>) -> bool {
    // SAFETY: `tp` is a live type (a bound reference) and `name` a live str; only the
    // nullness of the borrowed result is used.
    unsafe { !ffi::type_lookup(tp.as_type_ptr(), name.as_ptr()).is_null() }
}

/// Whether a class reports one of the ignored modules as its `__module__` (an
/// `Exception` reading it: no).
pub fn is_ignored_class(class: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = class.py();
    Ok(lenient(py, class.getattr(crate::pystr!(py, "__module__")?))?.is_some_and(|module| is_ignored_module(&module)))
}

fn is_weak_dict_type(tp: &Bound<'_, PyType>) -> PyResult<bool> {
    let py = tp.py();
    if !lenient(py, tp.getattr(crate::pystr!(py, "__module__")?))?.is_some_and(|m| str_equals(&m, c"weakref")) {
        return Ok(false);
    }
    let name = lenient(py, tp.getattr(crate::pystr!(py, "__name__")?))?;
    Ok(name.is_some_and(|n| str_equals(&n, c"WeakKeyDictionary") || str_equals(&n, c"WeakValueDictionary")))
}

/// pympler's `infer` test: an object offering the mapping methods (with `has_key`).
fn looks_like_dict(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = obj.py();
    let names = [
        crate::pystr!(py, "items")?,
        crate::pystr!(py, "keys")?,
        crate::pystr!(py, "values")?,
        crate::pystr!(py, "__len__")?,
        crate::pystr!(py, "get")?,
        crate::pystr!(py, "has_key")?,
    ];
    for name in names {
        if !lenient(py, obj.getattr(name))?.is_some_and(|a| a.is_callable()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// numpy array types whose struct and `__sizeof__` were checked (see `ffi::numpy`) and
/// that no footprint function claims, remembered for the process, so that walks that
/// cannot run Python code (the unordered pass of `asizeof`) size their arrays too.
pub mod plain_arrays {
    use crate::ffi::{Elsize, RawType};
    use ahash::AHashMap;
    use pyo3::prelude::*;
    use pyo3::types::PyType;
    use std::sync::Mutex;

    /// By type address; each type is held, so the address stays its own.
    type Types = Option<AHashMap<usize, (Py<PyType>, Elsize)>>;
    static TYPES: Mutex<Types> = Mutex::new(None);

    fn types() -> std::sync::MutexGuard<'static, Types> {
        TYPES.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers `tp`, a numpy array type, with where its item size is read.
    pub fn note(tp: &Bound<'_, PyType>, elsize: Elsize) {
        let mut types = types();
        let map = types.get_or_insert_with(AHashMap::new);
        let key = tp.as_type_ptr() as usize;
        if !map.contains_key(&key) && map.len() < 64 {
            map.insert(key, (tp.clone().unbind(), elsize));
        }
    }

    /// Where the item size of `tp`'s arrays is read, if `tp` is a remembered type.
    #[inline]
    pub fn elsize(tp: RawType) -> Option<Elsize> {
        types().as_ref()?.get(&(tp as usize)).map(|(_, elsize)| *elsize)
    }

    /// Forgets every type (a footprint function was registered, which may claim one).
    pub fn forget() {
        let forgotten = types().take();
        drop(forgotten);
    }
}

/// Whether `tp`'s `__sizeof__` is `numpy.ndarray`'s (not a subclass's own).
fn numpy_sizeof_is_inherited(tp: &Bound<'_, PyType>, names: &Names) -> PyResult<bool> {
    let py = tp.py();
    let Some(ndarray) = lenient(py, py.import("numpy").and_then(|np| np.getattr("ndarray")))? else {
        return Ok(false);
    };
    let Ok(ndarray) = ndarray.cast_into::<PyType>() else { return Ok(false) };
    // SAFETY: both are live types (bound); the name is a live str. Only the identity
    // of the borrowed results is compared.
    Ok(unsafe {
        let ours = ffi::type_lookup(tp.as_type_ptr(), names.sizeof.as_ptr());
        !ours.is_null() && ours == ffi::type_lookup(ndarray.as_type_ptr(), names.sizeof.as_ptr())
    })
}

fn is_numpy_type(tp: &Bound<'_, PyType>, names: &Names) -> PyResult<bool> {
    let has = |name: &Py<PyString>| has_class_attr(tp, name);
    if !(has(&names.dtype) && has(&names.itemsize) && has(&names.nbytes)) {
        return Ok(false);
    }
    let py = tp.py();
    match lenient(py, tp.getattr(crate::pystr!(py, "__module__")?))? {
        Some(module) => str_starts_with(&module, "numpy"),
        None => Ok(false),
    }
}

/// The `__slots__` values an instance of `tp` holds, named and ordered as pympler reads
/// them: along the MRO, private names mangled with the class name, first one wins.
fn slots_of(tp_bound: &Bound<'_, PyType>) -> PyResult<Rc<[Slot]>> {
    let py = tp_bound.py();
    let tp = tp_bound.as_type_ptr();
    let mut slots: Vec<Slot> = Vec::new();
    // An `Exception` raised on the way leaves out what it concerns, as in pympler; any
    // other error propagates.
    // Found as `hasattr` finds it (along the MRO, then the metaclass's), but read from
    // the namespaces: `hasattr` on a class met for the first time writes an entry of the
    // interpreter's type-attribute cache, and the name that entry held may be held by
    // nothing else (tests/test_type_cache.py).
    let slots_name = crate::pystr!(py, "__slots__")?;
    // SAFETY: `tp` is a live type (held by `tp_bound`), so is its metaclass (its
    // `ob_type`, which it holds); the name is a live str. Only nullness is used.
    let declared = unsafe {
        !ffi::type_lookup(tp, slots_name.as_ptr()).is_null()
            || !ffi::type_lookup(ffi::type_of(tp.cast()), slots_name.as_ptr()).is_null()
    };
    if !declared {
        return Ok(Rc::from(slots));
    }
    let Some(mro) = lenient(py, tp_bound.getattr(crate::pystr!(py, "__mro__")?))? else { return Ok(Rc::from(slots)) };
    let Some(classes) = lenient(py, mro.try_iter())? else { return Ok(Rc::from(slots)) };
    for class in classes {
        let Some(class) = lenient(py, class)? else { continue };
        let Some(class_name) = lenient(py, class.getattr(crate::pystr!(py, "__name__")?))? else { continue };
        let Some(declared) = lenient(py, class.getattr(crate::pystr!(py, "__slots__")?))? else { continue };
        let Some(names) = lenient(py, declared.try_iter())? else { continue };
        for name in names {
            let Some(name) = lenient(py, name)? else { continue };
            if !name.is_instance_of::<PyString>() {
                continue;
            }
            let name = if str_starts_with(&name, "__")? {
                let mangled = crate::pystr!(py, "_").and_then(|u| u.add(&class_name)).and_then(|n| n.add(&name));
                let Some(mangled) = lenient(py, mangled)? else { continue };
                mangled
            } else {
                name
            };
            let mut known = false;
            for slot in &slots {
                if lenient(py, PyAnyMethods::eq(slot.name().bind(py).as_any(), &name))?.unwrap_or(false) {
                    known = true;
                    break;
                }
            }
            if known {
                continue;
            }
            // SAFETY: `tp` is a live type (held by `tp_bound`); `name` a live str.
            let descr = unsafe { ffi::type_lookup(tp, name.as_ptr()) };
            if descr.is_null() {
                continue;
            }
            let Ok(name) = name.cast_into::<PyString>() else { continue };
            // SAFETY: `descr` is alive, borrowed from a dict along the MRO; `tp` is a
            // live, ready type. A descriptor that is not `tp`'s own (or a base's), or
            // whose offset lies past the instance, is read with `getattr`.
            let slot = match unsafe { ffi::object_member_offset(descr, tp) } {
                Some(offset) => Slot::Member { name: name.unbind(), offset },
                None => Slot::Attr { name: name.unbind() },
            };
            slots.push(slot);
        }
    }
    Ok(Rc::from(slots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_stays_small() {
        // Copied for every object the walker meets.
        assert!(std::mem::size_of::<Rule>() <= 32);
    }

    #[test]
    fn table_entries_have_consistent_estimates() {
        for (expr, entry) in TYPES {
            // Only bytes are walked as instances while pympler says they have no referents.
            let has_refs = !matches!(entry.refs, Refs::None) && expr.to_bytes() != b"bytes";
            assert_eq!(entry.estimate.has_refs(), has_refs, "{expr:?}");
        }
    }
}
