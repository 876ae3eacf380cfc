"""heapscope.process: process-level memory figures, pympler-compatible."""

import os
import sys

import pytest

from heapscope import process


linux = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc (Linux)")


@linux
def test_fields_from_proc():
    info = process.ProcessMemoryInfo()
    assert info.available is True
    assert info.pid == os.getpid()
    assert info.rss > 1 << 20 and info.vsz >= info.rss
    for field in ("data_segment", "code_segment", "shared_segment", "stack_segment"):
        assert getattr(info, field) > 0, field
    assert info.pagefaults >= 0
    labels = [label for label, _ in info.os_specific]
    assert "Resident set size" in labels and "Virtual memory size" in labels
    assert all(isinstance(value, str) for _, value in info.os_specific)


@linux
def test_rss_agrees_with_status_file():
    info = process.ProcessMemoryInfo()
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    assert abs(info.rss - kib * 1024) < 32 << 20


@linux
def test_update_refreshes_without_growing_os_specific():
    info = process.ProcessMemoryInfo()
    n = len(info.os_specific)
    block = bytearray(64 << 20)
    block[:: 4096] = b"x" * len(block[:: 4096])
    assert info.update() is True
    assert len(info.os_specific) == n
    assert info.rss >= 48 << 20
    del block


def test_repr_and_subtraction():
    a = process.ProcessMemoryInfo()
    b = process.ProcessMemoryInfo()
    assert repr(a).startswith("<ProcessMemoryInfo vsz=") and "rss=" in repr(a)
    diff = dict(b - a)
    assert set(diff) == {"Resident set size (delta)", "Virtual size (delta)"}


def test_is_available_and_matches_pympler_names():
    pympler_process = pytest.importorskip("pympler.process")
    assert process.is_available() == pympler_process.is_available()
    ours, theirs = process.ProcessMemoryInfo(), pympler_process.ProcessMemoryInfo()
    for name in ("vsz", "rss", "pagefaults", "data_segment", "code_segment", "shared_segment", "stack_segment",
                 "os_specific", "pid", "available", "update", "pagesize"):
        assert hasattr(ours, name) and hasattr(theirs, name), name
    if sys.platform.startswith("linux"):
        assert abs(ours.vsz - theirs.vsz) < 64 << 20
        assert ours.code_segment == theirs.code_segment


def test_fallback_when_proc_is_missing(monkeypatch):
    def unreadable(pagesize):
        raise FileNotFoundError("/proc/self/stat")

    monkeypatch.setattr(process._core, "proc_memory", unreadable)
    info = process.ProcessMemoryInfo()
    if hasattr(process, "_resource_rss"):
        assert info.available is True and info.rss > 0 and info.vsz == 0
    else:
        assert info.available is False


def test_threads():
    threads = list(process.get_current_threads())
    assert any(t.ident == process.get_current_thread_id() for t in threads)
    assert all(hasattr(t, "name") and hasattr(t, "daemon") for t in threads)
