"""Charts of class-tracker statistics: a drop-in replacement for ``pympler.charts``.

``tracker_timespace(filename, stats)`` draws the tracked classes' sizes over the
snapshots of a ``Stats`` (stacked areas for the classes above 3% of a snapshot, dashed
lines for the tracked and the measured totals) and saves the picture to ``filename``
(its extension chooses the format: ``.png``, ``.svg``, ``.pdf``)::

    >>> from heapscope.classtracker import ClassTracker
    >>> from heapscope import charts
    >>> tracker = ClassTracker()
    >>> tracker.track_class(dict)                           # doctest: +SKIP
    >>> tracker.create_snapshot()                           # doctest: +SKIP
    >>> charts.tracker_timespace('timespace.png', tracker.stats)  # doctest: +SKIP

It needs matplotlib (``pip install matplotlib``), imported on the first call with the
non-interactive ``Agg`` backend. Without it the call raises ``ImportError`` saying so,
where pympler silently writes nothing.
"""

from __future__ import annotations

from typing import Any, List

from heapscope.classtracker_stats import Stats

__all__ = ["tracker_timespace"]

_MIB = 1024.0 * 1024.0

#: Classes whose share of some snapshot exceeds this percentage get an area of their own.
_SHOWN_ABOVE_PCT = 3.0


def _pyplot() -> Any:
    """matplotlib's pyplot on the ``Agg`` backend, or an ``ImportError`` that says what to do."""
    try:
        # matplotlib is optional: where it is missing, the ImportError below says so.
        import matplotlib  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as error:
        raise ImportError(
            "heapscope.charts needs matplotlib to draw charts: install it with "
            "`pip install matplotlib`"
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return plt


def tracker_timespace(filename: str, stats: Stats) -> None:
    """Saves a time-space chart of ``stats`` (a ``Stats`` of a class tracker) to
    ``filename``: execution time across, sizes in MiB up, the tracked classes as stacked areas.

    Raises ``ImportError`` when matplotlib is not installed.
    """
    plt = _pyplot()
    snapshots = list(stats.snapshots)
    for snapshot in snapshots:
        stats.annotate_snapshot(snapshot)
    timestamps = [snapshot.timestamp for snapshot in snapshots]
    baseline: List[float] = [0.0] * len(snapshots)

    figure = plt.figure(figsize=(10, 4))
    try:
        axis = figure.add_subplot(111)
        axis.set_title("Snapshot Memory")
        axis.set_xlabel("Execution Time [s]")
        axis.set_ylabel("Size [MiB]")
        for name in sorted(stats.index):
            rows = [(snapshot.classes or {}).get(name) for snapshot in snapshots]
            if not any(row is not None and row["pct"] > _SHOWN_ABOVE_PCT for row in rows):
                continue
            top = [low + (row["sum"] / _MIB if row is not None else 0.0) for low, row in zip(baseline, rows)]
            # matplotlib leaves labels starting with "_" out of the legend ("__main__.Foo").
            axis.fill_between(timestamps, baseline, top, label=" " + name if name.startswith("_") else name)
            baseline = top
        axis.plot(timestamps, [s.asizeof_total / _MIB for s in snapshots], "r--", label="Total")
        axis.plot(timestamps, [s.tracked_total / _MIB for s in snapshots], "b--", label="Tracked total")
        axis.legend(loc=2)
        figure.savefig(filename)
    finally:
        plt.close(figure)
