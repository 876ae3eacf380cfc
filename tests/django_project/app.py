"""A one-file Django project with django-debug-toolbar and heapscope's MemoryPanel, run
by tests/test_panels.py in an interpreter of its own. It makes one request to a view
that allocates, fetches the panel's content as the toolbar's page would, and prints what
the test checks as JSON."""
import json
import re
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=True,
    SECRET_KEY="heapscope-test",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.staticfiles", "debug_toolbar"],
    MIDDLEWARE=["debug_toolbar.middleware.DebugToolbarMiddleware"],
    STATIC_URL="/static/",
    INTERNAL_IPS=["127.0.0.1"],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    DEBUG_TOOLBAR_PANELS=["heapscope.panels.MemoryPanel"],
    DEBUG_TOOLBAR_CONFIG={"SHOW_TOOLBAR_CALLBACK": lambda request: True, "IS_RUNNING_TESTS": False},
)
django.setup()

from django.http import HttpResponse  # noqa: E402 (after the settings)
from django.test import Client  # noqa: E402
from django.urls import include, path  # noqa: E402


class Allocated:
    pass


kept = []


def allocating_view(request):
    class MadeInTheView:  # its name has "<locals>" in it, which the panel must escape
        pass

    from django.contrib.contenttypes.models import ContentType

    kept.extend(Allocated() for _ in range(int(request.GET.get("n", "5000"))))
    kept.extend(ContentType(app_label="shop", model=f"order{i}") for i in range(3))  # model instances, no database
    kept.append(MadeInTheView())
    return HttpResponse("<html><body>made</body></html>")


urlpatterns = [path("alloc/", allocating_view), path("__debug__/", include("debug_toolbar.urls"))]

client = Client()
response = client.get("/alloc/", {"n": sys.argv[1] if len(sys.argv) > 1 else "5000"})
page = response.content.decode()
# Newer toolbars name a request by "request_id", older ones by "store_id".
found = re.search(r'data-(request|store)-id="([^"]+)"', page)
content = ""
if found:
    key = "request_id" if found.group(1) == "request" else "store_id"
    panel = client.get("/__debug__/render_panel/", {key: found.group(2), "panel_id": "MemoryPanel"})
    content = json.loads(panel.content)["content"] if panel.status_code == 200 else f"status {panel.status_code}"
print(json.dumps({"status": response.status_code, "page": page, "content": content}))
