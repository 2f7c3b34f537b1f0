"""The work loop between a unit and its authority in a real browser (Debian's Chromium).

A commune on a phone submits; the authority's /inbox/ and menu count show it; the authority returns
it with a reason; the unit's inbox, its notifications and the banner on the assignment show that
reason; the unit resubmits in one step; the authority accepts; the unit is told. Then the same loop
for an extension request. Screenshots go to test-artifacts/.
"""

import datetime as dt

import pytest
from django.utils import timezone

from tasks_app.lifecycle import Status
from tasks_app.models import Assignment, ExtensionRequest
from tests.test_web_browser import DESKTOP, PHONE, browser, shot, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def eager_celery():
    # The notices' e-mail is sent in-process after commit (locmem), not through a shared broker.
    from accountability.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def menu_count(page) -> int:
    return int(page.locator("a[data-inbox-count]").first.get_attribute("data-inbox-count") or 0)


def go(page, url):
    page.goto(url)
    page.wait_for_load_state("domcontentloaded")


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], page.url


@pytest.fixture
def due_in_a_month(assignment_a, assignment_b, head_a):
    # Due a month from the real today: the browser's clock cannot be frozen with the server's.
    due = timezone.localdate() + dt.timedelta(days=30)
    Assignment.objects.filter(pk__in=[assignment_a.pk, assignment_b.pk]).update(deadline=due, original_deadline=due)
    assignment_a.refresh_from_db()
    assignment_a.report_progress(by=head_a, percent=90, note="Đã hoàn thành dự thảo")
    return due


def test_submit_return_resubmit_accept_through_the_inbox(browser, live_server, head_a, leader, due_in_a_month,  # noqa: F811
                                                         assignment_a):  # fmt: skip
    base = live_server.url
    detail = f"{base}/assignments/{assignment_a.pk}/"
    unit = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    unit.on("dialog", lambda d: d.accept())
    authority = browser.new_context(viewport=DESKTOP, locale="vi-VN").new_page()
    authority.on("dialog", lambda d: d.accept())
    sign_in(unit, base, "head-a", "pw-head-a")
    sign_in(authority, base, "city-leader", "pw-city-leader")
    assert menu_count(authority) == 0

    # 1. The commune submits on a phone.
    go(unit, detail)
    unit.fill("#id_submit-links", "https://phuong-thanh-dong.example.vn/bao-cao-giai-ngan.pdf")
    unit.fill("#id_submit-note", "Báo cáo kết quả giải ngân")
    with unit.expect_navigation():
        unit.click("#form-submit button[type=submit]")
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.SUBMITTED

    # 2. The authority's inbox and menu count show it, with the days waited.
    go(authority, base + "/inbox/")
    assert menu_count(authority) == 1
    item = authority.locator(".inbox-submitted").first
    assert "Phường Thành Đông" in item.inner_text() and "Từ hôm nay" in item.inner_text()
    shot(authority, "loop-1-authority-inbox")
    with authority.expect_navigation():
        item.locator("a").first.click()

    # 3. The authority returns it with a reason.
    authority.fill("#id_return-reason", "Thiếu phụ lục số liệu giải ngân quý II")
    with authority.expect_navigation():
        authority.click("#form-return button[type=submit]")
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.RETURNED

    # 4. The unit: the menu count, the inbox, the notifications and the banner all carry the reason.
    go(unit, base + "/inbox/")
    assert menu_count(unit) == 1
    assert "Thiếu phụ lục số liệu giải ngân quý II" in unit.locator(".inbox-returned").inner_text()
    no_sideways_scroll(unit)
    shot(unit, "loop-2-unit-inbox-phone")
    go(unit, base + "/notifications/")
    assert "Thiếu phụ lục số liệu giải ngân quý II" in unit.locator("main").inner_text()
    go(unit, detail)
    banner = unit.locator("#returned")
    assert banner.is_visible() and "Thiếu phụ lục số liệu giải ngân quý II" in banner.inner_text()
    assert banner.bounding_box()["y"] < 900  # in the first screen of a phone, not 2,000 px down
    assert unit.locator("[data-next-step=resubmit][data-whose=unit]").is_visible()
    shot(unit, "loop-3-unit-banner-phone")

    # 5. Resubmitting is one step: the banner's button leads to the form.
    unit.click("#returned a[href='#form-submit']")
    unit.fill("#id_submit-links", "https://phuong-thanh-dong.example.vn/bao-cao-giai-ngan-v2.pdf")
    with unit.expect_navigation():
        unit.click("#form-submit button[type=submit]")
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.SUBMITTED

    # 6. The authority accepts from the inbox; the unit is told.
    go(authority, base + "/inbox/")
    assert menu_count(authority) == 1
    with authority.expect_navigation():
        authority.locator(".inbox-submitted a").first.click()
    with authority.expect_navigation():
        authority.click("#form-accept button[type=submit]")
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.ACCEPTED
    go(authority, base + "/inbox/")
    assert menu_count(authority) == 0
    go(unit, base + "/notifications/")
    assert "đã được nghiệm thu" in unit.locator("main").inner_text()
    assert menu_count(unit) == 0


def test_extension_request_and_decision_through_the_inbox(browser, live_server, head_b, leader, due_in_a_month,  # noqa: F811
                                                          assignment_b):  # fmt: skip
    base = live_server.url
    detail = f"{base}/assignments/{assignment_b.pk}/"
    wanted = due_in_a_month + dt.timedelta(days=31)
    unit = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    authority = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    sign_in(unit, base, "head-b", "pw-head-b")
    sign_in(authority, base, "city-leader", "pw-city-leader")

    go(unit, detail)
    unit.fill("#id_extension-requested_deadline", wanted.isoformat())
    unit.fill("#id_extension-reason", "Chờ bổ sung vốn từ ngân sách thành phố")
    with unit.expect_navigation():
        unit.click("#form-extension button[type=submit]")
    assert ExtensionRequest.objects.filter(assignment=assignment_b, status="pending").count() == 1

    go(authority, base + "/inbox/")
    assert menu_count(authority) == 1
    item = authority.locator(".inbox-extension")
    assert "Chờ bổ sung vốn từ ngân sách thành phố" in item.inner_text()
    no_sideways_scroll(authority)
    shot(authority, "loop-4-authority-extension-phone")
    with authority.expect_navigation():
        item.locator("a").first.click()
    authority.check("#form-decide input[value=approve]")
    authority.fill("#id_decide-note", "Đồng ý gia hạn")
    with authority.expect_navigation():
        authority.click("#form-decide button[type=submit]")
    assert Assignment.objects.get(pk=assignment_b.pk).deadline == wanted

    go(authority, base + "/inbox/")
    assert menu_count(authority) == 0
    go(unit, base + "/inbox/")
    assert menu_count(unit) == 1
    assert "Đồng ý gia hạn" in unit.locator(".inbox-decided").inner_text()
    go(unit, base + "/notifications/")
    assert "đã được chấp thuận" in unit.locator("main").inner_text()
