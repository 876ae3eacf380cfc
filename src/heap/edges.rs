//! How one object refers to another, as text: the names of the steps of `why()`'s
//! chains (`dict['key']`, `list[3]`, `Foo.attr`, `local 'x'`) and the labels of
//! `refgraph`'s edges, the nodes of `refbrowser`'s trees, and the nodes of `asized`
//! trees (the asizeof walk uses those).
//!
//! Naming runs Python code (`repr` of keys, `items()` of mappings, attribute reads), so
//! every object here is held strongly (`Bound`). Only `Exception`s raised by that code
//! are swallowed where a name can do without them; anything else propagates.
//!
//! The objects named are whatever the heap holds, including ones whose own code raises
//! (a dead `weakref.proxy`, a raising `__class__`, `__getattribute__` or metaclass
//! `__name__`). Kinds are told apart by the real type (`Py_TYPE`), never by `isinstance`
//! (which reads `__class__`), and every public namer falls back to a description read
//! from the type object ([`safe_description`]) when the object's code raises an
//! `Exception`.

use crate::ffi::Strong;
use crate::grow::Grow;
use pyo3::exceptions::{PyAttributeError, PyException};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

/// The clip of dict keys in chain steps.
const KEY_CLIP: usize = 40;

/// `Ok(None)` for an `Exception`, the error itself for anything else (KeyboardInterrupt).
pub fn unless_exception<T>(py: Python<'_>, result: PyResult<T>) -> PyResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_instance_of::<PyException>(py) => Ok(None),
        Err(err) => Err(err),
    }
}

/// `result`, or `fallback()` when it is an `Exception` (anything else propagates).
fn or_on_exception<'py>(
    py: Python<'py>,
    result: PyResult<Bound<'py, PyAny>>,
    fallback: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match unless_exception(py, result)? {
        Some(value) => Ok(value),
        None => fallback(),
    }
}

/// The C name of `obj`'s type (`tp_name`), read without running Python code.
fn type_c_name(obj: &Bound<'_, PyAny>) -> String {
    crate::ffi::type_c_name(&obj.get_type())
}

/// How an object is named when its own code raised: `<tp_name object at 0x...>` (`class
/// tp_name` for a class), read from the type object without running Python code.
pub fn safe_description<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    match obj.cast::<PyType>() {
        Ok(class) => new_text(py, &format!("class {}", crate::ffi::type_c_name(class))),
        Err(_) => new_text(py, &format!("<{} object at {:#x}>", type_c_name(obj), obj.as_ptr() as usize)),
    }
}

/// `getattr(obj, name, None)`.
fn getattr_opt<'py, N>(obj: &Bound<'py, PyAny>, name: N) -> PyResult<Option<Bound<'py, PyAny>>>
where
    N: IntoPyObject<'py, Target = PyString>,
{
    match obj.getattr(name) {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_instance_of::<PyAttributeError>(obj.py()) => Ok(None),
        Err(err) => Err(err),
    }
}

/// `name`, or `?` without one.
fn or_question_mark<'py>(py: Python<'py>, name: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    match name {
        Some(name) => Ok(name),
        None => Ok(crate::pystr!(py, "?")?.into_any()),
    }
}

/// The types the namer tells apart, looked up once per naming. Each is compared with
/// the real type of an object (these cannot be subclassed, except modules, which are
/// checked by their type's bases), never through `isinstance`.
pub struct Kinds<'py> {
    cell: Bound<'py, PyAny>,
    function: Bound<'py, PyAny>,
    method: Bound<'py, PyAny>,
    object_getattribute: Bound<'py, PyAny>,
}

