"""Type stubs for heapscope's Rust extension module."""

from os import PathLike
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union, final

__all__ = [
    "__version__",
    "Sizer",
    "TypeDef",
    "getsizeof",
    "named_referents",
    "register_footprint",
    "referrers_of",
    "why_chains",
    "retained_size",
    "retained_top",
    "retained_by_type",
    "retained_stats",
    "dominator_tree",
    "leak_suspects",
    "graph_edges",
    "node_name",
    "proc_memory",
    "Summary",
    "SnapshotError",
    "heap_objects",
    "_layouts",
    "_use_layout",
    "_layout_fallbacks",
    "summarize",
    "summarize_heap",
    "pretty_size",
    "human_size",
    "format_table",
    "flat_sizes",
    "total_flat_size",
    "filter_objects",
    "identity_diff",
    "referents",
    "tracked_count",
    "collect_until_settled",
    "TrackerCore",
    "DeathWatch",
    "process_memory",
    "RssSampler",
    "LineRecorder",
    "resident_memory",
    "pymalloc_stats",
]

__version__: str

@final
class TypeDef:
    """pympler's basic size, item size and length estimate of a type."""

    @property
    def base(self) -> int: ...
    @property
    def item(self) -> int: ...
    @property
    def leng_name(self) -> str: ...
    @property
    def has_refs(self) -> bool: ...
    def item_size(self, obj: Any) -> int: ...
    def length(self, obj: Any) -> Optional[int]: ...

@final
class Sizer:
    """Accumulating sizer behind ``heapscope.asizeof.Asizer``."""

    def __init__(self) -> None: ...
    @staticmethod
    def size_once(
        objs: Tuple[Any, ...],
        *,
        align: int,
        code: bool,
        ignored: bool,
        limit: Optional[int],
        detail: int,
        above: int,
        frames: bool,
        infer: bool,
        clip: int,
        progress: Optional[Callable[[int, Optional[int]], object]] = None,
    ) -> int:
        """``asizeof(*objs)`` with a fresh, configured sizer, in one call."""
    @staticmethod
    def typedef(obj: Any, instance: bool = True) -> TypeDef: ...
    def configure(
        self,
        *,
        align: int,
        code: bool,
        ignored: bool,
        limit: Optional[int],
        detail: int,
        stats: int,
        above: int,
        frames: bool,
        infer: bool,
        clip: int,
    ) -> None: ...
    def asizeof(self, objs: Tuple[Any, ...], progress: Optional[Callable[[int, Optional[int]], object]] = None) -> int: ...
    def sizes(
        self, objs: Tuple[Any, ...], tree: bool, progress: Optional[Callable[[int, Optional[int]], object]] = None
    ) -> List[Any]: ...
    def flatsize(self, obj: Any) -> int: ...
    def exclude_refs(self, *objs: Any) -> None: ...
    def exclude_objs(self, *objs: Any) -> None: ...
    def exclude_types(self, *objs: Any) -> None: ...
    def clear(self) -> None: ...
    @property
    def total(self) -> int: ...
    @property
    def missed(self) -> int: ...
    @property
    def mapped(self) -> int: ...
    @property
    def device(self) -> int: ...
    @property
    def sized(self) -> int: ...
    @property
    def seen(self) -> int: ...
    @property
    def duplicate(self) -> int: ...
    @property
    def depth(self) -> int: ...
    @property
    def ranked(self) -> int: ...
    @property
    def excluded_count(self) -> int: ...
    def excluded_types(self) -> List[type]: ...
    def ranks(self) -> List[Tuple[int, Any, bool, Any, int, int, int]]: ...
    def profiles(self) -> List[Tuple[Any, bool, int, int, int, Any]]: ...

def getsizeof(obj: Any) -> int:
    """``sys.getsizeof(obj)`` computed by heapscope's own formulas."""

def named_referents(obj: Any) -> List[Tuple[Optional[str], Any]]:
    """The referents ``asizeof`` follows from ``obj``, named (``None`` for items)."""

def register_footprint(type_name: str, hook: Callable[[Any], Any]) -> None:
    """Sizes instances of ``type_name`` and its subclasses with ``hook`` in deep walks."""

def why_chains(
    target: Any, ignore: Iterable[Any], max_paths: int, own_code: Sequence[Any]
) -> Tuple[str, List[Tuple[str, List[Tuple[str, str, int]]]], int, List[str], int]:
    """Behind ``heapscope.why``: the roots, the referrer index and the shortest chains from
    a root to ``target``, every step named: ``(target name, [(root label, [(text, type
    name, address)])], direct referrer count, their names (first 20), objects indexed)``.
    Frames running ``own_code`` are not roots."""

