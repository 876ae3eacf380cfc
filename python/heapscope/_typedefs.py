"""Per-type basic size, item size and length estimates (``basicsize``, ``itemsize``,
``leng``), with the values pympler reports for them.

These are per-type descriptions, not measurements: ``flatsize`` and ``asizeof`` measure
real objects in the Rust core. The estimates exist because pympler users call them.
"""

from __future__ import annotations

import array
import math
import os
import struct
import sys
import types
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

_POINTER = struct.calcsize("P")


def _gc_header_estimate() -> int:
    # pympler reads the GC header size from _testcapi and otherwise assumes it is
    # padded to 16-byte alignment (32 bytes); its basic sizes carry that figure.
    try:
        import _testcapi

        return int(_testcapi.SIZEOF_PYGC_HEAD)
    except (ImportError, AttributeError):
        return (struct.calcsize("PPP") + 15) & ~15


_GC_HEAD = _gc_header_estimate()
_TPFLAGS_HEAPTYPE = 1 << 9
_TPFLAGS_HAVE_GC = 1 << 14
_DICT_ENTRY = struct.calcsize("P") * 3
_SET_ENTRY = struct.calcsize("lP")
_MODULE_OBJECT = struct.calcsize("PPP")
_CODE_OBJECT = struct.calcsize("PP10P5i0P")
_FRAME_OBJECT = struct.calcsize("PPP13P63i0P")

Length = Optional[Callable[[Any], int]]


def _basic(tp: type, base: int = 0, obj: Any = None) -> int:
    size = max(getattr(tp, "__basicsize__", 0), base)
    if tp is not type:
        gc_header = getattr(tp, "__flags__", 0) & _TPFLAGS_HAVE_GC
    else:
        gc_header = getattr(obj, "__flags__", 0) & _TPFLAGS_HEAPTYPE
    return size + (_GC_HEAD if gc_header else 0)


def _item(tp: type, default: int = 0) -> int:
    return getattr(tp, "__itemsize__", 0) or default


def _safe_len(obj: Any) -> int:
    try:
        return len(obj)
    except Exception:
        return 0


def _power_of_2(n: int) -> int:
    p = 2 ** int(math.log(n, 2))
    while n > p:
        p += p
    return p


def _len_int(obj: int) -> int:
    n = sys.getsizeof(obj, 0) - int.__basicsize__
    return n // int.__itemsize__ if n > 0 else 0


def _len_list(obj: list) -> int:
    n = _safe_len(obj)
    if n > 8:
        return n + 6 + (n >> 3)
    return n + 4 if n else 0


def _len_dict(obj: Any) -> int:
    n = _safe_len(obj)
    return 0 if n < 6 else _power_of_2(n + 1)


def _len_set(obj: Any) -> int:
    n = _safe_len(obj)
    if n > 8:
        return _power_of_2(n + n - 2)
    return 8 if n else 0


def _len_slice(obj: slice) -> int:
    try:
        return (obj.stop - obj.start + 1) // obj.step
    except (AttributeError, TypeError):
        return 0


def _len_iter(obj: Any) -> int:
    try:
        hint = getattr(obj, "__length_hint__", None)
        return hint() if hint and callable(hint) else _safe_len(obj)
    except Exception:
        return 0


def _len_code(obj: types.CodeType) -> int:
    return len(obj.co_freevars) + obj.co_stacksize + len(obj.co_cellvars) + obj.co_nlocals - 1


def _len_frame(obj: types.FrameType) -> int:
    code = getattr(obj, "f_code", None)
    return _len_code(code) if code else 0


def _len_module(obj: types.ModuleType) -> int:
    return _safe_len(obj.__dict__)


@dataclass(frozen=True)
class TypeInfo:
    """Basic size, item size and length rule of a type."""

    base: int
    item: int = 0
    length_of: Length = None
    #: Name of an attribute holding the real item size (arrays).
    item_attr: Optional[str] = None
    #: Whether ``asizeof`` follows referents of such objects.
    has_refs: bool = False

    @property
    def leng_name(self) -> str:
        return self.length_of.__name__.lstrip("_") if self.length_of else "n/a"

    def item_size(self, obj: Any) -> int:
        if self.item_attr and self.item == 1:
            return getattr(obj, self.item_attr, self.item)
        return self.item

    def length(self, obj: Any) -> Optional[int]:
        if self.length_of is None:
            return None
        try:
            n = self.length_of(obj)
        except Exception:
            return 0
        if self.item_attr and self.item == 1:
            size = getattr(obj, self.item_attr, 1)
            if size > 1:
                n //= size
        return n


def _static(tp: type, item: int = 0, length: Length = None, refs: bool = False, base: int = 0) -> TypeInfo:
    return TypeInfo(base=_basic(tp, base), item=_item(tp, item), length_of=length, has_refs=refs)


def _iterator_types() -> list:
    samples = [iter({}.items()), iter({}.keys()), iter({}.values()), reversed([]), iter([]), iter(()),
               iter(bytearray()), iter(b""), iter(set()), iter("")]
    import re

    samples.append(re.finditer("", ""))
    return [type(s) for s in samples]