impl<'py> Kinds<'py> {
    pub fn new(py: Python<'py>) -> PyResult<Kinds<'py>> {
        let types = py.import(crate::pystr!(py, "types")?)?;
        Ok(Kinds {
            cell: types.getattr(crate::pystr!(py, "CellType")?)?,
            function: types.getattr(crate::pystr!(py, "FunctionType")?)?,
            method: types.getattr(crate::pystr!(py, "MethodType")?)?,
            object_getattribute: py
                .import(crate::pystr!(py, "builtins")?)?
                .getattr(crate::pystr!(py, "object")?)?
                .getattr(crate::pystr!(py, "__getattribute__")?)?,
        })
    }

    /// A module (or an instance of a subclass), by its real type.
    pub fn is_module(&self, obj: &Bound<'py, PyAny>) -> bool {
        // SAFETY: `obj` is held by the `Bound`; the check reads its type only.
        unsafe { crate::ffi::is_module(obj.as_ptr()) }
    }

    fn is_cell(&self, obj: &Bound<'py, PyAny>) -> bool {
        obj.get_type().is(&self.cell)
    }

    fn is_function(&self, obj: &Bound<'py, PyAny>) -> bool {
        obj.get_type().is(&self.function)
    }

    fn is_method(&self, obj: &Bound<'py, PyAny>) -> bool {
        obj.get_type().is(&self.method)
    }
}

/// How an object is shown on a chain: `module 'name'`, `class Qual.name`,
/// `function qualname`, else its type's qualified name; [`safe_description`] when the
/// object's (or its class's) own code raises an `Exception`.
pub fn type_name<'py>(kinds: &Kinds<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let named = (|| {
        if kinds.is_module(obj) {
            let name = or_question_mark(py, getattr_opt(obj, crate::pystr!(py, "__name__")?)?)?;
            return crate::pystr!(py, "module ")?.into_any().add(name.repr()?);
        }
        if obj.is_instance_of::<PyType>() {
            return crate::pystr!(py, "class ")?
                .into_any()
                .add(obj.getattr(crate::pystr!(py, "__qualname__")?)?.str()?);
        }
        if kinds.is_function(obj) || kinds.is_method(obj) {
            let name = or_question_mark(py, getattr_opt(obj, crate::pystr!(py, "__qualname__")?)?)?;
            return crate::pystr!(py, "function ")?.into_any().add(name.str()?);
        }
        obj.get_type().getattr(crate::pystr!(py, "__qualname__")?)?.str().map(Bound::into_any)
    })();
    or_on_exception(py, named, || safe_description(obj))
}

/// `type(obj).__qualname__`; the type's C name when that raises an `Exception` (a
/// metaclass's own `__getattribute__`).
pub fn qualname_of_type<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let named =
        obj.get_type().getattr(crate::pystr!(py, "__qualname__")?).and_then(|name| name.str().map(Bound::into_any));
    or_on_exception(py, named, || new_text(py, &type_c_name(obj)))
}

/// `text` cut to `limit` characters, the last three of them `...`.
fn clip<'py>(text_: Bound<'py, PyAny>, limit: usize) -> PyResult<Bound<'py, PyAny>> {
    let length = text_.len()?;
    if length <= limit {
        return Ok(text_);
    }
    let py = text_.py();
    let cut = limit.saturating_sub(3) as isize;
    crate::ffi::get_slice(&text_, 0, cut)?.add(crate::pystr!(py, "...")?)
}

/// A dict key as shown on a chain: its clipped repr, `<type>` when `repr` fails.
fn key_text<'py>(key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = key.py();
    let repr = key.repr().map(Bound::into_any).and_then(|r| clip(r, KEY_CLIP));
    match unless_exception(py, repr)? {
        Some(shown) => Ok(shown),
        None => crate::pystr!(py, "<")?.into_any().add(qualname_of_type(key)?)?.add(crate::pystr!(py, ">")?),
    }
}

/// The key under which `mapping` holds `child` (compared by identity), as shown on a
/// chain; `None` when there is none or reading the mapping raises.
pub fn dict_key_for<'py>(
    mapping: &Bound<'py, PyAny>,
    child: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = mapping.py();
    let found = (|| -> PyResult<Option<Bound<'py, PyAny>>> {
        for pair in mapping.call_method0(crate::pystr!(py, "items")?)?.try_iter()? {
            let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair?.extract()?;
            if value.is(child) {
                return key_text(&key).map(Some);
            }
        }
        Ok(None)
    })();
    Ok(unless_exception(py, found)?.flatten())
}