def retained_size(obj: Any, own_code: Sequence[Any], progress: Optional[Callable[[int, Optional[int]], object]] = None) -> int:
    """Behind ``heapscope.retained_size``: the flat size of ``obj`` plus those of every
    object it dominates in the whole heap's graph. Frames running ``own_code`` are not
    roots."""

_NamedPath = Tuple[str, List[Tuple[str, str, int]]]

def retained_top(
    n: int, deep: bool, own_code: Sequence[Any], progress: Optional[Callable[[int, Optional[int]], object]] = None
) -> List[Tuple[Any, int, int, Optional[str], Optional[int], _NamedPath]]:
    """Behind ``heapscope.retained_top``: the ``n`` objects retaining the most, largest
    first, as ``(object, retained size, flat size, root kind or None, deep size or None,
    (root label, [(step text, type name, address)]))``; the steps name the chain of
    dominators from a root."""

def retained_by_type(
    n: int, deep: bool, own_code: Sequence[Any], progress: Optional[Callable[[int, Optional[int]], object]] = None
) -> List[Tuple[type, int, int, int, Optional[int], _NamedPath]]:
    """Behind ``heapscope.retained_by_type``: the ``n`` types retaining the most, largest
    first, as ``(type, objects, flat size, retained size, deep size or None, dominator
    chain of its object retaining the most)``."""

def dominator_tree(
    max_depth: int, max_children: int, max_nodes: int, own_code: Sequence[Any], progress: Optional[Callable[[int, Optional[int]], object]] = None
) -> Tuple[List[Tuple[int, str, str, int, int, int, Optional[str], int, int]], int]:
    """Behind ``heapscope.dominator_tree``: the rows shown, breadth first (row 0 the heap),
    as ``(parent row or -1, type name, description, retained, flat, children, root kind
    or None, children not shown, their retained size)``, and the number of objects."""

def leak_suspects(
    threshold: float, own_code: Sequence[Any], progress: Optional[Callable[[int, Optional[int]], object]] = None
) -> Tuple[
    List[
        Tuple[
            bool,
            str,
            str,
            int,
            int,
            Optional[str],
            Tuple[str, str, int, int, Optional[Tuple[str, int, int]], _NamedPath],
        ]
    ],
    int,
    int,
]:
    """Behind ``heapscope.leak_suspects``: ``(suspects, heap total, objects)``, each
    suspect ``(single object?, type name, description, objects, retained, root kind or
    None, (accumulation point's type name, description, children, retained, (main
    child type, count, retained) or None, path))``."""

def retained_stats(own_code: Sequence[Any]) -> Dict[str, Union[int, float]]:
    """Figures of one retained-size computation (node, edge and root counts, bytes of
    the graph and dominator arrays, seconds of each phase, the heap's total)."""

def graph_edges(objects: List[Any]) -> List[Tuple[int, int, str]]:
    """The references between ``objects`` as ``(id of referrer, id of referent, label)``."""

def node_name(o: Any) -> str:
    """How a referrer tree shows ``o``: ``module(name)``, ``dict, len=3``, ``class mod.Name``...;
    ``<Name object at 0x...>`` (its type's C name and its address) when the object's own
    code raises an ``Exception``."""

def proc_memory(pagesize: int) -> Dict[str, Any]:
    """Memory figures of the process from ``/proc/self/stat`` and ``/proc/self/status``."""

def referrers_of(targets: List[Any], ignore: List[Any]) -> List[List[Any]]:
    """For each target, the objects referring to it directly, in one pass over the heap."""

# -- classtracker ---------------------------------------------------------------------------

_Process = Tuple[bool, int, int, int, int, int, int, int, int]
#: ``(timestamp, description, tracked_total, asizeof_total, overhead, process)``.
_SnapshotFigures = Tuple[float, str, int, int, int, _Process]

@final
class DeathWatch:
    """The weak reference callback of a tracker: notes when tracked objects die."""

    def __call__(self, reference: Any) -> None: ...

