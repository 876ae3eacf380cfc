"""A memory dashboard served over HTTP from inside the profiled process.

``start_profiler()`` serves it until interrupted; ``start_in_background()`` serves it from
a daemon thread and returns at once. The pages are pympler.web's: the process overview
(``/``), process details (``/process``), tracked classes (``/tracker``,
``/tracker/class/<name>``), each thread's stack with its frames' locals
(``/traceback/<thread id>``), objects reached from those pages (``/objects/<id>``),
reference cycles (``/garbage``, ``/garbage/<index>``, ``/garbage/graph/<index>``),
``/refresh`` and ``/help``; and heapscope's own: the live heap summary with its diff since
the last visit (``/heap``), the resident memory over time (``/timeline``), and why an
object is alive and what it retains (``/objects/<id>/why``, ``/objects/<id>/retained``).

It uses the standard library's HTTP server only. It listens on ``localhost`` unless told
otherwise; with ``token=``, every request must carry ``?token=...`` once (a cookie keeps
it). Objects are only shown when a page of the dashboard reached them first: an id typed
by hand that no page gave is refused, never looked up in memory.
"""

import collections
import gc
import html
import re
import sys
import threading
import traceback
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from heapscope import asizeof, summary
from heapscope.classtracker import ClassTracker
from heapscope.classtracker_stats import Stats
from heapscope.garbagegraph import GarbageGraph
from heapscope.process import ProcessMemoryInfo, get_current_threads
from heapscope.timeline import Timeline
from heapscope._html import pretty_size
from heapscope.util.stringutils import safe_repr

__all__ = ["start_profiler", "start_in_background", "DEFAULT_HOST", "DEFAULT_PORT"]

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8090

#: How many objects reached from the pages are remembered for ``/objects/<id>``.
REMEMBERED_OBJECTS = 1000
#: How many referents an object's page lists.
SHOWN_REFERENTS = 500
#: How many characters of a repr are shown.
REPR_CLIP = 120

_STYLE = """\
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 2em 2em; color: #222; }
nav { padding: .6em 0; border-bottom: 1px solid #ccc; margin-bottom: 1em; }
nav a { margin-right: 1.2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { padding: .2em .8em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
.note { color: #666; }
"""

_HELP = """\
<p>This dashboard shows the memory of the process that serves it.</p>
<ul>
<li><b>Overview</b>: the process's memory and its threads; a thread's link shows its stack,
and each frame's locals can be opened.</li>
<li><b>Memory over time</b>: the resident memory, read every second since the dashboard
started.</li>
<li><b>Heap</b>: the objects the garbage collector reaches, by type, and what changed
since the last visit of that page.</li>
<li><b>Tracker</b>: the classes a <code>ClassTracker</code> tracks, their instances and
sizes (start the dashboard with <code>tracker=</code> or <code>stats=</code>).</li>
<li><b>Garbage</b>: reference cycles the collector found; call
<code>heapscope.garbagegraph.start_debug_garbage()</code> first so that they are kept.
<b>Refresh</b> looks again.</li>
</ul>
<p>An object's page links to why it is alive and to what deleting it would free (each a
pass over the heap). Objects are kept alive while the dashboard remembers them (the last
%d reached).</p>
""" % REMEMBERED_OBJECTS


