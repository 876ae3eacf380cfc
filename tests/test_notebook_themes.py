"""heapscope's HTML views in a real notebook, exported as JupyterLab's light and dark
themes and as classic Notebook, then rendered by headless Chromium: the views must stay
readable on a dark page and keep names left-aligned and figures right-aligned under
headers aligned the same way. The timeline chart (SVG) counts its fills as its
background and text colours.

A script added to each exported page reads the computed styles of every element inside
heapscope's output and writes them, as JSON, into the DOM that ``--dump-dom`` prints.

``HEAPSCOPE_SAVE_NOTEBOOK_SCREENSHOTS=1`` also writes the light and dark screenshots to
docs/images/ (for the README); without it they only go to the test's temporary folder.
"""

import html
import json
import os
import re
import shutil
import subprocess

import pytest

import heapscope

from catalog import chromium_binary

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
nbconvert = pytest.importorskip("nbconvert", reason="nbconvert is needed to export the notebook as HTML")

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
SCREENSHOT_FOLDER = os.path.join(REPO, "docs", "images")
WINDOW = "1000,1500"

CELLS = [
    "import gc\n"
    "from heapscope import asizeof, summary, tracker\n"
    "from heapscope.classtracker import ClassTracker\n"
    "from heapscope.classtracker_stats import ConsoleStats\n"
    "from heapscope.retained import retained_top",
    # A summary of a few objects, as summary.summarize() sees them.
    'sample = [1, 2.5, "text", b"bytes" * 40, [1, 2], (3, 4), {"k": 5}] * 20\n'
    'summary.Summary.from_rows(summary.summarize(sample), label="sample")',
    # A diff that grows some types and shrinks others (both signs are coloured).
    "dropped = [str(i) * 20 for i in range(3_000)]\n"
    "summaries = tracker.SummaryTracker()\n"
    "before = summaries.create_summary()\n"
    "del dropped\n"
    "kept = [bytearray(1_000) for _ in range(300)]\n"
    "before.diff(summaries.create_summary())",
    'data = {"numbers": list(range(1_000)), "text": "x" * 5_000, "nested": [[i] for i in range(50)]}\n'
    "asizeof.asized(data, detail=1)",
    "class Node:\n"
    "    def __init__(self, n):\n"
    "        self.payload = list(range(n))\n"
    "\n"
    "class Leaf:\n"
    "    pass\n"
    "\n"
    "classes = ClassTracker()\n"
    'classes.track_class(Node, name="Node")\n'
    'classes.track_class(Leaf, name="Leaf")\n'
    "nodes = [Node(40) for _ in range(6)] + [Leaf() for _ in range(3)]\n"
    'classes.create_snapshot("built")\n'
    "del nodes[:3]\n"
    "gc.collect()\n"
    'classes.create_snapshot("after del")\n'
    "stats = ConsoleStats(tracker=classes)\n"
    "classes.close()\n"
    "stats",
    "retained_top(5, deep=False)",
    "import time\n"
    "from heapscope import Timeline\n"
    "with Timeline(interval=0.01) as timeline:\n"
    '    timeline.mark("allocate")\n'
    "    blocks = [bytearray(1_000) for _ in range(2_000)]\n"
    "    time.sleep(0.3)\n"
    "timeline",
]
# Run after CELLS and left out of the exports: which heapscope the kernel imported.
WHICH_HEAPSCOPE = "import heapscope, os\nprint(os.path.dirname(heapscope.__file__))"

EXPORTS = {
    "lab-light": {"template_name": "lab", "theme": "light"},
    "lab-dark": {"template_name": "lab", "theme": "dark"},
    "classic": {"template_name": "classic"},
}

# The alignment each column's cells (and header) must have, by the header's text.
NUMERIC_HEADERS = {
    "objects", "total size", "active", "total", "average", "share of tracked", "retained", "flat", "deep", "count",
}
NAME_HEADERS = {"type", "class", "", "root", "object", "kept alive by", "largest kept alive by"}

