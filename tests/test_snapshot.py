"""Summaries saved to JSON, loaded back, and diffed across processes."""

import json
import subprocess
import sys
import textwrap

import pytest

from heapscope import summary as hsum
from heapscope import tracker as htrack


def by_type(rows):
    return {row[0]: (row[1], row[2]) for row in rows}


def test_round_trip(tmp_path):
    taken = hsum.summarize_heap(label="start")
    path = tmp_path / "start.json"
    taken.save(path)
    loaded = hsum.load(path)
    assert loaded == taken
    assert list(loaded) == list(taken)
    assert loaded.label == "start" and loaded.kind == "summary"
    assert loaded.created == taken.created
    assert loaded.origin == taken.origin
    assert loaded.origin["python"] == "%d.%d.%d" % sys.version_info[:3]
    assert hsum.Summary.from_json(taken.to_json()) == taken
    assert hsum.Summary.load(str(path)) == taken


def test_format_is_documented_json(tmp_path):
    summary = hsum.Summary.from_rows([["str", 2, 100], ["dict", 1, 64]])
    data = json.loads(summary.to_json())
    assert data["format"] == "heapscope-summary" and data["version"] == 1
    assert data["kind"] == "summary"
    assert data["objects"] == 3 and data["bytes"] == 164
    assert data["rows"] == [{"type": "str", "count": 2, "size": 100}, {"type": "dict", "count": 1, "size": 64}]
    diff = summary.diff(hsum.Summary.from_rows([["str", 1, 50]]))
    assert json.loads(diff.to_json())["kind"] == "diff"
    assert hsum.Summary.from_json(diff.to_json()) == diff


def test_save_replaces_the_file_whole(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("old")
    hsum.Summary.from_rows([["a", 1, 1]]).save(path)
    assert hsum.load(path).rows() == [["a", 1, 1]]
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


PROCESS = textwrap.dedent(
    """
    import sys
    from heapscope import summary

    class Widget:
        pass

    widgets = [Widget() for _ in range(int(sys.argv[2]))]
    summary.summarize_heap(label=sys.argv[3]).save(sys.argv[1])
    """
)


def test_snapshots_from_two_processes_diff(tmp_path):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    for path, count, label in ((before, 0, "before"), (after, 4321, "after")):
        run = subprocess.run([sys.executable, "-c", PROCESS, str(path), str(count), label], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    left, right = hsum.load(before), hsum.load(after)
    assert left.origin["pid"] != right.origin["pid"]
    rows = by_type(left.diff(right))
    assert rows["__main__.Widget"][0] == 4321
    assert by_type(hsum.get_diff(left, right))["__main__.Widget"][0] == 4321
    tr = htrack.SummaryTracker()
    assert by_type(tr.diff(left, right))["__main__.Widget"][0] == 4321
    lines = list(hsum.format_(tr.diff(left, right)))
    assert any(line.strip().startswith("__main__.Widget |") for line in lines)


def write(tmp_path, text, name="bad.json"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_truncated_file(tmp_path):
    text = hsum.summarize_heap().to_json()
    for cut in (0, 1, len(text) // 3, len(text) - 1):
        path = write(tmp_path, text[:cut])
        with pytest.raises(ValueError, match="cut short"):
            hsum.load(path)


def test_foreign_files(tmp_path):
    for text in ('{"hello": 1}', "[1, 2, 3]", '{"format": "pympler", "version": 1}', "12"):
        with pytest.raises(ValueError, match="not a heapscope summary"):
            hsum.load(write(tmp_path, text))
    with pytest.raises(ValueError, match="not UTF-8"):
        hsum.load(write(tmp_path, b"\xff\xfe\x00garbage"))
    with pytest.raises(hsum.SnapshotError):
        hsum.Summary.from_json("not json at all")


def test_newer_version(tmp_path):
    data = json.loads(hsum.Summary.from_rows([["a", 1, 2]]).to_json())
    data["version"] = 2
    data["rows"] = "something new"
    with pytest.raises(ValueError, match="newer heapscope"):
        hsum.load(write(tmp_path, json.dumps(data)))


def test_inconsistent_rows(tmp_path):
    good = json.loads(hsum.Summary.from_rows([["a", 1, 2], ["b", 3, 4]]).to_json())
    cases = []
    tampered = json.loads(json.dumps(good))
    tampered["rows"][0]["count"] = 5
    cases.append(tampered)
    tampered = json.loads(json.dumps(good))
    tampered["rows"][1]["type"] = "a"
    cases.append(tampered)
    tampered = json.loads(json.dumps(good))
    tampered["rows"][0]["count"] = -1
    tampered["objects"] = 2
    cases.append(tampered)
    tampered = json.loads(json.dumps(good))
    del tampered["rows"][0]["size"]
    cases.append(tampered)
    tampered = json.loads(json.dumps(good))
    tampered["version"] = "1"
    cases.append(tampered)
    for data in cases:
        with pytest.raises(ValueError, match="not a valid heapscope summary"):
            hsum.load(write(tmp_path, json.dumps(data)))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        hsum.load(tmp_path / "nope.json")
