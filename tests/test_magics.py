"""heapscope.magics in an in-process IPython shell: results and bad options."""

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.testing.globalipapp import get_ipython  # noqa: E402

from heapscope.magics import DeepSize, MemTop, RetainedSize, RetainedTop, SizeTree  # noqa: E402
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
    import gc
    import weakref

    # Larger than anything the test run may have left in the heap (mypy's state: 6 MB).
    ip.run_cell("class BigHolder:\n    pass\nbig = BigHolder()\nbig.data = [bytearray(100_000) for _ in range(500)]")
    top = ip.run_line_magic("memtop", "--retained 5")
    assert isinstance(top, RetainedTop) and top.rows == 5
    assert "BigHolder" in str(top) and "kept alive by" in str(top) and "BigHolder" in top._repr_html_()
    # The answer keeps its figures, not the objects it names.
    alive = weakref.ref(ip.user_ns["big"])
    del ip.user_ns["big"]
    gc.collect()
    assert alive() is None and "BigHolder" in str(top)
    del top
    assert ip.run_line_magic("memtop", "--retained").rows == 10


def test_asizeof_tree_is_bounded(ip):
    import gc

    from heapscope.asizeof import Asized

    ip.user_ns["wide"] = {i: [i] for i in range(20_000)}
    before = sum(isinstance(o, Asized) for o in gc.get_objects())
    tree = ip.run_line_magic("asizeof", "--detail 2 wide")
    assert isinstance(tree, SizeTree) and tree.size > 20_000 * 64
    lines = str(tree).splitlines()
    # The root, its 15 largest items with their one referent, one line for the rest.
    assert len(lines) == 1 + 15 * 2 + 1
    # (A dict item is two referents, its key and its value.)
    assert lines[-1].strip().startswith("... 39,985 more referents:")
    from IPython.lib.pretty import pretty

    assert pretty(tree) == str(tree)
    assert len(tree._repr_html_()) < 50_000 and "39,985 more referents" in tree._repr_html_()
    narrow = ip.run_line_magic("asizeof", "--detail 2 --top 3 wide")
    assert len(str(narrow).splitlines()) == 1 + 3 * 2 + 1
    # The 240,000-node tree is not kept: the answer holds text and figures only.
    assert sum(isinstance(o, Asized) for o in gc.get_objects()) == before
    del ip.user_ns["wide"]


def test_asized_at_the_prompt_is_bounded():
    from IPython.lib.pretty import pretty

    from heapscope.asizeof import asized

    tree = asized([[i] * 3 for i in range(3000)], detail=2)
    lines = pretty(tree).splitlines()
    assert 1 + 15 * 4 + 1 == len(lines) and "2,985 more referents" in lines[-1]
    # format() keeps pympler's text: every node.
    assert len(tree.format().splitlines()) == 1 + 3000 * 4
    deep = asized([[[[i]]] for i in range(1000)], detail=4)
    from heapscope import _treeview

    rows = _treeview.bounded_rows(deep, top=1000, max_nodes=50)
    assert sum(r.node is not None for r in rows) == 50 and rows[-1].hidden == -1
    assert "not shown" in _treeview.bounded_text(deep, top=1000, max_nodes=50).splitlines()[-1]
    with pytest.raises(ValueError, match="top must be a whole number"):
        _treeview.bounded_rows(deep, top=0)


def test_results_are_left_out_of_heap_views(ip):
    from heapscope import summary

    ip.user_ns["sample"] = {i: [i] for i in range(2000)}
    kept = [ip.run_line_magic("asizeof", "--detail 2 sample"), ip.run_line_magic("asizeof", "sample"),
            ip.run_line_magic("retained", "sample"), ip.run_line_magic("memtop", "5"),
            ip.run_line_magic("memtop", "--retained 3")]
    names = {row[0] for row in summary.summarize_heap()}
    # (Other tests may leave heapscope objects of their own, an Asizer or a profiler.)
    own = {n for n in names if n.startswith(("heapscope.magics", "heapscope.process", "heapscope.asizeof.Asized"))}
    assert not own, own
    assert len(kept) == 5
    del ip.user_ns["sample"]


def test_memtop_shows_its_tables_at_the_prompt(ip):
    from IPython.lib.pretty import pretty

    top = ip.run_line_magic("memtop", "4")
    text = pretty(top)
    assert text == str(top) and "types |" in text and "total size" in text
    assert "process memory: resident set" in text


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
        ("asizeof", "nosuchname", "name 'nosuchname' is not defined: define it first"),
        ("asizeof", "--detail 2 nosuchname.x", "name 'nosuchname' is not defined"),
        ("retained", "nosuchname", "name 'nosuchname' is not defined"),
        ("asizeof", "--top 3 x", "give --detail N too"),
        ("asizeof", "--detail 1 --top 0 x", "at least 1"),
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
