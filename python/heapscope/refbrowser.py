"""Trees of referrers: who refers to an object, who refers to those, and so on; a
drop-in replacement for ``pympler.refbrowser``.

    >>> from heapscope.refbrowser import ConsoleBrowser
    >>> ConsoleBrowser(obj, maxdepth=2).print_tree()       # doctest: +SKIP
    list-+-dict-+-module(app)
         |      +-function (handler)
         |
         +-tuple--frame (codename: main)

Each level of the tree is found in one pass over the gc heap in Rust (pympler scans the
whole heap once per node with ``gc.get_referrers``), and neither building nor printing
recurses, so deep trees do not hit the recursion limit. ``HtmlBrowser`` shows the tree
in Jupyter as collapsible HTML, in place of pympler's Tk ``InteractiveBrowser``.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable, Dict, List, Optional, Set, TextIO, cast

from heapscope import _core

__all__ = ["RefBrowser", "StreamBrowser", "ConsoleBrowser", "FileBrowser", "HtmlBrowser", "get_tree"]

#: A short description of an object: its type, and for a few types what tells them apart
#: (a module's or function's name, a dict's or list's length).
_repr: Callable[[Any], str] = _core.node_name


class _Node:
    """A node of a referrer tree: the object ``o`` and its referrers as ``children``
    (nodes, or strings for objects already shown elsewhere when ``repeat`` is off)."""

    __slots__ = ("o", "children", "str_func")

    def __init__(self, o: Any, str_func: Optional[Callable[[Any], str]] = None) -> None:
        self.o = o
        self.children: List[Any] = []
        self.str_func = str_func

    def __str__(self) -> str:
        return _name(self.o, self.str_func)


def _name(o: Any, str_func: Optional[Callable[[Any], str]]) -> str:
    """``str_func(o)`` (``str(o)`` without one); when that raises an ``Exception``, the
    object's type name and address, read without running the object's code."""
    try:
        return str_func(o) if str_func is not None else str(o)
    except Exception:
        if str_func is _repr:
            raise  # node_name has its own fallback: this is not the object's doing
        return _safe_description(o)


#: ``type.__name__`` read through the descriptor of ``type`` itself: a metaclass's
#: ``__getattribute__`` is not consulted.
_type_name = type.__dict__["__name__"].__get__


def _safe_description(o: Any) -> str:
    """``<Name object at 0x...>`` (``class Name`` for a class), as ``node_name`` falls
    back to."""
    if issubclass(type(o), type):
        return f"class {_type_name(o)}"
    return f"<{_type_name(type(o))} object at {id(o):#x}>"


#: How many nodes a tree holds at most unless the caller asks for more. With
#: ``repeat=True`` (pympler's default) an object shown under several parents is expanded
#: under each, so trees grow exponentially with depth: a three-element list reaches
#: 120,000 nodes at depth 10 and would fill the memory of the machine at depth 20.
MAX_NODES = 100_000


class RefBrowser:
    """Builds the tree of referrers of ``rootobject``, ``maxdepth`` levels deep.

    ``str_func`` names each node; with ``repeat=False`` an object already in the tree is
    shown again only as ``"<name> (already included, id <id>)"``, without its referrers.
    As in pympler, "already" is in the order of a depth-first walk: an object is a node
    where it is first met taking each referrer's whole subtree before the next referrer,
    and a string everywhere after (also where it is a direct referrer of a node above).
    The tree stops growing at ``max_nodes`` nodes (``MAX_NODES``, 100,000, by default;
    ``None`` for no limit): the node where it stopped gets a last child saying so.
    """

    def __init__(self, rootobject: Any, maxdepth: int = 3, str_func: Callable[[Any], str] = _repr,
                 repeat: bool = True, stream: Optional[TextIO] = None, *,
                 max_nodes: Optional[int] = MAX_NODES) -> None:
        if not isinstance(maxdepth, int) or maxdepth < 0:
            raise ValueError(f"maxdepth must be a non-negative int, not {maxdepth!r}")
        if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
            raise ValueError(f"max_nodes must be a positive int or None, not {max_nodes!r}")
        self.max_nodes = max_nodes
        self.root = rootobject
        self.maxdepth = maxdepth
        self.str_func = str_func
        self.repeat = repeat
        self.stream = stream
        self.ignore: List[Any] = []
        self.already_included: Set[int] = set()

    def get_tree(self) -> _Node:
        """The tree of referrers of the root object."""
        if not self.repeat:
            return self._tree_without_repeats()
        tree = _Node(self.root, self.str_func)
        self.already_included.add(id(self.root))
        level = [tree]
        # Bookkeeping that refers to the objects must not show up as their referrer.
        # (This frame is left out by its code: held here, the frame and own would refer
        # to each other and keep the levels alive until the next collection.)
        own = [level, tree, self, self.__dict__, self.ignore]
        room = self.max_nodes - 1 if self.max_nodes is not None else None
        depth = 0
        cut = False
        while level and depth < self.maxdepth and not cut:
            depth += 1
            own.append(level)
            targets = [node.o for node in level]
            ignore = own + self.ignore
            ignore += (own, ignore, targets)
            try:
                referrers = _core.referrers_of(targets, ignore)
            finally:
                ignore.clear()  # it holds itself: emptied, it keeps nothing alive
            del ignore, targets
            nodes = {id(node) for node in level}
            following: List[_Node] = []
            for node, found in zip(level, referrers):
                own.append(found)
                for o in found:
                    if _own_referrer(o, nodes) or o is level or o is following:
                        continue  # also a level list of this browser
                    if room == 0:
                        node.children.append(self._cut_text())
                        cut = True
                        break
                    self.already_included.add(id(o))
                    child = _Node(o, self.str_func)
                    node.children.append(child)
                    following.append(child)
                    if room is not None:
                        room -= 1
                if cut:
                    break
            level = following
        return tree

    def _cut_text(self) -> str:
        return (
            f"... tree cut at {self.max_nodes:,} nodes (pass max_nodes=None, or a larger "
            "max_nodes, for the rest)"
        )

    def _referrer_lists(self) -> "tuple[Dict[int, List[Any]], Set[int]]":
        """The referrers of every object within ``maxdepth - 1`` referrer steps of the
        root, one pass over the gc heap per level, each object looked up once: a map
        from an object's id to its referrers (this browser's bookkeeping left out), and
        the ids of the objects found, the root's included; at most ``max_nodes`` of
        them (the objects beyond are left out, and so are their referrers)."""
        referrers: Dict[int, List[Any]] = {}
        found = {id(self.root)}
        level = [self.root]
        own: List[Any] = [level, referrers, self, self.__dict__, self.ignore]  # as in get_tree
        mine = {id(o) for o in own}  # own is kept to the end: the ids stay its objects'
        room = self.max_nodes - 1 if self.max_nodes is not None else None
        depth = 0
        while level and depth < self.maxdepth:
            depth += 1
            ignore = own + self.ignore
            ignore += (own, ignore)
            try:
                lists = _core.referrers_of(level, ignore)
            finally:
                ignore.clear()  # as in get_tree
            del ignore
            following: List[Any] = []
            own.append(following)
            mine.add(id(following))
            for target, holders in zip(level, lists):
                kept: List[Any] = []
                own += (holders, kept)
                mine.update((id(holders), id(kept)))
                for o in holders:
                    if _own_referrer(o, mine):
                        continue
                    kept.append(o)
                    if id(o) in found or room == 0:
                        continue
                    found.add(id(o))
                    following.append(o)
                    if room is not None:
                        room -= 1
                referrers[id(target)] = kept
            del lists
            level = following
        return referrers, found

    def _tree_without_repeats(self) -> _Node:
        """``get_tree()`` with ``repeat=False``: the referrers of every object within
        reach are found level by level, then the tree is laid out depth-first (as
        pympler's recursion does) with an explicit stack."""
        referrers, found = self._referrer_lists()
        included = self.already_included
        included.clear()  # a second tree of the same browser starts afresh
        tree = _Node(self.root, self.str_func)
        included.add(id(self.root))
        if not self.maxdepth:
            return tree
        stack = [(tree, 1, iter(referrers[id(self.root)]))]
        while stack:
            node, depth, pending = stack[-1]
            o = next(pending, stack)
            if o is stack:
                stack.pop()
                continue
            if id(o) in included:
                node.children.append(f"{_name(o, self.str_func)} (already included, id {id(o)})")
                continue
            if id(o) not in found or (depth < self.maxdepth and id(o) not in referrers):
                node.children.append(self._cut_text())
                break
            included.add(id(o))
            child = _Node(o, self.str_func)
            node.children.append(child)
            if depth < self.maxdepth:
                stack.append((child, depth + 1, iter(referrers[id(o)])))
        return tree


class StreamBrowser(RefBrowser):
    """Prints the tree as text to ``stream``; ``hline``, ``vline``, ``cross`` and
    ``space`` are the characters it is drawn with."""

    hline = "-"
    vline = "|"
    cross = "+"
    space = " "

    def print_tree(self, tree: Any = None) -> None:
        """Prints ``tree`` (by default the tree of the root object)."""
        if tree is None:
            tree = self.get_tree()
        # Without a stream this fails (AttributeError) as pympler's does.
        cast(TextIO, self.stream).write(self.format_tree(tree))

    def format_tree(self, tree: Any) -> str:
        """The tree as text, the way ``print_tree`` prints it: a node, then its first
        referrer on the same line and the others below it, joined by lines."""
        out: List[str] = []
        # Explicit stack of (node, prefix, carry-on, depth, separator after it).
        stack: List[Any] = [(tree, "", "", 0, None)]
        while stack:
            node, prefix, carryon, depth, after = stack.pop()
            if node is None:
                out.append(after)
                continue
            label = str(node)
            prefix += label
            carryon += self.space * len(label)
            children = node.children if isinstance(node, _Node) else []
            if depth == self.maxdepth or not children:
                out.append(prefix + "\n")
                continue
            prefix += self.hline
            carryon += self.space
            if len(children) > 1:
                prefix += self.cross
                carryon += self.vline
            else:
                prefix += self.hline
                carryon += self.space
            if len(children) > 1:
                prefix += self.hline
                carryon += self.space
            pending = [(children[0], prefix, carryon, depth + 1, None)]
            for b in range(1, len(children)):
                line_prefix = carryon[:-2] + self.cross + self.hline
                last = b == len(children) - 1
                child_carry = carryon[:-2] + 2 * self.space if last else carryon
                pending.append((children[b], line_prefix, child_carry, depth + 1, None))
                if last and child_carry.strip(" "):
                    pending.append((None, "", "", 0, child_carry[:-2].rstrip() + "\n"))
            stack.extend(reversed(pending))
        return "".join(out)


class ConsoleBrowser(StreamBrowser):
    """Prints the tree to standard output (or the ``stream`` given)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.stream:
            self.stream = sys.stdout


class FileBrowser(StreamBrowser):
    """Writes the tree to a file."""

    def print_tree(self, filename: str, tree: Any = None) -> None:  # type: ignore[override]
        """Writes ``tree`` (by default the tree of the root object) to ``filename``."""
        if tree is None:
            tree = self.get_tree()
        with open(filename, "w", encoding="utf-8") as f:
            f.write(self.format_tree(tree))


class HtmlBrowser(RefBrowser):
    """Shows the tree in Jupyter as collapsible HTML (``display(HtmlBrowser(obj))``),
    in place of pympler's Tk ``InteractiveBrowser``."""

    def _repr_html_(self) -> str:
        from heapscope import _html

        return _html.refbrowser_html(self.get_tree())


def get_tree(rootobject: Any, maxdepth: int = 3, str_func: Callable[[Any], str] = _repr, repeat: bool = True, *,
             max_nodes: Optional[int] = MAX_NODES) -> _Node:
    """The referrer tree of ``rootobject`` (``RefBrowser(...).get_tree()``), at most
    ``max_nodes`` nodes."""
    return RefBrowser(rootobject, maxdepth, str_func, repeat, max_nodes=max_nodes).get_tree()


_OWN_CODE = {
    RefBrowser.get_tree.__code__,
    RefBrowser._referrer_lists.__code__,
    RefBrowser._tree_without_repeats.__code__,
    get_tree.__code__,
    HtmlBrowser._repr_html_.__code__,
}


def _own_referrer(o: Any, own_ids: Set[int]) -> bool:
    """Whether the referrer ``o`` is a browser's own: a node, a browser, one of the
    bookkeeping objects in ``own_ids`` or a frame of this module's code."""
    # Told apart by its real type: isinstance() would read __class__, which is the
    # object's own code (and may raise).
    kind = type(o)
    if issubclass(kind, (_Node, RefBrowser)) or id(o) in own_ids:
        return True
    return kind is types.FrameType and o.f_code in _OWN_CODE