@final
class TrackerCore:
    """The Rust state behind ``heapscope.classtracker.ClassTracker``."""

    def __new__(cls, start: float, type_facts: Callable[[Any], Tuple[bool, int, Optional[str]]],
                capture_trace: Callable[[], List[Tuple[str, int, str, Optional[str]]]]) -> TrackerCore: ...
    @staticmethod
    def from_json(data: bytes) -> TrackerCore: ...
    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> TrackerCore: ...
    def to_json(self) -> bytes: ...
    def to_html(self, title: str, max_instances: int) -> str: ...
    def to_html_pages(self, title: str, max_instances: int, report: str, folder: str) -> Tuple[str, List[Tuple[str, str]]]: ...
    @property
    def start(self) -> float: ...
    @property
    def can_track(self) -> bool: ...
    @property
    def generation(self) -> int: ...
    def add_observer(self, name: str, level: int, keep: bool, trace: bool) -> int: ...
    def set_observer(self, observer: int, name: str, level: int, keep: bool, trace: bool, active: bool) -> None: ...
    def track_as(self, obj: Any, observer: int) -> bool: ...
    def track(self, obj: Any, name: str, level: int, keep: bool, trace: bool) -> bool: ...
    def track_change(self, obj: Any, level: int) -> None: ...
    def forget(self) -> None: ...
    def clear_snapshots(self) -> None: ...
    def release_types(self) -> None: ...
    def poll(self) -> int: ...
    def take_snapshot(self, tracker: Any, description: str, compute_total: bool,
                      fallback_process: Callable[[], Optional[Tuple[int, int]]]) -> Tuple[int, _SnapshotFigures]:
        """Sizes the tracked objects alive (with their trees and reprs), the tracker's
        overhead, the process memory, and stores the snapshot: its index and figures."""
    def record_count(self) -> int: ...
    def alive_count(self) -> int: ...
    def record(self, generation: int, index: int) -> Tuple[int, str, int, float, Optional[float], str,
                                                           Optional[List[Tuple[str, int, str, Optional[str]]]], int, str]: ...
    def record_sizes(self, generation: int, index: int) -> List[Tuple[float, int, int, Optional[List[Tuple[Optional[int], str, int, int]]]]]: ...
    def record_size_summary(self, generation: int, index: int) -> Tuple[int, int]: ...
    def record_size_at(self, generation: int, index: int, timestamp: float) -> int: ...
    def set_record_level(self, generation: int, index: int, level: int) -> None: ...
    def record_target(self, generation: int, index: int) -> Any: ...
    def record_weakref(self, generation: int, index: int) -> Any: ...
    def index(self) -> List[Tuple[str, List[int]]]: ...
    def objects(self) -> List[Tuple[int, int]]: ...
    def tracked_classes(self) -> List[str]: ...
    def snapshot_count(self) -> int: ...
    def snapshot(self, index: int) -> _SnapshotFigures: ...
    def class_rows(self, index: int) -> List[Tuple[str, int, int, float, float]]: ...
    def merged(self, index: int, name: str) -> List[Tuple[Optional[int], str, int, int]]: ...
    def sorted_records(self, keys: List[str]) -> List[int]: ...
    def history(self) -> List[Tuple[str, List[Tuple[float, int]]]]: ...
    def heap_bytes(self) -> int: ...

def human_size(bytes: float, decimals: int = 1) -> str:
    """``bytes`` in binary units for people: ``512 B``, ``1.5 KiB``, ``-3.2 MiB``."""

def process_memory() -> _Process:
    """``(available, rss, vms, data, code, shared, stack, peak_rss, pagefaults)`` now."""

def resident_memory() -> Tuple[int, Optional[int], str]:
    """``(rss, file_backed, source)``: the resident set size in bytes, how much of it maps
    files (``None`` when the kernel does not say) and the file read
    (``/proc/self/smaps_rollup``, else ``/proc/self/status``). ``OSError`` when neither
    can be read (not Linux)."""

def pymalloc_stats() -> Optional[Tuple[int, int, Optional[int], Optional[int]]]:
    """``(arena_bytes, allocated, free_blocks, empty_pools)`` of pymalloc in bytes, from
    the statistics ``sys._debugmallocstats()`` prints, read without printing them;
    ``None`` when pymalloc is not the object allocator. ``ValueError`` when they are not
    in pymalloc's form, ``OSError`` when they cannot be read on this system."""

# --- heap summaries (heapscope.muppy, heapscope.summary, heapscope.tracker) ---------

class SnapshotError(ValueError):
    """A saved summary that cannot be read (truncated, foreign, newer, inconsistent)."""

