"""The chart of a timeline: an SVG document built as text (no plotting library), and
one self-contained HTML page that holds the same SVG plus a few lines of inline script
for hover values (no network access, nothing loaded from elsewhere).

Resident memory is a line; the largest types' sizes at each summary are stacked areas
under it; marked phases are dashed vertical lines with their names.
"""

from __future__ import annotations

import json
import os
from html import escape
from typing import Any, Dict, List, Sequence, Tuple

from heapscope import _core

WIDTH, HEIGHT = 960, 440
LEFT, RIGHT, TOP, BOTTOM = 78, 210, 48, 44
#: Points of the RSS line at most (each keeps its bucket's peak, so peaks survive).
MAX_POINTS = 1500
#: Types drawn as areas.
AREA_TYPES = 8
COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
RSS_COLOUR = "#222222"


def _ticks(top: float, count: int = 5) -> List[float]:
    """Round tick values from 0 to about ``top``."""
    if top <= 0:
        return [0.0]
    raw = top / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    while magnitude > raw:
        magnitude /= 10
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks, value = [], 0.0
    while value <= top * 1.0001:
        ticks.append(value)
        value += step
    return ticks


def _byte_ticks(top: float) -> List[float]:
    """Tick values on powers of two (1 MiB, 2 MiB, ...), as the sizes are labelled."""
    unit = 1.0
    while unit * 1024 <= top:
        unit *= 1024
    return [t * unit for t in _ticks(top / unit)]


def _downsample(times: Sequence[float], values: Sequence[int]) -> List[Tuple[float, int]]:
    if len(times) <= MAX_POINTS:
        return list(zip(times, values))
    per = len(times) / MAX_POINTS
    points = []
    for bucket in range(MAX_POINTS):
        lo, hi = int(bucket * per), max(int((bucket + 1) * per), int(bucket * per) + 1)
        peak = max(range(lo, min(hi, len(values))), key=values.__getitem__)
        points.append((times[peak], values[peak]))
    return points


class _Frame:
    """Data and pixel coordinates of one chart."""

    def __init__(self, timeline: Any) -> None:
        self.timeline = timeline
        self.types = timeline.top_types(AREA_TYPES)
        self.stacks = [
            (sample.at, [sample.size_of(name) for name in self.types]) for sample in timeline.summaries
        ]
        self.duration = max(timeline.duration, max(timeline.times, default=0.0), 1e-3)
        stacked = max((sum(sizes) for _, sizes in self.stacks), default=0)
        self.top = max(max(timeline.rss, default=0), stacked, 1) * 1.08
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM

    def x(self, seconds: float) -> float:
        return float(LEFT + self.plot_w * seconds / self.duration)

    def y(self, size: float) -> float:
        return TOP + self.plot_h * (1 - size / self.top)


