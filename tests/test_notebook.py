"""examples/notebook.ipynb executed in a real Jupyter kernel: the magics of
``%load_ext heapscope`` and the HTML they render."""

import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "notebook.ipynb")


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}})
    client.execute()
    return {cell.source.splitlines()[0]: cell for cell in nb.cells if cell.cell_type == "code"}


def html_of(cell):
    htmls = [out["data"]["text/html"] for out in cell.outputs if "text/html" in out.get("data", {})]
    assert len(htmls) == 1, cell.outputs
    return htmls[0]


def test_asizeof_shows_deep_size(executed):
    html = html_of(executed["%asizeof data"])
    assert "heapscope-asizeof" in html
    assert re.search(r"<b>\d+\.\d KiB</b> \([\d,]+ bytes\)", html)


def test_asizeof_detail_shows_tree(executed):
    html = html_of(executed["%asizeof --detail 1 data"])
    assert "heapscope-asized" in html and "<details" in html
    assert "numbers" in html and "nested" in html


def test_memtop_shows_top_types(executed):
    html = html_of(executed["%memtop 5"])
    assert "heapscope-summary" in html
    top_types, breakdown = html.split('class="heapscope-breakdown"')
    assert top_types.count("<tr>") == 1 + 5
    assert "free in pymalloc arenas" in breakdown and "native and interpreter" in breakdown


def test_memdiff_shows_what_the_cell_left(executed):
    html = html_of(executed["%%memdiff --top 5"])
    assert "summary diff" in html
    row = re.search(r"<td[^>]*>bytearray</td><td[^>]*>\+(\d+)</td>", html)
    assert row and int(row.group(1)) >= 300


def test_summary_diff_renders(executed):
    html = html_of(executed["from heapscope import summary"])
    assert "summary diff" in html and "<td" in html


def test_unknown_option_is_a_clear_error(executed):
    cell = executed["%memtop --largest 5"]
    # IPython reports a UsageError in one line on stderr, without a traceback
    text = "".join(out.get("text", "") for out in cell.outputs if out["output_type"] == "stream")
    text += "".join(out.get("evalue", "") for out in cell.outputs if out["output_type"] == "error")
    assert "UsageError" in text or any(out.get("ename") == "UsageError" for out in cell.outputs)
    assert "unknown option '--largest'" in text
