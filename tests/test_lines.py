"""@heapscope.profile and python -m heapscope lines: memory line by line."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="line profiles read Linux's /proc")

SCRIPT = textwrap.dedent("""
    import heapscope

    @profile
    def build():
        small = [i for i in range(1000)]
        big = b"\\x01" * (100 * 2**20)
        rows = [[i] for i in range(200_000)]
        del big
        return small, rows

    @heapscope.profile
    def loop(n):
        total = 0
        for i in range(n):
            total += i * 2
        return total

    build()
    loop(1000)
    loop(1000)
    print("script done")
""")

ROW = re.compile(r"^\s*(\d+)\s+([\d.]+) MiB\s+(-?[\d.]+) MiB\s+(\d+)\s{3}(.*)$")


def run_lines(tmp_path, source=SCRIPT):
    script = tmp_path / "allocates.py"
    script.write_text(source)
    result = subprocess.run(
        [sys.executable, "-m", "heapscope", "lines", str(script)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rows_of(output):
    rows = {}
    for line in output.splitlines():
        match = ROW.match(line)
        if match:
            number, mem, increment, occurrences, text = match.groups()
            rows[int(number)] = (float(mem), float(increment), int(occurrences), text.strip())
    return rows


def test_a_100_mb_allocation_is_attributed_to_its_line(tmp_path):
    output = run_lines(tmp_path)
    assert "script done" in output
    rows = rows_of(output)
    big = rows[7]
    assert big[3].startswith("big = ")
    assert 90 <= big[1] <= 110, big  # 100 MiB within 10 %
    others = [row[1] for number, row in rows.items() if number in (6, 8)]
    assert all(abs(increment) < 50 for increment in others), rows


def test_the_table_has_memory_profilers_columns_and_the_types(tmp_path):
    output = run_lines(tmp_path)
    assert "Line #     Mem usage     Increment  Occurrences   Line Contents" in output
    lines = output.splitlines()
    big = next(i for i, line in enumerate(lines) if 'big = b"' in line)
    assert lines[big + 1].strip().startswith("^ grew: bytes +100.0 MiB"), lines[big + 1]
    rows_line = next(i for i, line in enumerate(lines) if "rows = [[i]" in line)
    assert "^ grew: list" in lines[rows_line + 1]
    rows = rows_of(output)
    loop_line = next(n for n, row in rows.items() if row[3].startswith("total += i * 2"))
    assert rows[loop_line][2] == 2000  # two calls of 1000 iterations
    assert rows[loop_line - 1][2] == 2002  # the for line, once more per call


def test_lines_without_decorated_functions(tmp_path):
    output = run_lines(tmp_path, "x = 1\n")
    assert "no function decorated with @profile ran" in output


def test_profile_in_process_and_stats():
    import heapscope
    from heapscope import lines

    lines.print_at_exit = False  # pytest's output stays the tests'

    # 64 MiB: past glibc's largest threshold for mapping a block of its own (32 MiB), so
    # the bytes are new resident pages, not memory an earlier test freed and left mapped.
    @heapscope.profile
    def grow():
        data = bytearray(b"\x01") * (64 * 2**20)
        return len(data)

    try:
        assert grow() == 64 * 2**20
        found = [row for row in lines.stats() if "bytearray(b" in row.text]
        assert len(found) == 1 and found[0].occurrences == 1
        assert 58 * 2**20 <= found[0].increment <= 70 * 2**20
        assert "Filename:" in lines.format_stats()
        with pytest.raises(TypeError, match="decorates functions"):
            heapscope.profile(42)

        def numbers():
            yield 1

        with pytest.raises(TypeError, match="generator or coroutine function; decorate the function that consumes"):
            heapscope.profile(numbers)
    finally:
        lines.clear()


def test_exceptions_propagate_and_the_trace_is_restored():
    import heapscope
    from heapscope import lines

    lines.print_at_exit = False

    @heapscope.profile
    def fails():
        raise ValueError("inside")

    before = sys.gettrace()
    with pytest.raises(ValueError, match="inside"):
        fails()
    assert sys.gettrace() is before