def _svg_body(frame: _Frame) -> List[str]:
    timeline = frame.timeline
    out: List[str] = []
    title = timeline.title or "memory over time"
    overhead = timeline.overhead
    subtitle = f"{timeline.duration:.2f} s, {len(timeline.rss)} RSS samples, {len(timeline.summaries)} type summaries"
    if overhead:
        subtitle += f", timeline overhead {100 * overhead.get('fraction', 0.0):.1f} %"
    out.append(f'<text x="{LEFT}" y="20" class="title">{escape(title)}</text>')
    out.append(f'<text x="{LEFT}" y="37" class="note">{escape(subtitle)}</text>')
    # grid and axes
    for value in _byte_ticks(frame.top / 1.08):
        y = frame.y(value)
        out.append(f'<line x1="{LEFT}" x2="{LEFT + frame.plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{_core.human_size(value)}</text>')
    for value in _ticks(frame.duration, 8):
        x = frame.x(value)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + frame.plot_h}" y2="{TOP + frame.plot_h + 4}" class="axis"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + frame.plot_h + 17}" class="tick" text-anchor="middle">{value:g} s</text>')
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{frame.plot_w}" height="{frame.plot_h}" class="frame"/>'
    )
    # stacked areas of the largest types, drawn from the top of the stack down
    if frame.stacks:
        for index in reversed(range(len(frame.types))):
            upper = [(frame.x(at), frame.y(sum(sizes[: index + 1]))) for at, sizes in frame.stacks]
            lower = [(frame.x(at), frame.y(sum(sizes[:index]))) for at, sizes in frame.stacks]
            if len(upper) == 1:  # one summary: a thin band
                (x, y1), (_, y0) = upper[0], lower[0]
                upper, lower = [(x - 2, y1), (x + 2, y1)], [(x - 2, y0), (x + 2, y0)]
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower[::-1])
            out.append(
                f'<polygon points="{points}" fill="{COLOURS[index % len(COLOURS)]}" class="area">'
                f"<title>{escape(frame.types[index])}</title></polygon>"
            )
    # where summaries were taken: a dot on top of the stack
    for at, sizes in frame.stacks:
        out.append(f'<circle cx="{frame.x(at):.1f}" cy="{frame.y(sum(sizes)):.1f}" r="2.5" class="dot"/>')
    # resident memory
    points = " ".join(f"{frame.x(t):.1f},{frame.y(b):.1f}" for t, b in _downsample(timeline.times, timeline.rss))
    if points:
        out.append(f'<polyline points="{points}" class="rss"/>')
    # phases
    for name, start, _end in timeline.phases():
        x = frame.x(start)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + frame.plot_h}" class="phase"/>')
        out.append(f'<text x="{x + 3:.1f}" y="{TOP + 12}" class="phase-name">{escape(name[:40])}</text>')
    # legend
    lx = LEFT + frame.plot_w + 16
    out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{TOP + 6}" y2="{TOP + 6}" class="rss"/>')
    out.append(f'<text x="{lx + 24}" y="{TOP + 10}" class="legend">resident memory (RSS)</text>')
    for index, name in enumerate(frame.types):
        y = TOP + 26 + 18 * index
        out.append(f'<rect x="{lx}" y="{y - 4}" width="18" height="11" fill="{COLOURS[index % len(COLOURS)]}"/>')
        label = name if len(name) <= 24 else name[:23] + "…"
        out.append(f'<text x="{lx + 24}" y="{y + 6}" class="legend">{escape(label)}</text>')
    y = TOP + 34 + 18 * len(frame.types)
    out.append(f'<circle cx="{lx + 9}" cy="{y}" r="2.5" class="dot"/>')
    out.append(f'<text x="{lx + 24}" y="{y + 4}" class="legend">type summary taken</text>')
    return out


STYLE = (
    "text{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;fill:#222}"
    ".title{font-size:15px;font-weight:600}.note{font-size:11px;fill:#666}"
    ".tick{font-size:10px;fill:#555}.legend{font-size:11px}"
    ".grid{stroke:#e6e6e6;stroke-width:1}.axis{stroke:#999}.frame{fill:none;stroke:#bbb}"
    ".area{opacity:.85}.rss{fill:none;stroke:" + RSS_COLOUR + ";stroke-width:1.6}"
    ".dot{fill:#fff;stroke:#333;stroke-width:1}.phase{stroke:#777;stroke-dasharray:4 3}.phase-name{font-size:11px;fill:#444}"
)


