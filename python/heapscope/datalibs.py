"""Sizes of data libraries' objects in deep sizes (``asizeof``, ``asized``, the class
tracker).

Much of a data scientist's memory is in buffers that are not Python objects: Arrow
buffers, Polars frames, file-backed pages of a ``numpy.memmap``. Some libraries also
report a deep size from ``__sizeof__`` (pandas), which a deep walk would count a second
time through the objects it reaches. heapscope sizes such types through a *footprint
function* registered for them here, by type name, so that the library is never imported
for it:

- ``size``: the object's own size, as ``__sizeof__`` would give it (the garbage
  collector's header is added, as ``sys.getsizeof`` adds it); ``None`` for the size the
  object would have without the registered class's own ``__sizeof__``;
- ``buffers``: the memory it uses outside Python objects, as :class:`Buffer` s. Each
  buffer is counted once per call (once per ``Asizer`` until it is cleared), by the
  first object that names it, so a buffer shared by an array, its slices and the table
  holding them counts once whatever the order. ``"mapped"`` (file-backed) and
  ``"device"`` (accelerator) buffers are never added to a size: ``Asizer.mapped`` and
  ``Asizer.device`` report them;
- ``referents``: ``(name, object)`` pairs to size with it (a name of ``None``: the
  object's own name in trees), or :class:`Part` s: objects made only to show the data in
  trees (an Arrow table's columns), whose own size is not counted; ``None`` for the
  instance's own attributes;
- ``usual``: whether the usual referents are walked too, after ``referents``: a way to
  name the parts that matter first in ``asized`` trees (a data frame's columns).

In ``asized`` trees, an object whose buffer another object counted first says so in its
name ("shares its data with ...").

Built in: pandas (every ``PandasObject``: the walk reaches its arrays and counts them
once, instead of pandas' deep ``__sizeof__``; a frame's children in trees are its blocks
of columns and its index), PyArrow (arrays, chunked arrays, tables, record batches,
buffers: their buffers, by address; a table's children are its columns), Polars (data
frames and series: ``estimated_size()``), PyTorch (a tensor's child is its storage,
counted once however many tensors share it, and named with how many do; ``"device"`` off
the CPU) and ``mmap.mmap`` (mapped). numpy arrays are sized natively:
an array counts the data it owns, a view its ``base``, an object array its items.

A footprint function that raises an ``Exception`` leaves the object sized as any other
instance, and counted in ``Asizer.missed``.
"""

from __future__ import annotations

import gc
import sys
from typing import Any, Callable, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

from heapscope import _core

__all__ = ["Buffer", "Footprint", "Part", "register"]


class Buffer(NamedTuple):
    """Memory an object uses outside Python objects, counted once per ``key``."""

    key: int
    """What tells this buffer from the others: its address where the library gives it."""
    nbytes: int
    kind: str = "ram"
    """``"ram"``, ``"mapped"`` (pages of a file) or ``"device"`` (accelerator memory)."""


class Part(NamedTuple):
    """A referent made only to show an object's data in trees (an Arrow table's column):
    what it reaches is counted, not the object itself."""

    name: Optional[str]
    obj: object
    made: bool = True


class Footprint(NamedTuple):
    """What a footprint function returns; see the module's documentation."""

    size: Optional[int] = None
    buffers: Sequence[Buffer] = ()
    referents: Optional[Sequence[Union[Tuple[Optional[str], object], Part]]] = None
    usual: bool = False
    """With ``referents``: the object's usual referents are walked after them."""


def register(type_name: str, footprint: Callable[[Any], Footprint]) -> None:
    """Size instances of the type named ``type_name`` (``"module.QualName"``, as in
    ``type(obj).__module__ + "." + type(obj).__qualname__``) and of its subclasses with
    ``footprint(obj)``. Registering a name again replaces its function; the type's
    module need not be imported."""
    if not isinstance(type_name, str) or "." not in type_name:
        raise TypeError(
            f"type_name must be a qualified name such as 'pyarrow.lib.Array', not {type_name!r}"
        )
    if not callable(footprint):
        raise TypeError("footprint must be a function that takes the object and returns a Footprint")
    _core.register_footprint(type_name, footprint)


