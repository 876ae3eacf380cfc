"""heapscope.magics in an in-process IPython shell: results and bad options."""

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.testing.globalipapp import get_ipython  # noqa: E402

from heapscope.magics import DeepSize, MemTop, RetainedSize  # noqa: E402
from heapscope.process import MemoryBreakdown  # noqa: E402


@pytest.fixture(scope="module")
def ip():
    shell = get_ipython()
    shell.run_line_magic("load_ext", "heapscope")
    return shell


def test_asizeof(ip):
    ip.user_ns["thing"] = list(range(1000))
    result = ip.run_line_magic("asizeof", "thing")
    from heapscope.asizeof import asizeof

    assert isinstance(result, DeepSize) and result.size == asizeof(ip.user_ns["thing"])
    assert "thing: " in repr(result) and "bytes" in repr(result)
    tree = ip.run_line_magic("asizeof", "--detail 1 {'a': thing}")
    assert tree.size >= result.size and "<details" in tree._repr_html_()


def test_memtop_and_memdiff(ip):
    top = ip.run_line_magic("memtop", "3")
    assert len(top) == 3
    diff = ip.run_cell_magic("memdiff", "--top 4", "kept_here = [bytearray(100) for _ in range(200)]")
    assert diff.kind == "diff" and len(diff) <= 4
    assert dict((r[0], r[1]) for r in diff)["bytearray"] >= 200


def test_memtop_has_a_memory_breakdown_section(ip):
    top = ip.run_line_magic("memtop", "4")
    assert isinstance(top, MemTop) and len(top) == 4 and top.kind == "summary"
    assert isinstance(top.breakdown, MemoryBreakdown)
    assert top.breakdown.python_objects >= sum(row[2] for row in top)
    assert "process memory: resident set" in repr(top) and "free in pymalloc arenas" in repr(top)
    html = top._repr_html_()
    assert html.index('class="heapscope-summary"') < html.index('class="heapscope-breakdown"')


def test_retained(ip):
    ip.user_ns["cache"] = {"k%d" % i: [float(i)] for i in range(5000)}
    result = ip.run_line_magic("retained", "cache")
    from heapscope.asizeof import asizeof
    from heapscope.retained import retained_size

    cache = ip.user_ns["cache"]
    assert isinstance(result, RetainedSize)
    assert result.retained == retained_size(cache) and result.deep == asizeof(cache)
    # The keys, lists and floats are the dict's alone.
    assert result.retained > 5000 * 100
    assert repr(result).startswith("cache: retains ") and "deep size" in repr(result)
    assert "<code>cache</code>" in result._repr_html_()
    del cache


def test_memtop_retained(ip):
    # Larger than anything the test run may have left in the heap (mypy's state: 6 MB).
    ip.user_ns["big"] = [bytearray(100_000) for _ in range(500)]
    top = ip.run_line_magic("memtop", "--retained 5")
    assert len(top) == 5 and any(e.obj is ip.user_ns["big"] for e in top)
    assert "retained" in str(top) and "kept alive by" in str(top)
    del top
    assert len(ip.run_line_magic("memtop", "--retained")) == 10


@pytest.mark.parametrize(
    "magic, line, message",
    [
        ("memtop", "--largest 5", "unknown option '--largest'"),
        ("memtop", "zero", "at least 1"),
        ("memtop", "5 6", "unexpected argument '6'"),
        ("memtop", "--retained=1 5", "option --retained takes no value"),
        ("retained", "", "give an expression"),
        ("retained", "1 +", "not an expression"),
        ("asizeof", "--depth 2 x", "unknown option '--depth'"),
        ("asizeof", "", "give an expression"),
        ("asizeof", "--detail", "needs a value"),
        ("asizeof", "--detail 0 x", "at least 1"),
        ("asizeof", "1 +", "not an expression"),
    ],
)
def test_bad_line_magic_options(ip, magic, line, message):
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic(magic, line)


def test_bad_cell_magic_option(ip):
    with pytest.raises(UsageError, match="unknown option '-x'"):
        ip.run_cell_magic("memdiff", "-x", "pass")


def test_memtimeline_charts_the_cell(ip, tmp_path):
    from heapscope.magics import MemTimeline
    from heapscope.timeline import load_timeline

    path = tmp_path / "cell.json"
    cell = "import time\nkept_timeline = [bytearray(1000) for _ in range(20000)]\ntime.sleep(0.2)"
    shown = ip.run_cell_magic("memtimeline", f"--interval 0.02 -o {path}", cell)
    assert isinstance(shown, MemTimeline)
    assert "timeline overhead" in repr(shown) and shown._repr_html_().startswith("<svg")
    timeline = shown.timeline
    assert len(timeline.rss) >= 5 and load_timeline(path) == timeline
    assert timeline.summaries[-1].size_of("bytearray") >= 20000 * 1000


@pytest.mark.parametrize(
    "line, message",
    [("--every 1", "unknown option '--every'"), ("--interval x", "needs seconds"),
     ("--interval 0", "interval must be between"), ("-o chart.png", "must end in .json, .html or .svg")],
)
def test_bad_memtimeline_options(ip, line, message):
    with pytest.raises(UsageError, match=message):
        ip.run_cell_magic("memtimeline", line, "pass")