class _Dashboard:
    """What the pages show and remember, shared by the server's threads."""

    def __init__(self, tracker: Optional[ClassTracker], stats: Optional[Stats], token: Optional[str]) -> None:
        self.tracker = tracker
        self.stats = stats
        self.token = token
        self.lock = threading.Lock()
        self.objects: "collections.OrderedDict[int, Any]" = collections.OrderedDict()
        self.garbage: Optional[List[Any]] = None
        self.heap_tracker: Any = None
        self.timeline: Optional[Timeline] = None

    def start_timeline(self) -> None:
        """Reads the resident memory every second from now on (a Rust thread)."""
        self.timeline = Timeline(interval=1.0, summaries=False).start()

    def close(self) -> None:
        if self.timeline is not None:
            self.timeline.stop()

    def remember(self, obj: Any) -> int:
        """Remembers ``obj`` for ``/objects/<id>`` and returns its id."""
        with self.lock:
            key = id(obj)
            self.objects[key] = obj
            self.objects.move_to_end(key)
            while len(self.objects) > REMEMBERED_OBJECTS:
                self.objects.popitem(last=False)
            return key

    def recall(self, key: int) -> Tuple[bool, Any]:
        with self.lock:
            if key in self.objects:
                return True, self.objects[key]
            return False, None

    def current_stats(self) -> Optional[Stats]:
        if self.tracker is not None:
            return self.tracker.stats
        return self.stats

    def garbage_graphs(self) -> List[Any]:
        """The reference cycles garbage collection finds now, largest first (kept until
        the next refresh). The collector's debug flags are put back afterwards, and what
        this collection saved is taken out of ``gc.garbage`` again (the graphs hold it):
        the process must not keep every later cycle because someone looked once."""
        with self.lock:
            if self.garbage is None:
                flags, saved = gc.get_debug(), len(gc.garbage)
                try:
                    self.garbage = GarbageGraph(reduce=False).split_and_sort()
                finally:
                    gc.set_debug(flags)
                    if not flags & gc.DEBUG_SAVEALL:
                        del gc.garbage[saved:]
            return self.garbage

    def refresh(self) -> None:
        """Looks for garbage again, then takes a tracker snapshot. In that order: the
        snapshot collects garbage, and only the garbage graph keeps what it finds."""
        with self.lock:
            self.garbage = None
        self.garbage_graphs()
        if self.tracker is not None:
            self.tracker.create_snapshot("dashboard refresh")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, body: str) -> str:
    nav = "".join(
        f'<a href="{href}">{name}</a>'
        for href, name in (
            ("/", "Overview"), ("/process", "Process"), ("/timeline", "Memory over time"), ("/heap", "Heap"),
            ("/tracker", "Tracker"),
            ("/garbage", "Garbage"), ("/refresh", "Refresh"), ("/help", "Help"),
        )
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title)} - heapscope</title><link rel='icon' href='data:,'>"
        "<link rel='stylesheet' href='/static/style.css'></head>"
        f"<body><nav>{nav}</nav><h1>{_e(title)}</h1>{body}</body></html>"
    )