# Reads computed styles after layout. Colours are composited over the ancestors'
# backgrounds (up to the page's canvas, white when nothing paints it) so that a
# translucent text colour or row stripe counts as what the reader sees.
PROBE = r"""
<script>
(function () {
  function rgba(text) {
    var m = /rgba?\(([^)]*)\)/.exec(text || "");
    if (!m) return [0, 0, 0, 0];
    var p = m[1].split(/[\s,\/]+/).filter(function (x) { return x.length; }).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, below) {
    var a = top[3];
    return [0, 1, 2].map(function (i) { return top[i] * a + below[i] * (1 - a); });
  }
  function background(el) {
    var chain = [];
    for (var node = el; node && node.nodeType === 1; node = node.parentElement) chain.push(node);
    var colour = [255, 255, 255];
    for (var i = chain.length - 1; i >= 0; i--) colour = over(rgba(getComputedStyle(chain[i]).backgroundColor), colour);
    return colour;
  }
  function ownText(el) {
    var text = "";
    el.childNodes.forEach(function (n) { if (n.nodeType === 3) text += n.textContent; });
    return text.trim();
  }
  function headerTexts(table) {
    var head = table.querySelector("tr");
    if (!head || !head.querySelector("th")) return null;
    return Array.prototype.map.call(head.cells, function (c) { return c.textContent.trim(); });
  }
  var views = Array.prototype.filter.call(document.querySelectorAll("[class*='heapscope-']"), function (el) {
    return !el.parentElement.closest("[class*='heapscope-']");
  });
  var elements = [], cells = [];
  views.forEach(function (view, viewIndex) {
    var all = [view].concat(Array.prototype.slice.call(view.querySelectorAll("*")));
    all.forEach(function (el) {
      var style = getComputedStyle(el);
      var own = rgba(style.backgroundColor), colour = rgba(style.color);
      var below = background(el.parentElement), behind = background(el);
      var chart = el.closest("svg");
      if (chart) {
        // SVG paints with fill: a full-size rect is the chart's background, and text
        // sits on it.
        var sheet = chart.querySelector("rect[width='100%']");
        var paper = sheet ? over(rgba(getComputedStyle(sheet).fill), background(chart.parentElement))
                          : background(chart.parentElement);
        own = el === sheet ? rgba(style.fill) : [0, 0, 0, 0];
        below = background(chart.parentElement);
        behind = paper;
        if (el.tagName.toLowerCase() === "text") colour = rgba(style.fill);
      }
      elements.push({
        view: view.getAttribute("class"), tag: el.tagName.toLowerCase(), text: ownText(el).slice(0, 40),
        own_background: own[3] > 0 ? over(own, below) : null, color: colour, background: behind
      });
    });
    var tables = view.tagName === "TABLE" ? [view] : Array.prototype.slice.call(view.querySelectorAll("table"));
    tables.forEach(function (table) {
      var headers = headerTexts(table);
      if (!headers) return;
      Array.prototype.forEach.call(table.rows, function (row, rowIndex) {
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (cell.colSpan > 1) return;
          cells.push({
            view: view.getAttribute("class"), table: viewIndex, row: rowIndex, tag: cell.tagName.toLowerCase(),
            header: headers[cell.cellIndex], text: cell.textContent.trim().slice(0, 40),
            align: getComputedStyle(cell).textAlign
          });
        });
      });
    });
  });
  var out = document.createElement("pre");
  out.id = "facts";
  out.textContent = JSON.stringify({views: views.map(function (v) { return v.getAttribute("class"); }),
                                    elements: elements, cells: cells});
  document.body.appendChild(out);
})();
</script>
"""


