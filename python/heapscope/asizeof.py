"""Deep sizes of Python objects: a drop-in replacement for ``pympler.asizeof``.

``asizeof(obj)`` is the number of bytes ``obj`` occupies together with everything it
references, each object counted once however often it is shared, cycles included::

    >>> from heapscope.asizeof import asizeof
    >>> asizeof({'a': [1, 2, 3]}) > 0
    True

What is counted
    Every object reachable from the given objects through the references below, with its
    *flat size*: what ``sys.getsizeof`` reports (the object's own memory, including its
    GC header, a list's item array, a dict's hash table, a numpy array's data buffer if it
    owns it), rounded up to ``align`` bytes (8 by default). Instances of classes without a
    ``__dict__`` object (Python 3.11+ keeps attributes inline) also count the memory of
    those inline values, which ``sys.getsizeof`` leaves out.

References followed
    Items of lists, tuples, sets and frozensets; keys and values of dicts and dict
    subclasses (``defaultdict``, ``OrderedDict``, ``Counter``); an instance's ``__dict__``
    (or its inline attribute values), its class and its ``__slots__`` values; a named
    tuple's items; a module's globals (for a module given directly); the referent of a
    weak reference; a numpy array's ``base``; exception ``args``; and the named attributes
    pympler follows for properties, iterators, generators and tracebacks.

What is not counted, by default
    Classes, functions, methods, code objects and modules referenced from the sized
    objects: they are shared infrastructure, not data (pass ``code=True`` to include
    functions, classes and code). Instances of ``object``, builtin functions and frames
    are skipped too (``ignored=False`` and ``frames=True`` include them). Other objects
    referenced only by a C extension type's internals are not reached.

Nothing is created while measuring: unlike pympler, heapscope never makes an instance's
``__dict__`` exist, so measuring twice gives the same answer. See ``docs/differences.md``
for every place where heapscope and pympler disagree and why.
"""

from __future__ import annotations

import gc
import math
import os
import sys
from typing import IO, Any, Collection, Dict, Iterator, List, Optional, Sequence, Tuple, Union, cast, overload

from heapscope import _core, _progress
from heapscope import datalibs as _datalibs  # noqa: F401  (registers the data libraries' footprints)

__all__ = [
    "Asized",
    "Asizer",
    "adict",
    "amapped",
    "asized",
    "asizeof",
    "asizesof",
    "basicsize",
    "flatsize",
    "itemsize",
    "leng",
    "named_refs",
    "refs",
]

_POINTER_SIZE = 8 if sys.maxsize > 2**32 else 4

#: Every option ``asizeof``, ``asizesof``, ``asized`` and ``Asizer`` accept, with its default.
DEFAULTS: Dict[str, Any] = {
    "above": 1024,
    "align": 8,
    "clip": 80,
    "code": False,
    "cutoff": 10,
    "derive": False,
    "detail": 0,
    "frames": False,
    "ignored": True,
    "infer": False,
    "limit": None,
    "stats": 0,
    "stream": None,
}
#: The defaults of ``Asizer.reset``, whatever is later done to ``DEFAULTS``.
_DEFAULTS_AT_IMPORT: Dict[str, Any] = dict(DEFAULTS)


def _check_int(where: str, name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}(): option {name}={value!r} must be an int >= {minimum}")
    if value < minimum:
        raise ValueError(f"{where}(): option {name}={value!r} must be >= {minimum}")
    return value


def _check_align(where: str, align: Any) -> int:
    checked = _check_int(where, "align", align)
    if checked > 1 and (checked & (checked - 1) or checked > _MAX_ALIGN):
        raise ValueError(f"{where}(): option align={checked} must be 0, 1 or a power of 2 up to 2**32")
    return checked


# Larger alignments would round sizes past what 64 bits hold (pympler's Python ints do
# not overflow; heapscope's totals are 64-bit and saturate rather than wrap).
_MAX_ALIGN = 2**32


class _OptionError(TypeError, KeyError):
    """An unknown option: a ``TypeError``, as for any unexpected keyword, and a
    ``KeyError``, which pympler raises for it (``except KeyError`` keeps working)."""

    __str__ = BaseException.__str__


