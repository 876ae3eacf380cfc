"""Graphs of the references between a collection of objects, written for Graphviz: a
drop-in replacement for ``pympler.refgraph``.

    >>> from heapscope.refgraph import ReferenceGraph
    >>> a, b = [], {}
    >>> a.append(b); b["a"] = a
    >>> graph = ReferenceGraph([a, b])
    >>> graph.write_graph("refs.dot")                     # doctest: +SKIP
    >>> graph.render("refs.png", format="png")            # doctest: +SKIP
    True

Each object is a node labelled with its clipped ``repr`` and type; each reference
between two of the objects is an edge labelled as pympler labels it: the dict key
holding it, or the attribute (``__dict__``, ``__class__``, a slot) it is found under;
empty for items of lists and tuples. ``reduce=True`` keeps only objects that lie on a
reference cycle; ``split()`` yields one graph per group of connected objects. ``render`` needs Graphviz's ``dot`` on ``PATH`` and raises
``GraphvizNotFound`` (an ``OSError``) with installation advice when it is missing.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, cast

from heapscope import _core
from heapscope.asizeof import Asizer

__all__ = ["ReferenceGraph", "GraphvizNotFound"]


class GraphvizNotFound(OSError):
    """Graphviz (the ``dot`` program) is not installed or not on ``PATH``."""


class _MetaObject:
    __slots__ = ("size", "id", "type", "str", "group", "cycle")

    def __init__(self) -> None:
        self.size = 0
        self.id = 0
        self.type = ""
        self.str = ""
        self.group: Optional[int] = None
        self.cycle = False


class _Edge:
    __slots__ = ("src", "dst", "label", "group")

    def __init__(self, src: int, dst: int, label: str) -> None:
        self.src = src
        self.dst = dst
        self.label = label
        self.group: Optional[int] = None

    def __repr__(self) -> str:
        return f"{self.src:#x} -> {self.dst:#x} ({self.label})"

    def __hash__(self) -> int:
        return hash((self.src, self.dst, self.label))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Edge) and (self.src, self.dst, self.label) == (other.src, other.dst, other.label)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _safe_repr(obj: Any, limit: int = 128) -> str:
    try:
        return _clip(repr(obj), limit)
    except Exception as exc:  # a failing repr must not break the graph
        return f"<{type(obj).__name__}: repr failed: {type(exc).__name__}>"


def _dot_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class ReferenceGraph:
    """The references between ``objects``, as a directed graph.

    ``objects`` are the nodes; ``edges`` the references between two of them.
    ``reduce=True`` keeps only the objects on reference cycles (``num_in_cycles``).
    """

    #: The graph's place among those ``split()`` and ``split_and_sort()`` return (set
    #: by them only).
    index: int

    def __init__(self, objects: Iterable[Any], reduce: bool = False) -> None:
        self.objects: List[Any] = list(objects)
        self.count = len(self.objects)
        self.num_in_cycles: Any = "N/A"
        self.edges: Optional[Set[_Edge]] = None
        # A graph made with reduce=True is its own reduced graph: a flag, not a reference
        # to itself, so that dropping the graph frees it (and its objects) at once.
        self._is_reduced = reduce
        self._reduced: Optional[ReferenceGraph] = None
        if reduce:
            self.num_in_cycles = self._reduce_to_cycles()
        self._get_edges()
        self._annotate_objects()

    # -- structure ----------------------------------------------------------------------

    def _referents(self) -> Dict[int, List[int]]:
        ids = {id(o) for o in self.objects}
        return {id(o): [id(r) for r in _core.referents(o) if id(r) in ids] for o in self.objects}

    def _reduce_to_cycles(self) -> int:
        """Removes, again and again, objects with no referrer or no referent left among
        the objects; what remains lies on a cycle. Returns how many remain."""
        out = self._referents()
        while True:
            into: Dict[int, int] = {k: 0 for k in out}
            for targets in out.values():
                for t in targets:
                    if t in into:
                        into[t] += 1
            keep = {k for k, targets in out.items() if into[k] and any(t in out for t in targets)}
            if len(keep) == len(out):
                break
            out = {k: [t for t in v if t in keep] for k, v in out.items() if k in keep}
        self.objects = [o for o in self.objects if id(o) in out]
        return len(self.objects)

    def reduce_to_cycles(self) -> Optional["ReferenceGraph"]:
        """A graph (of this graph's class) of the objects that lie on reference cycles,
        each marked ``cycle``; ``None`` when no object does. Computed once, and sets
        ``num_in_cycles``; a graph made with ``reduce=True`` returns itself."""
        if self._is_reduced:
            return self
        if self._reduced is None:
            reduced = copy.copy(self)
            reduced.objects = list(self.objects)
            reduced._reduced = None
            self.num_in_cycles = reduced.num_in_cycles = reduced._reduce_to_cycles()
            if not self.num_in_cycles:
                return None
            reduced.count = len(reduced.objects)
            reduced._is_reduced = True
            reduced._get_edges()
            reduced._annotate_objects()
            for md in reduced.metadata:
                md.cycle = True
            self._reduced = reduced
        return self._reduced

    def _get_edges(self) -> None:
        self.edges = {_Edge(src, dst, label) for src, dst, label in _core.graph_edges(self.objects)}

    def _annotate_objects(self) -> None:
        self.metadata: List[_MetaObject] = []
        self._by_id: Dict[int, _MetaObject] = {}
        sizer = Asizer()
        sizes = sizer.asizesof(*self.objects) if self.objects else ()
        self.total_size = sizer.total
        for obj, size in zip(self.objects, sizes):
            md = _MetaObject()
            md.size = size
            md.id = id(obj)
            try:
                md.type = obj.__class__.__name__
            except (AttributeError, ReferenceError):
                md.type = type(obj).__name__
            md.str = _safe_repr(obj, 128)
            self.metadata.append(md)
            self._by_id[md.id] = md

    def split(self) -> Iterator["ReferenceGraph"]:
        """Yields one graph (of this graph's class) per group of connected objects,
        references followed in either direction, in the order of each group's first
        object. Each holds the group's ``objects``, ``metadata`` and ``edges``, its
        ``total_size`` (the sum of its objects' sizes) and its ``index``; the objects'
        metadata and the edges get their group's number as ``group``."""
        parent = {md.id: md.id for md in self.metadata}

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for e in self.edges or ():
            if e.src in parent and e.dst in parent:
                a, b = find(e.src), find(e.dst)
                if a != b:
                    parent[a] = b
        number: Dict[int, int] = {}
        for md in self.metadata:
            md.group = number.setdefault(find(md.id), len(number))
        for e in self.edges or ():
            e.group = self._group_of(e.src)
        groups: List[List[Any]] = [[] for _ in number]
        for obj in self.objects:
            group = self._group_of(id(obj))
            if group is not None:
                groups[group].append(obj)
        edges_of: List[Set[_Edge]] = [set() for _ in number]
        for e in self.edges or ():
            if e.group is not None:
                edges_of[e.group].add(e)
        metadata_of: List[List[_MetaObject]] = [[] for _ in number]
        for md in self.metadata:
            metadata_of[cast(int, md.group)].append(md)
        for index, members in enumerate(groups):
            sub = copy.copy(self)
            sub.objects = members
            sub.metadata = metadata_of[index]
            sub.edges = edges_of[index]
            sub.count = len(sub.metadata)
            sub.total_size = sum(md.size for md in sub.metadata)
            sub.index = index
            sub._reduced = None
            yield sub

    def _group_of(self, ident: int) -> Optional[int]:
        md = self._by_id.get(ident)
        return None if md is None else md.group

    def split_and_sort(self) -> List["ReferenceGraph"]:
        """``split()`` as a list, the group with the most objects first (ties in
        ``split()``'s order), each graph's ``index`` its place in the list."""
        graphs = list(self.split())
        graphs.sort(key=lambda g: -g.count)
        for index, graph in enumerate(graphs):
            graph.index = index
        return graphs

    # -- output -------------------------------------------------------------------------

    def _get_graphviz_data(self) -> str:
        lines = ["// Process this file with graphviz\n", "digraph G {\n", "    node [shape=box];\n"]
        for md in self.metadata:
            extra = ", color=orange" if md.type == "frame" else ", color=red" if md.type == "method" else ""
            label = _dot_quote(_clip(md.str, 48)) + "\\n" + _dot_quote(md.type)
            lines.append(f'    "X{md.id:x}" [ label = "{label}"{extra} ];\n')
        for e in sorted(self.edges or (), key=lambda e: (e.src, e.dst, e.label)):
            extra = ",weight=100" if e.label == "__dict__" else ""
            lines.append(f'    "X{e.src:x}" -> "X{e.dst:x}" [label="{_dot_quote(e.label)}"{extra}];\n')
        lines.append("}\n")
        return "".join(lines)

    def write_graph(self, filename: str) -> None:
        """Writes the graph in Graphviz's dot language to ``filename``."""
        with open(filename, "w", encoding="utf-8") as f:
            f.write(self._get_graphviz_data())

    def render(self, filename: str, cmd: str = "dot", format: str = "ps", unflatten: bool = False) -> bool:
        """Renders the graph to ``filename`` with Graphviz (``cmd``, ``-T<format>``),
        after ``unflatten -l7`` if ``unflatten``. ``False`` when there is nothing to
        draw or Graphviz fails; ``GraphvizNotFound`` when ``cmd`` is not installed."""
        if not self.objects:
            return False
        tools = ["unflatten", cmd] if unflatten else [cmd]
        for tool in tools:
            if shutil.which(tool) is None:
                raise GraphvizNotFound(
                    f"cannot render the graph: Graphviz's {tool!r} is not on PATH. Install Graphviz "
                    f"(apt install graphviz, brew install graphviz, conda install graphviz) or "
                    f"write the dot file with write_graph() and render it elsewhere"
                )
        data = self._get_graphviz_data().encode()
        if unflatten:
            data = subprocess.run(["unflatten", "-l7"], input=data, capture_output=True, check=False).stdout
        options = ["-Nfontsize=10", "-Efontsize=10", "-Nstyle=filled", "-Nfillcolor=#E5EDB8", "-Ncolor=#CCCCCC"]
        done = subprocess.run([cmd, f"-T{format}", "-o", filename, *options], input=data, capture_output=True, check=False)
        return done.returncode == 0