/// The attribute name under which `parent` holds `child`, from the referents `asizeof`
/// names (read without creating an instance `__dict__`).
fn attr_for<'py>(parent: &Bound<'py, PyAny>, child: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = parent.py();
    let Some(named) = unless_exception(py, crate::asizeof::sizer::named_referents_of(py, parent, true))? else {
        return Ok(None);
    };
    for (name, value) in named {
        let name = name.into_bound(py);
        if !value.is(child) || !name.is_instance_of::<PyString>() {
            continue;
        }
        if name.call_method1(crate::pystr!(py, "startswith")?, ("[V] ",))?.is_truthy()? {
            let rest = crate::ffi::get_slice(&name, 4, isize::MAX)?;
            return Ok(Some(rest.call_method1(crate::pystr!(py, "split")?, (":", 1))?.get_item(0)?));
        }
        if !name.call_method1(crate::pystr!(py, "startswith")?, ("[K] ",))?.is_truthy()? {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// `.name` for a key shown as a quoted string (`'name'`), else `None`.
fn attribute_from_key<'py>(key: Option<Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(key) = key else { return Ok(None) };
    let py = key.py();
    if !key.call_method1(crate::pystr!(py, "startswith")?, (crate::pystr!(py, "'")?,))?.is_truthy()? {
        return Ok(None);
    }
    Ok(Some(crate::pystr!(py, ".")?.into_any().add(crate::ffi::get_slice(&key, 1, -1)?)?))
}

/// How `parent` refers to `child`, as text to append to the parent's name, and whether
/// `child` is folded into it (an instance's or class's `__dict__`, named by the key of
/// `after` in it). Nothing (an empty text) when the objects' own code raises an
/// `Exception`.
pub fn chain_edge<'py>(
    kinds: &Kinds<'py>,
    parent: &Bound<'py, PyAny>,
    child: &Bound<'py, PyAny>,
    after: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, bool)> {
    let py = parent.py();
    let edge = chain_edge_of(kinds, parent, child, after);
    match unless_exception(py, edge)? {
        Some(edge) => Ok(edge),
        None => Ok((crate::pystr!(py, "")?.into_any(), false)),
    }
}

fn chain_edge_of<'py>(
    kinds: &Kinds<'py>,
    parent: &Bound<'py, PyAny>,
    child: &Bound<'py, PyAny>,
    after: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, bool)> {
    let py = parent.py();
    let empty = || -> PyResult<(Bound<'py, PyAny>, bool)> { Ok((crate::pystr!(py, "")?.into_any(), false)) };
    if parent.is_instance_of::<PyDict>() {
        return Ok(match dict_key_for(parent, child)? {
            Some(key) => (crate::pystr!(py, "[")?.into_any().add(key)?.add(crate::pystr!(py, "]")?)?, false),
            None => (crate::pystr!(py, " key")?.into_any(), false),
        });
    }
    if parent.is_instance_of::<PyList>() || parent.is_instance_of::<PyTuple>() {
        for (i, item) in parent.try_iter()?.enumerate() {
            if item?.is(child) {
                return Ok((new_text(py, &format!("[{i}]"))?, false));
            }
        }
        return empty();
    }
    if kinds.is_module(parent) {
        return empty();
    }
    if kinds.is_cell(parent) {
        return Ok((crate::pystr!(py, ".cell_contents")?.into_any(), false));
    }
    let child_is_dict = child.get_type().is(py.get_type::<PyDict>());
    if parent.is_instance_of::<PyType>() {
        if let (true, Some(after)) = (child_is_dict, after) {
            let key = dict_key_for(&parent.getattr(crate::pystr!(py, "__dict__")?)?, after)?;
            if let Some(attr) = attribute_from_key(key)? {
                return Ok((attr, true));
            }
        }
        return empty();
    }
    if kinds.is_function(parent) {
        for attr in ["__globals__", "__closure__", "__defaults__", "__kwdefaults__", "__dict__", "__code__"] {
            if getattr_opt(parent, crate::ffi::new_str(py, attr)?)?.is_some_and(|v| v.is(child)) {
                return Ok((new_text(py, &format!(".{attr}"))?, false));
            }
        }
        return empty();
    }
    if let (true, Some(after)) = (child_is_dict, after) {
        let offset = getattr_opt(&parent.get_type().into_any(), crate::pystr!(py, "__dictoffset__")?)?;
        let has_dict = match offset {
            Some(offset) => offset.is_truthy()?,
            None => false,
        };
        if has_dict {
            let own = unless_exception(py, kinds.object_getattribute.call1((parent, crate::pystr!(py, "__dict__")?)))?;
            if own.is_some_and(|own| own.is(child)) {
                if let Some(attr) = attribute_from_key(dict_key_for(child, after)?)? {
                    return Ok((attr, true));
                }
            }
        }
    }
    Ok(match attr_for(parent, child)? {
        Some(attr) => (crate::pystr!(py, ".")?.into_any().add(attr)?, false),
        None => empty()?,
    })
}

/// What a chain starts at, which decides how its first reference is named.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RootKind {
    /// A module object.
    Module,
    /// A snapshot of a frame's locals, or the globals of a frame: `, local 'x'`.
    Locals,
    /// A list holding the exception a thread is handling: nothing.
    Thread,
}