def _check_options(where: str, opts: Dict[str, Any], allowed: Collection[str]) -> None:
    """Raise ``TypeError`` (also a ``KeyError``, as in pympler) for unknown options and
    ``ValueError`` for bad values."""
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        hint = ""
        if "all" in unknown:
            hint = " (all=True, every object the collector tracks, is an option of asizeof() only)"
        raise _OptionError(
            f"{where}() got unexpected keyword option{'s' if len(unknown) > 1 else ''} {names}; "
            f"valid options are: {', '.join(sorted(allowed))}{hint}"
        )
    if opts.get("align") is not None:
        _check_align(where, opts["align"])
    for name in ("above", "clip", "cutoff", "detail"):
        if opts.get(name) is not None:
            _check_int(where, name, opts[name])
    if opts.get("limit") is not None:
        _check_int(where, "limit", opts["limit"])
    stream = opts.get("stream")
    if stream is not None and not callable(getattr(type(stream), "write", None)):
        raise TypeError(f"{where}(): option stream={stream!r} must be a text file (with a write method) or None")
    stats = opts.get("stats")
    if stats is not None and (isinstance(stats, bool) or not isinstance(stats, (int, float)) or not stats >= 0
                              or stats == math.inf):
        raise ValueError(f"{where}(): option stats={stats!r} must be a finite number >= 0")


# Options whose None is a value of its own (no limit, the default stream); for the others
# None means the default, as in pympler.
_NONE_IS_A_VALUE = ("limit", "stream")
_U64_MAX = 2**64 - 1
_U32_MAX = 2**32 - 1


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


@overload
def _u64(value: int) -> int: ...
@overload
def _u64(value: None) -> None: ...
@overload
def _u64(value: Optional[int]) -> Optional[int]: ...
def _u64(value: Optional[int]) -> Optional[int]:
    """A count, depth or width for the core: larger ones (pympler takes any int) mean
    the same as the largest 64-bit one."""
    return value if value is None or value <= _U64_MAX else _U64_MAX


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def _si(size: int) -> str:
    """`` or 1.2 KiB`` for sizes of at least 1 KiB, else empty."""
    return f" or {_core.human_size(size)}" if size >= 1024 else ""


def _clipped_repr(obj: Any, clip: int = 80) -> str:
    try:
        text = repr(obj).replace(os.linesep, "\\n")
    except Exception:
        return "N/A"
    if clip > 0 and len(text) > clip:
        half = clip // 2 - 2
        if half > 0:
            text = text[:half] + "...." + text[-half:]
    return text


def _pretty_repr(obj: Any, clip: int = 0) -> str:
    return _clipped_repr(obj, clip).strip("<>").replace("'", "")


def _type_key_repr(key: Any, is_class: bool, clip: int) -> str:
    text = _pretty_repr(key, clip)
    return text + " def" if is_class else text


class Asized:
    """Size of an object and, down to the requested detail level, of its referents.

    Attributes:
        size: total size in bytes of the object and everything counted with it.
        flat: the object's own flat size in bytes.
        name: the referent's name (attribute, ``[K] key``/``[V] key: value`` for dict
            items) or the object's ``__name__`` or clipped ``repr``.
        refs: an ``Asized`` per referent, in the order they were reached.
    """

    __slots__ = ("flat", "name", "refs", "size")

    def __init__(self, size: int, flat: int, refs: Sequence["Asized"] = (), name: Any = None) -> None:
        self.size = size
        self.flat = flat
        self.name = name
        self.refs: Tuple[Asized, ...] = tuple(refs)

    def __str__(self) -> str:
        return f"size {self.size!r}, flat {self.flat!r}, refs[{len(self.refs)}], name {self.name!r}"

    def __repr__(self) -> str:
        return f"<Asized {self}>"

    def _repr_html_(self) -> str:
        """A collapsible tree for Jupyter, largest referents first."""
        from heapscope import _html

        return _html.asized_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """The indented tree for IPython's pretty printer."""
        from heapscope import _html

        _html.asized_pretty(self, p, cycle)

    def format(
        self,
        format: str = "%(name)s size=%(size)d flat=%(flat)d",
        depth: int = -1,
        order_by: str = "size",
        indent: str = "",
    ) -> str:
        """The tree as text, one line per node, children indented by four spaces.

        ``format`` is applied with ``name``, ``size`` and ``flat``; ``depth`` limits the
        levels shown (-1: all); ``order_by`` sorts children by ``'size'`` or ``'flat'``
        (largest first) or ``'name'``.
        """
        lines: List[str] = []
        # An explicit stack keeps deep trees from hitting the recursion limit.
        stack: List[Tuple[Asized, int, str]] = [(self, depth, indent)]
        while stack:
            node, level, pad = stack.pop()
            lines.append(pad + (format % {"size": node.size, "flat": node.flat, "name": node.name}))
            if level and node.refs:
                children = sorted(node.refs, key=lambda r: getattr(r, order_by), reverse=order_by in ("size", "flat"))
                for child in reversed(children):
                    stack.append((child, level - 1, pad + "    "))
        return "\n".join(lines)

    def get(self, name: Any, dflt: Optional["Asized"] = None) -> Optional["Asized"]:
        """The referent named ``name``, or ``dflt``."""
        for ref in self.refs:
            if ref.name == name:
                return ref
        return dflt


