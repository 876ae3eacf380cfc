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
