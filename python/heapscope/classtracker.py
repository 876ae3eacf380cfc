"""Which instances of chosen classes are alive, how big they are, when they were created
and when they died: a drop-in replacement for ``pympler.classtracker``.

``ClassTracker.track_class(cls)`` records every instance of ``cls`` created from then on
(and ``track_object(obj)`` single objects); ``create_snapshot()`` sizes every tracked
object still alive; ``stats`` prints per-class summaries, and
``heapscope.classtracker_stats`` saves them as JSON or as an HTML report::

    >>> from heapscope.classtracker import ClassTracker
    >>> class Document:
    ...     def __init__(self, text):
    ...         self.text = text
    >>> tracker = ClassTracker()
    >>> tracker.track_class(Document)
    >>> docs = [Document("x" * 1000) for _ in range(3)]
    >>> tracker.create_snapshot("loaded")
    >>> [len(objs) for objs in tracker.index.values()]
    [3]
    >>> tracker.close()

What a snapshot records
    For each tracked object alive, its size as ``heapscope.asizeof`` counts it, with the
    tracked objects sized one after the other (oldest first) as by one ``Asizer``: a
    referent shared by several tracked objects is counted with the first, and tracked
    objects are never counted as referents of other tracked objects. With
    ``resolution_level=n`` the object's ``asized`` tree down to ``n`` levels is kept too.
    Also the process's resident and virtual memory (from ``/proc`` on Linux, else from
    ``psutil`` if installed), the tracked total, the tracker's own overhead and, with
    ``compute_total=True``, the size of every object the garbage collector knows.

How deaths are seen
    Objects that can be weakly referenced are watched with a weak reference whose
    callback records the time of death. Objects that cannot (``__slots__`` classes
    without ``__weakref__``, ints, tuples, ...) are still tracked, where pympler raises
    ``TypeError``: the tracker holds a strong reference to them and, at every snapshot
    (and every so often while tracking), checks whether that reference is the only one
    left; if it is, the object is recorded as dead at that moment and released. Their
    death time is therefore the time of the check after they were let go, and such an
    object lives until that check. Objects of this kind caught in a reference cycle are
    kept alive by the tracker until ``detach_all()`` or ``clear()``. ``keep=True`` holds
    any tracked object alive until then, as in pympler.

Threads
    Tracking, snapshots and statistics may be used from several threads at once;
    snapshots are taken one at a time (a thread asking for one while another thread takes
    one waits for it). ``start_periodic_snapshots`` runs snapshots in a background thread
    that ``stop_periodic_snapshots`` (and ``close``) stop and join.

Code run by a snapshot
    A snapshot runs the tracked objects' own code (``__repr__``, ``__sizeof__``, and
    ``__del__`` of objects that die meanwhile). Called from there, ``create_snapshot()``
    and ``clear()`` raise ``RuntimeError`` (a snapshot is in progress in that thread);
    tracking, ``detach_all()`` and the statistics work, and ``close()`` or
    ``stop_periodic_snapshots()`` stop the periodic thread without waiting for it.
"""

from __future__ import annotations

import functools
import linecache
import sys
import threading
import time
import types
import weakref
from typing import IO, Any, Callable, Dict, List, Optional, Tuple, cast

from heapscope import _core
from heapscope.asizeof import basicsize
# What a tracker recorded, as Python reads it, lives with the statistics (a file loaded
# without a tracker has the same objects); imported from there and importable from here.
from heapscope.classtracker_stats import (ConsoleStats, ProcessMemory, Snapshot, TrackedObject,  # noqa: F401
                                          _check_level, _fallback_process, _index_of, _Views)

__all__ = ["ClassTracker", "PeriodicThread", "Snapshot", "TrackedObject", "TrackerClosedError"]

#: Unix time that tracker times count from (the import of this module), as in pympler.
_local_start = time.time()


def _get_time() -> float:
    """Seconds since this module was imported."""
    return time.time() - _local_start


class TrackerClosedError(RuntimeError):
    """Raised when a closed ``ClassTracker`` is asked to track or take a snapshot."""


# -- helpers the Rust core calls ---------------------------------------------------------


def _type_facts(obj: Any) -> Tuple[bool, int, Optional[str]]:
    """``(weakrefable, basic size, label)`` for the class of ``obj``; the label is
    ``module.qualname`` when the class keeps ``object.__repr__`` (so the repr of an
    instance follows from it and the id), else ``None``."""
    cls = type(obj)
    weakrefable = getattr(cls, "__weakrefoffset__", 0) != 0
    try:
        base = basicsize(obj)
    except Exception:
        base = 0
    label = None
    if getattr(cls, "__repr__", None) is object.__repr__:
        module = getattr(cls, "__module__", None)
        qualname = getattr(cls, "__qualname__", cls.__name__)
        label = qualname if not isinstance(module, str) or module == "builtins" else f"{module}.{qualname}"
    return weakrefable, max(int(base), 0), label