def _table(head: List[str], rows: List[List[str]], numeric: Tuple[int, ...] = ()) -> str:
    """A table whose cells are HTML already (escape them first)."""
    th = "".join(f"<th{' class=n' if i in numeric else ''}>{_e(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _memory_table() -> str:
    info = ProcessMemoryInfo()
    if not info.available:
        return "<p class=note>The process's memory figures are not available on this platform.</p>"
    rows = [[_e(label), _e(size)] for label, size in info.os_specific]
    if not rows:
        rows = [["Virtual size", _e(pretty_size(info.vsz))], ["Resident set size", _e(pretty_size(info.rss))]]
    return _table(["", "size"], rows, numeric=(1,))


def _threads_table() -> str:
    rows = [
        [f'<a href="/traceback/{t.ident}">{_e(t.name)}</a>', _e(t.ident), "yes" if t.daemon else "no"]
        for t in get_current_threads()
        if t.ident is not None  # not started yet
    ]
    return _table(["thread", "id", "daemon"], rows)


def _overview(board: _Dashboard, query: Dict[str, List[str]]) -> str:
    return _page("Process overview", f"<h2>Memory</h2>{_memory_table()}<h2>Threads</h2>{_threads_table()}")


def _process(board: _Dashboard, query: Dict[str, List[str]]) -> str:
    info = ProcessMemoryInfo()
    facts = [
        ["Python", _e(sys.version.split()[0])], ["Executable", _e(sys.executable)],
        ["Process id", _e(info.pid)], ["Page size", _e(info.pagesize)],
        ["Objects the collector tracks", _e(f"{len(gc.get_objects()):,}")],
        ["Collector generations' counts", _e(gc.get_count())],
    ]
    body = f"{_table(['', ''], facts)}<h2>Memory</h2>{_memory_table()}<h2>Threads</h2>{_threads_table()}"
    return _page("Process information", body)


def _heap(board: _Dashboard, query: Dict[str, List[str]]) -> str:
    from heapscope.tracker import SummaryTracker

    with board.lock:
        first = board.heap_tracker is None
        if first:
            board.heap_tracker = SummaryTracker(progress=False)
        now = summary.summarize_heap(progress=False)
        lines = list(summary.format_(now, limit=30))
        diff = [] if first else board.heap_tracker.format_diff()
    body = f"<h2>Objects by type (largest 30)</h2><pre>{_e(chr(10).join(lines))}</pre>"
    if first:
        body += "<p class=note>Visit this page again to see what changed in between.</p>"
    else:
        body += f"<h2>Since the last visit</h2><pre>{_e(chr(10).join(diff))}</pre>"
    return _page("Heap", body)


def _timeline(board: _Dashboard, query: Dict[str, List[str]]) -> str:
    if board.timeline is None:
        return _page("Memory over time", "<p class=note>The dashboard was started with timeline=False.</p>")
    snapshot = board.timeline.snapshot()
    body = (f"<p>The resident memory of the process, every second since the dashboard started "
            f"({len(snapshot.rss):,} samples over {snapshot.duration:,.0f} s).</p>{snapshot.to_svg()}")
    return _page("Memory over time", body)


def _tracker(board: _Dashboard, query: Dict[str, List[str]]) -> str:
    stats = board.current_stats()
    if stats is None:
        return _page("Tracked classes", "<p class=note>No class tracker: pass tracker= or stats= to "
                     "start_profiler().</p>")
    rows = []
    for name, tracked in sorted(stats.index.items()):
        alive = sum(1 for t in tracked if t.death is None)
        largest = max((t.get_max_size() for t in tracked), default=0)
        rows.append([
            f'<a href="/tracker/class/{urllib.parse.quote(name)}">{_e(name)}</a>',
            _e(len(tracked)), _e(alive), _e(pretty_size(largest)),
        ])
    snapshots = [
        [_e(s.desc or ""), _e(f"{s.timestamp:.1f} s"), _e(pretty_size(s.tracked_total)),
         _e(pretty_size(s.system_total.rss)) if s.system_total.available else "n/a"]
        for s in stats.snapshots
    ]
    body = (
        _table(["class", "instances", "alive", "largest"], rows, numeric=(1, 2, 3))
        + "<h2>Snapshots</h2>" + _table(["description", "since the start", "tracked objects", "resident memory"], snapshots, numeric=(2, 3))
    )
    return _page("Tracked classes", body)


def _tracker_class(board: _Dashboard, query: Dict[str, List[str]], name: str) -> Tuple[int, str]:
    stats = board.current_stats()
    tracked = [] if stats is None else stats.index.get(name, [])
    if not tracked:
        return HTTPStatus.NOT_FOUND, _page(name, f"<p>No tracked class named {_e(name)}.</p>")
    rows = []
    for obj in tracked:
        alive = obj.ref()
        link = _e(obj.repr)
        if alive is not None:
            link = f'<a href="/objects/{board.remember(alive)}">{link}</a>'
        rows.append([link, _e(pretty_size(obj.get_max_size())), "alive" if obj.death is None else "gone"])
    count = len(tracked)
    heading = f"<p>{count} instance{'' if count == 1 else 's'}</p>"
    return HTTPStatus.OK, _page(name, heading + _table(["instance", "largest size", "now"], rows, numeric=(1,)))


def _traceback(board: _Dashboard, query: Dict[str, List[str]], ident: str) -> Tuple[int, str]:
    thread_id = int(ident)  # not a number: the caller answers 500, as pympler does
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return HTTPStatus.OK, _page("Stack", f"<p>Cannot retrieve stacktrace for thread {thread_id}.</p>")
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    rows = []
    for frame in reversed(frames):
        where = traceback.extract_stack(frame, limit=1)[-1]
        local_id = board.remember(frame.f_locals)
        rows.append([
            _e(f"{where.filename}:{where.lineno}"), _e(where.name), f"<code>{_e(where.line or '')}</code>",
            f'<a id="{local_id}" href="/objects/{local_id}">locals</a>',
        ])
    del frames, frame
    return HTTPStatus.OK, _page(f"Stack of thread {thread_id}", _table(["file", "function", "line", ""], rows))


def _named_items(obj: Any) -> List[Tuple[str, Any]]:
    """What an object's page lists: a mapping's items by key, else the referents ``asizeof``
    follows, by name."""
    items = getattr(type(obj), "items", None)
    if isinstance(obj, dict) or type(obj).__name__ == "FrameLocalsProxy":
        assert items is not None
        return [(safe_repr(key, REPR_CLIP), value) for key, value in list(items(obj))[:SHOWN_REFERENTS]]
    named = asizeof.named_refs(obj)
    refs = list(asizeof.refs(obj) or [])
    if len(named) < len(refs):
        return [(str(i), ref) for i, ref in enumerate(refs[:SHOWN_REFERENTS])]
    return named[:SHOWN_REFERENTS]


def _object(board: _Dashboard, query: Dict[str, List[str]], ident: str) -> Tuple[int, str]:
    known, obj, refused = _known_object(board, ident)
    if not known:
        return HTTPStatus.NOT_FOUND, refused
    rows = []
    for name, value in _named_items(obj):
        key = board.remember(value)
        rows.append([f'<a id="{key}" href="/objects/{key}">{_e(name)}</a>', _e(type(value).__name__),
                     _e(safe_repr(value, REPR_CLIP)), _e(pretty_size(asizeof.flatsize(value)))])
    facts = _table(["", ""], [["type", _e(type(obj).__qualname__)], ["repr", _e(safe_repr(obj, REPR_CLIP))],
                              ["flat size", _e(pretty_size(asizeof.flatsize(obj)))], ["deep size", _e(pretty_size(asizeof.asizeof(obj)))]])
    views = (f'<p><a href="/objects/{ident}/why">Why is it alive?</a> · '
             f'<a href="/objects/{ident}/retained">What would deleting it free?</a> '
             "<span class=note>(each a pass over the heap)</span></p>")
    body = facts + views + "<h2>Referents</h2>" + _table(["name", "type", "repr", "flat size"], rows, numeric=(3,))
    return HTTPStatus.OK, _page(f"Object {ident}", body)


def _known_object(board: _Dashboard, ident: str) -> Tuple[bool, Any, str]:
    known, obj = board.recall(int(ident))
    if not known:
        return False, None, _page("Unknown object", f"<p>Object {_e(ident)} was not reached from a page of this "
                                  "dashboard (or was forgotten since): follow a link.</p>")
    return True, obj, ""


def _object_why(board: _Dashboard, query: Dict[str, List[str]], ident: str) -> Tuple[int, str]:
    from heapscope import why

    known, obj, refused = _known_object(board, ident)
    if not known:
        return HTTPStatus.NOT_FOUND, refused
    # The dashboard's own memory of the object is not a reason it is alive.
    answer = why(obj, max_paths=5, ignore=(board.objects,))
    del obj
    return HTTPStatus.OK, _page(f"Why object {ident} is alive", f"<pre>{_e(answer)}</pre>")


def _object_retained(board: _Dashboard, query: Dict[str, List[str]], ident: str) -> Tuple[int, str]:
    from heapscope import retained_size

    known, obj, refused = _known_object(board, ident)
    if not known:
        return HTTPStatus.NOT_FOUND, refused
    size = retained_size(obj, progress=False)
    flat = asizeof.flatsize(obj)
    del obj
    body = _table(["", ""], [["retained size", _e(pretty_size(size))], ["flat size", _e(pretty_size(flat))]])
    body += ("<p class=note>The retained size is what deleting every reference to the object from outside "
             "what it alone keeps alive would free (the dashboard's own reference included).</p>")
    return HTTPStatus.OK, _page(f"What object {ident} retains", body)


def _garbage(board: _Dashboard, query: Dict[str, List[str]]) -> str:
    graphs = board.garbage_graphs()
    rows = [[f'<a href="/garbage/{i}">cycle {i}</a>', _e(g.count), _e(pretty_size(g.total_size))] for i, g in enumerate(graphs)]
    count = len(graphs)
    body = (f"<p>{count} reference cycle{'' if count == 1 else 's'}</p>"
            + _table(["cycle", "objects", "size"], rows, numeric=(1, 2))
            + "<p class=note>Cycles are kept for this page only while "
            "heapscope.garbagegraph.start_debug_garbage() is in effect; Refresh looks again.</p>")
    return _page("Garbage", body)


def _garbage_graph_of(board: _Dashboard, index: str) -> Any:
    graphs = board.garbage_graphs()
    at = int(index)
    return graphs[at] if 0 <= at < len(graphs) else None


def _garbage_cycle(board: _Dashboard, query: Dict[str, List[str]], index: str) -> Tuple[int, str]:
    graph = _garbage_graph_of(board, index)
    if graph is None:
        return HTTPStatus.NOT_FOUND, _page("Garbage", f"<p>No cycle {_e(index)}: refresh the garbage page.</p>")
    rows = [[_e(md.type), _e(md.str), _e(pretty_size(md.size))] for md in graph.metadata]
    links = (f'<p><a href="/garbage/graph/{index}">graph</a> · '
             f'<a href="/garbage/graph/{index}?reduce=on">graph of the cycles only</a></p>')
    return HTTPStatus.OK, _page(f"Cycle {index}", links + _table(["type", "repr", "size"], rows, numeric=(2,)))


def _garbage_graph(board: _Dashboard, query: Dict[str, List[str]], index: str) -> Tuple[int, str]:
    graph = _garbage_graph_of(board, index)
    if graph is None:
        return HTTPStatus.NOT_FOUND, _page("Garbage", f"<p>No cycle {_e(index)}: refresh the garbage page.</p>")
    if query.get("reduce", [""])[0] in ("on", "1", "true"):
        graph = graph.reduce_to_cycles() or graph
    body = ("<p class=note>The graph in Graphviz's DOT language (render it with <code>dot -Tsvg</code>).</p>"
            f"<pre>{_e(graph._get_graphviz_data())}</pre>")
    return HTTPStatus.OK, _page(f"Graph of cycle {index}", body)


def _help(board: _Dashboard, query: Dict[str, List[str]]) -> str:
    return _page("Help", _HELP)


Route = Callable[..., Union[str, Tuple[int, str]]]

_ROUTES: List[Tuple["re.Pattern[str]", Route]] = [
    (re.compile(pattern + r"/?$"), route)
    for pattern, route in (
        (r"^", _overview),
        (r"^/process", _process),
        (r"^/heap", _heap),
        (r"^/tracker", _tracker),
        (r"^/tracker/class/([^/]+)", _tracker_class),
        (r"^/traceback/([^/]+)", _traceback),
        (r"^/objects/(\d+)", _object),
        (r"^/objects/(\d+)/why", _object_why),
        (r"^/objects/(\d+)/retained", _object_retained),
        (r"^/timeline", _timeline),
        (r"^/garbage", _garbage),
        (r"^/garbage/(\d+)", _garbage_cycle),
        (r"^/garbage/graph/(\d+)", _garbage_graph),
        (r"^/help", _help),
    )
]


class _Handler(BaseHTTPRequestHandler):
    server_version = "heapscope"
    board: _Dashboard
    quiet: bool

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = urllib.parse.unquote(url.path)
        if not self._authorized(query):
            self._send(HTTPStatus.FORBIDDEN, _page("Forbidden", "<p>Open the dashboard with ?token=... "
                                                   "(the token it was started with).</p>"))
            return
        if path == "/static/style.css":
            self._send(HTTPStatus.OK, _STYLE, "text/css")
            return
        if path == "/refresh":
            self.board.refresh()
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Location", "/garbage" if "garbage" in (self.headers.get("Referer") or "") else "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        for pattern, route in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            try:
                answer = route(self.board, query, *match.groups())
            except Exception as error:  # shown to the user: one bad page must not stop the server
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR,
                           _page("Error", f"<pre>{_e(''.join(traceback.format_exception_only(type(error), error)))}</pre>"))
                return
            status, body = answer if isinstance(answer, tuple) else (HTTPStatus.OK, answer)
            self._send(status, body)
            return
        self._send(HTTPStatus.NOT_FOUND, _page("Not found", f"<p>No page {_e(path)}.</p>"))

    def _authorized(self, query: Dict[str, List[str]]) -> bool:
        token = self.board.token
        if token is None:
            return True
        given = query.get("token", [None])[0]
        if given == token:
            self._set_cookie = True
            return True
        cookie = self.headers.get("Cookie") or ""
        return f"heapscope_token={urllib.parse.quote(token)}" in [c.strip() for c in cookie.split(";")]

    def _send(self, status: int, body: str, kind: str = "text/html") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if getattr(self, "_set_cookie", False) and self.board.token is not None:
            token = urllib.parse.quote(self.board.token)
            self.send_header("Set-Cookie", f"heapscope_token={token}; HttpOnly; SameSite=Strict; Path=/")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            super().log_message(format, *args)


