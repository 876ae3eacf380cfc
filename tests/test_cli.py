"""python -m heapscope: run, diff and size, driven through subprocess as users run it."""

import json
import os
import subprocess
import sys
import textwrap

import pytest


def heapscope(*args, cwd=None):
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "heapscope", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "leaky.py"
    path.write_text(textwrap.dedent("""
        import sys
        KEEP = [bytearray(1000) for _ in range(400)]
        print("args", sys.argv[1:])
    """))
    return path


def test_run_prints_diff_and_passes_arguments(script, tmp_path):
    result = heapscope("run", "--top", "3", str(script), "a", "--b", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "args ['a', '--b']" in result.stdout
    table = result.stdout.split("end minus start)", 1)[1]
    lines = [line for line in table.splitlines() if "|" in line]
    assert len(lines) == 2 + 3  # header, rule and --top rows
    assert "bytearray" in lines[2] and "400" in lines[2]


def test_run_json_then_diff(script, tmp_path):
    out = tmp_path / "snap.json"
    result = heapscope("run", "--json", str(out), str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    start = tmp_path / "snap.start.json"
    assert out.is_file() and start.is_file()
    json.loads(out.read_text())
    diff = heapscope("diff", "--top", "5", str(start), str(out))
    assert diff.returncode == 0, diff.stderr
    assert "bytearray" in diff.stdout


@pytest.mark.parametrize(
    "source, exit_code, in_stderr",
    [
        ("data = list(range(1000))\nraise SystemExit(3)\n", 3, ""),
        ("raise RuntimeError('boom')\n", 1, "RuntimeError: boom"),
    ],
    ids=["keeps the script's exit code", "reports its error and exits 1"],
)
def test_run_ends_as_the_script_does(tmp_path, source, exit_code, in_stderr):
    path = tmp_path / "script.py"
    path.write_text(source)
    result = heapscope("run", str(path))
    assert result.returncode == exit_code
    assert in_stderr in result.stderr
    assert "end minus start" in result.stdout


def test_size_prints_tree(tmp_path):
    (tmp_path / "holder.py").write_text("DATA = {'a': list(range(100)), 'b': 'x' * 1000}\n")
    result = heapscope("size", "--detail", "1", "holder:DATA", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.startswith("DATA") or "size=" in first
    assert any("'a'" in line or "[K]" in line or "[V]" in line for line in rest)


@pytest.mark.parametrize("command", [[], ["run"], ["diff"], ["size"]])
def test_help(command):
    result = heapscope(*command, "--help")
    assert result.returncode == 0
    assert "usage:" in result.stdout


def _one_line_error(result):
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "error:" in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["nosuchcommand"],
        ["run"],
        ["run", "--top", "0", "x.py"],
        ["run", "--top", "many", "x.py"],
        ["run", "does_not_exist.py"],
        ["diff", "only_one.json"],
        ["diff", "missing_a.json", "missing_b.json"],
        ["size", "no_colon"],
        ["size", "no_such_module_xyz:VALUE"],
        ["size", "json:no_such_name"],
        ["size", "json:1/0"],
    ],
)
def test_bad_arguments_exit_2_one_line(args, tmp_path):
    _one_line_error(heapscope(*args, cwd=tmp_path))


def test_diff_of_unreadable_files(tmp_path, script):
    good = tmp_path / "good.json"
    heapscope("run", "--json", str(good), str(script), cwd=tmp_path)
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    line = _one_line_error(heapscope("diff", str(junk), str(good)))
    assert "junk.json" in line
    cut = tmp_path / "cut.json"
    cut.write_text(good.read_text()[:50])
    assert "cut.json" in _one_line_error(heapscope("diff", str(good), str(cut)))
    directory = tmp_path / "adir.json"
    directory.mkdir()
    _one_line_error(heapscope("diff", str(directory), str(good)))


def test_run_json_into_missing_folder(script, tmp_path):
    line = _one_line_error(heapscope("run", "--json", str(tmp_path / "no" / "x.json"), str(script)))
    assert "no such folder" in line


def test_version():
    import heapscope as hs

    done = heapscope("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"heapscope {hs.__version__}"


def test_closed_pipe_is_quiet(tmp_path):
    # Megabytes of tree, far more than a pipe holds, so the writer is still writing.
    (tmp_path / "bigtree.py").write_text("BIG = {str(i): [i] for i in range(100_000)}\n")
    reader = subprocess.Popen(
        [sys.executable, "-m", "heapscope", "size", "bigtree:BIG", "--detail", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    reader.stdout.readline()
    reader.stdout.close()  # as `| head -1` does
    stderr = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 141
    assert stderr == ""


def test_help_is_plain_text():
    for command in ("run", "diff", "size", "memory"):
        done = heapscope(command, "--help")
        assert done.returncode == 0
        assert "``" not in done.stdout, command


@pytest.mark.parametrize(
    "sort, first",
    [("size", "shrunk"), ("count", "counted"), ("growth", "counted"), ("shrink", "shrunk"), (None, "shrunk")],
)
def test_diff_sorts_by_absolute_change(sort, first):
    from heapscope.cli import _common

    rows = [["grown", 10, 1000], ["shrunk", -499, -3_900_000], ["counted", 4_900, 5_000]]
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        _common.print_diff(rows, 1, sort or "size")
    text = out.getvalue()
    shown = [line.split()[0] for line in text.splitlines()[3:] if not line.startswith("...")]
    assert shown == [first], text
    assert "... 2 more types: " in text and text.rstrip().endswith("(--top N shows more)")
    # heapscope's own table, in binary units; pympler's "KB" stays in summary.print_.
    assert "3.7 MiB" in text and " MB" not in text and " KB" not in text


def test_diff_text_has_a_bad_sort_error():
    from heapscope import summary

    diff = summary.Summary.from_rows([["a", 1, 8]], kind="diff")
    with pytest.raises(ValueError, match="sort must be one of size, count, growth, shrink"):
        diff.format(sort="type")


def test_diff_command_shows_a_large_shrink_first(tmp_path):
    code = textwrap.dedent("""
        import sys
        from heapscope import summary
        big = [bytearray(100_000) for _ in range(40)]
        summary.summarize_heap().save(sys.argv[1])
        del big
        small = [object() for _ in range(3)]
        summary.summarize_heap().save(sys.argv[2])
    """)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    subprocess.run([sys.executable, "-c", code, str(a), str(b)], check=True, timeout=120)
    done = heapscope("diff", str(a), str(b), "--top", "1")
    assert done.returncode == 0, done.stderr
    assert "bytearray" in done.stdout and "-40" in done.stdout
    growth = heapscope("diff", str(a), str(b), "--top", "1", "--sort", "growth")
    assert "bytearray" not in growth.stdout