def _build_tree(rows: List[Tuple[Optional[int], Any, int, int]]) -> Asized:
    """Asized nodes from the core's pre-order ``(parent, name, size, flat)`` rows."""
    children: List[List[Asized]] = [[] for _ in rows]
    nodes: List[Asized] = []
    for parent, name, size, flat in rows:
        node = Asized(size, flat, name=name)
        nodes.append(node)
        if parent is not None:
            children[parent].append(node)
    for node, kids in zip(nodes, children):
        node.refs = tuple(kids)
    return nodes[0]


class Asizer:
    """Accumulating sizer: sizes objects and remembers what it has seen.

    An object counted by one call is not counted again by the next until ``reset()``,
    so ``total`` is the size of everything sized so far. Options are those of
    ``asizeof``; ``set()`` changes some of them without forgetting anything.

    An ``Asizer`` may be used and freed on any thread; calls from two threads at once
    run one after the other. Calling it again from code its own sizing runs (an
    object's ``__sizeof__``, a property) raises ``RuntimeError``: use another
    ``Asizer`` there.
    """

    def __init__(self, **opts: Any) -> None:
        self._core = _core.Sizer()
        self._stream: Optional[IO[str]] = None
        self.reset(**opts)

    # -- options ------------------------------------------------------------------------

    def reset(
        self,
        above: int = 1024,
        align: int = 8,
        clip: int = 80,
        code: bool = False,
        cutoff: int = 10,
        derive: bool = False,
        detail: int = 0,
        frames: bool = False,
        ignored: bool = True,
        infer: bool = False,
        limit: Optional[int] = None,
        stats: float = 0,
        stream: Optional[IO[str]] = None,
    ) -> None:
        """Restore every option to the given (default) value and forget all state."""
        _check_options(
            "reset",
            {"above": above, "align": align, "clip": clip, "cutoff": cutoff, "detail": detail, "limit": limit, "stats": stats,
             "stream": stream},
            DEFAULTS,
        )
        self._reset(above, align, clip, code, cutoff, derive, detail, frames, ignored, infer, limit, stats, stream)

    @classmethod
    def _checked(cls, opts: Dict[str, Any]) -> "Asizer":
        """A sizer made with options the caller has checked already."""
        sizer = cls.__new__(cls)
        sizer._core = _core.Sizer()
        sizer._stream = None
        sizer._reset(**{**_DEFAULTS_AT_IMPORT, **opts})
        return sizer

    def _reset(
        self,
        above: int,
        align: int,
        clip: int,
        code: bool,
        cutoff: int,
        derive: bool,
        detail: int,
        frames: bool,
        ignored: bool,
        infer: bool,
        limit: Optional[int],
        stats: float,
        stream: Optional[IO[str]],
    ) -> None:
        """``reset`` with checked options; ``None`` stands for an option's default (as
        pympler's ``set`` takes it), except for ``limit`` and ``stream``."""
        d = _DEFAULTS_AT_IMPORT
        above, align, clip = _or(above, d["above"]), _or(align, d["align"]), _or(clip, d["clip"])
        cutoff, detail, stats = _or(cutoff, d["cutoff"]), _or(detail, d["detail"]), _or(stats, d["stats"])
        self._above = int(above)
        self._clip = clip
        self._code = bool(code)
        self._cutoff = cutoff
        self._derive = bool(derive)
        self._detail = detail
        self._frames = bool(frames)
        self._ignored = bool(ignored)
        self._infer = bool(infer)
        self._limit = limit
        self._stream = stream
        self._core.clear()
        self._given = 0
        self._set(align=align, code=code, cutoff=cutoff, stats=stats)
        # The sizer's own state is never part of a result.
        self.exclude_objs(self, self._core)

    def set(
        self,
        above: Optional[int] = None,
        align: Optional[int] = None,
        code: Optional[bool] = None,
        cutoff: Optional[int] = None,
        frames: Optional[bool] = None,
        detail: Optional[int] = None,
        limit: Optional[int] = None,
        stats: Optional[float] = None,
    ) -> None:
        """Change some options; ``None`` leaves an option as it is."""
        _check_options(
            "set",
            {"above": above, "align": align, "cutoff": cutoff, "detail": detail, "limit": limit, "stats": stats},
            DEFAULTS,
        )
        self._set(above, align, code, cutoff, frames, detail, limit, stats)

    def _set(
        self,
        above: Optional[int] = None,
        align: Optional[int] = None,
        code: Optional[bool] = None,
        cutoff: Optional[int] = None,
        frames: Optional[bool] = None,
        detail: Optional[int] = None,
        limit: Optional[int] = None,
        stats: Optional[float] = None,
    ) -> None:
        """``set`` with checked options."""
        if above is not None:
            self._above = int(above)
        if align is not None:
            self._align = align
        if code is not None:
            self._code = bool(code)
        if detail is not None:
            self._detail = detail
        if frames is not None:
            self._frames = bool(frames)
        if limit is not None:
            self._limit = limit
        if stats is not None:
            whole = int(stats)
            fraction = int((stats - whole) * 100.0 + 0.5)
            self._cutoff = int(cutoff) if cutoff else (fraction or self._cutoff)
            self._stats = whole
        elif cutoff is not None:
            self._cutoff = int(cutoff)
        self._configure()

    def _configure(self) -> None:
        self._core.configure(
            align=self._align,
            code=self._code,
            ignored=self._ignored,
            limit=_u64(self._limit),
            detail=_u64(self._detail),
            stats=min(self._stats, _U32_MAX),
            above=_u64(max(self._above, 0)),
            frames=self._frames,
            infer=self._infer,
            clip=_u64(max(self._clip, 0)),
        )

    # -- sizing -------------------------------------------------------------------------

    def asizeof(self, *objs: Any, progress: bool = True, **opts: Any) -> int:
        """Combined size of ``objs`` not counted before (options as in ``set``).
        A call longer than two seconds shows its progress on a terminal, unless
        ``progress=False``."""
        if opts:
            self.set(**opts)
        self._given += len(objs)
        return _progress.run("asizeof", progress, lambda shown: self._core.asizeof(objs, shown))

    def asizesof(self, *objs: Any, progress: bool = True, **opts: Any) -> Tuple[int, ...]:
        """Size of each of ``objs``; an object counted before (or given twice) adds 0."""
        if opts:
            self.set(**opts)
        self._given += len(objs)
        return tuple(_progress.run("asizesof", progress, lambda shown: self._core.sizes(objs, False, shown)))

    # One object gives one tree, two or three a tuple of as many; a call whose number of
    # objects the checker cannot see (``*objs``) may give either.
    @overload
    def asized(self, /, *, progress: bool = ..., **opts: Any) -> Tuple[()]: ...
    @overload
    def asized(self, obj: Any, /, *, progress: bool = ..., **opts: Any) -> Asized: ...
    @overload
    def asized(self, obj1: Any, obj2: Any, /, *, progress: bool = ..., **opts: Any) -> Tuple[Asized, Asized]: ...
    @overload
    def asized(self, obj1: Any, obj2: Any, obj3: Any, /, *, progress: bool = ..., **opts: Any) -> Tuple[Asized, Asized, Asized]: ...
    @overload
    def asized(self, /, *objs: Any, progress: bool = ..., **opts: Any) -> Union[Asized, Tuple[Asized, ...]]: ...
    def asized(self, /, *objs: Any, progress: bool = True, **opts: Any) -> Union[Asized, Tuple[Asized, ...]]:
        """An ``Asized`` tree per object (a single one for a single object)."""
        if opts:
            self.set(**opts)
        self._given += len(objs)
        trees: Dict[int, Asized] = {}
        result = []
        all_rows = _progress.run("asized", progress, lambda shown: self._core.sizes(objs, True, shown))
        for rows in all_rows:
            key = id(rows)
            if key not in trees:
                trees[key] = _build_tree(rows)
            result.append(trees[key])
        return result[0] if len(result) == 1 else tuple(result)

    def exclude_refs(self, *objs: Any) -> None:
        """Do not follow references to ``objs``; they are still sized when given directly."""
        self._core.exclude_refs(*objs)

    def exclude_objs(self, *objs: Any) -> None:
        """Never size ``objs``, given directly or referenced."""
        self._core.exclude_objs(*objs)

    def exclude_types(self, *objs: Any) -> None:
        """Never size instances of the classes in ``objs``, nor those classes (exact types)."""
        self._core.exclude_types(*objs)

    # -- results ------------------------------------------------------------------------

    @property
    def total(self) -> int:
        """Total size of everything sized since the last reset."""
        return self._core.total

    @property
    def sized(self) -> int:
        """Number of distinct objects reached."""
        return self._core.sized

    @property
    def seen(self) -> int:
        """Number of times objects were reached (shared objects count each time)."""
        return self._core.seen

    @property
    def duplicate(self) -> int:
        """Number of objects reached more than once."""
        return self._core.duplicate

    @property
    def missed(self) -> int:
        """Objects whose size could not be read (their ``__sizeof__`` failed); each was
        counted with its basic size instead."""
        return self._core.missed

    @property
    def mapped(self) -> int:
        """Bytes of memory-mapped files reached (a ``numpy.memmap``'s file, an
        ``mmap.mmap``), each mapping once. They are not in any size: the pages belong to
        the file, and only those read are in memory (see :mod:`heapscope.datalibs`)."""
        return self._core.mapped

    @property
    def device(self) -> int:
        """Bytes of accelerator memory reached through registered footprints; never in
        a size (see :mod:`heapscope.datalibs`)."""
        return self._core.device

    @property
    def ranked(self) -> int:
        """Number of objects larger than ``above`` bytes (with ``stats`` >= 1)."""
        return self._core.ranked

    @property
    def excluded(self) -> Tuple[Any, ...]:
        """The classes excluded with ``exclude_types``."""
        return tuple(self._core.excluded_types())

    @property
    def above(self) -> int:
        """Size threshold of the largest-objects list."""
        return self._above

    @property
    def align(self) -> int:
        """Size alignment in bytes."""
        return self._align

    @property
    def clip(self) -> int:
        """Longest repr shown."""
        return self._clip

    @property
    def code(self) -> bool:
        """Whether functions, classes and code are sized."""
        return self._code

    @property
    def cutoff(self) -> int:
        """Entries shown by the statistics."""
        return self._cutoff

    @property
    def derive(self) -> bool:
        """Accepted for pympler compatibility."""
        return self._derive

    @property
    def detail(self) -> int:
        """Levels of referents in Asized trees."""
        return self._detail

    @property
    def frames(self) -> bool:
        """Whether frames are sized."""
        return self._frames

    @property
    def ignored(self) -> bool:
        """Whether shared infrastructure is skipped."""
        return self._ignored

    @property
    def infer(self) -> bool:
        """Whether dict-like objects are inferred."""
        return self._infer

    @property
    def limit(self) -> Optional[int]:
        """Deepest level followed (None: no limit)."""
        return self._limit

    @property
    def stats(self) -> int:
        """Statistics level printed."""
        return self._stats

    # -- printing -----------------------------------------------------------------------

    def _print(self, text: str, file: Optional[IO[str]] = None, **print_options: Any) -> None:
        print(text, file=file or self._stream or sys.stdout, **print_options)

    def print_summary(self, w: int = 0, objs: Sequence[Any] = (), **print3options: Any) -> None:
        """Print the totals: bytes, alignment, objects given, sized, seen, missed, ..."""
        def out(text: str) -> None:
            self._print(text, **print3options)

        total = self.total
        out(f"{total:{w}d} bytes{_si(total)}{' (incl. code)' if self._code else ''}")
        if self._align > 1:
            out(f"{self._align:{w}d} byte aligned")
        out(f"{_POINTER_SIZE:{w}d} byte sizeof(void*)")
        n = len(objs or ())
        out(f"{n:{w}d} object{_plural(n)} given")
        for label, count in (("sized", self.sized),):
            out(f"{count:{w}d} object{_plural(count)} {label}")
        if self.excluded:
            n = self._core.excluded_count
            out(f"{n:{w}d} object{_plural(n)} excluded")
        n = self.seen
        out(f"{n:{w}d} object{_plural(n)} seen")
        if self.ranked > 0:
            out(f"{self.ranked:{w}d} object{_plural(self.ranked)} ranked")
        out(f"{self.missed:{w}d} object{_plural(self.missed)} missed")
        out(f"{self.duplicate:{w}d} duplicate{_plural(self.duplicate)}")
        if self._core.depth > 0:
            out(f"{self._core.depth:{w}d} deepest recursion")

    def print_largest(self, w: int = 0, cutoff: int = 0, **print3options: Any) -> None:
        """Print the largest objects (those over ``above`` bytes), at most ``cutoff``."""
        ranks = self._core.ranks()
        n = min(len(ranks), max(int(cutoff) if cutoff else self._cutoff, 0))
        if n <= 0 or self._above <= 0:
            return
        self._print(
            f"{os.linesep}{n:{w}d} largest object{_plural(n)} (of {self.ranked} over {self._above} bytes{_si(self._above)})",
            **print3options,
        )
        index = {obj_id: i for i, (_, _, _, _, _, obj_id, _) in enumerate(ranks)}
        for size, key, is_class, obj, depth, obj_id, parent_id in ranks[:n]:
            where = f" (at {depth})" if depth > 0 else ""
            parent = f", pix {index.get(parent_id, '?')}" if parent_id else ""
            self._print(
                f"{size:{w}d} bytes{_si(size)}: {_type_key_repr(key, is_class, self._clip)}: "
                f"{_clipped_repr(obj, self._clip)}{_length_text(obj)}, ix {index.get(obj_id, '?')}{where}{parent}",
                **print3options,
            )

    def print_profiles(self, w: int = 0, cutoff: int = 0, **print3options: Any) -> None:
        """Print, per type, the number of objects and their total, average and largest
        flat size, largest first, down to ``cutoff`` percent of the total."""
        profiles = self._core.profiles()
        if not profiles:
            return
        grand = self.total
        percent = int(cutoff) if cutoff else self._cutoff
        threshold = int(percent * 0.01 * grand) if grand else 0
        self._print(
            f"{os.linesep}{len(profiles):{w}d} profile{_plural(len(profiles))}:  total"
            f"{' (% of grand total)' if grand else ''}, average, and largest flat size"
            f"{' (incl. code)' if self._code else ''}:  largest object",
            **print3options,
        )
        rows = sorted(profiles, key=lambda p: (p[3], p[2]), reverse=True)
        remaining = len(rows)
        for key, is_class, number, total, high, largest in rows:
            average = int(total / number) if number > 1 else total
            share = f" ({100.0 * total / grand:.0f}%)" if grand else ""
            self._print(
                f"{number:{w}d} {_type_key_repr(key, is_class, self._clip)} object{_plural(number)}:  "
                f"{total}{_si(total)}{share}, {average}{_si(average)}, {high}{_si(high)}:  "
                f"{_clipped_repr(largest, self._clip)}{_length_text(largest)}",
                **print3options,
            )
            remaining -= 1
            if remaining > 1 and total < threshold:
                self._print(f"{remaining:+{w}d} profiles below cutoff ({percent:.0f}%)", **print3options)
                break

    def print_stats(
        self,
        objs: Sequence[Any] = (),
        opts: Optional[Dict[str, Any]] = None,
        sized: Union[Asized, Sequence[Asized]] = (),
        sizes: Sequence[int] = (),
        stats: float = 3,
        **print3options: Any,
    ) -> None:
        """Print the summary, the largest objects (stats >= 1), per-type profiles
        (stats >= 2) and the type table (stats >= 3)."""
        opts = opts or {}
        level = min(opts.get("stats", stats) or 0, self._stats)
        if level <= 0:
            return
        w = len(str(self.missed + self.seen + self.total)) + 1
        options = ", ".join(sorted(f"{k}={v!r}" for k, v in opts.items()))
        sep = ", " if options and objs else ""
        if sized and objs:
            if len(objs) > 1:
                self._print(f"{os.linesep}asized(...{sep}{options}) ...", **print3options)
                # Several objects were given, so ``sized`` holds one tree for each.
                for i, tree in enumerate(cast(Sequence[Asized], sized)):
                    self._print(f"{i:{w - 1}d}: {tree}", **print3options)
            else:
                self._print(f"{os.linesep}asized({options}): {sized}", **print3options)
        elif sizes and objs:
            self._print(f"{os.linesep}asizesof(...{sep}{options}) ...", **print3options)
            for size, obj in zip(sizes, objs):
                self._print(f"{size:{w}d} bytes{_si(size)}:  {_clipped_repr(obj, self._clip)}", **print3options)
        else:
            shown = _clipped_repr(objs, self._clip) if objs else ""
            self._print(f"{os.linesep}asizeof({shown}{sep}{options}) ...", **print3options)
        self.print_summary(w=w, objs=objs, **print3options)
        whole = int(level)
        cut = int((level - whole) * 100.0 + 0.5) or self._cutoff
        self.print_largest(w=w, cutoff=cut if whole < 2 else 10, **print3options)
        if whole > 1:
            self.print_profiles(w=w, cutoff=cut, **print3options)
            if whole > 2:
                self.print_typedefs(w=w, **print3options)

    def print_typedefs(self, w: int = 0, **print3options: Any) -> None:
        """Print the per-type sizing rules of the types profiled so far: basic size,
        item size and whether their referents are followed."""
        rows = []
        for key, is_class, *_ in self._core.profiles():
            info = _core.Sizer.typedef(key, False) if not is_class else None
            name = _type_key_repr(key, is_class, self._clip)
            if info is None:
                rows.append(f"{' ' * w} {name}:  class object")
            else:
                rows.append(f"{' ' * w} {name}:  {info.base}, {info.item}, {info.leng_name}")
        if rows:
            self._print(f"{os.linesep}{len(rows):{w}d} type{_plural(len(rows))}:  basicsize, itemsize, _len_()", **print3options)
            for row in sorted(rows):
                self._print(row, **print3options)