/// One named step of a chain: `(text, type name, address)`.
pub type Step<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, usize);

/// The steps of a chain from a root holder (`objects[0]`, shown as `label`) to the
/// target; an instance's or class's `__dict__` is folded into the attribute name.
pub fn name_chain<'py>(
    kinds: &Kinds<'py>,
    objects: &[Bound<'py, PyAny>],
    root: RootKind,
    label: &Bound<'py, PyAny>,
) -> PyResult<Vec<Step<'py>>> {
    let py = label.py();
    let mut steps = Vec::new();
    let n = objects.len();
    let mut i = 0;
    while i < n {
        let obj = &objects[i];
        let mut shown = if i == 0 { label.clone() } else { type_name(kinds, obj)? };
        if i + 1 < n {
            let after = objects.get(i + 2);
            let (edge, folded) = if i == 0 && root == RootKind::Locals {
                match dict_key_for(obj, &objects[i + 1])? {
                    Some(key) if key.is_truthy()? => (crate::pystr!(py, ", local ")?.into_any().add(key)?, false),
                    _ => (crate::pystr!(py, "")?.into_any(), false),
                }
            } else if i == 0 && root == RootKind::Thread {
                (crate::pystr!(py, "")?.into_any(), false)
            } else {
                chain_edge(kinds, obj, &objects[i + 1], after)?
            };
            shown = shown.add(edge)?;
            if folded {
                i += 1; // the __dict__ is shown as the attribute name
            }
        }
        steps.push((shown, qualname_of_type(obj)?, obj.as_ptr() as usize));
        i += 1;
    }
    Ok(steps)
}

/// The label of a reference graph's edge from `src` to `dst`, as pympler's: for a
/// non-empty dict, the first key whose value is `dst` (a `str` key itself, any other
/// key as its `str`, clipped) or nothing when `dst` is only a key; else the name under
/// which `asizeof` finds `dst` among `src`'s referents (`__dict__`, `__class__`, an
/// attribute or slot name, `__code__`, ...), or an instance attribute's name. Empty when
/// none holds `dst` by name (items of lists and tuples), or when the objects' own code
/// raises an `Exception`.
pub fn graph_edge<'py>(src: &Bound<'py, PyAny>, dst: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = src.py();
    or_on_exception(py, graph_edge_of(src, dst), || crate::pystr!(py, "").map(Bound::into_any))
}

/// A dict key as an edge label: a `str` itself, any other key its clipped `str` (its
/// type and address when that raises an `Exception`).
fn key_label<'py>(key: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if key.is_exact_instance_of::<PyString>() {
        return Ok(key);
    }
    let py = key.py();
    let shown = key.str().map(Bound::into_any).and_then(|s| clip(s, 128));
    match unless_exception(py, shown)? {
        Some(shown) => Ok(shown),
        None => safe_description(&key),
    }
}

