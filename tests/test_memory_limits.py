"""Running out of memory raises MemoryError, never aborts the process.

Each case runs in its own interpreter: it builds a large heap, caps the address space a
little above what the process uses (``RLIMIT_AS``), then calls one entry point. The
child must end normally, having either finished or raised ``MemoryError``; a signal
death (the Rust allocator's abort) fails the test.
"""

import subprocess
import sys
import textwrap

import pytest

resource = pytest.importorskip("resource")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc/self/statm")

CHILD = textwrap.dedent(
    """
    import gc, resource, sys
    from heapscope import asizeof, muppy, summary, why

    mode, headroom = sys.argv[1], int(sys.argv[2])
    data = [[] for _ in range(3_000_000)]
    if mode in ("nested", "stats"):
        deep = None
        for _ in range(300_000):
            deep = [deep]
    else:
        deep = None
    gc.collect()

    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    limit = used + headroom * 2**20
    # The soft limit only, so that it can be lifted again to print the outcome.
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        if mode == "asizeof":
            result = asizeof.asizeof(data)
        elif mode == "stats":
            result = asizeof.asizeof(deep, data, stats=1, stream=open("/dev/null", "w"))
        elif mode == "asizer":
            sizer = asizeof.Asizer()
            result = sizer.asizeof(data, code=True)
        elif mode == "asized":
            result = asizeof.asized(data, detail=1)
        elif mode == "nested":
            result = asizeof.asizeof(deep, data)
        elif mode == "heap":
            rows = summary.summarize(muppy.get_objects())
            summary.print_(rows)
            result = len(rows)
        elif mode == "summarize_heap":
            result = summary.summarize_heap()
        elif mode == "why":
            result = why(data[-1])
        else:
            raise SystemExit("unknown mode " + mode)
    except MemoryError as error:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        print("MemoryError:", error)
    else:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        print("finished")
    """
)


@pytest.mark.parametrize("headroom", [8, 40, 120])
@pytest.mark.parametrize("mode", ["asizeof", "stats", "asizer", "asized", "nested", "heap", "summarize_heap", "why"])
def test_out_of_memory_raises_memory_error(mode, headroom):
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(headroom)], capture_output=True, text=True, timeout=300
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"child died (exit {proc.returncode}):\n{out[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert last == "finished" or last.startswith("MemoryError:"), out[-3000:]
    assert "PanicException" not in out and "panicked" not in out, out[-3000:]
    if last.startswith("MemoryError:") and "heapscope" in last:
        assert "memory limit" in last  # says what to do


SCARCE_CHILD = textwrap.dedent(
    """
    import resource
    from heapscope import asizeof

    def used():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()

    objs = [list(range(i % 50)) for i in range(20000)]
    sizer = asizeof.Asizer()
    # One-time set-up (imports, caches) done before memory runs short.
    asizeof.asizeof(objs); sizer.asizeof(objs[1]); sizer.total
    asizeof.asized(objs[3], detail=1).format()
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (used() + 16 * 2**20, hard))
    ballast = []
    try:
        while True:
            ballast.append(bytearray(1024))
    except MemoryError:
        pass
    outcomes = {}
    for i in range(3000):
        # Free a little at a time, so that calls fail at every point of their work.
        if i % 3 == 0 and ballast:
            del ballast[-1:]
        try:
            obj = objs[i % len(objs)]
            asizeof.asizeof(obj, objs)
            sizer.asizeof(obj)
            sizer.total
            asizeof.asized(obj, detail=1)
            outcome = "ok"
        except MemoryError:
            outcome = "MemoryError"
        except BaseException as error:
            outcome = type(error).__name__ + ": " + str(error)[:80]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    del ballast
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    print(sorted(outcomes.items()))
    """
)