def _length_text(obj: Any) -> str:
    try:
        n = leng(obj)
    except Exception:
        return ""
    if n is None:
        return ""
    try:
        extended = "!" if n > len(obj) else ""
    except Exception:
        extended = ""
    return f" leng {n}{extended}"


# -- module-level functions -----------------------------------------------------------


def _sizer_for(where: str, opts: Dict[str, Any]) -> Asizer:
    """An ``Asizer`` for a module-level call, its options checked once, here."""
    _check_options(where, opts, DEFAULTS)
    return Asizer._checked(opts)


def asizeof(*objs: Any, progress: bool = True, **opts: Any) -> int:
    """Combined size in bytes of ``objs`` and everything they reference, each object
    counted once.

    Options (pympler's, with the same defaults except ``limit``):

    - ``align=8``: round every flat size up to this power of 2, at most 2**32 (0 or 1: no
      rounding).
    - ``all=False``: with no ``objs``, size every object the garbage collector tracks.
    - ``clip=80``: longest repr in printed statistics.
    - ``code=False``: also size functions, classes, methods and code objects.
    - ``cutoff=10``: number of largest objects / profile percentage printed.
    - ``derive=False``, ``infer=False``: ``infer`` treats objects with the mapping
      methods as dicts; ``derive`` is accepted and changes nothing (see docs).
    - ``detail=0``: levels of referents in ``asized`` trees.
    - ``frames=False``: also size frame objects.
    - ``ignored=True``: skip shared infrastructure (``object()`` instances, builtins).
    - ``limit=None``: deepest level of references followed (None: no limit; pympler's
      default of 100 silently undercounts deeper structures).
    - ``stats=0``: print statistics (1: summary and largest objects, 2: per-type
      profiles, 3: type table); ``above=1024`` is the largest-objects threshold.
    - ``stream=None``: where statistics are printed (default ``sys.stdout``).

    A call that takes over two seconds shows its progress (a tqdm bar when tqdm is
    installed, else a line on stderr) when stderr is a terminal or in a notebook;
    ``progress=False`` shows none. Ctrl-C stops the call with ``KeyboardInterrupt``.

    Raises ``TypeError`` for an unknown option and ``ValueError`` for a bad value.
    Objects whose ``__sizeof__`` fails are counted with their basic size (see
    ``Asizer.missed``), never raising.

    >>> asizeof([1, 2]) == asizeof([1, 2], limit=1)
    True
    """
    everything = opts.pop("all", None)
    _check_options("asizeof", opts, DEFAULTS)
    if everything not in (None, False, True):
        raise ValueError(f"asizeof(): option all={everything!r} must be True or False")
    exclude: Optional[List[Any]] = None
    if not objs and everything:
        exclude = gc.get_objects()
        objs = tuple(exclude)
    if not objs:
        return 0
    if exclude is None and not opts.get("stats"):
        # Nothing to print: one call into the core, with no Asizer for the walk to meet.
        given = {**_DEFAULTS_AT_IMPORT, **{k: v for k, v in opts.items() if v is not None or k in _NONE_IS_A_VALUE}}
        return _progress.run("asizeof", progress, lambda shown: _core.Sizer.size_once(
            objs,
            align=given["align"],
            code=bool(given["code"]),
            ignored=bool(given["ignored"]),
            limit=_u64(given["limit"]),
            detail=_u64(given["detail"]),
            above=_u64(max(int(given["above"]), 0)),
            frames=bool(given["frames"]),
            infer=bool(given["infer"]),
            clip=_u64(max(given["clip"], 0)),
            progress=shown,
        ))
    sizer = Asizer._checked(opts)
    if exclude is not None:
        sizer.exclude_objs(exclude, objs)
    size = sizer.asizeof(*objs, progress=progress)
    sizer.print_stats(objs=objs, opts=opts)
    return size


