"""heapscope.panels.MemoryPanel in a real Django project with django-debug-toolbar,
through Django's test client (tests/django_project/app.py, in an interpreter of its own).

Needs django and django-debug-toolbar; skipped with the reason otherwise. `.ci/run`
installs them and requires them (HEAPSCOPE_TEST_REQUIRE=django)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REQUIRED = "django" in os.environ.get("HEAPSCOPE_TEST_REQUIRE", "").split(",")
APP = Path(__file__).parent / "django_project" / "app.py"


def run_project(*args):
    if not REQUIRED:
        pytest.importorskip("django", reason="django is not installed (pip install django)")
        pytest.importorskip("debug_toolbar", reason="django-debug-toolbar is not installed")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(APP), *args], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_panel_shows_what_the_request_allocated():
    result = run_project("5000")
    assert result["status"] == 200
    content = result["content"]
    assert "__main__.Allocated</td><td>+5,000</td>" in content, content[:2000]
    assert "Resident set size" in content and "Virtual size" in content
    models = content.split("Model instances", 1)[1].split("<h4>", 1)[0]
    assert "django.contrib.contenttypes.models.ContentType</td><td>+3</td>" in models, models
    assert "Allocated" not in models
    assert "RSS " in result["page"]  # the toolbar's side bar: resident memory and its change


def test_the_panel_escapes_type_names():
    content = run_project("10")["content"]
    assert "&lt;locals&gt;.MadeInTheView" in content
    assert "<locals>" not in content


def test_importing_without_the_toolbar_says_what_to_install(tmp_path):
    blocker = tmp_path / "debug_toolbar"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('no toolbar here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    done = subprocess.run([sys.executable, "-c", "import heapscope.panels"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode != 0
    assert "pip install django-debug-toolbar" in done.stderr
