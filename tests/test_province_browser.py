"""The province wall in a real browser (Debian's Chromium), with two real provinces loaded
(Hải Phòng 31 and Hà Nội 01, `load_province 31 01 --national-office`): the leader and the office of
31 sign in with their demo passwords and get 404 on every page of a 01 object while their own
province's pages open; `national-office` sees both provinces side by side on the national view,
opens each province's dashboard and each province's work, is offered no form to change anything,
and a change it forges (a POST with its own CSRF token) is refused and changes nothing.

OWASP ASVS 5.0: V8.2.2 (data-specific access: an object of another province is not there, 404),
V8.2.1 (function-level access: the read-only national monitor changes nothing).
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tasks_app.models import Assignment, ExtensionRequest
from tests.test_province_wall import _nonexistent, _province, snapshot, web_pages
from tests.test_web_browser import browser, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-tinh-2026"


@pytest.fixture
def two_provinces(settings):
    # The wall is under test, not the second factor (tests/test_web_browser.py signs in with one).
    settings.TWO_FACTOR_REQUIRED_FOR_AUTHORITY = False
    call_command("load_province", "31", "01", "--national-office", demo_password=PASSWORD, verbosity=0)
    return {code: _province(code) for code in ("31", "01")}


def _status(page, url: str) -> int:
    response = page.goto(url)
    assert response is not None, url
    return response.status


@pytest.mark.parametrize("who", ["leader-31", "office-31"])
def test_the_leader_and_office_of_31_get_404_on_every_page_of_a_01_object(browser, live_server, two_provinces, who):  # noqa: F811
    mine, theirs = two_provinces["31"], two_provinces["01"]
    page = browser.new_context(locale="vi-VN").new_page()
    sign_in(page, live_server.url, who, PASSWORD)
    for path in web_pages(theirs):
        status = _status(page, live_server.url + path)
        assert theirs.task.title not in page.content(), (who, path)
        if "?" in path and status != 404:
            # A query naming another province's plan answers as one naming no plan that exists.
            assert _status(page, live_server.url + _nonexistent(path)) == status, (who, path)
            continue
        assert status == 404, (who, path)
    for path in web_pages(mine):  # (some are downloads: fetched with the page's session)
        assert page.request.get(live_server.url + path).status == 200, (who, path)
    # Their lists and dashboard show nothing of Hà Nội.
    page.goto(live_server.url + "/assignments/")
    assert mine.task.title in page.content() and theirs.task.title not in page.content()
    assert _status(page, live_server.url + f"/dashboard/?parent={theirs.unit.pk}") == 200
    assert theirs.commune.name not in page.content()
    assert _status(page, live_server.url + "/national/") == 403
    if who == "leader-31":
        # The same forged form the national office sends below works for the authority at home
        # (so the refusal there is the role's, not a broken form), and is a 404 across the wall.
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        headers = {"X-CSRFToken": token, "Referer": live_server.url + "/"}
        for p, expected in ((theirs, 404), (mine, 302)):
            form = {"accept-note": "Đạt", "accept-version": str(p.assignment.version)}
            url = f"{live_server.url}/assignments/{p.assignment.pk}/accept/"
            assert page.request.post(url, form=form, headers=headers, max_redirects=0).status == expected, p.code
        assert Assignment.objects.get(pk=mine.assignment.pk).status == "accepted"
        assert Assignment.objects.get(pk=theirs.assignment.pk).status == "submitted"


def test_national_office_sees_both_provinces_and_can_change_nothing(browser, live_server, two_provinces):  # noqa: F811
    before = {code: snapshot(p) for code, p in two_provinces.items()}
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    sign_in(page, live_server.url, "national-office", PASSWORD)

    # The national view: both provinces side by side, each linking to its dashboard.
    assert _status(page, live_server.url + "/national/") == 200
    table = page.locator("table").first
    for p in two_provinces.values():
        assert table.get_by_role("link", name=p.unit.name).count() == 1, p.code
    with page.expect_navigation():
        table.get_by_role("link", name=two_provinces["01"].unit.name).click()
    assert "/dashboard/" in page.url and f"parent={two_provinces['01'].unit.pk}" in page.url
    assert two_provinces["01"].commune.name in page.content()
    assert two_provinces["31"].commune.name not in page.content()

    for p in two_provinces.values():
        for path in web_pages(p):  # (some are downloads: fetched with the page's session)
            # It reads every page; the inspection form is a write, refused to it.
            expected = 403 if path.endswith("/inspections/new/") else 200
            assert page.request.get(live_server.url + path).status == expected, path
        # Its work opens, with no form to change it.
        page.goto(live_server.url + f"/assignments/{p.assignment.pk}/")
        assert p.task.title in page.content()
        # (The page's own content: the header's sign-out and language forms are not about the work.)
        forms = page.locator("main form[method=post], main form[method=POST]")
        assert forms.count() == 0, (p.code, forms.all_inner_texts())
        # A forged change, with the session's own CSRF token, is refused.
        token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        headers = {"X-CSRFToken": token, "Referer": live_server.url + "/"}
        base = f"{live_server.url}/assignments/{p.assignment.pk}"
        forged = [
            # (Each a valid form, prefixed as the page's would be: refused for who sends it.)
            (f"{base}/accept/", {"accept-note": "Đạt", "accept-version": str(p.assignment.version)}),
            (f"{base}/return/", {"return-reason": "Thiếu", "return-version": str(p.assignment.version)}),
            (f"{base}/extensions/{p.extension.pk}/decide/", {"decide-decision": "approve", "decide-note": "x"}),
        ]
        for url, form in forged:
            response = page.request.post(url, form=form, headers=headers, max_redirects=0)
            assert response.status in (403, 404), (url, response.status)
    assert {code: snapshot(p) for code, p in two_provinces.items()} == before
    assert not ExtensionRequest.objects.exclude(status=ExtensionRequest.Status.PENDING).exists()
    assert Assignment.objects.count() == 2