fn graph_edge_of<'py>(src: &Bound<'py, PyAny>, dst: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = src.py();
    let empty = || crate::pystr!(py, "").map(Bound::into_any);
    if src.is_instance_of::<PyDict>() {
        let mut any = false;
        for pair in src.call_method0(crate::pystr!(py, "items")?)?.try_iter()? {
            let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair?.extract()?;
            any = true;
            if value.is(dst) {
                return key_label(key);
            }
        }
        if any {
            return empty();
        }
    }
    if src.is_instance_of::<PyList>() || src.is_instance_of::<PyTuple>() {
        return empty();
    }
    for (name, value) in crate::asizeof::sizer::named_referents_of(py, src, true)? {
        let name = name.into_bound(py);
        if name.is_none() || !value.is(dst) {
            continue;
        }
        return if name.is_instance_of::<PyString>() { Ok(name) } else { name.str().map(Bound::into_any) };
    }
    // Attributes Python keeps inline (3.13+): the instance refers to their values.
    if let Some(inner) = getattr_opt(src, crate::pystr!(py, "__dict__")?)? {
        if inner.is_instance_of::<PyDict>() && !inner.is(dst) {
            for pair in inner.call_method0(crate::pystr!(py, "items")?)?.try_iter()? {
                let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair?.extract()?;
                if value.is(dst) {
                    return key_label(key);
                }
            }
        }
    }
    empty()
}

/// The references between `objects` as `(id of referrer, id of referent, label)`, each
/// labelled by [`graph_edge`]: the edges of `refgraph.ReferenceGraph`.
#[pyfunction]
pub fn graph_edges<'py>(py: Python<'py>, objects: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    let mut members: ahash::AHashSet<usize> = ahash::AHashSet::new();
    members.grow(objects.len(), "the set of graph members")?;
    members.extend(objects.iter().map(|o| o.as_ptr() as usize));
    let mut edges = Vec::new();
    for src in &objects {
        py.check_signals()?;
        // SAFETY: `src` is held by `objects`; traversal runs no Python code and the
        // referents come back as strong references.
        let referents = unsafe { crate::ffi::traverse_referents(src.as_ptr()) }?;
        for referent in referents {
            if !members.contains(&(referent.as_ptr() as usize)) {
                continue;
            }
            // SAFETY: `referent` is held strongly; the Bound takes its own reference.
            let dst = unsafe { Bound::from_borrowed_ptr(py, referent.as_ptr()) };
            edges.grow(1, "the list of graph edges")?;
            edges.push((src.as_ptr() as usize, dst.as_ptr() as usize, graph_edge(src, &dst)?));
        }
    }
    crate::ffi::IntoNew::into_new(edges, py)
}

/// `text` without its ` at 0x<hex digits>` parts (object addresses in type names), as
/// `re.sub(r" at 0x[0-9a-fA-F]+", "", text)`; `is_digit` says which digits count
/// (pympler's summaries take lower-case ones only).
pub fn without_addresses(text: &str, is_digit: fn(&u8) -> bool) -> String {
    const MARK: &str = " at 0x";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let digits = rest[at + MARK.len()..].bytes().take_while(is_digit).count();
        if digits == 0 {
            out.push_str(&rest[..at + MARK.len()]);
        } else {
            out.push_str(&rest[..at]);
        }
        rest = &rest[at + MARK.len() + digits..];
    }
    out.push_str(rest);
    out
}

/// How a referrer tree shows an object: its type, and for a few types what tells them
/// apart (`module(name)`, `frame (codename: f)`, `function (f)`, `dict, len=3`,
/// `class mod.Name`); else the type's qualified name (with its module unless builtin).
/// When the object's (or its class's) own code raises an `Exception`, its type's C name
/// and its address (`<Name object at 0x...>`, `class Name` for a class).
#[pyfunction]
pub fn node_name<'py>(o: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = o.py();
    or_on_exception(py, node_name_of(o), || safe_description(o))
}