_NO_REFERENTS: Tuple[Tuple[Optional[str], object], ...] = ()


def _instance_without_own_sizeof(obj: object) -> Footprint:
    # pandas' __sizeof__ is its memory_usage(deep=True); the walk reaches the same
    # arrays through the object's attributes and counts each once.
    return Footprint()


def _guarded(footprint: Callable[[Any], Footprint]) -> Callable[[Any], Footprint]:
    # Named children read pandas internals, which change between releases: where they
    # are not as expected, the object is sized as any other pandas object.
    def guarded(obj: Any) -> Footprint:
        try:
            return footprint(obj)
        except (AttributeError, TypeError, IndexError, KeyError, ValueError):
            return Footprint()

    return guarded


def _column_label(names: Sequence[Any], count: int, dtype: Any) -> str:
    if count == 1:
        return f"column {names[0]!r}: {dtype}"
    shown = ", ".join(repr(name) for name in names) + (", ..." if count > len(names) else "")
    return f"columns {shown}: {dtype} ({count} columns in one array)"


def _pandas_frame(frame: Any) -> Footprint:
    # One child per block of columns (pandas keeps the columns of one dtype in one 2-D
    # array), then the index, before the frame's own attributes, so that an `asized`
    # tree shows where the bytes are.
    columns = frame.columns
    referents: List[Tuple[Optional[str], object]] = []
    for block in frame._mgr.blocks:
        locations = block.mgr_locs.as_array
        names = [columns[i] for i in locations[:4]]
        referents.append((_column_label(names, len(locations), block.dtype), block.values))
    referents.append(("index", frame.index))
    return Footprint(None, (), tuple(referents), True)


def _pandas_series(series: Any) -> Footprint:
    # `_values` is the array the series holds (`.array` would wrap it in a new object).
    return Footprint(None, (), ((f"values: {series.dtype}", series._values), ("index", series.index)), True)


def _pandas_internals(*names: str) -> Callable[[Any], Footprint]:
    # pandas' blocks and managers are Cython classes whose fields hold the arrays: no
    # __dict__, so their referents are what the collector sees (named where public).
    def footprint(obj: Any) -> Footprint:
        named = {id(value): name for name in names for value in (getattr(obj, name, None),) if value is not None}
        return Footprint(None, (), tuple((named.get(id(r)), r) for r in gc.get_referents(obj)))

    return footprint


def _pandas_frozen_list(items: Any) -> Footprint:
    # A list subclass: its item array and items, which a plain instance walk misses.
    return Footprint(list.__sizeof__(items), (), tuple((None, item) for item in items))


def _arrow_buffers(arrays: Iterable[Any]) -> Tuple[Buffer, ...]:
    return tuple(
        Buffer(buffer.address, buffer.size)
        for array in arrays
        for buffer in array.buffers()
        if buffer is not None
    )


def _arrow_array(array: Any) -> Footprint:
    return Footprint(None, _arrow_buffers((array,)), _NO_REFERENTS)


def _arrow_chunked(chunked: Any) -> Footprint:
    return Footprint(None, _arrow_buffers(chunked.chunks), _NO_REFERENTS)


def _arrow_table(table: Any) -> Footprint:
    # One child per column (a table's are chunked arrays, a record batch's arrays), each
    # made by the call that returns it: they count their buffers, not themselves.
    schema = table.schema
    return Footprint(None, (), tuple(
        Part(f"column {field.name!r}: {field.type}", table.column(index))
        for index, field in enumerate(schema)
    ))


def _arrow_buffer(buffer: Any) -> Footprint:
    return Footprint(None, (Buffer(buffer.address, buffer.size),), _NO_REFERENTS)


def _polars_frame(frame: Any) -> Footprint:
    # Polars keeps its columns in Rust and gives no buffer addresses: its own estimate,
    # once per frame or series object.
    inner = getattr(frame, "_df", None)
    if inner is None:
        inner = getattr(frame, "_s", frame)
    return Footprint(None, (Buffer(id(inner), int(frame.estimated_size())),), _NO_REFERENTS)


