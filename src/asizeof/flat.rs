//! `sys.getsizeof` for many objects in a row: the flat-size formulas of `ffi` chosen per
//! type by the `rules` table (dispatched by [`Flat::sizeof`]), remembered per type so that
//! most objects are sized without touching Python, and the one call of foreign
//! `__sizeof__` methods ([`foreign_sizeof`]).
//!
//! `FlatSizer` is used by the whole-heap passes (`heap`, `summary`), which size every
//! object of the process once (leaving out the look-up cache 3.9 and 3.10 add to hot
//! code objects), and by `muppy`'s figures, which are `sys.getsizeof` exactly.
//! `asizeof`'s walker (`walk`) uses the same dispatch and foreign call, adding what
//! pympler's `asizeof` counts on top of the flat size.

use crate::asizeof::rules::{self, ClassifyOptions, Flat, Registry, RuleCache, PER_OBJECT};
use crate::ffi::{self, RawObj, RawType, Strong};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyInt;

/// How the flat size of one type's objects is computed.
#[derive(Clone, Copy, Debug)]
pub struct FlatRule {
    pub flat: Flat,
    /// The pre-header `sys.getsizeof` adds, or [`PER_OBJECT`].
    pub pre_header: u32,
}

/// Sizes objects like `sys.getsizeof`, one `RuleCache` for the whole pass.
pub struct FlatSizer {
    rules: RuleCache,
    /// What `sys.getsizeof` adds for a static type object (see [`static_type_pre_header`]).
    static_types: usize,
    /// Objects whose `__sizeof__` failed and that were counted with their basic size.
    pub missed: u64,
    /// Whether a code object's look-up cache (3.9, 3.10: see `ffi::code_cache_bytes`)
    /// is counted, as `sys.getsizeof` does.
    code_caches: bool,
}

impl FlatSizer {
    /// The sizer of summaries and heap passes: `sys.getsizeof`, except that a code
    /// object's look-up cache is left out (it appears on a function's 1024th call, so
    /// counting it would put `code 0 +N B` in the diff of a stretch that allocated
    /// nothing).
    pub fn new(py: Python<'_>) -> PyResult<FlatSizer> {
        Self::with_code_caches(py, false)
    }

    /// `sys.getsizeof` exactly (muppy's figures).
    pub fn getsizeof(py: Python<'_>) -> PyResult<FlatSizer> {
        Self::with_code_caches(py, true)
    }

    fn with_code_caches(py: Python<'_>, code_caches: bool) -> PyResult<FlatSizer> {
        Ok(FlatSizer {
            rules: RuleCache::new(
                rules::registry(py)?,
                ClassifyOptions { libraries: false, ..ClassifyOptions::default() },
            ),
            static_types: static_type_pre_header(py)?,
            missed: 0,
            code_caches,
        })
    }

    /// The rule for the type of `obj`, classifying the type if needed (which may run
    /// Python code: `obj` is held strongly; its errors that are not `Exception`s
    /// propagate).
    pub fn rule_for(&mut self, py: Python<'_>, obj: &Strong) -> PyResult<FlatRule> {
        let rule = self.rules.classify(py, obj)?;
        Ok(FlatRule { flat: rule.flat, pre_header: rule.pre_header })
    }

    /// The rule for `tp` from the type alone, without classifying it; never runs Python
    /// code (the flat size needs only the `__sizeof__` formula and the pre-header).
    ///
    /// # Safety
    /// `tp` must be a live, ready type.
    #[inline]
    pub unsafe fn type_rule(&self, tp: RawType) -> FlatRule {
        FlatRule {
            // SAFETY: `tp` is a live, ready type (caller).
            flat: unsafe { self.rules.registry().flat_for(tp) },
            // SAFETY: `tp` is alive (caller).
            pre_header: unsafe { ffi::type_pre_header(tp) }.map_or(PER_OBJECT, |size| size as u32),
        }
    }

    /// The rule for `tp` if its type was classified already; never runs Python code.
    #[inline]
    pub fn cached_rule(&mut self, tp: RawType) -> Option<FlatRule> {
        self.rules.cached(tp).map(|rule| FlatRule { flat: rule.flat, pre_header: rule.pre_header })
    }