def asizesof(*objs: Any, progress: bool = True, **opts: Any) -> Tuple[int, ...]:
    """A tuple with the size of each of ``objs``; an object already counted with an
    earlier one (shared, or given twice) adds nothing. Options as in ``asizeof``."""
    sizer = _sizer_for("asizesof", opts)
    if not objs:
        return ()
    sizes = sizer.asizesof(*objs, progress=progress)
    sizer.print_stats(objs, opts=opts, sizes=sizes)
    return sizes


# As for ``Asizer.asized``: an ``Asized`` for one object, a tuple for none, two or three.
@overload
def asized(*, progress: bool = ..., **opts: Any) -> Tuple[()]: ...
@overload
def asized(obj: Any, /, *, progress: bool = ..., **opts: Any) -> Asized: ...
@overload
def asized(obj1: Any, obj2: Any, /, *, progress: bool = ..., **opts: Any) -> Tuple[Asized, Asized]: ...
@overload
def asized(obj1: Any, obj2: Any, obj3: Any, /, *, progress: bool = ..., **opts: Any) -> Tuple[Asized, Asized, Asized]: ...
@overload
def asized(*objs: Any, progress: bool = ..., **opts: Any) -> Union[Asized, Tuple[Asized, ...]]: ...
def asized(*objs: Any, progress: bool = True, **opts: Any) -> Union[Asized, Tuple[Asized, ...]]:
    """An ``Asized`` size tree per object, referents named down to ``detail`` levels
    (a single tree for a single object). Options as in ``asizeof``.

    >>> tree = asized({'k': [1, 2]}, detail=1)
    >>> [ref.name for ref in tree.refs]
    ['[K] k', '[V] k: [1, 2]']
    """
    sizer = _sizer_for("asized", opts)
    if not objs:
        return ()
    trees = sizer.asized(*objs, progress=progress)
    sizer.print_stats(objs, opts=opts, sized=trees)
    return trees


