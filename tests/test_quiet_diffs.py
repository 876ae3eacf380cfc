"""A diff with nothing allocated in between shows nothing, from the first one on.

Each case runs in a fresh interpreter, as a user's script or notebook would: the noise
being tested for (caches filled on first use, the collector's late untracking) happens
only once per process, and the test process has long been through it.
"""

import os
import subprocess
import sys
import textwrap

import pytest


def run_fresh(code, timeout=120, env=None):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_first_two_diffs_of_a_fresh_process_are_empty():
    out = run_fresh(
        """
        from heapscope import tracker
        t = tracker.SummaryTracker()
        print(t.diff())
        print(t.diff())
        print(t.diff())
        """
    )
    assert out.splitlines() == ["[]", "[]", "[]"], out


def test_first_two_diffs_are_empty_when_the_tracker_is_made_at_once():
    # The tracker made in the statement that imports it: the caches the first summary
    # needs are filled by the import itself.
    out = run_fresh(
        """
        from heapscope.tracker import SummaryTracker; t = SummaryTracker(); print(t.diff()); print(t.diff())
        """
    )
    assert out.split() == ["[]", "[]"], out


def test_first_two_diffs_are_empty_whatever_the_hash_seed():
    # Which names CPython's type attribute cache alone keeps alive, and which of them
    # a summary's own lookups evict, depends on the strings' hashes: on 3.14 about one
    # seed in ten left a `str -1` row before the cache was emptied ahead of summaries.
    code = """
        from heapscope import tracker
        t = tracker.SummaryTracker()
        print(t.diff())
        print(t.diff())
        """
    for seed in range(1, 41):
        out = run_fresh(code, env={"PYTHONHASHSEED": str(seed)})
        assert out.splitlines() == ["[]", "[]"], (seed, out)


def test_first_print_diffs_of_a_fresh_process_print_only_the_header():
    out = run_fresh(
        """
        from heapscope import tracker
        t = tracker.SummaryTracker()
        t.print_diff()
        t.print_diff()
        """
    )
    header = ["types", "|", "#", "objects", "|", "total", "size"]
    lines = out.splitlines()
    assert len(lines) == 4 and lines[0].split() == lines[2].split() == header, out
    assert set(lines[1]) == set(lines[3]) == {"=", "|", " "}, out


def test_a_diff_still_shows_what_was_allocated():
    out = run_fresh(
        """
        import sys
        from heapscope import tracker
        t = tracker.SummaryTracker()
        kept = {i: bytes(50) for i in range(1000)}
        also = [bytearray(50) for _ in range(300)]
        rows = t.diff()
        for row in rows:
            if row[0] == "dict":
                print(row[2] >= sys.getsizeof(kept))
        for row in rows:
            if row[0] == "bytearray":
                print(row[1:])
        del rows, row
        print(t.diff())
        """
    )
    assert out.splitlines() == ["True", "[300, %d]" % (300 * sys.getsizeof(bytearray(50))), "[]"], out


def test_quiet_after_loading_nested_constants():
    # Constants loaded from a .pyc (marshal) are nested tuples whose outer tuple comes
    # first in the collector's list: a collection untracks one level of them, and each
    # level would leave the summaries of the next diffs (`tuple -1`) without a settled
    # collection.
    out = run_fresh(
        """
        import marshal
        from heapscope import tracker
        t = tracker.SummaryTracker()
        source = "def f():\\n    return ((1, (2, (3, (4, (5, (6,)))))),)\\n"
        kept = {}
        exec(marshal.loads(marshal.dumps(compile(source, "nested", "exec"))), kept)
        print(len(t.diff()) > 0)
        print(t.diff())
        print(t.diff())
        """
    )
    assert out.splitlines() == ["True", "[]", "[]"], out


def test_memdiff_of_an_empty_cell_in_a_kernel_shows_no_row():
    for module in ("nbformat", "nbclient", "ipykernel"):
        pytest.importorskip(module)
    # A kernel of this interpreter, driven by nbclient in a child of its own. The
    # diffs are printed at the end, from `Out`, so that no output is being sent while
    # they are taken, except where a cell prints on purpose just before one.
    out = run_fresh(
        """
        import nbformat, nbclient
        cells = ["%load_ext heapscope", "%%memdiff\\npass", "%%memdiff\\npass", "print('output')",
                 "%%memdiff\\npass", "%%memdiff\\n# nothing\\n",
                 "%%memdiff\\nkept = [bytearray(50) for _ in range(300)]",
                 "for k in sorted(Out): print(list(Out[k]))", "import sys; print(sys.executable)"]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        for cell in nb.cells[-2:]:
            print("".join(out.get("text", "") for out in cell.outputs).strip())
        """,
        timeout=240,
    )
    *empty, allocated, kernel = out.splitlines()
    # The kernel is this interpreter (the venv's `python3` kernel spec).
    assert os.path.realpath(kernel) == os.path.realpath(sys.executable), out
    assert empty == ["[]", "[]", "[]", "[]"], out
    assert "['bytearray', 300, %d]" % (300 * sys.getsizeof(bytearray(50))) in allocated, out