def test_scarce_memory_gives_memory_error_not_panic():
    """Calls that fail at any allocation (a result int, a tree node) raise MemoryError,
    never pyo3's PanicException ("PyObject pointer is null")."""
    proc = subprocess.run([sys.executable, "-c", SCARCE_CHILD], capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    outcomes = dict(eval(proc.stdout.strip().splitlines()[-1]))
    assert set(outcomes) <= {"ok", "MemoryError"}, outcomes
    assert "panicked" not in proc.stderr, proc.stderr[-3000:]


# -- the naming, referrer, estimate and class-tracker calls under scarce memory -------

SCARCE_CALLS = {
    # heapscope's reference naming (src/heap/edges.rs): graph edges, node names.
    "edges": """
        import textwrap
        from heapscope import _core
        class Holder:
            def __init__(self, value):
                self.value = value
        def work():
            objs = [{"key" + str(i): [i, (i,)], "other": Holder(i)} for i in range(30)]
            graph = objs + [v for d in objs for v in d.values()]
            _core.graph_edges(graph)
            for o in (textwrap, work, Holder, Holder(1), objs[0], objs[0]["other"].__dict__, [1, 2]):
                _core.node_name(o)
    """,
    # The referrer index and why()'s roots and chains (src/heap/referrers.rs).
    "referrers": """
        from heapscope import _core, why
        target = ["target"]
        holders = [{"name": target} for _ in range(20)]
        def work():
            _core.referrers_of([target, holders[0]], [])
            why(target, max_paths=3)
    """,
    # pympler's estimates (src/asizeof/estimates.rs): basicsize, itemsize, leng; and the
    # named referents of named_refs (src/asizeof/sizer.rs).
    "estimates": """
        import array
        from heapscope import _core, asizeof
        samples = [10**200, [1] * 300, {i: i for i in range(300)}, set(range(300)), "x" * 300,
                   array.array("d", range(300)), work_code := compile("a = 1", "f", "exec"), range(300)]
        def work():
            for o in samples:
                asizeof.basicsize(o)
                asizeof.itemsize(o)
                asizeof.leng(o)
                _core.Sizer.typedef(o, True).leng_name
            asizeof.named_refs(samples[2])
    """,
    # The class tracker's statistics and report (src/classtracker/).
    "classtracker": """
        import io
        from heapscope.classtracker import ClassTracker
        from heapscope.classtracker_stats import ConsoleStats
        class Tracked:
            def __init__(self, i):
                self.data = list(range(i % 40))
        tracker = ClassTracker()
        tracker.track_class(Tracked, resolution_level=2)
        kept = [Tracked(i) for i in range(400)]
        tracker.create_snapshot("one")
        def work():
            core = tracker._core
            core.class_rows(0), core.history(), core.index(), core.objects(), core.snapshot(0)
            for i in range(0, core.record_count(), 50):
                core.record_sizes(core.generation, i), core.record(core.generation, i)
            core.merged(0, core.tracked_classes()[0]), core.to_json(), core.to_html("report", 50)
            stats = ConsoleStats(tracker=tracker, stream=io.StringIO())
            stats.print_summary()
    """,
    # Heap summaries and their rows, text and metadata (src/summary/, src/heap/passes.rs),
    # and the process figures (src/process.rs).
    "summary": """
        from heapscope import _core
        kept = [{"key": str(i)} for i in range(200)]
        taken = _core.summarize_heap()
        def work():
            # The rows of a summary first: a pass names new types through Python code
            # whose errors it absorbs, so its own allocations come last.
            taken.rows(), list(taken), taken.origin, str(taken), taken.diff(taken)
            _core.format_table([["a", "b"], ["1", "2"]])
            _core.proc_memory(4096)
            _core.summarize_heap(census="pympler").to_json()
            _core.summarize_heap()
    """,
}

SCARCE_HARNESS = """
_testcapi = __import__("_testcapi")
{calls}
# One-time set-up (imports, caches, constant names) done before allocations fail.
work(); work()
outcomes = {{}}
n = streak = 0
# The n-th allocation of the interpreter's allocators fails (Rust's are not hooked), for
# every n until the calls make fewer: each allocation of the work fails once.
while streak < 50 and n < {rounds}:
    try:
        _testcapi.set_nomemory(n, n + 1)
        try:
            work()
        finally:
            _testcapi.remove_mem_hooks()
        outcome = "ok"
    except MemoryError:
        outcome = "MemoryError"
    except BaseException as error:
        outcome = type(error).__name__ + ": " + str(error)[:80]
    streak = streak + 1 if outcome == "ok" else 0
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    n += 1
print(sorted(outcomes.items()))
"""


@pytest.mark.parametrize("module", [
    "classtracker",
    "edges",
    "estimates",
    "referrers",
    "summary",
])
def test_failed_allocations_in_naming_referrers_estimates_and_tracker(module):
    """Every Python object these calls make from Rust (names, labels, result lists and
    tuples, integers) is made with a constructor that reports a failed allocation: the
    calls raise MemoryError, never pyo3's PanicException ("PyObject pointer is null").
    Each allocation the calls make fails in turn (``_testcapi.set_nomemory``)."""
    pytest.importorskip("_testcapi")
    if sys.version_info >= (3, 14) and hasattr(sys, "gettotalrefcount"):
        # The failing allocations reach the interpreter's own loop too: in 3.14's debug
        # build a `LIST_APPEND` whose list cannot grow frees the item inside the
        # instruction, and `_Py_Dealloc` asserts that the frame's stack pointer was saved
        # (listobject.c:546 -> object.c:3206), an abort in CPython, not in heapscope.
        pytest.skip("CPython 3.14's debug build aborts in LIST_APPEND when an allocation fails")
    program = SCARCE_HARNESS.format(calls=textwrap.dedent(SCARCE_CALLS[module]), rounds=100_000)
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"child died (exit {proc.returncode}):\n{out[-3000:]}"
    outcomes = dict(eval(proc.stdout.strip().splitlines()[-1]))
    assert set(outcomes) <= {"ok", "MemoryError"}, outcomes
    assert outcomes.get("MemoryError", 0) > 0, outcomes
    assert "panicked" not in proc.stderr, proc.stderr[-3000:]


# -- a stats file too large for the memory left ---------------------------------------


def tiny_node_stats_file(path, nodes, name):
    """A valid stats file of one object whose size tree has ``nodes`` nodes of about a
    dozen bytes each: the most nodes per byte of file, so the most memory per byte."""
    head = ('{"format": "heapscope.classtracker.stats", "version": 1, "names": ["m.A"], "objects": '
            '[{"id": 1, "name": 0, "level": 1, "birth": 0.0, "death": null, "basicsize": 16, "repr": "", '
            '"watch": "weakref", "trace": null}], "snapshots": [{"timestamp": 1.0, "description": "", '
            '"tracked_total": 0, "asizeof_total": 0, "overhead": 0, "process": {"available": false, '
            f'"rss": 0, "vms": 0}}, "sizes": [[0, {nodes}, 1]], "trees": [{{"object": 0, "nodes": '
            f'[[null, "r", {nodes}, 1]')
    chunk = f',[0,"{name}",1,1]' * 10_000
    with open(path, "w") as f:
        f.write(head)
        for _ in range((nodes - 1) // 10_000):
            f.write(chunk)
        f.write(f',[0,"{name}",1,1]' * ((nodes - 1) % 10_000))
        f.write("]}]}]}")
    return path.stat().st_size


STATS_CHILD = textwrap.dedent(
    """
    import resource, sys
    from heapscope.classtracker_stats import ConsoleStats
    ConsoleStats()  # imports done before the limit
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (used + int(sys.argv[2]), hard))
    try:
        stats = ConsoleStats(filename=sys.argv[1])
    except MemoryError as error:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        print("MemoryError:", error)
    else:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        print("loaded", len(stats.snapshots))
    """
)


@pytest.mark.parametrize("name", ["", "a"])
def test_a_stats_file_of_tiny_nodes_too_large_for_the_limit_raises_memory_error(tmp_path, name):
    """A stats file of ~100 MB of tiny size-tree nodes under a limit of 3.4 times its
    size (600 MB under 2 GiB, scaled down): loading needs more, and the buffers it is
    read into refuse to grow (MemoryError) instead of aborting the process."""
    path = tmp_path / "tiny-nodes.json"
    size = tiny_node_stats_file(path, 8_500_000, name)
    proc = subprocess.run([sys.executable, "-c", STATS_CHILD, str(path), str(int(size * 3.4))],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"child died (exit {proc.returncode}):\n{out[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("MemoryError:"), out[-3000:]
    assert "size-tree nodes" in last and "memory limit" in last, last  # says what and what to do
    assert "panicked" not in out, out[-3000:]