_TYPEDEF_OPTIONS = ("derive", "infer", "save")


def _type_info_for(where: str, obj: Any, opts: Dict[str, Any]) -> _core.TypeDef:
    """pympler's figures for the type of ``obj`` (the ``rules::TYPES`` table of the core)."""
    _check_options(where, opts, _TYPEDEF_OPTIONS)
    return _core.Sizer.typedef(obj, True)


def basicsize(obj: Any, **opts: Any) -> int:
    """The basic size of ``obj``'s type in bytes, GC header included (pympler's
    per-type figure; flat sizes come from ``flatsize``)."""
    return _type_info_for("basicsize", obj, opts).base


def itemsize(obj: Any, **opts: Any) -> int:
    """The size in bytes of one item of ``obj`` (0 for objects without items)."""
    return _type_info_for("itemsize", obj, opts).item_size(obj)


def leng(obj: Any, **opts: Any) -> Optional[int]:
    """The length of ``obj`` in items as pympler estimates it (allocated slots for
    lists, dicts and sets), or ``None`` for objects without items."""
    return _type_info_for("leng", obj, opts).length(obj)


def flatsize(obj: Any, align: int = 0, **opts: Any) -> int:
    """The flat size of ``obj`` in bytes (``sys.getsizeof`` plus inline instance values),
    rounded up to ``align`` (a power of 2; 0 or 1: no rounding)."""
    _check_options("flatsize", opts, _TYPEDEF_OPTIONS)
    align = _check_align("flatsize", align)
    sizer = _core.Sizer()
    sizer.configure(
        align=align, code=True, ignored=False, limit=0, detail=0, stats=0, above=0,
        frames=True, infer=bool(opts.get("infer")), clip=80,
    )
    return sizer.flatsize(obj)


