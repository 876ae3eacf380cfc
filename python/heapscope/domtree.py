"""The dominator tree of the whole heap, to browse.

Every object of the heap hangs under its immediate dominator: the nearest object every
path from a root to it passes through. Deleting a node frees everything below it, so the
tree read largest first answers "what holds the memory?" one level at a time. The tree
is computed in Rust in one call (see :mod:`heapscope.retained`); only the part shown
(``max_depth`` levels, ``max_children`` children per node, ``max_nodes`` in all) comes
back, as text: a tree holds no object alive.

    >>> tree = heapscope.dominator_tree(max_depth=3, max_children=5)  # doctest: +SKIP
    >>> print(tree)                                                   # doctest: +SKIP
"""

from __future__ import annotations

import gc
import html
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

from heapscope import _core, _progress

__all__ = ["DominatorNode", "DominatorTree", "dominator_tree"]

_STYLE = "font-family:monospace;font-size:13px;line-height:1.5"


def _size(n: int) -> str:
    return _core.human_size(n)


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int, {minimum} or more, not {value!r}")
    return value


class DominatorNode:
    """One object of the tree: its type's name, a short description (its ``__name__``
    or clipped repr), its retained and flat sizes, how many objects it dominates
    directly (``child_count``), the kind of root it is (``root``, for the nodes at the
    top), and the children shown, largest first. ``hidden`` children (retaining
    ``hidden_retained`` bytes together) were cut off."""

    __slots__ = (
        "type_name",
        "description",
        "retained",
        "flat",
        "child_count",
        "root",
        "hidden",
        "hidden_retained",
        "children",
    )

    def __init__(self, row: Tuple[Any, ...]) -> None:
        (_, self.type_name, self.description, self.retained, self.flat, self.child_count, self.root) = row[:7]
        self.hidden: int = row[7]
        self.hidden_retained: int = row[8]
        self.children: List[DominatorNode] = []

    def label(self) -> str:
        """The node's line without indentation."""
        root = f", {self.root}" if self.root else ""
        return (
            f"{_size(self.retained)}  {self.type_name}  {self.description}"
            f"  (flat {_size(self.flat)}, {self.child_count:,} dominated{root})"
        )

    def __repr__(self) -> str:
        return f"<DominatorNode {self.label()}>"


class DominatorTree:
    """The visible part of the heap's dominator tree: ``root`` stands for the whole heap
    (its children are the roots, and the objects several roots reach), ``total`` is the
    bytes of every object of the heap and ``objects`` their number."""

    def __init__(self, rows: List[Tuple[Any, ...]], objects: int, max_depth: int, max_children: int) -> None:
        nodes = [DominatorNode(row) for row in rows]
        for row, node in zip(rows, nodes):
            if row[0] >= 0:
                nodes[row[0]].children.append(node)
        self.root = nodes[0]
        self.total: int = self.root.retained
        self.objects = objects
        self.max_depth = max_depth
        self.max_children = max_children

    def __iter__(self) -> Iterator[Tuple[int, DominatorNode]]:
        """``(depth, node)`` in preorder, largest first, the heap itself at depth 0."""
        stack = [(0, self.root)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, child) for child in reversed(node.children))

    def __len__(self) -> int:
        """The number of nodes shown, the heap's own included."""
        return sum(1 for _ in self)

    def format(self, max_depth: Optional[int] = None, max_children: Optional[int] = None) -> str:
        """The tree as indented text, largest first; cut further to ``max_depth`` levels
        and ``max_children`` children per node when given (never past what was
        computed). Children left out are one ``... N more`` line per node."""
        depth_cap = self.max_depth if max_depth is None else min(_check_count("max_depth", max_depth, 0), self.max_depth)
        child_cap = (
            self.max_children if max_children is None else _check_count("max_children", max_children, 0)
        )
        lines = [
            f"heap: {_size(self.total)} in {self.objects:,} objects, "
            f"{self.root.child_count:,} at the top of the dominator tree"
        ]
        # Nodes still to show, and "more" lines to print once a node's children are.
        stack: List[Tuple[int, Union[DominatorNode, str]]] = [(0, self.root)]
        while stack:
            depth, node = stack.pop()
            if isinstance(node, str):
                lines.append(node)
                continue
            if depth > 0:
                lines.append("  " * depth + node.label())
            shown = node.children[:child_cap] if depth < depth_cap else []
            hidden = node.hidden + len(node.children) - len(shown)
            if hidden:
                hidden_retained = node.hidden_retained + sum(c.retained for c in node.children[len(shown) :])
                stack.append((depth, "  " * (depth + 1) + f"... {hidden:,} more ({_size(hidden_retained)})"))
            stack.extend((depth + 1, child) for child in reversed(shown))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"<DominatorTree of {self.objects:,} objects, {_size(self.total)}, {len(self)} nodes shown>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.format())

    def _repr_html_(self) -> str:
        """Collapsible levels (``<details>``), the top one open; a bar per node shows its
        share of the heap."""
        from heapscope import _html

        esc: Callable[[object], str] = lambda value: html.escape(str(value), quote=True)  # noqa: E731
        total = self.total or 1
        out = [
            f'<div class="heapscope-domtree" style="{_STYLE}"><b>{esc(_size(self.total))}</b> in '
            f"{self.objects:,} objects"
        ]
        # Nodes still to show, and HTML already made (closing tags, "more" lines).
        stack: List[Union[DominatorNode, str]] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                out.append(node)
                continue
            bar = _html._bar(node.retained / total)
            root = f", {esc(node.root)}" if node.root else ""
            line = (
                f"{bar}<b>{esc(_size(node.retained))}</b> {esc(node.type_name)} <code>{esc(node.description)}</code> "
                f'<span style="color:{_html.MUTED}">(flat {esc(_size(node.flat))}, '
                f"{node.child_count:,} dominated{root})</span>"
            )
            if node.children or node.hidden:
                opened = " open" if node is self.root else ""
                out.append(f'<details{opened} style="margin-left:1em"><summary>{line}</summary>')
                stack.append("</details>")
                if node.hidden:
                    stack.append(
                        f'<div style="margin-left:2em;color:{_html.MUTED}">… {node.hidden:,} more '
                        f"({esc(_size(node.hidden_retained))})</div>"
                    )
                stack.extend(reversed(node.children))
            else:
                out.append(f'<div style="margin-left:2em">{line}</div>')
        out.append("</div>")
        return "".join(out)


def dominator_tree(
    max_depth: int = 4, max_children: int = 10, max_nodes: int = 1000, *, progress: bool = True
) -> DominatorTree:
    """The dominator tree of the whole heap, largest first: ``max_children`` children
    per node (those retaining the most), ``max_depth`` levels below the heap, at most
    ``max_nodes`` nodes in all; each node with its type, a short description, its
    retained and flat sizes and how many objects it dominates directly. The collector
    runs first (``gc.collect()``); one pass over the whole heap.

    ``print(tree)`` (or ``tree.format()``) shows it indented; in Jupyter it is a
    collapsible tree.

    A computation longer than two seconds shows its progress on a terminal (steps of
    the walks over objects and references, and the time), unless ``progress=False``.
    """
    _check_count("max_depth", max_depth, 0)
    _check_count("max_children", max_children, 0)
    _check_count("max_nodes", max_nodes, 1)
    gc.collect()
    shown = _progress.make("dominator_tree", progress, unit="steps")
    try:
        rows, objects = _core.dominator_tree(
            max_depth, max_children, max_nodes, [dominator_tree.__code__], progress=shown
        )
    finally:
        _progress.close(shown)
    return DominatorTree(rows, objects, max_depth, max_children)
