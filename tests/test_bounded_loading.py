"""Untrusted files are read in memory proportional to their size, and crafted ones are
refused with a ValueError that says why, never a crash.

The memory tests run in a child interpreter under an address-space limit
(``RLIMIT_AS``) set a few times the file's size above what the child already uses: a
reader that builds a JSON tree first (about 15 times the file for a summary, 10 times
for a stats file) dies there; one that reads straight into its structures does not.
"""

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from heapscope import summary as hsum
from heapscope.classtracker_stats import ConsoleStats

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")

PRELUDE = """
import resource, sys
def vm_size():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
def limit(extra):
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + extra, resource.RLIM_INFINITY))
"""


def run_limited(body, *args, timeout=120):
    """Runs ``body`` in a child interpreter; returns its stdout, failing on any error."""
    program = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", program, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"child failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def summary_file(path, rows):
    """A valid summary file of ``rows`` one-object rows, written without a JSON tree."""
    head = {"format": "heapscope-summary", "version": 1, "kind": "summary", "created": 1.0, "python": "3.11.0",
            "implementation": "cpython", "platform": "linux", "pid": 1, "heapscope": "0.1.0",
            "objects": rows, "bytes": 16 * rows}
    with open(path, "w") as f:
        f.write(json.dumps(head)[:-1] + ', "rows": [')
        f.write(",\n".join(f'{{"type": "t{i}", "count": 1, "size": 16}}' for i in range(rows)))
        f.write("]}")
    return os.path.getsize(path)


def stats_file(path, nodes):
    """A valid stats file: one object whose size tree has ``nodes`` small nodes."""
    head = {"format": "heapscope.classtracker.stats", "version": 1, "names": ["m.A"],
            "objects": [{"id": 1, "name": 0, "level": 1, "birth": 0.0, "death": None, "basicsize": 16,
                         "repr": "", "watch": "weakref", "trace": None}]}
    snap = {"timestamp": 1.0, "description": "", "tracked_total": 0, "asizeof_total": 0, "overhead": 0,
            "process": {"available": False, "rss": 0, "vms": 0}, "sizes": [[0, nodes, 1]]}
    with open(path, "w") as f:
        f.write(json.dumps(head)[:-1] + ', "snapshots": [' + json.dumps(snap)[:-1])
        f.write(f', "trees": [{{"object": 0, "nodes": [[null, "r", {nodes}, 1]')
        f.write(',[0,"",1,1]' * (nodes - 1))
        f.write("]}]}]}")
    return os.path.getsize(path)


def test_a_large_summary_loads_in_memory_proportional_to_it(tmp_path):
    path = tmp_path / "large.json"
    size = summary_file(path, 300_000)
    out = run_limited("""
        from heapscope import summary
        limit(6 * int(sys.argv[2]))
        s = summary.load(sys.argv[1])
        print(len(s), s.total_count, s.total_size)
    """, path, size)
    assert out.split() == ["300000", "300000", str(16 * 300_000)]


def test_a_large_stats_file_loads_in_memory_proportional_to_it(tmp_path):
    path = tmp_path / "large-stats.json"
    size = stats_file(path, 1_500_000)
    out = run_limited("""
        from heapscope.classtracker_stats import ConsoleStats
        limit(7 * int(sys.argv[2]))
        stats = ConsoleStats(filename=sys.argv[1])
        print(len(stats.snapshots), stats.tracked_classes)
    """, path, size)
    assert out.split() == ["1", "['m.A']"]


def test_a_huge_type_name_prints_shortened_in_bounded_memory():
    out = run_limited("""
        import io
        from heapscope import summary
        name = "x" * 50_000_000
        s = summary.Summary.from_rows([[name, 1, 800], ["int", 2, 56]])
        limit(200_000_000)
        buffer = io.StringIO()
        summary.print_(s, file=buffer)
        lines = buffer.getvalue().splitlines()
        assert s.rows()[0][0] == name, "the rows keep the whole name"
        print(max(map(len, lines)), lines[2].strip().split(" |")[0][-6:])
    """)
    width, tail = out.split()
    assert int(width) < 200
    assert tail == "xxx..."


def test_table_cells_are_capped_with_an_ellipsis():
    long = "<class 'a." + "b" * 500 + "'>"
    lines = list(hsum.format_([[long, 1, 800], ["int", 2, 56]]))
    assert len(lines[0]) < 200
    cell = lines[2].split(" |")[0].strip()
    assert cell.endswith("...") and long.startswith(cell[:-3])
    # Names that fit are shown whole, as pympler shows them.
    assert lines[3].split(" |")[0].strip() == "int"


# -- crafted files ------------------------------------------------------------------------

def good_summary():
    return json.loads(hsum.Summary.from_rows([["a", 1, 2], ["b", 3, 4]]).to_json())