def refs(obj: Any, **opts: Any) -> Optional[Iterator[Any]]:
    """An iterator over the referents ``asizeof`` follows from ``obj``, or ``None`` if
    it follows none.

    An instance's attributes come as one dict, as in pympler: its ``__dict__`` or, where
    Python keeps the attributes inline (3.11+) and no ``__dict__`` exists yet, a new dict
    with the same items (reading it does not create the instance's ``__dict__``).
    """
    _check_options("refs", opts, _TYPEDEF_OPTIONS)
    found = _core.named_referents(obj)
    if not found and not _core.Sizer.typedef(obj, True).has_refs:
        return None
    return iter([ref for _, ref in found])


def named_refs(obj: Any, **opts: Any) -> List[Tuple[str, Any]]:
    """``(name, referent)`` for the named referents ``asizeof`` follows from ``obj``
    (attributes, dict items); items of sequences have no name and are left out."""
    _check_options("named_refs", opts, _TYPEDEF_OPTIONS)
    return [(name, ref) for name, ref in _core.named_referents(obj) if name is not None]


# -- pympler's registries ---------------------------------------------------------------

_DICT_LIKE: List[type] = []
_AMAPPED = 0.01


def _looks_like_a_dict(cls: Any) -> bool:
    return isinstance(cls, type) and all(
        callable(getattr(cls, name, None)) for name in ("__len__", "get", "items", "keys", "values")
    )