_DICT = _static(dict, _DICT_ENTRY, _len_dict, refs=True)
_STATIC: Dict[type, TypeInfo] = {
    complex: _static(complex),
    float: _static(float),
    int: _static(int, length=_len_int),
    bool: _static(bool),
    type(None): _static(type(None)),
    type(Ellipsis): _static(type(Ellipsis)),
    type(NotImplemented): _static(type(NotImplemented)),
    list: _static(list, _POINTER, _len_list, refs=True),
    tuple: _static(tuple, _POINTER, _safe_len, refs=True),
    property: _static(property, refs=True),
    dict: _DICT,
    types.MappingProxyType: _static(types.MappingProxyType, _DICT_ENTRY, _len_dict, refs=True),
    types.ModuleType: TypeInfo(_basic(types.ModuleType, _DICT.base), _DICT.item + _MODULE_OBJECT, _len_module, has_refs=True),
    bytearray: _static(bytearray, 1, lambda o: o.__alloc__()),
    bytes: _static(bytes, 1, _safe_len),
    enumerate: _static(enumerate, refs=True),
    Exception: _static(Exception, refs=True),
    frozenset: _static(frozenset, _SET_ENTRY, _len_set, refs=True),
    set: _static(set, _SET_ENTRY, _len_set, refs=True),
    types.GetSetDescriptorType: _static(types.GetSetDescriptorType),
    types.MemberDescriptorType: _static(types.MemberDescriptorType),
    range: _static(range),
    reversed: _static(reversed, refs=True),
    slice: _static(slice, _POINTER, _len_slice),
    os.stat_result: _static(os.stat_result, refs=True),
    struct.Struct: _static(struct.Struct, 1, lambda o: getattr(o, "size", 0)),
    types.TracebackType: _static(types.TracebackType, refs=True),
    str: _static(str, 1, lambda o: len(o) + 1),
    weakref.KeyedRef: _static(weakref.KeyedRef, refs=True),
    weakref.ProxyType: _static(weakref.ProxyType),
    weakref.ref: _static(weakref.ref, refs=True),
    object: _static(object),
    super: _static(super),
    classmethod: _static(classmethod, refs=True),
    staticmethod: _static(staticmethod, refs=True),
    types.MethodType: _static(types.MethodType, refs=True),
    types.GeneratorType: _static(types.GeneratorType, refs=True),
    weakref.CallableProxyType: _static(weakref.CallableProxyType),
}
if hasattr(os, "statvfs"):
    _STATIC[type(os.statvfs("."))] = _static(type(os.statvfs(".")), _POINTER, _safe_len, refs=True)
for _iterator in _iterator_types():
    _STATIC.setdefault(_iterator, _static(_iterator, 0, _len_iter, refs=True))


def _is_numpy(tp: type) -> bool:
    return (
        all(hasattr(tp, a) for a in ("dtype", "itemsize", "nbytes"))
        and str(getattr(tp, "__module__", "")).startswith("numpy")
    )


def _class_attr(tp: type, name: str, default: Any = "") -> Any:
    """An attribute as instances of ``tp`` see it on their class (no instance lookup,
    so hostile ``__getattr__``/``__getattribute__`` methods are never called)."""
    for klass in tp.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return default


def type_info(obj: Any, instance: bool = True) -> TypeInfo:
    """The ``TypeInfo`` for ``obj`` (an object, or with ``instance=False`` a type).

    Classification follows ``type(obj)``, never ``obj.__class__``, so objects lying
    about their class are described by what they are.
    """
    if not instance:
        tp = obj
        return _STATIC.get(tp) or TypeInfo(base=_basic(tp), item=_item(tp))
    tp = type(obj)
    if tp is type:
        return TypeInfo(base=_basic(tp, obj=obj), has_refs=True)
    known = _STATIC.get(tp)
    if known is not None:
        return known
    base = _basic(tp, obj=obj)
    if issubclass(tp, types.ModuleType):
        return TypeInfo(_DICT.base, _DICT.item + _MODULE_OBJECT, _len_module, has_refs=True)
    if issubclass(tp, types.FrameType):
        return TypeInfo(_basic(tp, _FRAME_OBJECT, obj), _item(tp), _len_frame, has_refs=True)
    if issubclass(tp, types.CodeType):
        return TypeInfo(_basic(tp, _CODE_OBJECT, obj), _POINTER, _len_code, has_refs=True)
    if callable(obj):
        if issubclass(tp, type) or issubclass(tp, types.BuiltinFunctionType):
            return TypeInfo(base, has_refs=issubclass(tp, type))
        if issubclass(tp, (types.FunctionType, types.MethodType)):
            return TypeInfo(base, has_refs=True)
        item = _item(tp)
        return TypeInfo(base, item, _safe_len if item else None, has_refs=True)
    if issubclass(tp, dict):
        return _DICT
    if _class_attr(tp, "__module__") == "weakref" and tp.__name__ in ("WeakKeyDictionary", "WeakValueDictionary"):
        return _DICT
    if hasattr(types, "CellType") and issubclass(tp, types.CellType):
        return TypeInfo(base, _item(tp), has_refs=True)
    if issubclass(tp, tuple) and _class_attr(tp, "_fields", None) is not None:
        return TypeInfo(base, has_refs=True)
    if _is_numpy(tp):
        nbytes = obj.nbytes
        return TypeInfo(sys.getsizeof(obj, 96 + nbytes) - nbytes, 1, lambda o: o.nbytes, "itemsize", has_refs=True)
    if issubclass(tp, array.array):
        data = len(obj) * obj.itemsize
        return TypeInfo(max(56, sys.getsizeof(obj, 0) - data), 1, lambda o: len(o) * o.itemsize, "itemsize")
    if _class_attr(tp, "__module__") in ("builtins", "types", "heapscope.asizeof"):
        return TypeInfo(base)
    item = _item(tp)
    return TypeInfo(base, item, _safe_len if item else None, has_refs=True)