    /// `sys.getsizeof(obj)` when it needs no Python code: builtin leaves inline, other
    /// types through their cached rule. `None` when the type is new or its `__sizeof__`
    /// is foreign.
    ///
    /// # Safety
    /// `obj` must be alive.
    #[inline]
    pub unsafe fn quick(&mut self, obj: RawObj) -> Option<usize> {
        // SAFETY: `obj` is alive (caller).
        if let Some(size) = unsafe { leaf_size(obj) } {
            return Some(size);
        }
        // SAFETY: as above.
        let tp = unsafe { ffi::type_of(obj) };
        let rule = self.cached_rule(tp)?;
        // SAFETY: as above; the rule was made for this type.
        unsafe { self.size_with(obj, rule) }
    }

    /// `sys.getsizeof(obj)` in every case. May run Python code (classification, a
    /// foreign `__sizeof__`), which is why `obj` is held strongly. `Err` only for an
    /// error that is not an `Exception` (see [`foreign_sizeof`]).
    pub fn size(&mut self, py: Python<'_>, obj: &Strong) -> PyResult<usize> {
        // SAFETY: `obj` is held strongly.
        if let Some(size) = unsafe { self.quick(obj.as_ptr()) } {
            return Ok(size);
        }
        let rule = self.rule_for(py, obj)?;
        // SAFETY: `obj` is held strongly; the rule was made for its type.
        if let Some(size) = unsafe { self.size_with(obj.as_ptr(), rule) } {
            return Ok(size);
        }
        let missed = self.missed;
        let mut core = foreign_sizeof(py, obj, self.rules.registry(), &mut self.missed)?;
        // SAFETY: `obj` is held strongly.
        if !self.code_caches && self.missed == missed && unsafe { ffi::is_code(obj.as_ptr()) } {
            // SAFETY: `obj` is a code object, held strongly.
            core = core.saturating_sub(unsafe { ffi::code_cache_bytes(obj.as_ptr()) });
        }
        // SAFETY: `obj` is held strongly.
        Ok(core.saturating_add(unsafe { self.pre_header(obj.as_ptr(), rule) }))
    }

    /// The size by formula, `None` for a foreign `__sizeof__` (or a legacy str).
    ///
    /// # Safety
    /// `obj` must be alive and of the type `rule` was made for.
    #[inline]
    pub unsafe fn size_with(&self, obj: RawObj, rule: FlatRule) -> Option<usize> {
        // SAFETY: `obj` is alive and of the type the rule's formula was chosen for (caller).
        let core = unsafe { rule.flat.sizeof(obj) }?;
        // SAFETY: `obj` is alive.
        Some(core.saturating_add(unsafe { self.pre_header(obj, rule) }))
    }

    /// The bytes `sys.getsizeof` adds to `__sizeof__`.
    ///
    /// # Safety
    /// `obj` must be alive and of the type `rule` was made for.
    #[inline]
    unsafe fn pre_header(&self, obj: RawObj, rule: FlatRule) -> usize {
        if rule.pre_header != PER_OBJECT {
            return rule.pre_header as usize;
        }
        // SAFETY: see the caller requirements.
        unsafe {
            if ffi::is_exact_type(obj) && !ffi::is_heap_type(obj.cast()) {
                return self.static_types;
            }
            ffi::pre_header(obj)
        }
    }
}

/// Calls the type's own `__sizeof__` of `obj` as `sys.getsizeof` does: the one call of a
/// foreign `__sizeof__` in the crate, for the whole-heap passes and the `asizeof` walker
/// alike. An `Exception`, a non-int or a negative result counts the basic size of the
/// type and adds one to `missed`; any other error (`KeyboardInterrupt`, `SystemExit`,
/// ...) is returned, for the caller to stop and raise it.
pub fn foreign_sizeof(py: Python<'_>, obj: &Strong, registry: &Registry, missed: &mut u64) -> PyResult<usize> {
    // SAFETY: `obj` is held strongly; the descriptor is taken strongly before the call,
    // which may run Python code that changes the type.
    let descr = unsafe {
        let found = ffi::type_lookup(ffi::type_of(obj.as_ptr()), registry.names.sizeof.as_ptr());
        (!found.is_null()).then(|| Strong::from_borrowed(found))
    };
    let result = match descr {
        // SAFETY: both held strongly.
        Some(descr) => match unsafe { ffi::call_sizeof_descr(py, obj.as_ptr(), descr.as_ptr()) }? {
            ffi::SizeofCall::Done(result) => result,
            ffi::SizeofCall::Unbound => call_bound_sizeof(py, obj, &descr)?,
        },
        None => None,
    };
    Ok(result.unwrap_or_else(|| {
        *missed += 1;
        // SAFETY: `obj` is held strongly, and so is its type.
        unsafe { ffi::basicsize(ffi::type_of(obj.as_ptr())) }
    }))
}