class _DashboardServer(ThreadingHTTPServer):
    """The HTTP server, which ends its dashboard's timeline when it closes."""

    daemon_threads = True

    def __init__(self, address: Tuple[str, int], handler: Any, board: _Dashboard) -> None:
        self.board = board  # before binding, which closes the server when it fails
        super().__init__(address, handler)

    def server_close(self) -> None:
        super().server_close()
        self.board.close()


def _make_server(host: str, port: int, tracker: Optional[ClassTracker], stats: Optional[Stats],
                 token: Optional[str], quiet: bool, timeline: bool) -> _DashboardServer:
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int from 0 to 65535, not {port!r}")
    if token is not None and (not isinstance(token, str) or not token):
        raise ValueError("token must be a non-empty str, or None")
    board = _Dashboard(tracker, stats, token)
    handler = type("DashboardHandler", (_Handler,), {"board": board, "quiet": quiet})
    server = _DashboardServer((host, port), handler, board)
    # Started once the port is bound: a port in use starts nothing.
    if timeline:
        board.start_timeline()
    return server


def start_profiler(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, tracker: Optional[ClassTracker] = None,
                   stats: Optional[Stats] = None, debug: bool = False, quiet: bool = True,
                   token: Optional[str] = None, timeline: bool = True, **kwargs: Any) -> None:
    """Serves the dashboard on ``http://host:port/`` until interrupted (Ctrl-C).

    ``tracker`` (a ``ClassTracker``) or ``stats`` (its ``stats``) fill the tracker pages;
    ``quiet=False`` logs each request to stderr; ``token`` makes every request carry
    ``?token=...`` (once: a cookie keeps it), which you want on any address but localhost.
    ``timeline`` reads the resident memory every second for the "Memory over time" page
    (a Rust thread that never takes the GIL). ``debug`` and other keywords of pympler's
    are accepted and ignored.
    """
    server = _make_server(host, port, tracker, stats, token, quiet, timeline)
    if not quiet:
        print(f"heapscope dashboard on http://{host}:{server.server_address[1]}/", file=sys.stderr)
    try:
        server.serve_forever(poll_interval=0.25)
    finally:
        server.server_close()


