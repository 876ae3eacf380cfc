"""heapscope's own exceptions, importable from ``heapscope.exceptions``."""

import pytest

import heapscope
from heapscope import exceptions, summary


def test_snapshot_error_is_one_class_everywhere():
    assert exceptions.SnapshotError is summary.SnapshotError is heapscope._core.SnapshotError
    assert issubclass(exceptions.SnapshotError, ValueError)
    assert heapscope.exceptions is exceptions


def test_a_bad_snapshot_raises_it(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('{"format": "heapscope-summary", "version": 1, "rows": [')
    with pytest.raises(exceptions.SnapshotError, match="cut short"):
        summary.load(str(path))
