"""Each of these user calls crosses from Python into the Rust core once, counted by
``benches/crossings.py`` in an interpreter of its own (a profiler left on inside pytest
keeps frames alive that other tests look for)."""

import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "benches", "crossings.py")


@pytest.mark.parametrize(
    "workload, function",
    [("asizeof", "Sizer.size_once"), ("snapshot", "TrackerCore.take_snapshot"), ("why", "why_chains")],
)
def test_one_call_into_the_core(workload, function):
    out = subprocess.run(
        [sys.executable, SCRIPT, workload, "-n", "2000", "-v"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert ": 1 calls into _core" in out, out
    assert out.split()[-1] == function, out