fn node_name_of<'py>(o: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = o.py();
    let t = o.get_type();
    let types = py.import(crate::pystr!(py, "types")?)?;
    let is = |name: Bound<'py, PyString>| -> PyResult<bool> { Ok(t.is(&types.getattr(name)?)) };
    if is(crate::pystr!(py, "ModuleType")?)? {
        return crate::pystr!(py, "module(")?
            .into_any()
            .add(o.getattr(crate::pystr!(py, "__name__")?)?.str()?)?
            .add(crate::pystr!(py, ")")?);
    }
    if is(crate::pystr!(py, "FrameType")?)? {
        return crate::pystr!(py, "frame (codename: ")?
            .into_any()
            .add(o.getattr(crate::pystr!(py, "f_code")?)?.getattr(crate::pystr!(py, "co_name")?)?.str()?)?
            .add(crate::pystr!(py, ")")?);
    }
    if is(crate::pystr!(py, "FunctionType")?)? {
        return crate::pystr!(py, "function (")?
            .into_any()
            .add(o.getattr(crate::pystr!(py, "__name__")?)?.str()?)?
            .add(crate::pystr!(py, ")")?);
    }
    if is(crate::pystr!(py, "MethodType")?)? {
        let name = or_question_mark(py, getattr_opt(o, crate::pystr!(py, "__name__")?)?)?;
        return crate::pystr!(py, "method (")?.into_any().add(name.str()?)?.add(crate::pystr!(py, ")")?);
    }
    let sized = [
        py.get_type::<PyDict>(),
        py.get_type::<PyList>(),
        py.get_type::<PyTuple>(),
        py.get_type::<pyo3::types::PySet>(),
        py.get_type::<pyo3::types::PyFrozenSet>(),
    ];
    if sized.iter().any(|s| t.is(s)) {
        let length = o.len()?;
        return t.getattr(crate::pystr!(py, "__name__")?)?.str()?.add(new_text(py, &format!(", len={length}"))?);
    }
    if o.is_instance_of::<PyType>() {
        let module = o.getattr(crate::pystr!(py, "__module__")?)?.str()?;
        return crate::pystr!(py, "class ")?
            .into_any()
            .add(module)?
            .add(crate::pystr!(py, ".")?)?
            .add(o.getattr(crate::pystr!(py, "__qualname__")?)?.str()?);
    }
    let qualname = t.getattr(crate::pystr!(py, "__qualname__")?)?;
    let module = t.getattr(crate::pystr!(py, "__module__")?)?;
    let name = if module.eq(crate::pystr!(py, "builtins")?)? {
        qualname.str()?
    } else {
        module.str()?.add(crate::pystr!(py, ".")?)?.add(qualname.str()?)?.str()?
    };
    match name.to_str() {
        Ok(plain) => new_text(py, &without_addresses(plain, u8::is_ascii_hexdigit)),
        Err(_) => {
            let pattern = py
                .import(crate::pystr!(py, "re")?)?
                .call_method1(crate::pystr!(py, "compile")?, (" at 0x[0-9a-fA-F]+",))?;
            pattern.call_method1(crate::pystr!(py, "sub")?, ("", name))
        }
    }
}

// -- names of `asized` tree nodes ----------------------------------------------------

/// What the object's own code (`repr`, `str`, `__name__`) gave: `None` for an
/// `Exception` it raised, which names are made without (pympler shows `N/A`); a
/// `MemoryError` and errors that are not `Exception`s (`KeyboardInterrupt`) propagate.
fn own_code<T>(py: Python<'_>, result: PyResult<T>) -> PyResult<Option<T>> {
    match result {
        Err(error) if error.is_instance_of::<pyo3::exceptions::PyMemoryError>(py) => Err(error),
        other => unless_exception(py, other),
    }
}

/// A `str` made from Rust text; a failed allocation is a `MemoryError`.
fn new_text<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    Ok(crate::ffi::new_str(py, text)?.into_any())
}

/// `repr(obj)` with line breaks escaped, shortened to `clip` characters by cutting out
/// its middle; `"N/A"` when `repr` raises an `Exception`. Built with Python's string
/// functions only: a Rust conversion would store a UTF-8 copy inside the strings being
/// measured.
pub fn clipped_repr<'py>(obj: &Bound<'py, PyAny>, clip: usize) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let Some(text) = own_code(py, obj.repr())? else { return crate::pystr!(py, "N/A").map(Bound::into_any) };
    let escaped = text.call_method1(
        crate::pystr!(py, "replace")?,
        (crate::pystr!(py, "\n").map(Bound::into_any)?, crate::pystr!(py, "\\n").map(Bound::into_any)?),
    )?;
    match own_code(py, clip_text(&escaped, clip))? {
        Some(clipped) => Ok(clipped),
        None => crate::pystr!(py, "N/A").map(Bound::into_any),
    }
}

