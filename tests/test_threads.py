"""heapscope's objects used, shared and freed across threads, and re-entered."""

import gc
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from heapscope import asizeof, classtracker, summary, muppy


def in_thread(function, *args):
    """Runs `function(*args)` in a new thread; returns its result or raises its error."""
    outcome = {}

    def run():
        try:
            outcome["result"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.fixture
def unraisable(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(info))
    return seen


def test_asizer_used_from_another_thread():
    data = [list(range(10)) for _ in range(100)]
    sizer = asizeof.Asizer()
    assert in_thread(sizer.asizeof, data) == asizeof.asizeof(data)
    assert sizer.total == asizeof.asizeof(data)
    assert in_thread(lambda: sizer.total) == sizer.total
    assert in_thread(sizer.asizesof, data[0], data[1]) == (0, 0)  # seen already


def test_asizer_freed_on_another_thread(unraisable):
    sizer = asizeof.Asizer()
    sizer.asizeof([[1], [2]])
    holder = [sizer]
    del sizer
    in_thread(holder.clear)
    gc.collect()
    # Created in a worker, freed on the main thread.
    made = in_thread(lambda: asizeof.Asizer())
    made.asizeof({"a": [1, 2]})
    del made
    gc.collect()
    assert unraisable == []


def test_other_objects_cross_threads(unraisable):
    rows = summary.summarize(muppy.get_objects())
    assert in_thread(len, rows) == len(rows)
    heaps = [summary.summarize_heap()]
    assert in_thread(getattr, heaps[0], "total_size") == heaps[0].total_size
    in_thread(summary.get_diff, heaps[0], heaps[0])
    in_thread(heaps.clear)  # the last reference, dropped in the worker
    assert in_thread(asizeof.basicsize, [1]) == asizeof.basicsize([1])

    class Tracked:
        pass

    trackers = [classtracker.ClassTracker()]
    kept = []
    in_thread(trackers[0].track_class, Tracked)
    kept.append(Tracked())
    in_thread(trackers[0].create_snapshot)
    in_thread(trackers[0].clear)
    in_thread(trackers.clear)
    gc.collect()
    assert unraisable == []


class Slow:
    """Releases the GIL while it is sized, so another thread can run meanwhile."""

    def __sizeof__(self):
        time.sleep(0.05)
        return 100


def test_one_asizer_from_two_threads_at_once():
    sizer = asizeof.Asizer()
    first = [Slow() for _ in range(5)]
    second = [Slow() for _ in range(5)]
    expected = (asizeof.asizeof(first), asizeof.asizeof(second))
    results, errors = {}, []

    def size(name, obj):
        try:
            results[name] = sizer.asizeof(obj)
        except BaseException as error:  # noqa: BLE001 - checked below
            errors.append(error)

    workers = [threading.Thread(target=size, args=args) for args in (("first", first), ("second", second))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    # The calls ran one after the other, each object counted once.
    assert results["first"] + results["second"] == sizer.total == asizeof.asizeof(first, second)
    assert sorted(results.values()) == sorted(expected)


def test_reentry_from_sizeof_raises_a_clear_runtime_error():
    sizer = asizeof.Asizer()
    caught = []

    class Reentrant:
        def __sizeof__(self):
            try:
                sizer.asizeof([1, 2, 3])
            except RuntimeError as error:
                caught.append(error)
            return 64

    total = sizer.asizeof([Reentrant()])
    assert total > 0
    assert len(caught) == 1
    assert "already sizing" in str(caught[0])
    # The sizer works again afterwards.
    assert sizer.asizeof([4, 5, 6]) > 0


def test_reentry_through_a_property_raises_a_clear_runtime_error():
    sizer = asizeof.Asizer()
    caught = []

    class ReadsTotal:
        def __sizeof__(self):
            try:
                return sizer.total
            except RuntimeError as error:
                caught.append(error)
                return 64

    sizer.asizeof(ReadsTotal())
    assert [str(e).startswith("this Asizer is already sizing") for e in caught] == [True]


RSS_CHILD = textwrap.dedent(
    """
    import gc, threading
    from heapscope import asizeof, process

    def rss():
        with open("/proc/self/statm") as f:
            import resource
            return int(f.read().split()[1]) * resource.getpagesize()

    data = [[i] for i in range(200_000)]

    def cycle():
        sizer = asizeof.Asizer()
        sizer.asizeof(data)
        holder = [sizer]
        del sizer
        worker = threading.Thread(target=holder.clear)
        worker.start()
        worker.join()

    for _ in range(5):
        cycle()
    gc.collect()
    before = rss()
    for _ in range(60):
        cycle()
    gc.collect()
    print((rss() - before) // 2**20)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc/self/statm")
def test_cross_thread_drops_do_not_grow_memory():
    proc = subprocess.run([sys.executable, "-c", RSS_CHILD], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Unraisable" not in proc.stderr and "RuntimeError" not in proc.stderr, proc.stderr
    growth_mib = int(proc.stdout.strip().splitlines()[-1])
    assert growth_mib < 8, f"RSS grew by {growth_mib} MiB over 60 sizers freed on another thread"