# The chart inside a notebook: JupyterLab's theme colours, with the standalone chart's
# as fallbacks. The rules are scoped to the chart's class because a <style> inside inline
# SVG applies to the whole page (other SVG outputs included).
NOTEBOOK_CLASS = "heapscope-timeline"
_INK = "var(--jp-content-font-color1, #222)"
_PAPER = "var(--jp-layout-color0, #fff)"
NOTEBOOK_STYLE = "".join(
    f".{NOTEBOOK_CLASS} {rule}"
    for rule in (
        "text{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;fill:" + _INK + "}",
        ".background{fill:" + _PAPER + "}",
        ".title{font-size:15px;font-weight:600}",
        ".note{font-size:11px;fill:var(--jp-content-font-color2, #666)}",
        ".tick{font-size:10px;fill:var(--jp-content-font-color2, #555)}",
        ".legend{font-size:11px}",
        ".grid{stroke:var(--jp-border-color2, #e6e6e6);stroke-width:1}",
        ".axis{stroke:var(--jp-border-color1, #999)}",
        ".frame{fill:none;stroke:var(--jp-border-color1, #bbb)}",
        ".area{opacity:.85}",
        ".rss{fill:none;stroke:" + _INK + ";stroke-width:1.6}",
        ".dot{fill:" + _PAPER + ";stroke:" + _INK + ";stroke-width:1}",
        ".phase{stroke:var(--jp-content-font-color2, #777);stroke-dasharray:4 3}",
        ".phase-name{font-size:11px;fill:var(--jp-content-font-color2, #444)}",
    )
)


def _svg_document(timeline: Any, identity: str, style: str, background: str, tail: str = "") -> str:
    """The chart's SVG element: ``identity`` names it (an id or a class attribute),
    ``background`` is the attributes of its background rectangle, ``tail`` what
    follows the chart's body."""
    frame = _Frame(timeline)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" {identity}>'
        f'<style>{style}</style><rect width="100%" height="100%" {background}/>'
        + "".join(_svg_body(frame))
        + tail
        + "</svg>"
    )


def svg(timeline: Any) -> str:
    """The chart as a standalone SVG document."""
    return _svg_document(
        timeline, 'id="chart"', STYLE, 'fill="#fff"',
        '<line id="cursor" x1="0" x2="0" y1="0" y2="0" stroke="#c00" visibility="hidden"/>',
    )


def notebook_svg(timeline: Any) -> str:
    """The chart as SVG for a notebook's output: in the notebook's theme colours, and
    without the standalone chart's id (a notebook may show several charts)."""
    return _svg_document(timeline, f'class="{NOTEBOOK_CLASS}"', NOTEBOOK_STYLE, 'class="background"')


def _hover_data(frame: _Frame) -> Dict[str, Any]:
    timeline = frame.timeline
    points = _downsample(timeline.times, timeline.rss)
    return {
        "x0": LEFT,
        "w": frame.plot_w,
        "top": TOP,
        "h": frame.plot_h,
        "duration": frame.duration,
        "t": [t for t, _ in points],
        "rss": [b for _, b in points],
        "types": frame.types,
        "summaries": [
            {"t": s.at, "function": s.function, "sizes": [s.size_of(name) for name in frame.types]}
            for s in timeline.summaries
        ],
        "phases": [[name, start, end] for name, start, end in timeline.phases()],
    }


SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById("timeline-data").textContent);
  var svg = document.getElementById("chart"), tip = document.getElementById("tip");
  var cursor = document.getElementById("cursor");
  function size(b) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(b) >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return (i ? b.toFixed(1) : b.toFixed(0)) + " " + units[i];
  }
  function nearest(list, t, key) {
    var best = -1, gap = Infinity;
    for (var i = 0; i < list.length; i++) {
      var d = Math.abs(key(list[i]) - t);
      if (d < gap) { gap = d; best = i; }
    }
    return best;
  }
  function text(tag, content, cls) {
    var el = document.createElement(tag); el.textContent = content;
    if (cls) { el.className = cls; } return el;
  }
  svg.addEventListener("mousemove", function (event) {
    var box = svg.getBoundingClientRect();
    var x = (event.clientX - box.left) * (svg.viewBox.baseVal.width / box.width);
    if (x < data.x0 || x > data.x0 + data.w) { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); return; }
    var t = (x - data.x0) / data.w * data.duration;
    tip.textContent = "";
    tip.appendChild(text("div", t.toFixed(2) + " s", "head"));
    var i = nearest(data.t, t, function (v) { return v; });
    if (i >= 0) { tip.appendChild(text("div", "RSS " + size(data.rss[i]) + " (at " + data.t[i].toFixed(2) + " s)")); }
    for (var p = 0; p < data.phases.length; p++) {
      if (t >= data.phases[p][1] && t <= data.phases[p][2]) { tip.appendChild(text("div", "phase: " + data.phases[p][0])); }
    }
    var s = nearest(data.summaries, t, function (v) { return v.t; });
    if (s >= 0) {
      var summary = data.summaries[s];
      tip.appendChild(text("div", "summary at " + summary.t.toFixed(2) + " s, in " + summary["function"], "sub"));
      for (var k = 0; k < data.types.length; k++) {
        tip.appendChild(text("div", data.types[k] + ": " + size(summary.sizes[k])));
      }
    }
    tip.style.display = "block";
    tip.style.left = Math.min(event.pageX + 14, window.innerWidth - 320) + "px";
    tip.style.top = (event.pageY + 14) + "px";
    cursor.setAttribute("x1", x); cursor.setAttribute("x2", x);
    cursor.setAttribute("y1", data.top); cursor.setAttribute("y2", data.top + data.h);
    cursor.setAttribute("visibility", "visible");
  });
  svg.addEventListener("mouseleave", function () { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); });
})();
"""

PAGE_STYLE = (
    "body{margin:24px;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;background:#fafafa}"
    "#chart{max-width:100%;height:auto;background:#fff;border:1px solid #ddd}"
    "#tip{position:absolute;display:none;background:#fff;border:1px solid #bbb;padding:6px 9px;"
    "font-size:12px;box-shadow:0 2px 6px rgba(0,0,0,.15);max-width:300px;pointer-events:none}"
    "#tip .head{font-weight:600}#tip .sub{color:#666;margin-top:4px}"
    "table{border-collapse:collapse;font-size:13px;margin-top:16px}"
    "td,th{padding:3px 10px;border-bottom:1px solid #e3e3e3;text-align:left}td.n{text-align:right}"
)


def _phase_table(timeline: Any) -> str:
    phases = timeline.phases()
    if not phases:
        return ""
    rows = []
    for name, start, end in phases:
        inside = [b for t, b in zip(timeline.times, timeline.rss) if start <= t <= end]
        peak = _core.human_size(max(inside)) if inside else "-"
        rows.append(
            f"<tr><td>{escape(name)}</td><td class=n>{start:.2f} s</td><td class=n>{end:.2f} s</td>"
            f"<td class=n>{peak}</td></tr>"
        )
    return (
        "<table><tr><th>phase</th><th>from</th><th>to</th><th>peak RSS</th></tr>" + "".join(rows) + "</table>"
    )


def html(timeline: Any) -> str:
    """The chart as one self-contained HTML page."""
    frame = _Frame(timeline)
    # JSON inside <script>: "<" escaped so that no type name can close the element.
    data = json.dumps(_hover_data(frame), allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    title = escape(timeline.title or "memory over time")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>heapscope: {title}</title><style>{PAGE_STYLE}</style></head><body>"
        + svg(timeline)
        + '<div id="tip"></div>'
        + _phase_table(timeline)
        + f'<script type="application/json" id="timeline-data">{data}</script>'
        + f"<script>{SCRIPT}</script></body></html>\n"
    )


def write(timeline: Any, path: str) -> None:
    """Writes the chart to ``path`` as HTML or SVG, chosen by its extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext in (".html", ".htm"):
        text = html(timeline)
    elif ext == ".svg":
        text = svg(timeline)
    elif ext == ".png":
        raise ValueError(
            f"cannot write {path!r}: PNG is not supported (no image library is required); "
            "write .svg (for a terminal or an image viewer) or .html (interactive)"
        )
    else:
        raise ValueError(f"cannot write a chart to {path!r}: the name must end in .html or .svg")
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
