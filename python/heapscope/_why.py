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
import types
from typing import Any, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from heapscope import _core

__all__ = ["why", "Why", "Chain", "Step"]

_CLIP = 40


class Step(NamedTuple):
    """One object on a chain: how it is shown, its type's name and its ``id``."""

    text: str
    type_name: str
    address: int


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

    def __init__(self, target: str, chains: List[Chain], direct_count: int, direct_referrers: List[str], indexed: int):
        self.target = target
        self.chains = chains
        self.direct_count = direct_count
        self.direct_referrers = direct_referrers
        self.indexed = indexed

    def __getitem__(self, i):  # type: ignore[override]
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

    def __str__(self) -> str:
        if not self.chains:
            return self.unreachable_message()
        return "\n".join(str(chain) for chain in self.chains)

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
    roots: List[Any] = []
    labels: List[str] = []
    own: List[Any] = [roots, labels]
    ignored: List[Any] = list(ignore)
    ignored.extend((own, ignored))
    _module_roots(roots, labels)
    _frame_roots(roots, labels, ignored)
    _thread_roots(roots, labels)
    found = _core.reference_chains(obj, roots, ignored, max_paths)
    chains = [Chain(labels[number], _name_chain(list(objects), labels[number])) for number, objects in found.chains]
    direct = [_type_name(r) for r in found.direct_referrers]
    ignored.clear()
    roots.clear()
    return Why(_type_name(obj), chains, found.direct_count, direct, found.nodes)


# ---------------------------------------------------------------------------------------
# roots


def _module_roots(roots: List[Any], labels: List[str]) -> None:
    for name, module in list(sys.modules.items()):
        if isinstance(module, types.ModuleType):
            roots.append(module)
            labels.append(f"module {name!r}")


_OWN_CODE = set()


def _frame_roots(roots: List[Any], labels: List[str], ignored: List[Any]) -> None:
    module_dicts = {id(m.__dict__) for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)}
    current = sys._current_frames()
    ignored.append(current)
    for frame in current.values():
        while frame is not None:
            ignored.append(frame)
            code = frame.f_code
            if code not in _OWN_CODE:
                where = f"{code.co_name}() at {_short_file(code.co_filename)}:{frame.f_lineno}"
                if frame.f_globals is frame.f_locals or code.co_name == "<module>":
                    if id(frame.f_globals) not in module_dicts:
                        roots.append(frame.f_globals)
                        labels.append(f"globals of {where}")
                else:
                    snapshot = dict(frame.f_locals)
                    roots.append(snapshot)
                    labels.append(f"frame {where}")
            frame = frame.f_back
    current.clear()


def _thread_roots(roots: List[Any], labels: List[str]) -> None:
    import threading

    names = {t.ident: t.name for t in threading.enumerate()}
    handled = {}
    getter = getattr(sys, "_current_exceptions", None)
    if getter is not None:
        for ident, exc in getter().items():
            if isinstance(exc, tuple):  # 3.12 returns exc_info tuples on some builds
                exc = exc[1]
            if exc is not None:
                handled[ident] = exc
    else:
        exc = sys.exc_info()[1]
        if exc is not None:
            import threading as _t

            handled[_t.get_ident()] = exc
    for ident, exc in handled.items():
        roots.append([exc])
        labels.append(f"thread {names.get(ident, ident)!r}: exception being handled")


def _short_file(path: str) -> str:
    parts = path.replace("\\", "/").rsplit("/", 1)
    return parts[-1]


# ---------------------------------------------------------------------------------------
# naming


def _type_name(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module {getattr(obj, '__name__', '?')!r}"
    if isinstance(obj, type):
        return f"class {obj.__qualname__}"
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        return f"function {getattr(obj, '__qualname__', '?')}"
    return type(obj).__qualname__


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def _key_text(key: Any) -> str:
    try:
        return _clip(repr(key))
    except Exception:  # a repr that fails still leaves a useful chain
        return f"<{type(key).__qualname__}>"


def _dict_key_for(mapping: Any, child: Any) -> Optional[str]:
    try:
        for key, value in mapping.items():
            if value is child:
                return _key_text(key)
    except Exception:
        return None
    return None


def _attr_for(parent: Any, child: Any) -> Optional[str]:
    """The attribute name under which ``parent`` holds ``child``, read without
    creating an instance ``__dict__``."""
    try:
        named = _core.named_referents(parent)
    except Exception:
        return None
    for name, value in named:
        if value is child and isinstance(name, str):
            if name.startswith("[V] "):
                return name[4:].split(":", 1)[0]
            if not name.startswith("[K] "):
                return name
    return None


def _edge(parent: Any, child: Any, after: Any) -> Tuple[str, bool]:
    """How ``parent`` refers to ``child`` as text to append to the parent's name, and
    whether ``child`` is folded into it (an instance's or class's ``__dict__``)."""
    if isinstance(parent, dict):
        key = _dict_key_for(parent, child)
        if key is not None:
            return f"[{key}]", False
        return " key", False
    if isinstance(parent, (list, tuple)):
        for i, item in enumerate(parent):
            if item is child:
                return f"[{i}]", False
        return "", False
    if isinstance(parent, types.ModuleType):
        return "", False
    if isinstance(parent, types.CellType):
        return ".cell_contents", False
    if isinstance(parent, type):
        if type(child) is dict and after is not None:
            key = _dict_key_for(parent.__dict__, after)
            if key is not None and key.startswith("'"):
                return "." + key[1:-1], True
        return "", False
    if isinstance(parent, types.FunctionType):
        for attr in ("__globals__", "__closure__", "__defaults__", "__kwdefaults__", "__dict__", "__code__"):
            if getattr(parent, attr, None) is child:
                return f".{attr}", False
        return "", False
    if type(child) is dict and after is not None:
        own = getattr(type(parent), "__dictoffset__", 0) and _instance_dict(parent)
        if own is child:
            key = _dict_key_for(child, after)
            if key is not None and key.startswith("'"):
                return "." + key[1:-1], True
    attr = _attr_for(parent, child)
    return (f".{attr}" if attr else ""), False


def _instance_dict(obj: Any) -> Any:
    try:
        return object.__getattribute__(obj, "__dict__")
    except Exception:
        return None


def _name_chain(objects: List[Any], root_label: str) -> List[Step]:
    steps: List[Step] = []
    i = 0
    n = len(objects)
    while i < n:
        obj = objects[i]
        text = root_label if i == 0 else _type_name(obj)
        if i + 1 < n:
            after = objects[i + 2] if i + 2 < n else None
            if i == 0 and root_label.startswith(("frame ", "globals of ")):
                key = _dict_key_for(obj, objects[i + 1])
                edge, folded = (f", local {key}" if key else ""), False
            elif i == 0 and root_label.startswith("thread "):
                edge, folded = "", False
            else:
                edge, folded = _edge(obj, objects[i + 1], after)
            text += edge
            if folded:
                i += 1  # the __dict__ is shown as the attribute name
        steps.append(Step(text, type(obj).__qualname__, id(obj)))
        i += 1
    return steps


_OWN_CODE.update({why.__code__, _frame_roots.__code__})
