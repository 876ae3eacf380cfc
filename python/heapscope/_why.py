"""Who keeps this object alive?

``why(obj)`` finds the shortest chain of references from a *root* to ``obj``: a module's
globals (every module in ``sys.modules``), the local variables of a live frame (any
thread, from ``sys._current_frames()``), or an exception a thread is handling. Every
object the garbage collector tracks is indexed in one pass in Rust (each object's
``tp_traverse`` gives what it refers to), then referrers are searched breadth first
from ``obj``, so the chain found is a shortest one::

    >>> import heapscope
    >>> print(heapscope.why(leaked))                        # doctest: +SKIP
    module 'app' → dict['cache'] → list[3] → Foo

What counts as a reference is what the garbage collector sees: containers' items,
instance attributes, closures, a function's globals. References held by C extensions'
own state, and objects kept alive only by a reference-count leak, are invisible; ``why``
then says that no root reaches the object and lists what refers to it directly.

The frames of ``why`` itself are not roots. The caller's frame is: an object held in
one of its local variables is reported as kept alive by that local.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable, List, NamedTuple, Optional, Sequence, Union, overload

from heapscope import _core

__all__ = ["why", "Why", "Chain", "Step", "Holder"]

class Step(NamedTuple):
    """One object on a chain: how it is shown, its type's name and its ``id``."""

    text: str
    type_name: str
    address: int


class Holder(NamedTuple):
    """One of IPython's own references to the object: its name (``Out[3]``, ``_3``,
    ``__``, ``the last error's traceback (local 'rows' of load())``) and what releases it."""

    name: str
    release: str


class Chain:
    """A chain of references from a root to the object, root first.

    Holds text only, never the objects: keeping a result around (in a notebook's
    ``Out``, say) does not keep the object alive or add referrers to it.
    """

    def __init__(self, root: str, steps: List[Step]):
        self.root = root
        self.steps = steps

    def __len__(self) -> int:
        """The number of references on the chain."""
        return len(self.steps) - 1

    def __str__(self) -> str:
        return " → ".join(step.text for step in self.steps)

    def __repr__(self) -> str:
        return f"<Chain {self}>"


class Why(Sequence[Chain]):
    """The answer of :func:`why`: the chains found, shortest first, one per root.

    Empty (false) when no root reaches the object; ``direct_referrers`` then names the
    types of the objects that refer to it directly (``direct_count`` of them).
    """

    def __init__(
        self,
        target: str,
        chains: List[Chain],
        direct_count: int,
        direct_referrers: List[str],
        indexed: int,
        ipython_holders: Optional[List[Holder]] = None,
    ):
        self.target = target
        self.chains = chains
        self.direct_count = direct_count
        self.direct_referrers = direct_referrers
        self.indexed = indexed
        #: What IPython itself keeps of the object (``Out[3]``, ``_``, the last error's
        #: traceback), each with how to release it; empty outside IPython.
        self.ipython_holders: List[Holder] = ipython_holders or []

    @overload
    def __getitem__(self, i: int) -> Chain: ...
    @overload
    def __getitem__(self, i: slice) -> List[Chain]: ...
    def __getitem__(self, i: Union[int, slice]) -> Union[Chain, List[Chain]]:
        return self.chains[i]

    def __len__(self) -> int:
        return len(self.chains)

    def unreachable_message(self) -> str:
        if self.direct_count == 0:
            held = "nothing the garbage collector can see refers to it"
        else:
            names = ", ".join(self.direct_referrers)
            more = "" if self.direct_count <= len(self.direct_referrers) else ", ..."
            held = f"{self.direct_count} object(s) refer to it directly ({names}{more}), but no root reaches them"
        return (
            f"No chain of references from a root (module globals, live frames, thread states) "
            f"reaches this {self.target}: {held}. It may be garbage awaiting collection "
            f"(gc.collect()), or be held by a C extension or a leaked reference count."
        )

    def ipython_message(self) -> str:
        """Which of IPython's own references hold the object, and how to release each
        kind (empty outside IPython or when IPython holds none)."""
        lines: List[str] = []
        for release in dict.fromkeys(holder.release for holder in self.ipython_holders):
            names = ", ".join(holder.name for holder in self.ipython_holders if holder.release == release)
            lines.append(f"IPython keeps it as {names}: {release}")
        return "\n".join(lines)

    def __str__(self) -> str:
        text = "\n".join(str(chain) for chain in self.chains) if self.chains else self.unreachable_message()
        held = self.ipython_message()
        return f"{text}\n{held}" if held else text

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from heapscope import _html

        return _html.why_html(self)


