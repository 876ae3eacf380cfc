"""Small helpers pympler users import from ``pympler.util``: ``stringutils`` (sizes,
timestamps and reprs as text) and ``compat`` (``object_in_list``)."""

from heapscope.util import compat, stringutils

__all__ = ["compat", "stringutils"]
