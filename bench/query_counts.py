"""Queries per page of the API and of the web UI at page sizes 1 and 100, at national scale.

The count must not grow with the page size (DESIGN.md §8). API pages take `page_size`; the web
pages' size is `tasks_app.web.views.PAGE_SIZE`, set here to 1 and to 100 in turn.

    python bench/query_counts.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

API_PAGES = {
    "unit key: assignments": "/api/v1/assignments/?page_size={n}",
    "unit key: assignments, filters on": "/api/v1/assignments/?status=in_progress&due_after=2026-03-01&page_size={n}",
    "unit key: tasks": "/api/v1/tasks/?page_size={n}",
    "unit key: units": "/api/v1/units/?page_size={n}",
    "portal key: assignments": "/api/v1/assignments/?page_size={n}",
}
WEB_PAGES = {
    "my work (commune head)": ("head", "/"),
    "assignment list (commune head)": ("head", "/assignments/"),
    "assignment list (city office, all units)": ("office", "/assignments/"),
}


def count(client, url: str) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm: sessions, content types, caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries), response.status_code


def main(argv=None) -> dict:
    common.setup_django()
    from django.test import Client

    from tasks_app.api.models import ApiKey
    from tasks_app.models import Official, Unit
    from tasks_app.web import views

    common.header("Queries per page at page sizes 1 and 100")
    commune = Unit.objects.get(code=common.bench_commune_code())
    _, unit_key = ApiKey.objects.create_key(name="bench: query_counts", unit=commune)
    _, portal_key = ApiKey.objects.create_key(name="bench: query_counts portal", is_portal=True)
    clients = {
        "unit": Client(HTTP_AUTHORIZATION=f"Bearer {unit_key}", HTTP_X_FORWARDED_PROTO="https"),
        "portal": Client(HTTP_AUTHORIZATION=f"Bearer {portal_key}", HTTP_X_FORWARDED_PROTO="https"),
    }
    people = {
        "head": commune.head.user,
        "office": Official.objects.filter(role=Official.Role.OFFICE).select_related("user").first().user,
    }
    results = {}
    print("| page | queries at 1 | queries at 100 | constant |")
    print("|---|---:|---:|:---:|")
    for name, template in API_PAGES.items():
        client = clients["portal" if "portal" in name else "unit"]
        one, _ = count(client, template.format(n=1))
        hundred, _ = count(client, template.format(n=100))
        results[f"API {name}"] = (one, hundred)
        print(f"| API {name} | {one} | {hundred} | {'yes' if one == hundred else '**no**'} |")
    original = views.PAGE_SIZE
    try:
        for name, (who, url) in WEB_PAGES.items():
            client = Client(HTTP_X_FORWARDED_PROTO="https")
            client.force_login(people[who])
            counts = []
            for size in (1, 100):
                views.PAGE_SIZE = size
                counts.append(count(client, url)[0])
            results[f"web {name}"] = tuple(counts)
            print(f"| web {name} | {counts[0]} | {counts[1]} | {'yes' if counts[0] == counts[1] else '**no**'} |")
    finally:
        views.PAGE_SIZE = original
    ApiKey.objects.filter(name__startswith="bench: query_counts").delete()
    return results


if __name__ == "__main__":
    main()
