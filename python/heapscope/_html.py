"""HTML and IPython pretty-printer renderings of heapscope's results, for Jupyter.

Each function takes a result object and returns a self-contained HTML fragment (inline
styles only, no scripts: collapsible trees use ``<details>``), so notebooks render the
same in JupyterLab, classic Notebook, VS Code and nbconvert exports. Text is escaped.

``Asized`` gets its methods from here::

    def _repr_html_(self):              return _html.asized_html(self)
    def _repr_pretty_(self, p, cycle):  _html.asized_pretty(self, p, cycle)
"""

from __future__ import annotations

import html
from typing import Any, List, Tuple

from heapscope import _core, _treeview

__all__ = ["asized_html", "asized_pretty", "pretty_size", "why_html", "refbrowser_html", "summary_html", "stats_html"]

_TREE_STYLE = "font-family:monospace;font-size:13px;line-height:1.5"

# Colours are JupyterLab's theme variables, so the views follow its light and dark
# themes; the fallbacks (classic Notebook, VS Code, exports) suit a light page. Text
# colour and background are otherwise left to the host.
BAR_TRACK = "var(--jp-layout-color2, #eee)"
BAR_FILL = "var(--jp-brand-color1, #4c78a8)"
MUTED = "var(--jp-content-font-color2, #888)"
GROWTH = "var(--jp-error-color1, #b22)"
SHRINK = "var(--jp-success-color1, #272)"
# Explicit on every cell: JupyterLab's and Notebook's stylesheets right-align <td>. A figure
# and its unit stay on one line.
NAME_CELL = 'style="padding:1px 8px;text-align:left"'
NUMBER_CELL = 'style="padding:1px 8px;text-align:right;white-space:nowrap"'
# A caption is as wide as its table; on one line it does not wrap under a narrow one.
CAPTION = 'style="text-align:left;white-space:nowrap"'


def pretty_size(n: float) -> str:
    """Bytes in human units: ``1.5 KiB``, ``12.0 MiB`` (``12 B`` under a KiB)."""
    return _core.human_size(n)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _bar(fraction: float) -> str:
    """A small horizontal bar filled to ``fraction`` (clamped to 0..1) of its width."""
    width = max(0.0, min(1.0, fraction)) * 100
    return (
        f'<span style="display:inline-block;width:60px;height:8px;background:{BAR_TRACK};'
        'margin-right:6px;vertical-align:middle">'
        f'<span style="display:block;height:8px;width:{width:.0f}%;background:{BAR_FILL}"></span></span>'
    )


def asized_html(node: Any, top: int = _treeview.TOP, max_nodes: int = _treeview.MAX_NODES) -> str:
    """An ``Asized`` tree as a collapsible HTML tree, largest children first; each line
    shows a bar for the share of the root's size, the size, the flat size and the name.
    Each node shows its ``top`` largest children and one line for the rest; the tree
    stops after ``max_nodes`` nodes."""
    total = node.size or 1
    rows = _treeview.bounded_rows(node, top, max_nodes)
    out: List[str] = [f'<div class="heapscope-asized" style="{_TREE_STYLE}">']
    opened = 0  # <details> open around the current row: one per level above it
    for i, row in enumerate(rows):
        while opened > row.level:
            out.append("</details>")
            opened -= 1
        if row.node is None:
            out.append(f'<div style="margin-left:2em;color:{MUTED}">{_esc(_treeview.more_text(row))}</div>')
            continue
        item = row.node
        line = (
            f"{_bar(item.size / total)}<b>{_esc(pretty_size(item.size))}</b> "
            f'<span style="color:{MUTED}">(flat {_esc(pretty_size(item.flat))})</span> {_esc(item.name)}'
        )
        if i + 1 < len(rows) and rows[i + 1].level > row.level:
            is_open = " open" if row.level == 0 else ""
            out.append(f'<details{is_open} style="margin-left:1em"><summary>{line}</summary>')
            opened += 1
        else:
            out.append(f'<div style="margin-left:2em">{line}</div>')
    out.append("</details>" * opened)
    out.append("</div>")
    return "".join(out)


def asized_pretty(node: Any, p: Any, cycle: bool) -> None:
    """IPython's pretty printer for ``Asized``: the tree as text, largest first, each
    node with its 15 largest referents and a line for the rest, 500 nodes at most."""
    if cycle:
        p.text("<Asized ...>")
        return
    p.text(_treeview.bounded_text(node))


def why_html(result: Any) -> str:
    """A ``heapscope.why`` answer as HTML: one row per chain, steps separated by arrows."""
    held = "".join(f"<div>{_esc(line)}</div>" for line in result.ipython_message().splitlines())
    if not result.chains:
        return f'<div class="heapscope-why" style="{_TREE_STYLE}">{_esc(result.unreachable_message())}{held}</div>'
    rows = []
    for chain in result.chains:
        steps = f' <span style="color:{MUTED}">→</span> '.join(
            f'<code title="{_esc(step.type_name)} at {step.address:#x}">{_esc(step.text)}</code>' for step in chain.steps
        )
        rows.append(f"<li>{steps} <span style=\"color:{MUTED}\">({len(chain)} references)</span></li>")
    return (
        f'<div class="heapscope-why" style="{_TREE_STYLE}"><b>Who keeps this {_esc(result.target)} alive?</b>'
        f'<ol>{"".join(rows)}</ol>{held}</div>'
    )


