"""What a type checker makes of heapscope's public calls: mypy (where installed) on small
programs, checked against the types the calls have at run time."""
import re
import subprocess
import sys
import textwrap

import pytest

from heapscope.asizeof import Asized, Asizer, asized

pytest.importorskip("mypy.api", reason="mypy is not installed (pip install mypy==2.4.1)")


def _mypy(*args: str) -> tuple:
    """mypy's output, errors and exit status; run in a child, so that its state (megabytes
    of it) does not stay in the heap that later tests measure."""
    proc = subprocess.run([sys.executable, "-m", "mypy", *args], capture_output=True, text=True, timeout=300)
    return proc.stdout, proc.stderr, proc.returncode


def _revealed(source: str, tmp_path) -> list:
    """The types mypy reveals in ``source`` (checked with --strict), in order; fails on
    any error."""
    path = tmp_path / "program.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    out, err, status = _mypy("--strict", "--cache-dir", str(tmp_path / "cache"), str(path))
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert not errors and status == 0, out + err
    return re.findall(r'Revealed type is "([^"]+)"', out)


def test_asized_is_typed_by_its_number_of_objects(tmp_path):
    revealed = _revealed(
        """
        from typing import Any, List
        from heapscope.asizeof import Asizer, asized

        objs: List[Any] = []
        reveal_type(asized({"k": 1}, detail=1))
        reveal_type(asized({"k": 1}, [2]))
        reveal_type(asized())
        reveal_type(asized(*objs))
        reveal_type(Asizer().asized([1]))
        reveal_type(Asizer().asized([1], [2], [3]))
        print(asized({"k": 1}, detail=1).format())
        """,
        tmp_path,
    )
    assert revealed == [
        "heapscope.asizeof.Asized",
        "tuple[heapscope.asizeof.Asized, heapscope.asizeof.Asized]",
        "tuple[()]",
        "heapscope.asizeof.Asized | tuple[heapscope.asizeof.Asized, ...]",
        "heapscope.asizeof.Asized",
        "tuple[heapscope.asizeof.Asized, heapscope.asizeof.Asized, heapscope.asizeof.Asized]",
    ]
    # What the overloads say is what the calls give.
    assert isinstance(asized({"k": 1}, detail=1), Asized)
    assert [type(t) for t in asized({"k": 1}, [2])] == [Asized, Asized]
    assert asized() == ()
    assert isinstance(Asizer().asized([1]), Asized)
    assert len(Asizer().asized([1], [2], [3])) == 3


def test_lazily_loaded_names_are_typed_and_misspellings_are_errors(tmp_path):
    revealed = _revealed(
        """
        import heapscope

        reveal_type(heapscope.why)
        reveal_type(heapscope.retained_top(3))
        reveal_type(heapscope.summary.summarize_heap)
        """,
        tmp_path,
    )
    assert revealed[0].startswith("def (") and "heapscope._why.Why" in revealed[0]
    assert revealed[1] == "heapscope.retained.RetainedTable"
    assert "heapscope._core.Summary" in revealed[2]
    path = tmp_path / "misspelt.py"
    path.write_text("import heapscope\nheapscope.leak_suspect()\n", encoding="utf-8")
    out, _, status = _mypy("--cache-dir", str(tmp_path / "cache"), str(path))
    assert status != 0 and 'has no attribute "leak_suspect"' in out, out