def _capture_trace() -> List[Tuple[str, int, str, Optional[str]]]:
    """The stack of the code that tracked an object, outermost frame first, each frame
    ``(file, line, function, source line or None)``. Called from
    the core, itself called by ``track_object`` or an injected constructor: two frames
    up is the caller."""
    frame: Optional[types.FrameType] = sys._getframe(2)
    frames = []
    while frame is not None:
        code = frame.f_code
        line = frame.f_lineno or 0
        # The line as ``inspect.stack()`` gives it (indented, with its newline).
        text = linecache.getline(code.co_filename, line, frame.f_globals) or None
        frames.append((code.co_filename, line, code.co_name, text))
        frame = frame.f_back
    frames.reverse()
    return frames


def _check_name(where: str, name: Any) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{where}(): name must be a str or None, not {type(name).__name__}")


# -- the tracker -----------------------------------------------------------------------------


class _Observer:
    """How one class is tracked: its observer in the core and its constructors."""

    __slots__ = ("cls", "constructor", "keep", "level", "name", "oid", "original", "trace")

    def __init__(self, cls: type, oid: int, original: Optional[Callable[..., Any]], constructor: Callable[..., Any],
                 name: str, level: int, keep: bool, trace: bool) -> None:
        self.cls = cls
        self.oid = oid
        self.original = original
        self.constructor = constructor
        self.name = name
        self.level = level
        self.keep = keep
        self.trace = trace


def _make_constructor(cls: type, track: Callable[[Any, int], Any], oid: int,
                      original: Optional[Callable[..., Any]]) -> Callable[..., Any]:
    """The ``__init__`` installed in a tracked class: tracks the new instance, then
    runs the constructor the class had (its own, or the inherited one)."""
    # The wrappers return what the constructor returned (``Any``), so that Python still
    # refuses a constructor that returns something other than None.
    if isinstance(original, types.FunctionType):
        def __init__(self: Any, *args: Any, **kwargs: Any) -> Any:
            track(self, oid)
            return original(self, *args, **kwargs)

        functools.update_wrapper(__init__, original)
        return __init__
    if original is not None:
        # Some other descriptor: bind it as attribute lookup would.
        def __init__(self: Any, *args: Any, **kwargs: Any) -> Any:
            track(self, oid)
            bind = getattr(type(original), "__get__", None)
            init = bind(original, self, type(self)) if bind is not None else original
            return init(*args, **kwargs)

        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        return __init__

    inherits_object_init = next((c for c in cls.__mro__[1:] if "__init__" in c.__dict__), object) is object

    if inherits_object_init:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> Any:
            # object.__init__ ignores arguments only for classes with their own __new__;
            # without one, the class took no arguments before it was tracked.
            # (cast: mypy takes a class's own __new__ never to be object's.)
            if (args or kwargs) and cast(object, type(self).__new__) is object.__new__:
                raise TypeError(f"{type(self).__qualname__}() takes no arguments")
            track(self, oid)
    else:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> Any:
            track(self, oid)
            # mypy checks super()'s class statically; cls is known only at run time.
            return super(cls, self).__init__(*args, **kwargs)  # type: ignore[arg-type]

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__doc__ = f"Constructor of {cls.__qualname__}, tracked by a heapscope ClassTracker."
    return __init__


def _detach_observer(observer: _Observer, core: Any) -> None:
    core.set_observer(observer.oid, observer.name, observer.level, observer.keep, observer.trace, False)
    cls = observer.cls
    if cls.__dict__.get("__init__") is observer.constructor:
        if observer.original is not None:
            cls.__init__ = observer.original  # type: ignore[misc]
        else:
            del cls.__init__  # type: ignore[misc]
    # Otherwise someone replaced __init__ after us: our constructor stays in their chain,
    # tracking nothing.


def _detach_all(observers: Dict[type, _Observer], core: Any, lock: Any) -> None:
    with lock:
        for cls in list(observers):
            _detach_observer(observers.pop(cls), core)