/// `text` (a str) cut to about `clip` characters, pympler's way: its head and tail around
/// `....`.
pub fn clip_text<'py>(text: &Bound<'py, PyAny>, clip: usize) -> PyResult<Bound<'py, PyAny>> {
    let length = text.len()?;
    let half = (clip / 2).saturating_sub(2);
    if clip == 0 || length <= clip || half == 0 {
        return Ok(text.clone());
    }
    let py = text.py();
    let head = crate::ffi::get_slice(text, 0, half as isize)?;
    let tail = crate::ffi::get_slice(text, (length - half) as isize, length as isize)?;
    head.add(crate::pystr!(py, "....").map(Bound::into_any)?)?.add(tail)
}

/// How a tree node is named.
pub enum NamePart<'a> {
    /// After the object: its `__name__` if non-empty, else its clipped repr.
    Object,
    Text(&'a str),
    PyText(&'a Py<PyString>),
    /// `[K] str(key)`.
    Key(&'a Strong),
    /// `[V] str(key): repr(value)`.
    Value(&'a Strong),
}

/// The clip used for dict values in node names (pympler's fixed default).
const VALUE_CLIP: usize = 80;

/// The name of an `asized` tree node for `obj`, made of `part`. `Err` only for a
/// `MemoryError` or an error that is not an `Exception`.
pub fn ref_name(py: Python<'_>, obj: &Strong, part: NamePart<'_>, clip: usize) -> PyResult<Py<PyAny>> {
    // SAFETY: `obj` is held strongly.
    let bound = unsafe { Bound::from_borrowed_ptr(py, obj.as_ptr()) };
    let key_text = |key: &Strong| -> PyResult<Bound<'_, PyAny>> {
        // SAFETY: the key is held strongly.
        let key = unsafe { Bound::from_borrowed_ptr(py, key.as_ptr()) };
        match own_code(py, key.str())? {
            Some(text) => Ok(text.into_any()),
            None => crate::pystr!(py, "N/A").map(Bound::into_any),
        }
    };
    let joined = |parts: &[Bound<'_, PyAny>]| -> PyResult<Py<PyAny>> {
        let mut text = crate::pystr!(py, "").map(Bound::into_any)?;
        for part in parts {
            match own_code(py, text.add(part))? {
                Some(joined) => text = joined,
                None => return Ok(crate::pystr!(py, "N/A").map(Bound::into_any)?.unbind()),
            }
        }
        Ok(text.unbind())
    };
    Ok(match part {
        NamePart::Object => object_name(&bound, clip)?,
        NamePart::Text(text) => new_text(py, text)?.unbind(),
        NamePart::PyText(text) => text.clone_ref(py).into_any(),
        NamePart::Key(key) => joined(&[crate::pystr!(py, "[K] ").map(Bound::into_any)?, key_text(key)?])?,
        NamePart::Value(key) => joined(&[
            crate::pystr!(py, "[V] ").map(Bound::into_any)?,
            key_text(key)?,
            crate::pystr!(py, ": ").map(Bound::into_any)?,
            clipped_repr(&bound, VALUE_CLIP)?,
        ])?,
    })
}

/// pympler's `_nameof(obj) or repr`: a non-empty `__name__` (whatever its type), else
/// the clipped repr. `Err` as for [`ref_name`].
pub fn object_name(obj: &Bound<'_, PyAny>, clip: usize) -> PyResult<Py<PyAny>> {
    let py = obj.py();
    if let Some(name) = own_code(py, obj.getattr(crate::pystr!(py, "__name__")?))? {
        if own_code(py, name.is_truthy())?.unwrap_or(false) {
            return Ok(name.unbind());
        }
    }
    Ok(clipped_repr(obj, clip)?.unbind())
}

#[cfg(test)]
mod tests {
    use super::without_addresses;

    #[test]
    fn addresses_are_cut_out_of_names() {
        assert_eq!(without_addresses("Foo", u8::is_ascii_hexdigit), "Foo");
        assert_eq!(without_addresses("<x at 0x7f00ab> y", u8::is_ascii_hexdigit), "<x> y");
        assert_eq!(without_addresses("a at 0x1 at 0xff b", u8::is_ascii_hexdigit), "a b");
        assert_eq!(without_addresses("a at 0xg", u8::is_ascii_hexdigit), "a at 0xg");
        assert_eq!(without_addresses("a at 0x", u8::is_ascii_hexdigit), "a at 0x");
        assert_eq!(without_addresses(" at 0x at 0x12", u8::is_ascii_hexdigit), " at 0x");
    }
}
