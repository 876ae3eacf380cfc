"""``pympler.util.compat``'s one helper that outlived Python 2: ``object_in_list``."""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["object_in_list"]


def object_in_list(obj: Any, objects: Iterable[Any]) -> bool:
    """Whether ``obj`` itself (by identity, not equality) is one of ``objects``.

    Unlike ``obj in objects`` it never calls ``__eq__``, so it works for objects that
    compare equal to others, or that cannot be compared, and for a ``WeakSet``.

    >>> object_in_list([], [[]])
    False
    """
    return any(item is obj for item in objects)
