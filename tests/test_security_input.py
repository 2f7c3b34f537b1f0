"""Bad input of every kind gets a 4xx, never a 5xx (ASVS 5.0 1.2 / 2.2.1 input validation, 16.5 errors).

Every route of the project is walked: each path parameter is given a NUL byte and a Unicode digit,
and each page is asked with those in the usual query parameters, as an anonymous caller, an official
signed in, the city leader and a staff member. Nothing may answer 5xx.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from tests.fixtures_web import sign_in, sign_in_user

pytestmark = pytest.mark.django_db

BAD_VALUES = ["%00", "%C2%B2", "a%00b", "%D9%A3"]  # NUL, superscript two, NUL inside, Arabic-Indic three
QUERY_NAMES = [
    "plan", "period", "unit", "group", "page", "page_size", "status", "search", "q", "due_before", "due_after",
    "updated_since", "ordering", "level", "date", "format", "role", "timeliness", "assignment", "channel",
    "day_after", "day_before", "official", "fmt", "sort", "province", "next",
]  # fmt: skip


def route_templates(patterns=None, prefix="") -> list[str]:
    """Every route as a template with {name} for each parameter (regex routes with groups too)."""
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            part = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern._route))
        elif isinstance(pattern, RegexPattern):
            part = str(pattern._regex).lstrip("^").rstrip("$").replace("\\Z", "")
            part = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", part).replace("\\.", ".").replace("\\", "")
            if re.search(r"[\[\]()*+?|]", part):
                continue  # an optional-format suffix or the like: covered by its plain sibling
        else:
            continue
        if isinstance(entry, URLResolver):
            found += route_templates(entry.url_patterns, prefix + part)
        elif isinstance(entry, URLPattern):
            found.append("/" + prefix + part)
    return sorted(set(found))


def urls_with_bad_values() -> list[str]:
    urls = []
    for template in route_templates():
        names = re.findall(r"\{(\w+)\}", template)
        if names:
            for bad in BAD_VALUES:
                urls.append(template.format(**dict.fromkeys(names, bad)))
        else:
            for bad in BAD_VALUES:
                urls.append(template + "?" + "&".join(f"{name}={bad}" for name in QUERY_NAMES))
    return urls


@pytest.fixture
def callers(leader, official_a, django_user_model, assignment_a):
    anonymous = Client(raise_request_exception=False)
    member = sign_in(Client(raise_request_exception=False), official_a)
    city = sign_in(Client(raise_request_exception=False), leader, verified=True)
    staff_user = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123")
    staff = sign_in_user(Client(raise_request_exception=False), staff_user, verified=True)
    return {"anonymous": anonymous, "member": member, "leader": city, "staff": staff}


def test_nul_bytes_and_unicode_digits_give_4xx_on_every_route(callers):
    """ASVS 5.0 2.2.1 (input validated before use) and 16.5.3 (no unhandled error): NUL and non-ASCII
    digits in any path segment or query value are refused with 4xx, never reach PostgreSQL as 5xx."""
    urls = urls_with_bad_values()
    assert any(u.startswith("/feeds/") for u in urls) and any(u.startswith("/api/v1/kpi/units/") for u in urls)
    failures = []
    for who, client in callers.items():
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                if response.status_code >= 500:
                    failures.append(f"{who} {method.upper()} {url} → {response.status_code}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    "url", ["/feeds/%00/deadlines.ics", "/tasks/%00/", "/api/v1/kpi/units/%00/", "/api/v1/assignments/%00/"]
)
def test_the_reported_nul_urls_are_refused_anonymously(url):
    """ASVS 5.0 2.2.1: the three URLs of the report, anonymously."""
    response = Client(raise_request_exception=False).get(url)
    assert 400 <= response.status_code < 500


def test_json_nested_a_thousand_levels_is_refused(leader_client, assignment_a):
    """ASVS 5.0 2.2.1 / 16.5.3: a JSON body nested 1,000 levels deep gets 400, not a RecursionError."""
    body = "[" * 1000 + "]" * 1000
    leader_client.raise_request_exception = False
    response = leader_client.post(
        f"/api/v1/assignments/{assignment_a.pk}/accept/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


def test_api_errors_are_json_even_for_urls_no_route_matches(leader_client):
    """ASVS 5.0 16.5.1 (generic error messages): malformed ids under /api/ get a JSON 404, not an HTML page."""
    leader_client.raise_request_exception = False
    for url in ("/api/v1/assignments/abc/", "/api/v1/nothing-here/", "/api/v1/evidence/x/download/"):
        response = leader_client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("application/json"), url
        assert "detail" in response.json()


def test_anonymous_and_bad_key_traffic_is_throttled_per_address(settings, key_a, official_a):
    """ASVS 5.0 2.4.1 (anti-automation) and 6.3.1 (credential guessing controls): requests with a
    wrong key, no key, or a guessed feed token from one address get 429 with Retry-After past the
    rate; a valid key from another address and a signed-in session are unaffected."""
    import secrets

    settings.ANON_THROTTLE_RATE = "20/min"
    attacker = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    client = Client(REMOTE_ADDR=attacker)
    codes = [
        client.get("/api/v1/assignments/", HTTP_AUTHORIZATION=f"Bearer abc.{n:040d}").status_code for n in range(15)
    ]
    codes += [client.get("/api/v1/assignments/").status_code for _ in range(5)]
    codes += [client.get(f"/feeds/guess{n}/deadlines.ics").status_code for n in range(10)]
    assert codes[:20] == [401] * 20
    assert set(codes[20:]) == {429}
    limited = client.get("/api/v1/assignments/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert limited["Content-Type"].startswith("application/json")
    # The unit's system elsewhere and a signed-in official at the attacker's address still work.
    assert key_a.client().get("/api/v1/assignments/", REMOTE_ADDR="10.255.0.1").status_code == 200
    member = sign_in(Client(REMOTE_ADDR=attacker), official_a)
    assert member.get("/api/v1/assignments/").status_code == 200