def _torch_tensor(tensor: Any) -> Footprint:
    # A tensor's data is its storage, one Python object for every tensor on it (views,
    # tensors `set_` on it): a child, named with how many tensors share it. Its gradient
    # is a C field, not an attribute.
    storage = tensor.untyped_storage()
    label = "storage"
    use_count = getattr(sys.modules.get("torch._C"), "_storage_Use_Count", None)
    if use_count is not None:
        try:
            sharing = int(use_count(storage._cdata)) - 1  # the storage object holds one
        except Exception:
            sharing = 0
        if sharing > 1:
            label = f"storage (shared by {sharing} tensors)"
    referents: List[Tuple[Optional[str], object]] = [(label, storage)]
    grad = tensor.grad if tensor.requires_grad else None
    if grad is not None:
        referents.append(("grad", grad))
    return Footprint(None, (), tuple(referents), True)


def _torch_storage(storage: Any) -> Footprint:
    # The bytes of a storage, once by address; on an accelerator, as device memory.
    device = storage.device.type
    kind = "ram" if device == "cpu" else "device"
    buffers = () if device == "meta" else (Buffer(storage.data_ptr(), storage.nbytes(), kind),)
    return Footprint(None, buffers, _NO_REFERENTS)


def _mapped_file(mapping: Any) -> Footprint:
    try:
        length = len(mapping)
    except ValueError:  # closed
        return Footprint(None, (), _NO_REFERENTS)
    return Footprint(None, (Buffer(id(mapping), length, "mapped"),), _NO_REFERENTS)


def _register_builtins() -> None:
    register("pandas.core.base.PandasObject", _instance_without_own_sizeof)
    for frame_name in ("pandas.DataFrame", "pandas.core.frame.DataFrame"):  # pandas 3, pandas 2
        register(frame_name, _guarded(_pandas_frame))
    for series_name in ("pandas.Series", "pandas.core.series.Series"):
        register(series_name, _guarded(_pandas_series))
    # (The Python classes come before pandas' base class in the MRO.)
    register("pandas.core.internals.blocks.Block", _pandas_internals("values", "mgr_locs"))
    register("pandas._libs.internals.Block", _pandas_internals("values", "mgr_locs"))
    register("pandas.core.internals.managers.BaseBlockManager", _pandas_internals("blocks", "axes"))
    register("pandas._libs.internals.BlockManager", _pandas_internals("blocks", "axes"))
    register("pandas._libs.internals.BlockPlacement", _pandas_internals())
    # Weak references to the blocks sharing a buffer (copy-on-write): not followed, so
    # sizing one frame does not reach the others.
    register("pandas.core.indexes.frozen.FrozenList", _pandas_frozen_list)
    register("pandas.api.typing.FrozenList", _pandas_frozen_list)  # its name from pandas 3
    register("pandas._libs.arrays.NDArrayBacked", _pandas_internals("_ndarray", "_dtype"))
    register("pandas._libs.internals.BlockValuesRefs", lambda refs: Footprint(None, (), _NO_REFERENTS))
    register("pyarrow.lib.Array", _arrow_array)
    register("pyarrow.lib.ChunkedArray", _arrow_chunked)
    register("pyarrow.lib.Table", _arrow_table)
    register("pyarrow.lib.RecordBatch", _arrow_table)
    register("pyarrow.lib.Buffer", _arrow_buffer)
    register("polars.dataframe.frame.DataFrame", _polars_frame)
    register("polars.series.series.Series", _polars_frame)
    for tensor_name in ("torch._C.TensorBase", "torch._C._TensorBase"):  # torch 2.1+, before
        register(tensor_name, _guarded(_torch_tensor))
    # A storage's own __sizeof__ adds its bytes; `TypedStorage` wraps an untyped one.
    register("torch.storage._StorageBase", _torch_storage)
    register("torch.storage.TypedStorage", _instance_without_own_sizeof)
    register("mmap.mmap", _mapped_file)


_register_builtins()
