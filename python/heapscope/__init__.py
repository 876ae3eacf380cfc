"""heapscope: how much memory Python objects take, and which objects live, grow and leak.

A drop-in, much faster successor to pympler with a Rust core::

    from heapscope.asizeof import asizeof   # was: from pympler.asizeof import asizeof
    asizeof(my_object)
"""

from typing import TYPE_CHECKING, Any

from heapscope._core import __version__

if TYPE_CHECKING:
    # What __getattr__ below loads on first use, as type checkers should see it.
    from heapscope import (
        asizeof,
        classtracker,
        classtracker_stats,
        datalibs,
        domtree,
        exceptions,
        garbagegraph,
        lines,
        muppy,
        process,
        refbrowser,
        refgraph,
        retained,
        summary,
        suspects,
        timeline,
        tracker,
    )
    from heapscope._why import why
    from heapscope.domtree import dominator_tree
    from heapscope.lines import profile
    from heapscope.retained import retained_by_type, retained_size, retained_top
    from heapscope.suspects import leak_suspects
    from heapscope.timeline import Timeline, load_timeline

__all__ = [
    "Timeline",
    "__version__",
    "asizeof",
    "classtracker",
    "classtracker_stats",
    "datalibs",
    "dominator_tree",
    "domtree",
    "exceptions",
    "garbagegraph",
    "leak_suspects",
    "lines",
    "load_timeline",
    "muppy",
    "process",
    "profile",
    "refbrowser",
    "refgraph",
    "retained",
    "retained_by_type",
    "retained_size",
    "retained_top",
    "summary",
    "suspects",
    "timeline",
    "tracker",
    "why",
]


def load_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """``%load_ext heapscope``: the ``%asizeof``, ``%retained``, ``%memtop`` and ``%%memdiff`` magics
    (see ``heapscope.magics``)."""
    from heapscope.magics import load_ipython_extension as load

    load(ipython)


if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above instead: a misspelt name
    # is then an error for them, not Any.
    def __getattr__(name: str) -> Any:
        # Submodules load on first use, so `import heapscope` stays cheap.
        if name == "why":
            from heapscope._why import why

            return why
        if name == "profile":
            from heapscope.lines import profile

            return profile
        if name in ("Timeline", "load_timeline"):
            from heapscope import timeline

            return getattr(timeline, name)
        if name in ("retained_size", "retained_top", "retained_by_type"):
            from heapscope import retained

            return getattr(retained, name)
        if name == "dominator_tree":
            from heapscope.domtree import dominator_tree

            return dominator_tree
        if name == "leak_suspects":
            from heapscope.suspects import leak_suspects

            return leak_suspects
        if name in __all__:
            import importlib

            return importlib.import_module(f"heapscope.{name}")
        raise AttributeError(f"module 'heapscope' has no attribute {name!r}")
