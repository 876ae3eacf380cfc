"""Text for sizes, timestamps and objects, as ``pympler.util.stringutils`` writes it."""

from __future__ import annotations

from typing import Any, Optional, Union

from heapscope import _core

__all__ = ["pp", "pp_timestamp", "safe_repr", "trunc"]

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")


def pp(i: Union[int, float], base: int = 1024) -> str:
    """A size in bytes as fixed-width text: ``'   5     B'``, ``'   1.50 KB'``.

    Sizes up to ``base`` are whole bytes; larger ones are divided by ``base`` until they
    are not, with two decimals and the unit (KB, MB, GB, TB, PB, EB).

    >>> pp(1536)
    '   1.50 KB'
    """
    if base == 1024 and isinstance(i, (int, float)) and not isinstance(i, bool):
        return _core.pretty_size(i)
    if base <= 1:
        raise ValueError(f"pp(): base={base!r} must be greater than 1 (1024 for KB, MB, ...)")
    value: Union[int, float] = i
    unit = 0
    while value > base and unit < len(_UNITS) - 1:
        value = value / float(base)
        unit += 1
    if unit == 0:
        return f"{int(value):4d}     B"
    return f"{value:7.2f} {_UNITS[unit]}"


def pp_timestamp(t: Optional[float]) -> str:
    """Seconds as ``HH:MM:SS.ss`` (``'01:01:01.50'`` for 3661.5); ``''`` for ``None``.

    >>> pp_timestamp(3661.5)
    '01:01:01.50'
    """
    if t is None:
        return ""
    hours = int(t / 3600)
    minutes = int(t / 60 % 60)
    seconds = t % 60
    return f"{hours:02d}:{minutes:02d}:{seconds:05.2f}"


def safe_repr(obj: Any, clip: Optional[int] = None) -> str:
    """``repr(obj)``, or ``'N/A'`` if that raises an ``Exception``; with ``clip``, a repr
    longer than ``clip`` characters keeps its first ``clip - 4`` and last 2 characters,
    joined by ``..``.

    >>> safe_repr('Clipped text', clip=8)
    "'Cli..t'"
    """
    try:
        text = repr(obj)
    except Exception:
        return "N/A"
    if not clip or len(text) <= clip:
        return text
    return text[: max(clip - 4, 0)] + ".." + text[-2:]


def trunc(obj: Any, max: int, left: bool = False) -> str:
    """``str(obj)`` on one line (newlines become ``|``), at most ``max`` characters:
    a longer text is cut and marked with ``...`` at the end, or at the start if ``left``.
    Exceptions from ``str(obj)`` propagate.

    >>> trunc('This is a long text.', 8)
    'This ...'
    >>> trunc('This is a long text.', 8, left=True)
    '...text.'
    """
    text = str(obj).replace("\n", "|")
    if len(text) <= max:
        return text
    if left:
        return "..." + text[len(text) - max + 3 :]
    return text[: max - 3] + "..."