def summary_cases():
    cases = {}

    def case(name, edit):
        data = good_summary()
        edit(data)
        cases[name] = json.dumps(data)

    case("count is a string", lambda d: d["rows"][0].update(count="1"))
    case("count is a float", lambda d: d["rows"][0].update(count=1.5))
    case("count overflows 64 bits", lambda d: d["rows"][0].update(count=2**64))
    case("negative count", lambda d: (d["rows"][0].update(count=-1), d.update(objects=2)))
    case("negative size", lambda d: (d["rows"][0].update(size=-2), d.update(bytes=2)))
    case("rows are an object", lambda d: d.update(rows={"a": 1}))
    case("type is a number", lambda d: d["rows"][0].update(type=5))
    case("pid is negative", lambda d: d.update(pid=-1))
    case("kind is unknown", lambda d: d.update(kind="delta"))
    case("objects missing", lambda d: d.pop("objects"))
    case("unknown field", lambda d: d.update(extra=1))
    # Sums that wrap around 64 bits: two rows of 2**63 - 1 "add up" to -2.
    case("wrapped total", lambda d: (d["rows"][0].update(count=2**63 - 1), d["rows"][1].update(count=2**63 - 1),
                                     d.update(objects=-2)))
    case("version is a float", lambda d: d.update(version=1.0))
    case("format is a list", lambda d: d.update(format=[1]))
    text = json.dumps(good_summary())
    cases["truncated"] = text[: len(text) // 2]
    cases["trailing data"] = text + " {}"
    cases["empty"] = ""
    return cases


SUMMARY_CASES = summary_cases()


@pytest.mark.parametrize("name", sorted(SUMMARY_CASES))
def test_crafted_summaries_are_refused(tmp_path, name):
    path = tmp_path / "crafted.json"
    path.write_text(SUMMARY_CASES[name])
    with pytest.raises(hsum.SnapshotError) as info:
        hsum.load(path)
    assert "heapscope summary" in str(info.value)
    with pytest.raises(hsum.SnapshotError):
        hsum.Summary.from_json(SUMMARY_CASES[name])


def test_a_wrapped_total_names_the_field(tmp_path):
    with pytest.raises(ValueError, match='"objects"'):
        hsum.Summary.from_json(SUMMARY_CASES["wrapped total"])


def good_stats():
    from heapscope.classtracker import ClassTracker

    class Tracked:
        pass

    tracker = ClassTracker()
    tracker.track_class(Tracked)
    keep = [Tracked(), Tracked()]
    tracker.create_snapshot("one")
    buffer = io.BytesIO()
    tracker.stats.dump_stats(buffer, close=False)
    tracker.detach_all_classes()
    del keep
    return json.loads(buffer.getvalue())


def stats_cases():
    base = good_stats()
    cases = {}

    def case(name, edit):
        data = json.loads(json.dumps(base))
        edit(data)
        cases[name] = json.dumps(data)

    snap = lambda d: d["snapshots"][0]  # noqa: E731
    case("size is negative", lambda d: snap(d)["sizes"][0].__setitem__(1, -1))
    case("size overflows 64 bits", lambda d: snap(d)["sizes"][0].__setitem__(1, 2**64))
    case("size is a string", lambda d: snap(d)["sizes"][0].__setitem__(1, "8"))
    case("object index out of range", lambda d: snap(d)["sizes"][0].__setitem__(0, 7))
    case("names are not strings", lambda d: d.update(names=[1]))
    case("birth is a string", lambda d: d["objects"][0].update(birth="now"))
    case("id is negative", lambda d: d["objects"][0].update(id=-5))
    case("snapshots are an object", lambda d: d.update(snapshots={}))
    case("process missing", lambda d: snap(d).pop("process"))
    case("tree without parent", lambda d: snap(d).update(trees=[{"object": 0, "nodes": [[0, "x", 1, 1]]}]))
    # Twenty sizes of 2**64 - 1: their class total would wrap to 2**64 - 20.
    case("sizes that overflow when added", lambda d: (
        d["objects"].extend([dict(d["objects"][0], id=i) for i in range(18)]),
        snap(d).update(sizes=[[i, 2**64 - 1, 0] for i in range(20)], trees=[])))
    text = json.dumps(base)
    cases["truncated"] = text[: len(text) * 2 // 3]
    cases["version is a string"] = text.replace('"version": 1', '"version": "1"')
    return cases


@pytest.fixture(scope="module")
def crafted_stats():
    return stats_cases()


STATS_CASE_NAMES = ["size is negative", "size overflows 64 bits", "size is a string", "object index out of range",
                    "names are not strings", "birth is a string", "id is negative", "snapshots are an object",
                    "process missing", "tree without parent", "sizes that overflow when added", "truncated",
                    "version is a string"]


@pytest.mark.parametrize("name", STATS_CASE_NAMES)
def test_crafted_stats_files_are_refused(tmp_path, crafted_stats, name):
    path = tmp_path / "crafted-stats.json"
    path.write_text(crafted_stats[name])
    with pytest.raises(ValueError, match="not a valid heapscope ClassTracker stats file"):
        ConsoleStats(filename=str(path))
    with pytest.raises(ValueError, match="not a valid heapscope ClassTracker stats file"):
        ConsoleStats().load_stats(io.BytesIO(crafted_stats[name].encode()))


def test_sizes_that_overflow_when_added_name_the_field(crafted_stats):
    with pytest.raises(ValueError, match='"sizes".*2\\*\\*64 - 1'):
        ConsoleStats().load_stats(io.BytesIO(crafted_stats["sizes that overflow when added"].encode()))


def test_files_written_now_still_load(tmp_path, crafted_stats):
    s = hsum.Summary.from_rows([["a", 1, 2], ["<class 'x y'>", 3, 4]], label="l")
    s.save(tmp_path / "s.json")
    assert hsum.load(tmp_path / "s.json") == s
    good = json.dumps(good_stats())
    path = tmp_path / "stats.json"
    path.write_text(good)
    stats = ConsoleStats(filename=str(path))
    assert len(stats.snapshots) == 1
    # Member order does not matter.
    data = json.loads(good)
    path.write_text(json.dumps(dict(reversed(list(data.items())))))
    assert len(ConsoleStats(filename=str(path)).snapshots) == 1


def test_a_stats_file_that_cannot_be_opened_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        ConsoleStats(filename=str(tmp_path / "missing.json"))