def adict(*classes: Any) -> bool:
    """Registers ``classes`` as dict-like, as ``pympler.asizeof.adict`` does; ``True``
    when every one of them is a class with ``__len__``, ``get``, ``items``, ``keys`` and
    ``values`` (the others are not registered).

    heapscope records the classes (``_DICT_LIKE``) but sizes their instances as it sizes
    any instance; ``infer=True`` sizes every object with the mapping methods as a dict.
    """
    every = True
    for cls in classes:
        if _looks_like_a_dict(cls):
            if cls not in _DICT_LIKE:
                _DICT_LIKE.append(cls)
        else:
            every = False
    return every


def amapped(percentage: Optional[float] = None) -> float:
    """Sets (when ``percentage`` is not ``None``, clamped to 0-100) and returns the
    previous percentage of a ``numpy.memmap``'s file that pympler counts as resident,
    1.0 by default. heapscope keeps the setting for pympler's callers; its sizes of a
    ``memmap`` do not depend on it."""
    global _AMAPPED
    previous = _AMAPPED * 100.0
    if percentage is not None:
        if isinstance(percentage, bool) or not isinstance(percentage, (int, float)) or math.isnan(percentage):
            raise TypeError(f"amapped(): percentage={percentage!r} must be a number from 0 to 100, or None")
        _AMAPPED = max(0.0, min(1.0, percentage * 0.01))
    return previous
