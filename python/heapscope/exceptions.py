"""The exceptions heapscope raises of its own; everything else it raises is a builtin
exception (``TypeError``, ``ValueError``, ``OSError``, ``MemoryError``...) with a message
that says what to do.

- ``SnapshotError`` (a ``ValueError``): a saved summary that cannot be read, because it is
  not JSON, cut short, written by another program or by a newer heapscope, or
  inconsistent. Also importable as ``heapscope.summary.SnapshotError``.
"""

from heapscope._core import SnapshotError

__all__ = ["SnapshotError"]
