"""heapscope.leak_suspects and ``python -m heapscope run --suspects``: MAT's rule and the
accumulation point, on a cache that grows with 100,000 records."""
import os
import re
import subprocess
import sys
import textwrap

import pytest
from catalog import run_isolated

import heapscope

LEAK = """
import sys, types
class Record:
    def __init__(self, i):
        self.name = "record-%d" % i
        self.payload = [i, float(i)]
app = types.ModuleType("app")
sys.modules["app"] = app
app.cache = {}
for i in range(100_000):
    app.cache["k%d" % i] = Record(i)
"""


def test_a_growing_cache_is_the_suspect_and_its_dict_the_accumulation_point():
    out = run_isolated(LEAK + """
import heapscope
report = heapscope.leak_suspects()
[suspect] = [s for s in report if s.single and s.root == "module"]
a = suspect.accumulation
print("suspect", suspect.type_name, suspect.description, suspect.share > 0.5, len(report) >= 1)
print("point", a.type_name, a.children, a.child_type, a.child_count)
print("retained", a.retained == heapscope.retained_size(app.cache), a.retained <= suspect.retained)
print("path", a.path)
print("text", "suspect 1: one module 'app'" in str(report), "100,000 Record objects" in str(report))
print("html", "<ol>" in report._repr_html_())
""", timeout=300)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["suspect"] == "module 'app' app True True"
    # 100,000 records and their 100,000 keys, which only the dict holds.
    assert lines["point"] == "dict 200000 Record 100000"
    assert lines["retained"] == "True True"
    assert lines["path"] == "module 'app' → dict['cache'] → dict"
    assert lines["text"] == "True True"
    assert lines["html"] == "True"


def test_a_small_heap_has_no_suspect_past_a_high_threshold():
    report = heapscope.leak_suspects(threshold=1.0)
    assert len(report) <= 1
    assert str(report).startswith("no leak suspect") or len(report) == 1
    assert report.total > 0 and report.objects > 1000 and report.threshold == 1.0


def test_many_objects_of_one_type_are_a_suspect_together():
    # 2,000 lists held only from C (a leaked reference count each): no single one
    # retains much, all of them together do.
    out = run_isolated("""
import ctypes, heapscope
for i in range(2000):
    x = [str(i) * 2000]
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(x))
del x
report = heapscope.leak_suspects(threshold=0.2)
groups = [s for s in report if not s.single]
print(len(groups), groups[0].type_name, groups[0].count >= 2000, groups[0].share >= 0.2)
""", timeout=300)
    assert out.split() == ["1", "list", "True", "True"]


@pytest.mark.parametrize("threshold", [0, -0.5, 1.5, "10%", True])
def test_bad_thresholds(threshold):
    with pytest.raises(ValueError, match="threshold must be a fraction"):
        heapscope.leak_suspects(threshold)


def test_run_suspects_prints_the_report(tmp_path):
    script = tmp_path / "leaky.py"
    script.write_text(textwrap.dedent(LEAK.replace('app.cache', 'cache').replace('sys.modules["app"] = app', '')
                                      .replace("cache = {}", "cache = {}")))
    result = subprocess.run([sys.executable, "-m", "heapscope", "run", "--suspects", "--top", "3", str(script)],
                            capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ), timeout=300)
    assert result.returncode == 0, result.stderr
    report = result.stdout.split("heapscope: ", 2)[2]
    assert report.startswith("1 leak suspect") or report.split()[0] in "123"
    # 100,000 records and their keys; on 3.9 the cache dominates one object more here than
    # in a module's dict (test above), which this test does not pin down.
    dominated = re.search(r"accumulation point: dict retaining .*?, ([\d,]+) dominated objects", report)
    assert dominated and 200_000 <= int(dominated.group(1).replace(",", "")) <= 200_001, report
    assert "of which 100,000 Record objects" in report and "dict['cache'] → dict" in report
