//! [`Borrowed`]: an object pointer that cannot outlive what keeps its object alive.

use super::*;
use std::marker::PhantomData;

/// A borrowed reference: a live object kept alive by something else for `'a` (a
/// [`Strong`], a `Bound`, or a container held by one of them, as long as no Python code
/// runs that could change the container). It is a plain pointer at run time (`Copy`, one
/// word, never null), so reading it costs nothing; what it adds is that code holding one
/// may read the object without further proof, and that it cannot be kept past `'a`.
///
/// The only unsafe step is making one from a raw pointer ([`Borrowed::from_raw`]), which
/// is where the proof of liveness is written down.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Borrowed<'a>(NonNull<ffi::PyObject>, PhantomData<&'a Strong>);

impl<'a> Borrowed<'a> {
    /// # Safety
    /// `ptr` must be non-null and point to an object that stays alive for `'a`, and the
    /// GIL must be held for `'a`.
    #[inline(always)]
    pub unsafe fn from_raw(ptr: RawObj) -> Borrowed<'a> {
        // SAFETY: the caller guarantees `ptr` is non-null.
        Borrowed(unsafe { NonNull::new_unchecked(ptr) }, PhantomData)
    }

    /// Like [`from_raw`](Self::from_raw), `None` for NULL.
    ///
    /// # Safety
    /// As for [`from_raw`](Self::from_raw) when `ptr` is not NULL.
    #[inline(always)]
    pub unsafe fn from_nullable(ptr: RawObj) -> Option<Borrowed<'a>> {
        NonNull::new(ptr).map(|ptr| Borrowed(ptr, PhantomData))
    }

    #[inline(always)]
    pub fn as_ptr(self) -> RawObj {
        self.0.as_ptr()
    }

    /// The object's address: its identity (like `id()`).
    #[inline(always)]
    pub fn address(self) -> usize {
        self.as_ptr() as usize
    }

    /// A new strong reference to the object.
    #[inline]
    pub fn to_strong(self) -> Strong {
        // SAFETY: the object is alive for `'a` (see the type's rules).
        unsafe { Strong::from_borrowed(self.as_ptr()) }
    }

    /// The object's type.
    #[inline(always)]
    pub fn type_ptr(self) -> RawType {
        // SAFETY: the object is alive for `'a`.
        unsafe { type_of(self.as_ptr()) }
    }

    /// The object's type, borrowed for as long as the object (an object holds its type).
    #[inline(always)]
    pub fn type_object(self) -> Borrowed<'a> {
        // SAFETY: a live object holds a strong reference to its type.
        unsafe { Borrowed::from_raw(self.type_ptr().cast()) }
    }

    /// Whether the object's type is exactly `type` (a class whose metaclass is `type`).
    #[inline(always)]
    pub fn is_exact_type(self) -> bool {
        self.type_ptr() == std::ptr::addr_of_mut!(ffi::PyType_Type)
    }
}

impl Strong {
    /// The object, borrowed for as long as this reference lives.
    #[inline(always)]
    pub fn borrow(&self) -> Borrowed<'_> {
        // SAFETY: `self` owns a reference, so the object lives at least as long as `self`.
        unsafe { Borrowed::from_raw(self.as_ptr()) }
    }
}

impl<'a, 'py, T> From<&'a pyo3::Bound<'py, T>> for Borrowed<'a> {
    #[inline(always)]
    fn from(bound: &'a pyo3::Bound<'py, T>) -> Borrowed<'a> {
        // SAFETY: a `Bound` owns a reference (and proves the GIL is held) for `'a`.
        unsafe { Borrowed::from_raw(bound.as_ptr()) }
    }
}