def why(obj: Any, max_paths: int = 1, *, ignore: Iterable[Any] = ()) -> Why:
    """Shortest chains of references from a root to ``obj`` (at most ``max_paths``).

    Roots are the globals of every module in ``sys.modules``, the local variables of
    every live frame in every thread, and the exception each thread is handling. The
    chains come shortest first, one per root, each step named as the referrer holds the
    next object (``dict['key']``, ``list[3]``, ``Foo.attr``, ``local 'x'``). Objects in
    ``ignore`` are not counted as referrers.

    >>> import heapscope, types, sys
    >>> app = types.ModuleType("app"); sys.modules["app"] = app
    >>> class Foo: pass
    >>> app.cache = {"k": [0, 1, 2, Foo()]}
    >>> print(heapscope.why(app.cache["k"][3]))
    module 'app' → dict['cache'] → dict['k'] → list[3] → Foo
    """
    if not isinstance(max_paths, int) or isinstance(max_paths, bool) or max_paths < 1:
        raise ValueError(f"max_paths must be a positive int, not {max_paths!r}")
    # There is at most one chain per root: any count past 64 bits means "all of them".
    max_paths = min(max_paths, sys.maxsize)
    target, found, direct_count, direct, indexed = _core.why_chains(obj, ignore, max_paths, _OWN_CODE)
    chains = [Chain(label, [Step(*step) for step in steps]) for label, steps in found]
    return Why(target, chains, direct_count, direct, indexed, _ipython_holders(obj))


# How to release each kind of IPython's references (shown after the chains).
_RELEASE_OUTPUT = "%reset -f out clears the output history (Out, _N, _, __, ___)"
_RELEASE_HIDDEN = "run: get_ipython().user_ns_hidden.update(_='', __='', ___='')"
_RELEASE_TRACEBACK = (
    "the next error replaces it, or run: import sys; sys.last_type = sys.last_value = "
    "sys.last_traceback = sys.last_exc = None; get_ipython().InteractiveTB.tb = None"
)


def _ipython_holders(obj: Any) -> List[Holder]:
    """IPython's own references to ``obj``, found by identity: its output history
    (``Out[n]`` and ``_n``), ``_``, ``__`` and ``___``, and the last error (the exception
    itself or a local variable of one of its traceback's frames)."""
    module = sys.modules.get("IPython")
    shell = None
    if module is not None:
        try:
            shell = module.get_ipython()
        except Exception:
            shell = None
    if shell is None:
        return []
    holders: List[Holder] = []
    try:
        namespace = shell.user_ns
        output = namespace.get("Out")
        if isinstance(output, dict):
            holders += [Holder(f"Out[{n}]", _RELEASE_OUTPUT) for n, value in list(output.items()) if value is obj]
            holders += [
                Holder(f"_{n}", _RELEASE_OUTPUT) for n in list(output) if namespace.get(f"_{n}") is obj
            ]
        holders += [Holder(name, _RELEASE_OUTPUT) for name in ("_", "__", "___") if namespace.get(name) is obj]
        # IPython also keeps copies of _, __ and ___ in its hidden namespace, which
        # %reset out leaves alone.
        hidden = getattr(shell, "user_ns_hidden", None)
        if isinstance(hidden, dict):
            holders += [
                Holder(f"a hidden copy of {name}", _RELEASE_HIDDEN) for name in ("_", "__", "___")
                if hidden.get(name) is obj
            ]
        holders += [Holder(name, _RELEASE_TRACEBACK) for name in _traceback_holders(obj, shell)]
    except Exception:
        # A namespace or traceback that cannot be read names nothing: the chains stand.
        pass
    return holders


def _traceback_holders(obj: Any, shell: Any) -> List[str]:
    """Where the last error shown by IPython holds ``obj``: the exception or a frame's local."""
    error = getattr(sys, "last_value", None)
    tracebacks = [getattr(sys, "last_traceback", None), getattr(getattr(shell, "InteractiveTB", None), "tb", None)]
    names: List[str] = []
    if error is not None and error is obj:
        names.append("the last error")
    seen = set()
    for tb in tracebacks:
        # Tracebacks are short chains of frames; the bound is only against a crafted loop.
        for _ in range(10_000):
            if tb is None or id(tb) in seen:
                break
            seen.add(id(tb))
            frame = tb.tb_frame
            tb = tb.tb_next
            if frame.f_code.co_name == "<module>":
                # A cell's own frame: its locals are the user's namespace, not the error's.
                continue
            for name, value in list(frame.f_locals.items()):
                if value is obj:
                    names.append(f"the last error's traceback (local {name!r} of {frame.f_code.co_name}())")
    return list(dict.fromkeys(names))


_OWN_CODE = (why.__code__,)