def refbrowser_html(tree: Any, str_func: Any = str) -> str:
    """A referrer tree (``refbrowser.RefBrowser.get_tree()``) as a collapsible HTML tree."""
    out: List[str] = [f'<div class="heapscope-refbrowser" style="{_TREE_STYLE}">']
    stack: List[Tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, close = stack.pop()
        if close:
            out.append("</details>")
            continue
        label = _esc(node)
        # Without repeat, an object met again is a text ("... already included ...").
        if getattr(node, "children", None):
            opened = " open" if node is tree else ""
            out.append(f'<details{opened} style="margin-left:1em"><summary>{label}</summary>')
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children))
        else:
            out.append(f'<div style="margin-left:2em">{label}</div>')
    out.append("</div>")
    return "".join(out)


_TABLE_STYLE = "font-family:monospace;font-size:13px;border-collapse:collapse"
_SUMMARY_LIMIT = 30  # rows shown of a summary; the rest are summed up in one line


def _signed(n: float, diff: bool) -> str:
    text = pretty_size(n)
    if not diff or n == 0:
        return _esc(text)
    colour = GROWTH if n > 0 else SHRINK
    return f'<span style="color:{colour}">{_esc(("+" if n > 0 else "") + text)}</span>'


def _count(n: int, diff: bool) -> str:
    return f"{n:+,}" if diff and n else f"{n:,}"


def summary_html(summary: Any, limit: int = _SUMMARY_LIMIT) -> str:
    """A heap ``Summary`` (or its diff) as an HTML table: one row per type, the largest
    (for a diff: the largest change either way) first, with a bar for the share of the
    total and the rows past ``limit`` summed up in one last line."""
    kind = getattr(summary, "kind", "summary")
    diff = kind == "diff"
    rows = sorted((list(row) for row in summary), key=lambda r: (-abs(r[2]), str(r[0])))
    scale = sum(abs(r[2]) for r in rows) or 1
    label = getattr(summary, "label", None)
    title = f"heap {'summary diff' if diff else 'summary'}" + (f" {label!r}" if label else "")
    total_count = sum(r[1] for r in rows)
    total_size = sum(r[2] for r in rows)
    name, number = NAME_CELL, NUMBER_CELL
    out = [
        f'<table class="heapscope-summary" style="{_TABLE_STYLE}">',
        f"<caption {CAPTION}><b>{_esc(title)}</b>: {len(rows):,} types, "
        f"{_esc(_count(total_count, diff))} objects, {_signed(total_size, diff)}</caption>",
        f"<tr><th {name}>type</th><th {number}>objects</th><th {number}>total size</th><th {name}></th></tr>",
    ]
    for type_name, count, size in rows[:limit]:
        out.append(
            f"<tr><td {name}>{_esc(type_name)}</td><td {number}>{_esc(_count(count, diff))}</td>"
            f"<td {number}>{_signed(size, diff)}</td><td {name}>{_bar(abs(size) / scale)}</td></tr>"
        )
    rest = rows[limit:]
    if rest:
        out.append(
            f'<tr style="color:{MUTED}"><td {name}>… {len(rest):,} more types</td>'
            f"<td {number}>{_esc(_count(sum(r[1] for r in rest), diff))}</td>"
            f"<td {number}>{_signed(sum(r[2] for r in rest), diff)}</td><td {name}></td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _share_of_tracked(size: int, tracked_total: int) -> float:
    """``size`` as a fraction of the snapshot's tracked total (0 when nothing is tracked),
    the figure the text table shows as "share of tracked"."""
    return size / tracked_total if tracked_total > 0 else 0.0


def stats_html(stats: Any) -> str:
    """Class-tracker ``Stats`` as HTML: one table per snapshot with each tracked class's
    instances alive, their total and average size and their share of the snapshot's
    tracked total (as ``str(stats)`` and the HTML report show it; 0 when nothing was
    tracked)."""
    from heapscope.classtracker_stats import _duration  # it imports this module

    classes = stats.tracked_classes
    name, number = NAME_CELL, NUMBER_CELL
    out = [f'<div class="heapscope-classtracker" style="{_TREE_STYLE}">']
    if not stats.snapshots:
        out.append("<i>no snapshots taken</i></div>")
        return "".join(out)
    for snapshot in stats.snapshots:
        figures = stats.annotate_snapshot(snapshot)
        tracked = snapshot.tracked_total
        when = _duration(snapshot.timestamp)
        label = f"{snapshot.desc} ({when})" if snapshot.desc else when
        out.append(
            f'<table class="heapscope-classtracker-snapshot" style="{_TABLE_STYLE};margin-bottom:8px">'
            f"<caption {CAPTION}><b>{_esc(label)}</b>: tracked {_esc(pretty_size(tracked))}"
            f"</caption><tr><th {name}>class</th><th {number}>active</th><th {number}>total</th>"
            f"<th {number}>average</th><th {number}>share of tracked</th></tr>"
        )
        for class_name in classes:
            info = figures.get(class_name)
            if info is None:
                continue
            share = _share_of_tracked(info["sum"], tracked)
            out.append(
                f'<tr><td {name}>{_esc(class_name)}</td><td {number}>{info["active"]:,}</td>'
                f'<td {number}>{_esc(pretty_size(info["sum"]))}</td><td {number}>{_esc(pretty_size(info["avg"]))}</td>'
                f"<td {number}>{_bar(share)}{share * 100:.1f}%</td></tr>"
            )
        out.append("</table>")
    out.append("</div>")
    return "".join(out)
