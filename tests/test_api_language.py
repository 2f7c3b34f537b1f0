"""The API's error messages in the client's language: Vietnamese by default, English when the request
says `Accept-Language: en` (LocaleMiddleware chooses, as for the pages).

Many of them are Django REST framework's and django-filter's, which ship no Vietnamese: the
project's catalogue of their msgids (accountability/drf_vi, in LOCALE_PATHS) gives it. Each case
below is a request a client can really send that gets one kind of error — authentication,
permission, not found, method, media type, parse, validation of each serializer field kind, a
filter, a page, the throttle — sent twice: the Vietnamese answer must hold no English (the same
search as tests/test_no_english.py: every msgid of those libraries' catalogues, and our own English),
and the English answer must differ from it (English for those who ask). Before the catalogue held
them, the cases marked "library" below answered in English."""

import json
import re

import pytest

from tests.test_no_english import english_in

pytestmark = pytest.mark.django_db

VIETNAMESE = r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]"


def _text(response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


def _both(client, method, path, data=None, **extra):
    """The same request in Vietnamese (no Accept-Language: the API's default) and in English."""
    send = getattr(client, method)
    kwargs = {"format": "json", **extra} if method in ("post", "patch", "put") and data is not None else extra
    args = (path, data) if data is not None else (path,)
    vi = send(*args, **kwargs)
    en = send(*args, HTTP_ACCEPT_LANGUAGE="en", **kwargs)
    return vi, en


def _messages(data, key=""):
    """The texts of an error answer (its `code` values are identifiers, not text)."""
    if isinstance(data, dict):
        return [m for k, v in data.items() if k != "code" for m in _messages(v, k)]
    if isinstance(data, list):
        return [m for v in data for m in _messages(v, key)]
    return [data] if isinstance(data, str) else []


def _assert_vietnamese(vi, en, status):
    assert vi.status_code == en.status_code == status, (vi.status_code, _text(vi))
    assert english_in(_text(vi)) == [], _text(vi)
    # Every message has a Vietnamese letter: English that no catalogue lists is caught too.
    assert all(re.search(VIETNAMESE, m) for m in _messages(vi.json())), _text(vi)
    assert _text(en) != _text(vi), _text(en)  # English is still there for those who ask for it


def test_authentication_permission_not_found_and_method_errors_are_vietnamese(
    client, key_a, portal_key, assignment_a, assignment_b
):
    a = key_a.client()
    cases = [
        (client, "get", "/api/v1/assignments/", None, {}, 401),  # no credentials
        (portal_key.client(), "post", f"/api/v1/assignments/{assignment_a.pk}/accept/", {}, {}, 403),
        (a, "get", f"/api/v1/assignments/{assignment_b.pk}/", None, {}, 404),  # another commune's
        (a, "get", "/api/v1/assignments/987654321/", None, {}, 404),
        (a, "get", "/api/v1/units/99999/", None, {}, 404),
        (a, "get", "/api/v1/tasks/KHONG-CO/", None, {}, 404),
        (a, "delete", f"/api/v1/assignments/{assignment_a.pk}/", None, {}, 405),
        (a, "get", f"/api/v1/assignments/{assignment_a.pk}/progress/", None, {}, 405),
        (a, "get", "/api/v1/units/", None, {"HTTP_ACCEPT": "text/csv"}, 406),
    ]
    for who, method, path, data, extra, status in cases:
        vi, en = _both(who, method, path, data, **extra)
        _assert_vietnamese(vi, en, status)


def test_a_session_write_without_csrf_is_refused_in_vietnamese(leader, assignment_a):
    """DRF's "CSRF Failed: CSRF token missing." was English for every client."""
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(leader.user)
    vi, en = _both(client, "post", f"/api/v1/assignments/{assignment_a.pk}/accept/", {})
    _assert_vietnamese(vi, en, 403)
    assert "CSRF" in vi.json()["detail"] and "CSRF" in en.json()["detail"]


def test_media_type_and_parse_errors_are_vietnamese(key_a, assignment_a):
    a = key_a.client()
    url = f"/api/v1/assignments/{assignment_a.pk}/progress/"
    vi = a.post(url, "percent=5", content_type="text/plain")
    en = a.post(url, "percent=5", content_type="text/plain", HTTP_ACCEPT_LANGUAGE="en")
    _assert_vietnamese(vi, en, 415)
    # Broken JSON: DRF's "JSON parse error - Expecting value: line 1 column 13 (char 12)" was English.
    vi = a.post(url, '{"percent": ', content_type="application/json")
    en = a.post(url, '{"percent": ', content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    _assert_vietnamese(vi, en, 400)
    assert vi.json()["detail"] == "Nội dung JSON không hợp lệ: lỗi cú pháp ở dòng 1, cột 13"
    assert en.json()["detail"] == "Invalid JSON body: syntax error at line 1, column 13"
    for body in ('{"percent": NaN}', b'{"note": "\xff"}'):
        vi = a.post(url, body, content_type="application/json")
        en = a.post(url, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
        _assert_vietnamese(vi, en, 400)
    # JSON that is not an object; a lone surrogate in a text (library).
    for body in ("[1, 2]", '{"percent": 50, "note": "a\\ud800b"}'):
        vi = a.post(url, body, content_type="application/json")
        en = a.post(url, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
        _assert_vietnamese(vi, en, 400)


@pytest.mark.parametrize(
    "body",
    [
        {},  # required
        {"percent": "abc"},  # integer
        {"percent": 101},  # max value
        {"percent": 50, "note": None},  # null
        {"percent": 50, "note": "a\u0000b"},  # a NUL character (library: Django's)
        {"percent": 50, "links": "https://x.example.vn"},  # not a list
        {"percent": 50, "links": ["khong phai dia chi"]},  # URL
        {"percent": 50, "links": [f"https://x.example.vn/{n}" for n in range(21)]},  # too many
        {"percent": 50, "files": ["x"]},  # not a file
    ],
    ids=["required", "integer", "max", "null", "nul", "not-list", "url", "max-length", "file"],
)
def test_progress_validation_errors_are_vietnamese(key_a, assignment_a, body):
    vi, en = _both(key_a.client(), "post", f"/api/v1/assignments/{assignment_a.pk}/progress/", body)
    _assert_vietnamese(vi, en, 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("extension-requests/", {"requested_deadline": "31/12/2026", "reason": "Chờ vốn"}),  # date format
        ("extension-requests/", {"requested_deadline": "2026-12-31", "reason": ""}),  # blank
        ("return/", {"reason": "x" * 10001}),  # max length (an authority's own key is not needed to be refused)
    ],
    ids=["date", "blank", "max-length"],
)
def test_other_write_validation_errors_are_vietnamese(key_a, assignment_a, path, body):
    vi, en = _both(key_a.client(), "post", f"/api/v1/assignments/{assignment_a.pk}/{path}", body)
    assert vi.status_code in (400, 403)
    _assert_vietnamese(vi, en, vi.status_code)


@pytest.mark.parametrize(
    "override",
    [
        {"group": 987654321},  # no such primary key (library)
        {"group": "abc"},  # not a primary key (library)
        {"units": ["99999"]},  # no such unit code (library)
        {"units": [{"code": "10507"}]},  # not a code (library)
        {"units": []},  # empty list
        {"role": "truong-nhom"},  # choice
        {"source_document": "125/TB-UBND"},  # not an object
        {"all_communes": "co-le"},  # boolean
        {"deadline": "2026-12-31T10:00:00+07:00"},  # a datetime for a date
        {"title": "x" * 501},  # max length
    ],
    ids=["pk", "pk-type", "slug", "slug-type", "empty", "choice", "dict", "boolean", "date", "max-length"],
)
def test_task_creation_validation_errors_are_vietnamese(leader_client, group, leader, head_a, override):
    from tests.test_give_task import api_body

    body = {**api_body(group, leader, head_a.unit.code), **override}
    vi, en = _both(leader_client, "post", "/api/v1/tasks/", body)
    _assert_vietnamese(vi, en, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://portal.example.vn/hook", "events": []},
        {"url": "https://portal.example.vn/hook", "events": ["nope"]},
        {"url": "ftp://portal.example.vn/hook", "events": ["assignment.status_changed"]},
        {"url": "https://portal.example.vn/hook", "events": ["assignment.status_changed"], "is_active": "co"},
    ],
    ids=["min-length", "choice", "url", "boolean"],
)
def test_webhook_validation_errors_are_vietnamese(key_a, body):
    vi, en = _both(key_a.client(), "post", "/api/v1/webhooks/", body)
    _assert_vietnamese(vi, en, 400)


@pytest.mark.parametrize(
    "query",
    [
        "status=xong",
        "sync/?cursor=khong-hop-le",
        "sync/?updated_since=hom-qua",
        "group=abc",
        "group=0",
        "due_before=2026-13-45",
        "updated_since=hom-qua",
        "ordering=bi-mat",
        "unit=" + "1" * 21,
        "page=999",
        "page=abc",
    ],
)
def test_filter_and_page_errors_are_vietnamese(key_a, assignment_a, query):
    path = f"/api/v1/assignments/{query}" if query.startswith("sync/") else f"/api/v1/assignments/?{query}"
    vi, en = _both(key_a.client(), "get", path)
    assert vi.status_code in (400, 404)
    _assert_vietnamese(vi, en, vi.status_code)


@pytest.mark.parametrize(
    "points", ["1.234", "12345.6", "1234567.8", "nhieu"], ids=["decimal-places", "whole-digits", "digits", "number"]
)
def test_kpi_score_validation_errors_are_vietnamese(leader_client, points):
    body = {"period": "2026-Q1", "unit": "10507", "points": points}
    vi, en = _both(leader_client, "post", "/api/v1/kpi/general-scores/", body)
    _assert_vietnamese(vi, en, 400)


@pytest.mark.parametrize("who", [{}, {"unit": "10507", "official": 1}], ids=["neither", "both"])
def test_a_general_score_for_neither_or_both_a_unit_and_an_official_is_refused_in_the_readers_language(
    leader_client, who
):
    vi, en = _both(leader_client, "post", "/api/v1/kpi/general-scores/", {"period": "2026-Q1", "points": "5", **who})
    _assert_vietnamese(vi, en, 400)
    assert en.json()["unit"] == ["Exactly one of unit or official is required."]


def test_reminder_feed_filter_errors_are_vietnamese(key_a):
    vi, en = _both(key_a.client(), "get", "/api/v1/reminders/?status=da-doc")
    _assert_vietnamese(vi, en, 400)


def test_the_throttle_says_when_to_come_back_in_vietnamese(key_a, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "1/min"}}
    a = key_a.client()
    assert a.get("/api/v1/units/").status_code == 200
    vi, en = _both(a, "get", "/api/v1/units/")
    _assert_vietnamese(vi, en, 429)
