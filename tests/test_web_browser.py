"""heapscope.web in a real headless browser (Chromium, driven by Selenium): every page
loads without a console error and shows the figures the API gives.

Needs the `selenium` package and Debian's `chromium` and `chromium-driver`; skipped with
the reason otherwise. `.ci/run` installs them where it can and then requires them
(HEAPSCOPE_TEST_REQUIRE=browser).
"""
import gc
import os
import re
import shutil
import threading

import pytest

from heapscope import web
from heapscope.classtracker import ClassTracker
from heapscope.garbagegraph import end_debug_garbage, start_debug_garbage
from heapscope.process import ProcessMemoryInfo

REQUIRED = "browser" in os.environ.get("HEAPSCOPE_TEST_REQUIRE", "").split(",")


def _chromium():
    paths = [shutil.which(name) for name in ("chromium", "chromedriver")]
    if not all(paths):
        if REQUIRED:
            raise RuntimeError("chromium and chromedriver must be on PATH (HEAPSCOPE_TEST_REQUIRE=browser)")
        pytest.skip("no chromium or chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    if REQUIRED:
        import selenium  # noqa: F401
    else:
        pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    return paths


class Order:
    def __init__(self, n):
        self.lines = list(range(n))


@pytest.fixture(scope="module")
def browser():
    browser_path, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900"):
        options.add_argument(argument)
    options.binary_location = browser_path
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served():
    tracker = ClassTracker()
    tracker.track_class(Order, name="shop.Order")
    orders = [Order(n) for n in (10, 100, 1000)]
    tracker.create_snapshot("three orders")
    thread = web.start_in_background(port=0, tracker=tracker)
    yield thread, tracker, orders
    thread.stop()
    tracker.detach_all()


def load(browser, url):
    """Loads ``url``; the page's text, after checking that the console has no error."""
    browser.get_log("browser")  # what earlier pages logged
    browser.get(url)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    assert browser.execute_script("return document.readyState") == "complete"
    return browser.find_element("tag name", "body").text


def cell_texts(browser):
    return [[cell.text for cell in row.find_elements("tag name", "td")]
            for row in browser.find_elements("tag name", "tr")]


def test_every_page_loads_without_an_error(browser, served):
    thread, _, _ = served
    start_debug_garbage()
    try:
        cycle = ["spam"]
        cycle.append(cycle)
        del cycle
        load(browser, thread.url + "refresh")  # a redirect to the overview
        seen, todo, objects = set(), [thread.url], 0
        while todo:
            url = todo.pop(0)
            if url in seen or not url.startswith(thread.url) or url.endswith("/refresh"):
                continue
            if "/objects/" in url:
                objects += 1
                if objects > 10:
                    continue
            seen.add(url)
            text = load(browser, url)
            assert "Error" not in browser.title, (url, text[:300])
            todo += [a.get_attribute("href") for a in browser.find_elements("tag name", "a")]
        paths = {url[len(thread.url) - 1:] for url in seen}
        assert {"/", "/process", "/heap", "/tracker", "/garbage", "/help", "/garbage/0"} <= paths
        assert any(p.startswith("/traceback/") for p in paths) and any(p.startswith("/objects/") for p in paths)
    finally:
        end_debug_garbage()
        gc.collect()
        gc.garbage.clear()


def test_overview_shows_the_process_figures_and_threads(browser, served):
    thread, _, _ = served
    text = load(browser, thread.url)
    assert "Process overview" in browser.title
    info = ProcessMemoryInfo()
    shown = dict(row for row in cell_texts(browser) if len(row) == 2)
    assert "Resident set size" in shown and re.match(r"[\d.]+ [KMG]iB$", shown["Resident set size"])
    # within a tenth of what the API says now (the process grows a little in between)
    value, unit = shown["Resident set size"].split()
    rss = float(value) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit]
    assert abs(rss - info.rss) < info.rss / 10
    # (threads serving single requests come and go)
    names = {t.name for t in threading.enumerate() if "process_request" not in t.name}
    listed = {row[0] for row in cell_texts(browser) if len(row) == 3}
    assert names <= listed, (names, listed)
    assert "heapscope-dashboard" in text


def test_tracker_pages_show_the_tracked_instances(browser, served):
    thread, tracker, orders = served
    load(browser, thread.url + "tracker")
    rows = {row[0]: row for row in cell_texts(browser) if row}
    assert rows["shop.Order"][1:3] == ["3", "3"]
    assert "three orders" in rows
    browser.find_element("link text", "shop.Order").click()
    text = browser.find_element("tag name", "body").text
    assert "3 instances" in text
    sizes = [row[1] for row in cell_texts(browser) if len(row) == 3]
    largest = max(t.get_max_size() for t in tracker.stats.index["shop.Order"])
    from heapscope._html import pretty_size

    assert pretty_size(largest) in sizes


def test_heap_page_shows_the_new_objects_on_the_second_visit(browser, served):
    thread, _, _ = served
    load(browser, thread.url + "heap")
    made = [Order(0) for _ in range(2000)]
    text = load(browser, thread.url + "heap")
    assert "Since the last visit" in text
    assert "Order" in text.split("Since the last visit", 1)[1]
    del made


def test_screenshot_of_the_overview(browser, served, tmp_path):
    thread, _, _ = served
    load(browser, thread.url)
    path = tmp_path / "overview.png"
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
