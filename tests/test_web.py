"""heapscope.web: the dashboard's pages, served from a thread of the test process."""
import gc
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest

from heapscope import web
from heapscope.classtracker import ClassTracker
from heapscope.garbagegraph import end_debug_garbage, start_debug_garbage


class Tracked:
    pass


class RaisingRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links += [value for name, value in attrs if name == "href"]


def fetch(url, headers=None):
    """(status, body, response headers) of a GET, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


@pytest.fixture
def tracker():
    tracker = ClassTracker()
    tracker.track_class(Tracked, name="test_web.Tracked")
    kept = [Tracked()]
    tracker.create_snapshot("first")
    yield tracker
    del kept
    tracker.detach_all()


@pytest.fixture
def dashboard(tracker):
    thread = web.start_in_background(port=0, tracker=tracker)
    yield thread
    thread.stop()


def get(dashboard, path, **kwargs):
    return fetch(dashboard.url.rstrip("/") + path, **kwargs)


def test_overview_shows_memory_and_threads(dashboard):
    status, body, headers = get(dashboard, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Process overview" in body
    assert f'href="/traceback/{threading.get_ident()}"' in body
    assert "Resident set size" in body


def test_every_link_of_every_page_answers(dashboard):
    start_debug_garbage()
    try:
        cycle = [Tracked()]
        cycle.append(cycle)
        del cycle
        assert get(dashboard, "/refresh")[0] == 303
        seen, todo, objects = set(), ["/"], 0
        while todo:
            path = todo.pop(0)  # breadth first: every kind of page, a few objects' pages
            if path in seen or path.startswith("http") or path == "/refresh":
                continue
            if path.startswith("/objects/"):
                objects += 1
                if objects > 30:
                    continue
            seen.add(path)
            status, body, _ = get(dashboard, path)
            assert status == 200, (path, status, body[:500])
            parser = Links()
            parser.feed(body)
            todo += [link for link in parser.links if link not in seen]
        assert {"/process", "/heap", "/tracker", "/garbage", "/help", "/garbage/0"} <= seen
        assert any(p.startswith("/objects/") for p in seen)
    finally:
        end_debug_garbage()
        gc.collect()
        gc.garbage.clear()


def test_tracker_pages(dashboard, tracker):
    status, body, _ = get(dashboard, "/tracker")
    assert status == 200 and "test_web.Tracked" in body and "first" in body
    status, body, _ = get(dashboard, "/tracker/class/test_web.Tracked")
    assert status == 200 and "1 instance" in body and "1 instances" not in body
    more = [Tracked(), Tracked()]
    assert "3 instances" in get(dashboard, "/tracker/class/test_web.Tracked")[1]
    assert get(dashboard, "/tracker/class/nope.Nothing")[0] == 404
    del more


def test_tracker_page_without_a_tracker():
    thread = web.start_in_background(port=0)
    try:
        status, body, _ = fetch(thread.url + "tracker")
        assert status == 200 and "No class tracker" in body
    finally:
        thread.stop()


def test_stack_and_locals_of_this_thread(dashboard):
    marker = RaisingRepr()
    payload = ["payload"] * 3
    status, body, _ = get(dashboard, f"/traceback/{threading.get_ident()}")
    assert status == 200 and "test_stack_and_locals_of_this_thread" in body
    locals_links = re.findall(r'href="(/objects/\d+)">locals</a>', body)
    assert locals_links
    pages = [get(dashboard, link)[1] for link in locals_links]
    mine = [page for page in pages if "payload" in page and "marker" in page]
    assert mine, "no locals page lists this test's locals"
    assert "N/A" in mine[0]  # the repr that raises
    assert f'id="{id(payload)}"' in mine[0]
    status, body, _ = get(dashboard, f"/objects/{id(payload)}")
    assert status == 200 and "list" in body
    del marker


def test_threads_still_starting_get_no_link(dashboard, monkeypatch):
    class Starting:  # what threading.enumerate() gives for a thread not yet running
        ident, name, daemon = None, "still-starting", False

    real = web.get_current_threads
    monkeypatch.setattr(web, "get_current_threads", lambda: [*real(), Starting()])
    body = get(dashboard, "/")[1]
    assert "/traceback/None" not in body and "still-starting" not in body
    assert f"/traceback/{threading.get_ident()}" in body


def test_bad_and_unknown_threads(dashboard):
    assert get(dashboard, "/traceback/gabelstapler")[0] == 500
    status, body, _ = get(dashboard, "/traceback/12345")
    assert status == 200 and "Cannot retrieve stacktrace for thread 12345" in body


def test_objects_are_shown_only_when_a_page_gave_them(dashboard):
    secret = ["not given by any page"]
    status, body, _ = get(dashboard, f"/objects/{id(secret)}")
    assert status == 404 and "not given" not in body
    assert get(dashboard, "/objects/not-a-number")[0] == 404
    assert get(dashboard, "/objects/99999999999999999999999")[0] == 404


def test_why_and_retained_pages_of_an_object(dashboard):
    payload = {"why": ["held", "by", "this", "test"]}
    body = get(dashboard, f"/traceback/{threading.get_ident()}")[1]
    pages = [get(dashboard, link)[1] for link in re.findall(r'href="(/objects/\d+)">locals</a>', body)]
    (mine,) = [page for page in pages if f'id="{id(payload)}"' in page]
    assert f'href="/objects/{id(payload)}"' in mine
    page = get(dashboard, f"/objects/{id(payload)}")[1]
    assert f'href="/objects/{id(payload)}/why"' in page and f'href="/objects/{id(payload)}/retained"' in page
    status, body, _ = get(dashboard, f"/objects/{id(payload)}/why")
    assert status == 200 and "test_why_and_retained_pages_of_an_object" in body  # this frame holds it
    status, body, _ = get(dashboard, f"/objects/{id(payload)}/retained")
    assert status == 200 and "retained size" in body
    for view in ("why", "retained"):
        assert get(dashboard, f"/objects/{id(object())}/{view}")[0] == 404


def test_memory_over_time_page(tracker):
    thread = web.start_in_background(port=0, tracker=tracker)
    try:
        time.sleep(2.2)
        status, body, _ = fetch(thread.url + "timeline")
        assert status == 200 and "<svg" in body
        samples = int(re.search(r"\(([\d,]+) samples", body).group(1).replace(",", ""))
        assert samples >= 2
        timeline = thread.server.board.timeline
        assert timeline is not None and timeline._state == "running"
    finally:
        thread.stop()
    assert timeline._state == "stopped"  # the server's end stops its sampler
    thread = web.start_in_background(port=0, timeline=False)
    try:
        status, body, _ = fetch(thread.url + "timeline")
        assert status == 200 and "timeline=False" in body and "<svg" not in body
    finally:
        thread.stop()


def test_remembered_objects_are_bounded():
    board = web._Dashboard(None, None, None)
    objs = [object() for _ in range(web.REMEMBERED_OBJECTS + 50)]
    for obj in objs:
        board.remember(obj)
    assert len(board.objects) == web.REMEMBERED_OBJECTS
    assert board.recall(id(objs[0])) == (False, None)
    assert board.recall(id(objs[-1])) == (True, objs[-1])


def cycles_on(body):
    return int(re.search(r"<p>(\d+) reference cycles?</p>", body).group(1))


def test_garbage_pages(dashboard):
    start_debug_garbage()
    try:
        status, body, _ = get(dashboard, "/garbage")
        assert status == 200
        before = cycles_on(body)
        cycle = ["spam", "eggs"]
        cycle.append(cycle)
        del cycle
        assert cycles_on(get(dashboard, "/garbage")[1]) == before  # kept until a refresh
        status, _, headers = get(dashboard, "/refresh", headers={"Referer": dashboard.url + "garbage"})
        assert status == 303 and headers["Location"] == "/garbage"
        count = cycles_on(get(dashboard, "/garbage")[1])
        assert count > before
        pages = {i: get(dashboard, f"/garbage/{i}")[1] for i in range(count)}
        (index,) = [i for i, page in pages.items() if "&#x27;spam&#x27;" in page]
        body = pages[index]
        assert f"/garbage/graph/{index}" in body and f"/garbage/graph/{index}?reduce=on" in body
        for path in (f"/garbage/graph/{index}", f"/garbage/graph/{index}?reduce=on"):
            status, body, _ = get(dashboard, path)
            assert status == 200 and "digraph" in body
        assert get(dashboard, f"/garbage/{count}")[0] == 404
    finally:
        end_debug_garbage()
        gc.collect()
        gc.garbage.clear()


def test_garbage_pages_leave_the_collector_as_they_found_it(dashboard):
    gc.collect()
    assert gc.get_debug() == 0
    garbage = len(gc.garbage)
    cycle = ["spam", "toast"]
    cycle.append(cycle)
    del cycle
    for path in ("/garbage", "/refresh", "/garbage"):
        assert get(dashboard, path)[0] in (200, 303)
    assert gc.get_debug() == 0  # not DEBUG_SAVEALL: later cycles are freed as usual
    assert len(gc.garbage) == garbage
    later = ["freed", "as usual"]
    later.append(later)
    del later
    gc.collect()
    assert len(gc.garbage) == garbage


def test_refresh_keeps_the_garbage_that_later_pages_would_collect(tracker):
    thread = web.start_in_background(port=0, tracker=tracker)
    start_debug_garbage()
    try:
        cycle = ["spam", "ham"]
        cycle.append(cycle)
        del cycle
        assert fetch(thread.url + "refresh")[0] == 303
        assert fetch(thread.url + "heap")[0] == 200  # collects garbage
        count = cycles_on(fetch(thread.url + "garbage")[1])
        pages = [fetch(thread.url + f"garbage/{i}")[1] for i in range(count)]
        assert any("&#x27;ham&#x27;" in page for page in pages)
    finally:
        thread.stop()
        end_debug_garbage()
        gc.collect()
        gc.garbage.clear()


class GrewBetweenVisits:
    pass


def test_heap_page_shows_what_changed_since_the_last_visit(dashboard):
    status, body, _ = get(dashboard, "/heap")
    assert status == 200 and "Objects by type" in body and "Visit this page again" in body
    grown = [GrewBetweenVisits() for _ in range(3000)]
    body = get(dashboard, "/heap")[1]
    assert "Since the last visit" in body
    since = body.split("Since the last visit", 1)[1]
    assert "GrewBetweenVisits" in since
    del grown


def test_pages_escape_what_they_show():
    tracker = ClassTracker()
    tracker.track_class(Tracked, name="<script>alert(1)</script>")
    kept = Tracked()
    thread = web.start_in_background(port=0, tracker=tracker)
    try:
        body = fetch(thread.url + "tracker")[1]
        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    finally:
        thread.stop()
        tracker.detach_all()
    del kept


def test_token_is_required_once_then_kept_by_a_cookie():
    thread = web.start_in_background(port=0, token="s3cret")
    try:
        status, body, _ = fetch(thread.url)
        assert status == 403 and "token" in body
        assert fetch(thread.url + "?token=wrong")[0] == 403
        status, _, headers = fetch(thread.url + "?token=s3cret")
        assert status == 200
        cookie = headers["Set-Cookie"].split(";")[0]
        assert fetch(thread.url + "process", headers={"Cookie": cookie})[0] == 200
        assert fetch(thread.url + "process", headers={"Cookie": "heapscope_token=other"})[0] == 403
    finally:
        thread.stop()


def test_listens_on_localhost_by_default_and_checks_its_arguments():
    thread = web.start_in_background(port=0)
    try:
        assert thread.daemon and thread.server.server_address[0] in ("127.0.0.1", "::1")
        port = thread.server.server_address[1]
        with pytest.raises(OSError):
            web.start_in_background(port=port)  # in use: raised here, not in the thread
    finally:
        thread.stop()
    assert not thread.is_alive()
    for port in (-1, 70000, "8090", True):
        with pytest.raises(ValueError, match="port"):
            web.start_in_background(port=port)
    with pytest.raises(ValueError, match="token"):
        web.start_in_background(port=0, token="")


def test_unknown_pages_and_static_files(dashboard):
    assert get(dashboard, "/nothing/here")[0] == 404
    status, body, headers = get(dashboard, "/static/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and "body" in body


@pytest.mark.timeout(60)
def test_start_profiler_serves_until_its_server_is_shut_down(monkeypatch):
    servers = []
    real = web._make_server

    def keep(*args):
        server = real(*args)
        servers.append(server)
        return server

    monkeypatch.setattr(web, "_make_server", keep)
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    runner = threading.Thread(target=web.start_profiler, kwargs={"port": port, "debug": True}, daemon=True)
    runner.start()
    while not servers:
        threading.Event().wait(0.01)
    assert fetch(f"http://localhost:{port}/help")[0] == 200
    servers[0].shutdown()
    runner.join(10)
    assert not runner.is_alive()


def test_module_names():
    assert web.DEFAULT_HOST == "localhost" and web.DEFAULT_PORT == 8090
    assert callable(web.start_profiler) and callable(web.start_in_background)
    assert sys.modules["heapscope.web"] is web
