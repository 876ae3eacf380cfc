"""``heapscope.panels.MemoryPanel``: a django-debug-toolbar panel with what each request
did to the process's memory, a drop-in replacement for ``pympler.panels.MemoryPanel``.

Add it to the toolbar's panels in the project's settings::

    DEBUG_TOOLBAR_PANELS = [..., "heapscope.panels.MemoryPanel"]

For every request the toolbar shows, it takes a heap summary before and after the view
runs (one pass over the heap each, in Rust), and shows the instances of the project's
models and the objects of every type the request created or freed, with their count and
size changes, and the process's resident and virtual memory before and after. Like pympler's, it costs two heap passes per request: keep it for
development servers.

This module needs django-debug-toolbar (``pip install django-debug-toolbar``) and is
imported by the toolbar once Django's settings are configured.
"""

import html
from typing import Any, Dict, List, Set, cast

try:
    from debug_toolbar.panels import Panel  # type: ignore[import-not-found, import-untyped, unused-ignore]
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "heapscope.panels needs django-debug-toolbar: install it with `pip install django-debug-toolbar`"
    ) from error

from heapscope._html import pretty_size
from heapscope.process import ProcessMemoryInfo
from heapscope.tracker import SummaryTracker

__all__ = ["MemoryPanel"]

#: How many types the panel lists, those whose size changed most first.
SHOWN_TYPES = 25


def _signed(size: int) -> str:
    return ("+" if size >= 0 else "-") + pretty_size(abs(size))


def _model_names() -> Set[str]:
    """The names the heap summaries give the instances of the project's models."""
    from django.apps import apps  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return {f"{model.__module__}.{model.__qualname__}" for model in apps.get_models()}


def _rows(rows: List[List[Any]]) -> str:
    return "".join(
        f"<tr><td>{html.escape(name)}</td><td>{count:+,}</td><td>{_signed(size)}</td></tr>" for name, count, size in rows
    )


_TYPE_TABLE = "<table><thead><tr><th>type</th><th>objects</th><th>size</th></tr></thead><tbody>{}</tbody></table>"


class MemoryPanel(Panel):  # type: ignore[misc, unused-ignore]  # Panel is Any to mypy without the toolbar
    """The toolbar's "Memory" panel: the type-summary diff of the request and the
    process's memory before and after it."""

    title = "Memory"
    nav_title = "Memory"

    def process_request(self, request: Any) -> Any:
        """Runs the view between two heap summaries and records their difference."""
        before = ProcessMemoryInfo()
        tracker = SummaryTracker(progress=False)
        response = cast(Any, super()).process_request(request)
        rows = tracker.diff()
        after = ProcessMemoryInfo()
        rows.sort(key=lambda row: (-abs(row[2]), -abs(row[1]), str(row[0])))
        models = _model_names()
        cast(Any, self).record_stats({
            "models": [[str(name), int(count), int(size)] for name, count, size in rows if name in models],
            # Plain values only: the toolbar may store the stats as JSON.
            "types": [[str(name), int(count), int(size)] for name, count, size in rows[:SHOWN_TYPES]],
            "types_changed": len(rows),
            "rss": [before.rss, after.rss],
            "vsz": [before.vsz, after.vsz],
            "available": bool(before.available and after.available),
        })
        return response

    @property
    def nav_subtitle(self) -> str:
        """The resident memory after the request, and its change."""
        stats = cast(Any, self).get_stats()
        if not stats or not stats.get("available"):
            return ""
        before, after = stats["rss"]
        return f"RSS {pretty_size(after)} ({_signed(after - before)})"

    @property
    def content(self) -> str:
        """The panel's HTML (escaped here; no template to install)."""
        from django.utils.safestring import mark_safe  # type: ignore[import-not-found, import-untyped, unused-ignore]

        stats: Dict[str, Any] = cast(Any, self).get_stats() or {}
        parts: List[str] = []
        if stats.get("available"):
            rows = "".join(
                f"<tr><td>{label}</td><td>{pretty_size(first)}</td><td>{pretty_size(last)}</td>"
                f"<td>{_signed(last - first)}</td></tr>"
                for label, (first, last) in (("Resident set size", stats["rss"]), ("Virtual size", stats["vsz"]))
            )
            parts.append(
                "<h4>Process memory</h4><table><thead><tr><th></th><th>before</th><th>after</th>"
                f"<th>change</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        models = stats.get("models", [])
        parts.append("<h4>Model instances created and freed by the request</h4>")
        parts.append(_TYPE_TABLE.format(_rows(models)) if models else "<p>None.</p>")
        types = stats.get("types", [])
        changed = stats.get("types_changed", 0)
        parts.append(
            f"<h4>Objects created and freed by the request ({changed} types changed"
            f"{f', the {len(types)} largest changes shown' if changed > len(types) else ''})</h4>"
        )
        parts.append(_TYPE_TABLE.format(_rows(types)))
        return str(mark_safe("".join(parts)))