def _run_chromium(chromium, profile, *args):
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--virtual-time-budget=2000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def _offline(page):
    """The exported page without its scripts from the network (MathJax, RequireJS):
    the test must not wait on, or depend on, a CDN."""
    return re.sub(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", page)


@pytest.fixture(scope="module")
def chromium():
    path = chromium_binary()
    if path is None:
        pytest.skip("no chromium binary found (apt-get install chromium) to render the exported notebook")
    return path


@pytest.fixture(scope="module")
def notebook():
    """The notebook of CELLS, executed once in a python3 kernel, which must import the
    heapscope under test (it inherits PYTHONPATH)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS + [WHICH_HEAPSCOPE]]
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": REPO}})
    client.execute()
    for cell in nb.cells:
        errors = [out for out in cell.outputs if out["output_type"] == "error"]
        assert not errors, (cell.source, errors)
    kernel_heapscope = nb.cells.pop().outputs[0]["text"].strip()
    assert os.path.samefile(kernel_heapscope, os.path.dirname(heapscope.__file__)), (
        f"the kernel imports another heapscope ({kernel_heapscope}); set PYTHONPATH to this tree's python/"
    )
    return nb


@pytest.fixture(scope="module", params=sorted(EXPORTS))
def rendered(request, notebook, chromium, tmp_path_factory):
    """One export of the notebook: its facts (from the probe) and its screenshot."""
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    body, _ = nbconvert.HTMLExporter(**EXPORTS[name]).from_notebook_node(notebook)
    page = folder / "notebook.html"
    page.write_text(_offline(body), encoding="utf-8")
    probe = folder / "probe.html"
    probe.write_text(_offline(body).replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    dom = _run_chromium(chromium, folder / "profile", "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'<pre id="facts">(.*?)</pre>', dom, re.S)
    assert found, f"the probe wrote no facts into the {name} page"
    facts = json.loads(html.unescape(found.group(1)))
    screenshot = folder / f"notebook-{name}.png"
    _run_chromium(chromium, folder / "profile", f"--screenshot={screenshot}", f"--window-size={WINDOW}", page.as_uri())
    return name, facts, screenshot


def _luminance(rgb):
    def channel(value):
        value /= 255.0
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(first, second):
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _seen_colour(colour, background):
    """A text colour with alpha, as painted over ``background``."""
    alpha = colour[3]
    return [colour[i] * alpha + background[i] * (1 - alpha) for i in range(3)]


def test_every_view_is_in_the_export(rendered):
    name, facts, _ = rendered
    views = " ".join(facts["views"])
    for view in ("heapscope-summary", "heapscope-asized", "heapscope-classtracker", "heapscope-retained",
                 "heapscope-timeline"):
        assert view in views, (name, facts["views"])
    assert len([v for v in facts["views"] if v == "heapscope-summary"]) == 2  # the summary and the diff


def test_dark_theme_has_no_light_background_and_readable_text(rendered):
    name, facts, _ = rendered
    if name != "lab-dark":
        pytest.skip("the dark-theme checks apply to the dark export")
    # The first element is the first view itself: what it sits on is the dark theme's.
    output_background = facts["elements"][0]["background"]
    assert _luminance(output_background) < 0.2, f"the dark export shows outputs on {output_background}"
    light = [e for e in facts["elements"] if e["own_background"] and _luminance(e["own_background"]) > 0.5]
    assert not light, f"light backgrounds in the dark theme: {light[:5]}"
    texts = [e for e in facts["elements"] if e["text"]]
    assert len(texts) > 20
    unreadable = []
    for element in texts:
        contrast = _contrast(_seen_colour(element["color"], element["background"]), element["background"])
        if contrast < 3:
            unreadable.append((round(contrast, 2), element))
    assert not unreadable, f"text with a contrast under 3 in the dark theme: {unreadable[:5]}"


def test_names_left_and_figures_right_under_matching_headers(rendered):
    name, facts, _ = rendered
    cells = facts["cells"]
    assert {c["header"] for c in cells} >= {"type", "class", "objects", "share of tracked", "retained"}
    wrong = []
    for cell in cells:
        header = cell["header"]
        assert header in NUMERIC_HEADERS | NAME_HEADERS, f"a column this test does not know: {header!r}"
        expected = "right" if header in NUMERIC_HEADERS else "left"
        if cell["align"] != expected:
            wrong.append(cell)
    assert not wrong, f"{name}: {len(wrong)} cells aligned against their column, e.g. {wrong[:4]}"


def test_screenshot_is_taken(rendered):
    name, _, screenshot = rendered
    assert screenshot.exists() and screenshot.stat().st_size > 10_000, name
    if os.environ.get("HEAPSCOPE_SAVE_NOTEBOOK_SCREENSHOTS") and name in ("lab-light", "lab-dark"):
        os.makedirs(SCREENSHOT_FOLDER, exist_ok=True)
        target = "notebook-light.png" if name == "lab-light" else "notebook-dark.png"
        shutil.copyfile(screenshot, os.path.join(SCREENSHOT_FOLDER, target))