class DashboardThread(threading.Thread):
    """The daemon thread ``start_in_background`` serves the dashboard from; ``url`` is its
    address and ``stop()`` ends it."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        super().__init__(name="heapscope-dashboard", daemon=True)
        self.server = server
        host, port = server.server_address[:2]
        self.url = f"http://{host if isinstance(host, str) else host.decode()}:{port}/"

    def run(self) -> None:
        try:
            self.server.serve_forever(poll_interval=0.25)
        finally:
            self.server.server_close()

    def stop(self, timeout: Optional[float] = 5.0) -> None:
        """Stops serving and waits up to ``timeout`` seconds for the thread to end."""
        self.server.shutdown()
        self.join(timeout)


def start_in_background(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, tracker: Optional[ClassTracker] = None,
                        stats: Optional[Stats] = None, quiet: bool = True, token: Optional[str] = None,
                        timeline: bool = True, **kwargs: Any) -> DashboardThread:
    """Serves the dashboard from a daemon thread and returns that thread at once (the
    port is bound before it returns, so a port in use raises ``OSError`` here; ``port=0``
    takes a free one, see the thread's ``url``). Keywords as ``start_profiler``'s."""
    thread = DashboardThread(_make_server(host, port, tracker, stats, token, quiet, timeline))
    thread.start()
    return thread
