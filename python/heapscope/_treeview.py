"""The bounded view of an ``Asized`` tree that its text and HTML renderings show.

A size tree may have hundreds of thousands of nodes (``asized(big_dict, detail=2)``);
printed whole it floods a terminal and a notebook file. A view shows each node's
``top`` largest referents, sums the rest up in one "more" row, and stops after
``max_nodes`` nodes.
"""

from __future__ import annotations

import heapq
from typing import Any, List, NamedTuple, Optional, Tuple

__all__ = ["TOP", "MAX_NODES", "Row", "bounded_rows", "bounded_text", "more_text"]

#: Referents shown per node, largest first.
TOP = 15
#: Nodes shown in one view.
MAX_NODES = 500


class Row(NamedTuple):
    """One line of a view: a node at ``level``, or (``node`` None) the ``hidden``
    referents of the node above, ``hidden_size`` bytes together; ``hidden`` -1 marks
    the end of a view cut at its node cap."""

    level: int
    node: Optional[Any]
    hidden: int = 0
    hidden_size: int = 0


def _check(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return value


def bounded_rows(root: Any, top: int = TOP, max_nodes: int = MAX_NODES) -> List[Row]:
    """The rows of ``root``'s view, in pre-order: each node's ``top`` largest referents
    (then one row for the rest), at most ``max_nodes`` nodes in all."""
    _check("top", top)
    _check("max_nodes", max_nodes)
    rows: List[Row] = []
    shown = 0
    # An explicit stack keeps deep trees from hitting the recursion limit.
    stack: List[Tuple[int, Optional[Any], int, int]] = [(0, root, 0, 0)]
    while stack:
        level, node, hidden, hidden_size = stack.pop()
        if node is None:
            rows.append(Row(level, None, hidden, hidden_size))
            continue
        if shown == max_nodes:
            rows.append(Row(level, None, -1, 0))
            break
        shown += 1
        rows.append(Row(level, node))
        refs = node.refs
        if not refs:
            continue
        largest = heapq.nlargest(top, refs, key=lambda r: r.size) if len(refs) > top else sorted(
            refs, key=lambda r: r.size, reverse=True
        )
        if len(refs) > len(largest):
            rest = sum(r.size for r in refs) - sum(r.size for r in largest)
            stack.append((level + 1, None, len(refs) - len(largest), rest))
        stack.extend((level + 1, child, 0, 0) for child in reversed(largest))
    return rows


def more_text(row: Row) -> str:
    """The words of a "more" row."""
    from heapscope import _core

    if row.hidden < 0:
        return "... the rest of the tree is not shown (a larger max_nodes shows more)"
    noun = "referent" if row.hidden == 1 else "referents"
    return f"... {row.hidden:,} more {noun}: {_core.human_size(row.hidden_size)} (a larger top shows more)"


def bounded_text(
    root: Any,
    top: int = TOP,
    max_nodes: int = MAX_NODES,
    format: str = "%(name)s size=%(size)d flat=%(flat)d",
) -> str:
    """The view as text: one line per row, children indented by four spaces."""
    lines = []
    for row in bounded_rows(root, top, max_nodes):
        pad = "    " * row.level
        if row.node is None:
            lines.append(pad + more_text(row))
        else:
            lines.append(pad + (format % {"size": row.node.size, "flat": row.node.flat, "name": row.node.name}))
    return "\n".join(lines)