@final
class Summary:
    """Rows ``[type, count, size]`` of a heap summary, kept in Rust memory."""

    @staticmethod
    def from_rows(rows: Iterable[Any], *, kind: str = "summary", label: Optional[str] = None) -> Summary: ...
    @staticmethod
    def from_json(text: str) -> Summary: ...
    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> Summary: ...
    def rows(self) -> List[List[Any]]: ...
    def diff(self, later: Iterable[Any]) -> Summary: ...
    def to_json(self) -> str: ...
    def save(self, path: Union[str, PathLike[str]]) -> None: ...
    def format(self, limit: int = 15, sort: str = "size") -> str:
        """A title line, ``limit`` rows as a table in the ``sort`` order (the largest
        first; for a diff, the largest change either way) and a line for the rest."""
    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> List[Any]: ...
    def __iter__(self) -> Iterator[List[Any]]: ...
    @property
    def total_count(self) -> int: ...
    @property
    def total_size(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def created(self) -> float: ...
    @property
    def label(self) -> Optional[str]: ...
    @property
    def origin(self) -> Dict[str, Any]: ...

def heap_objects(
    *,
    remove_dups: bool = True,
    skip_frames: bool = True,
    exclude: Optional[Iterable[Any]] = None,
    progress: Optional[Callable[[int, Optional[int]], object]] = None,
) -> List[Any]:
    """pympler's ``muppy.get_objects()`` list (without the ``gc.collect()``)."""

def tracked_count() -> int:
    """How many objects the collector tracks: ``len(gc.get_objects())``, without the list."""

def collect_until_settled(rounds: int = 8) -> int:
    """``gc.collect()`` until a collection shortens the collector's lists by no more than
    it freed (at most ``rounds`` times), without returning to Python between rounds;
    returns how many collections ran."""

def _layouts() -> List[Tuple[str, bool]]:
    """Each CPython layout read in place (``str``, ``dict``, ``gc_lists``, ...) and whether
    it is in use: it passed its check at import and was not turned off."""

def _use_layout(name: str, enabled: bool) -> bool:
    """Turns reading a layout in place on or off (for tests: the public API is used
    instead) and returns the previous setting; ``ValueError`` for an unknown name."""

def _layout_fallbacks() -> List[Tuple[str, int]]:
    """How many times each layout's public fallback was taken since import."""

def summarize(objects: Iterable[Any], overrides: Optional[Dict[type, Callable[[Any], str]]] = None) -> List[List[Any]]:
    """pympler's ``summary.summarize(objects)``."""

def summarize_heap(
    *,
    overrides: Optional[Dict[type, Callable[[Any], str]]] = None,
    remove_dups: bool = True,
    ignore_self: bool = True,
    exclude: Optional[Iterable[Any]] = None,
    label: Optional[str] = None,
    census: str = "complete",
    own_types: Optional[Iterable[type]] = None,
    progress: Optional[Callable[[int, Optional[int]], object]] = None,
) -> Summary:
    """Summary of the whole heap in one pass (without the ``gc.collect()``): ``census`` is
    ``"complete"`` (every object reachable through untracked ones) or ``"pympler"``;
    ``ignore_self`` leaves out ``Summary`` objects and instances of ``own_types``."""

def pretty_size(value: Union[int, float]) -> str:
    """pympler's ``stringutils.pp``."""

def format_table(rows: List[List[str]]) -> List[str]:
    """pympler's summary table lines for cell texts (the first row is the header)."""

def flat_sizes(objects: Iterable[Any]) -> List[int]: ...
def total_flat_size(objects: Iterable[Any]) -> int: ...
def filter_objects(objects: Iterable[Any], type_: Any = None, min: int = -1, max: int = -1) -> List[Any]: ...
def identity_diff(left: Iterable[Any], right: Iterable[Any]) -> Tuple[List[Any], List[Any]]: ...
def referents(*objects: Any) -> List[Any]:
    """``gc.get_referents(*objects)``, leaving out dead objects still listed in free lists."""

@final
class RssSampler:
    """The resident-memory sampler thread behind ``heapscope.Timeline``."""

    def __new__(cls, interval: float, page_size: int, *, share: float = 0.05, min_gap: float = 0.5) -> RssSampler: ...
    def start(self, callback: Optional[Callable[[], Any]] = None) -> None: ...
    def stop(self) -> None: ...
    def elapsed(self) -> float: ...
    def add_summary_time(self, seconds: float) -> None: ...
    def summary_fits(self) -> bool: ...
    def samples(self) -> Tuple[List[float], List[int]]: ...
    def stats(self) -> Dict[str, Any]: ...

@final
class LineRecorder:
    """The per-line memory recorder behind ``@heapscope.profile``."""

    def __new__(cls, page_size: int, min_read_gap: float = 2e-05, growth_threshold: int = 1048576) -> LineRecorder: ...
    def watch(self, code: Any) -> None: ...
    def watches(self, code: Any) -> bool: ...
    def begin(self) -> None: ...
    def set_on_growth(self, callback: Optional[Callable[[Any, int, int], Any]]) -> None: ...
    def end(self) -> None: ...
    def __call__(self, code: Any, line: int) -> None: ...
    def line_event(self, code: Any, line: int) -> None: ...
    def trace(self, frame: Any, event: str, _arg: Any) -> Optional[Any]: ...
    def set_local_tracer(self, tracer: Optional[Any]) -> None: ...
    def install_c_tracer(self) -> None: ...
    def stats(self) -> List[Tuple[Any, int, int, int, int]]: ...
    @property
    def reads(self) -> int: ...
    def clear(self) -> None: ...