/// `Ok(None)` for an `Exception`, which is dropped; any other error is kept.
fn unless_exception<T>(py: Python<'_>, result: PyResult<T>) -> PyResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_instance_of::<PyException>(py) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Binds a `__sizeof__` descriptor of any kind to `obj` (`descr.__get__(obj, type(obj))`
/// when it has a `__get__`), then calls it. `Ok(None)` when that raises an `Exception`
/// or returns anything but a non-negative int; `Err` for other errors.
fn call_bound_sizeof(py: Python<'_>, obj: &Strong, descr: &Strong) -> PyResult<Option<usize>> {
    // SAFETY: both are held strongly for as long as the borrows live.
    let (obj, descr) =
        unsafe { (Bound::from_borrowed_ptr(py, obj.as_ptr()), Bound::from_borrowed_ptr(py, descr.as_ptr())) };
    let method = match unless_exception(py, descr.get_type().getattr(crate::pystr!(py, "__get__")?))? {
        // A descriptor written in Python may make a new object each time it is bound:
        // unittest.mock's `MagicProxy` makes a child mock, whose `__sizeof__` makes the
        // next one, so the graph would grow as fast as it is walked. Its objects are
        // counted with their type's basic size instead.
        // (Cython's functions are heap types too, but written in C: they are called.)
        Some(_)
            // SAFETY: `descr` is held strongly, and so is its type.
            if unsafe {
                let tp = ffi::type_of(descr.as_ptr());
                ffi::is_heap_type(tp) && !ffi::is_method_descriptor_type(tp)
            } =>
        {
            return Ok(None)
        }
        Some(_) => {
            match unless_exception(py, descr.call_method1(crate::pystr!(py, "__get__")?, (&obj, obj.get_type())))? {
                Some(method) => method,
                None => return Ok(None),
            }
        }
        None => descr,
    };
    let Some(result) = unless_exception(py, method.call0())? else {
        return Ok(None);
    };
    if !result.is_instance_of::<PyInt>() {
        return Ok(None);
    }
    let Some(size) = unless_exception(py, result.extract::<isize>())? else {
        return Ok(None);
    };
    Ok(usize::try_from(size).ok())
}

/// What `sys.getsizeof` adds to `__sizeof__` for a static type object such as `int`:
/// the GC header on 3.11 and 3.12, nothing on other versions. Asked once from the
/// interpreter, which is the reference.
fn static_type_pre_header(py: Python<'_>) -> PyResult<usize> {
    static PROBED: PyOnceLock<usize> = PyOnceLock::new();
    PROBED
        .get_or_try_init(py, || {
            let int_type = py.get_type::<PyInt>();
            let total: usize = py
                .import(crate::pystr!(py, "sys")?)?
                .call_method1(crate::pystr!(py, "getsizeof")?, (&int_type,))?
                .extract()?;
            let core: usize =
                int_type.get_type().call_method1(crate::pystr!(py, "__sizeof__")?, (&int_type,))?.extract()?;
            Ok(total.saturating_sub(core))
        })
        .copied()
}

/// Flat size of the exact builtin leaves that make up most of a heap (`str`, `int`,
/// `bool`, `float`): no referents, no pre-header, no rule needed; `None` for anything
/// else (a non-compact str included), which the general path sizes.
///
/// # Safety
/// `obj` must be alive.
#[inline(always)]
pub unsafe fn leaf_size(obj: RawObj) -> Option<usize> {
    // SAFETY: `obj` is alive; each formula is applied to its exact type only.
    unsafe {
        let tp = ffi::type_of(obj);
        if ffi::is_str_type(tp) {
            ffi::str_sizeof(obj)
        } else if ffi::is_int_or_bool_type(tp) {
            ffi::int_sizeof(obj)
        } else if ffi::is_float_type(tp) {
            Some(ffi::object_sizeof(obj))
        } else {
            None
        }
    }
}