class PeriodicThread(threading.Thread):
    """Background thread taking a snapshot every ``interval`` seconds until stopped."""

    def __init__(self, tracker: "ClassTracker", interval: float, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interval = interval
        self.tracker = tracker
        self._stop_event = threading.Event()
        #: The exception that ended the thread, if any.
        self.error: Optional[BaseException] = None

    @property
    def stop(self) -> bool:
        """Set to ``True`` to make the thread end (pympler's stop flag)."""
        return self._stop_event.is_set()

    @stop.setter
    def stop(self, value: bool) -> None:
        if value:
            self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.tracker.create_snapshot()
            except TrackerClosedError:
                break
            except BaseException as error:
                self.error = error
                raise
            self._stop_event.wait(self.interval)


class ClassTracker:
    """Tracks instances of classes and single objects, and takes size snapshots of them.

    ``stream`` is where ``stats`` prints (default ``sys.stdout``). Use ``close()`` (or
    ``with ClassTracker() as tracker:``) to restore the tracked classes' constructors;
    the gathered data stays available. A tracker that is garbage collected restores
    them too.
    """

    def __init__(self, stream: Optional[IO[str]] = None) -> None:
        self._core = _core.TrackerCore(_local_start, _type_facts, _capture_trace)
        self._stream = stream
        self._lock = threading.RLock()
        self._observers: Dict[type, _Observer] = {}
        self._periodic_thread: Optional[PeriodicThread] = None
        self._closed = False
        self._views = _Views(self._core)
        #: Taken while a snapshot is created (re-entrant, so that code run by a snapshot
        #: gets an error rather than a deadlock).
        self.snapshot_lock = threading.RLock()
        #: The thread taking a snapshot, while it holds ``snapshot_lock``.
        self._snapshot_thread: Optional[int] = None
        #: Every snapshot taken, oldest first.
        self.snapshots: List[Snapshot] = []
        self._finalizer = weakref.finalize(self, _detach_all, self._observers, self._core, self._lock)

    def __enter__(self) -> "ClassTracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check_open(self, where: str) -> None:
        if self._closed:
            raise TrackerClosedError(f"{where}(): this ClassTracker is closed; its data can still be read")

    def _check_not_in_snapshot(self, where: str) -> None:
        """``RuntimeError`` if this thread is taking a snapshot: the call comes from code
        that snapshot runs. Call it with ``snapshot_lock`` held."""
        if self._snapshot_thread is not None:
            raise RuntimeError(f"{where}(): a snapshot of this ClassTracker is in progress in this thread "
                               "(this call comes from a __repr__, __sizeof__ or __del__ the snapshot ran); "
                               "call it after create_snapshot() returns")

    # -- what is tracked ------------------------------------------------------------------

    @property
    def stats(self) -> ConsoleStats:
        """A ``ConsoleStats`` over the data gathered so far."""
        return ConsoleStats(tracker=self, stream=self._stream)

    @property
    def index(self) -> Dict[str, List[TrackedObject]]:
        """Every tracked object (alive or dead) by the name it is tracked under."""
        return _index_of(self._core, self._views)

    @property
    def objects(self) -> Dict[int, TrackedObject]:
        """The latest tracked object of every id (a dead one stays until its id is
        reused by another tracked object)."""
        generation = self._core.generation
        return {obj_id: self._views.get(i, generation) for obj_id, i in self._core.objects()}

    @property
    def tracked_objects(self) -> List[TrackedObject]:
        """Every tracked object, alive or dead, in the order it was tracked."""
        return self._views.all()

    @property
    def history(self) -> Dict[str, List[Tuple[float, int]]]:
        """Instances alive over time per name: ``(time, count)`` at each birth and death."""
        return dict(self._core.history())

    # -- tracking ------------------------------------------------------------------------

    def track_object(self, instance: Any, name: Optional[str] = None, resolution_level: int = 0,
                     keep: bool = False, trace: bool = False) -> None:
        """Track ``instance``: its lifetime, and its size at every snapshot.

        ``name`` defaults to its class's name; ``resolution_level`` is the number of
        levels of referents sized individually (0: the object as a whole); ``keep``
        keeps it alive until ``detach_all()``; ``trace`` records the stack that tracked
        it. Tracking an object tracked already changes nothing. Objects that cannot be
        weakly referenced are tracked too (see the module docs for how their death is
        seen).
        """
        self._check_open("track_object")
        level = _check_level("track_object", resolution_level)
        _check_name("track_object", name)
        if name is None:
            name = type(instance).__name__
        self._core.track(instance, name, level, bool(keep), bool(trace))

    def track_class(self, cls: type, name: Optional[str] = None, resolution_level: int = 0,
                    keep: bool = False, trace: bool = False) -> None:
        """Track every instance of ``cls`` (and of its subclasses) created from now on.

        Instances created before are not tracked. ``name`` defaults to
        ``module.ClassName``; the other options are those of ``track_object``. Tracking a
        class tracked already changes its options. ``TypeError`` if ``cls`` is not a
        class or its constructor cannot be replaced (builtin types).

        An instance of a subclass of several tracked classes is tracked under the most
        derived one.
        """
        self._check_open("track_class")
        if not isinstance(cls, type):
            raise TypeError(f"track_class(): only classes can be tracked, not {type(cls).__name__} {cls!r}"
                            " (use track_object() for single objects)")
        level = _check_level("track_class", resolution_level)
        _check_name("track_class", name)
        if name is None:
            name = f"{cls.__module__}.{cls.__name__}"
        keep, trace = bool(keep), bool(trace)
        with self._lock:
            observer = self._observers.get(cls)
            if observer is not None:
                self._core.set_observer(observer.oid, name, level, keep, trace, True)
                observer.name, observer.level, observer.keep, observer.trace = name, level, keep, trace
                return
            original = cls.__dict__.get("__init__")
            if original is not None and not callable(original):
                raise TypeError(f"track_class(): {cls.__qualname__}.__init__ is not callable")
            oid = self._core.add_observer(name, level, keep, trace)
            constructor = _make_constructor(cls, self._core.track_as, oid, original)
            try:
                cls.__init__ = constructor  # type: ignore[misc]
            except (TypeError, AttributeError) as error:
                self._core.set_observer(oid, name, level, keep, trace, False)
                raise TypeError(f"track_class(): cannot track instances of {cls.__qualname__}: {error}") from None
            self._observers[cls] = _Observer(cls, oid, original, constructor, name, level, keep, trace)

    def track_change(self, instance: Any, resolution_level: int = 0) -> None:
        """Change the resolution level of a tracked object (``KeyError`` if untracked)."""
        self._check_open("track_change")
        self._core.track_change(instance, _check_level("track_change", resolution_level))

    def detach_class(self, cls: type) -> None:
        """Stop tracking new instances of ``cls`` (``KeyError`` if it is not tracked);
        instances tracked already stay tracked."""
        with self._lock:
            observer = self._observers.pop(cls)
            _detach_observer(observer, self._core)

    def detach_all_classes(self) -> None:
        """Stop tracking new instances of every tracked class."""
        _detach_all(self._observers, self._core, self._lock)

    def detach_all(self) -> None:
        """Detach from every class and forget every tracked object (releasing those
        kept alive). Snapshots keep their totals but lose their per-object sizes."""
        self.detach_all_classes()
        self._core.forget()

    def clear(self) -> None:
        """Detach from everything and forget every tracked object and snapshot.

        ``RuntimeError`` (and nothing cleared) when called from code that a snapshot
        being taken in this thread runs."""
        with self.snapshot_lock:
            self._check_not_in_snapshot("clear")
            self.detach_all()
            self._core.clear_snapshots()
            self.snapshots[:] = []

    def close(self) -> None:
        """Stop periodic snapshots and detach from every class. The data gathered stays
        readable; tracking and snapshots raise ``TrackerClosedError`` from now on."""
        self.stop_periodic_snapshots()
        self.detach_all_classes()
        self._closed = True
        self._core.release_types()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- snapshots -----------------------------------------------------------------------

    def start_periodic_snapshots(self, interval: float = 1.0) -> None:
        """Take a snapshot now and every ``interval`` seconds in a daemon thread; if one
        is running already, change its interval."""
        self._check_open("start_periodic_snapshots")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise ValueError(f"start_periodic_snapshots(): interval must be a number > 0, not {interval!r}")
        with self._lock:
            thread = self._periodic_thread
            if thread is not None and thread.is_alive() and not thread.stop:
                thread.interval = interval
                return
            thread = PeriodicThread(self, interval, name="BackgroundMonitor", daemon=True)
            self._periodic_thread = thread
            thread.start()

    def stop_periodic_snapshots(self) -> None:
        """Stop the periodic snapshots and wait for the thread to end (at most one
        snapshot's time). Called from code run by a snapshot (the periodic thread's own,
        or one this thread is taking, which the periodic thread may be waiting for), it
        does not wait: the thread ends after the snapshot it is taking or waiting for."""
        with self._lock:
            thread, self._periodic_thread = self._periodic_thread, None
        if thread is None:
            return
        thread.stop = True
        if thread is not threading.current_thread() and self._snapshot_thread != threading.get_ident():
            thread.join()

    def create_snapshot(self, description: str = "", compute_total: bool = False) -> None:
        """Size every tracked object alive and record the process's memory.

        ``compute_total=True`` also sizes every object the garbage collector knows
        (slow in a large program). Snapshots may be taken from any thread, one at a
        time. ``RuntimeError`` when called from code (``__repr__``, ``__sizeof__``,
        ``__del__``) run by a snapshot being taken in this thread.
        """
        self._check_open("create_snapshot")
        with self.snapshot_lock:
            # Checked again: the tracker may have been closed while this thread waited.
            self._check_open("create_snapshot")
            self._check_not_in_snapshot("create_snapshot")
            self._snapshot_thread = threading.get_ident()
            try:
                index, figures = self._core.take_snapshot(self, str(description), bool(compute_total),
                                                          _fallback_process)
                self.snapshots.append(Snapshot._from_core(self._core, index, figures))
            finally:
                self._snapshot_thread = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._observers)} classes"
        return f"<ClassTracker {state}, {self._core.record_count()} objects, {len(self.snapshots)} snapshots>"
