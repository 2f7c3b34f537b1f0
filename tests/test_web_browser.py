"""The main journeys in a real browser: Playwright driving Debian's Chromium against a live server.

A commune official signs in on a phone, sees only their unit's work, reports progress with a file
and submits; the city leader (two-factor) accepts; the dashboard shows it; another commune's
official gets a 404 on the first commune's assignment. Screenshots go to test-artifacts/.
"""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tasks_app.models import Assignment, Evidence
from tasks_app.status import Status
from tests.conftest import make_official

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

# Every visible form control must have a label: <label for>, a wrapping <label>, or aria-label.
UNLABELLED_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button'].includes(el.type) && !el.hidden)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML)
"""


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself between page steps are plain synchronous code and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_labelled(page):
    assert page.evaluate(UNLABELLED_JS) == [], page.url


def sign_in(page, base_url, username, password, token_device=None):
    page.goto(base_url + "/account/login/")
    assert_labelled(page)
    # Keyboard only: type, Tab to the password, Enter submits.
    page.focus("#id_auth-username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if token_device is not None:
        field = page.locator("#id_token-otp_token")
        field.wait_for()
        assert_labelled(page)
        field.fill(f"{totp(token_device.bin_key):06d}")
        with page.expect_navigation():
            field.press("Enter")


def press_button(page, form_id):
    """Reach the form's button with the keyboard (Tab from its first field) and press Enter."""
    page.locator(f"#{form_id} :is(input:not([type=hidden]), textarea, select)").first.focus()
    for _ in range(12):
        if page.evaluate(f"document.activeElement === document.querySelector('#{form_id} button[type=submit]')"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail(f"the submit button of #{form_id} cannot be reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_commune_reports_and_submits_the_authority_accepts_the_dashboard_shows_it(
    browser, live_server, settings, official_a, head_b, leader, office, assignment_a, assignment_b, tmp_path
):
    settings.TWO_FACTOR_REQUIRED_FOR_AUTHORITY = True
    # Due a month from the real today: the browser's clock cannot be frozen with the server's.
    due = timezone.localdate() + dt.timedelta(days=30)
    Assignment.objects.filter(pk__in=[assignment_a.pk, assignment_b.pk]).update(deadline=due, original_deadline=due)
    device = TOTPDevice.objects.create(user=leader.user, name="default", confirmed=True)
    official_b = make_official("official-b", head_b.unit, position="Chuyên viên")
    base = live_server.url
    detail_path = f"/assignments/{assignment_a.pk}/"

    # 1. A commune official on a phone: only their unit's work.
    phone = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = phone.new_page()
    sign_in(page, base, "official-a", "pw-official-a")
    assert page.url == base + "/"
    assert page.locator(f'a[href="{detail_path}"]').count() == 1
    assert page.locator(f'a[href="/assignments/{assignment_b.pk}/"]').count() == 0
    assert_labelled(page)
    shot(page, "01-my-work-390")

    # 2. Report progress with a file, by keyboard.
    page.goto(base + detail_path)
    assert "Rõ thẩm quyền" in page.content()
    evidence = tmp_path / "bien-ban.pdf"
    evidence.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.fill("#id_progress-percent", "60")
    page.fill("#id_progress-note", "Đã giải ngân 60% kế hoạch vốn.")
    page.set_input_files("#id_progress-files", str(evidence))
    page.fill("#id_progress-links", "https://haiphong.gov.vn/bao-cao")
    assert_labelled(page)
    press_button(page, "form-progress")
    assert "Đã ghi báo cáo tiến độ 60%" in page.locator(".messages").inner_text()
    assert page.locator("a[download]", has_text="bien-ban.pdf").count() == 1
    shot(page, "02-progress-reported-390")

    # 3. Submit the deliverable.
    page.fill("#id_submit-note", "Báo cáo kết quả giải ngân.")
    page.fill("#id_submit-links", "https://haiphong.gov.vn/ket-qua")
    press_button(page, "form-submit")
    assert "chờ người có thẩm quyền nghiệm thu" in page.locator(".messages").inner_text()
    assignment_a.refresh_from_db()
    assert (assignment_a.status, assignment_a.progress) == (Status.SUBMITTED, 100)
    assert Evidence.objects.filter(report__assignment=assignment_a).exclude(file="").count() == 1
    phone.close()

    # 4. The authority signs in with the second factor on a desktop and accepts.
    desktop = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = desktop.new_page()
    sign_in(page, base, "city-leader", "pw-city-leader", token_device=device)
    page.goto(base + detail_path)
    assert page.locator("#form-accept").count() == 1
    shot(page, "03-authority-before-accept-desktop")
    page.fill("#id_accept-note", "Đạt yêu cầu.")
    press_button(page, "form-accept")
    assert "Đã nghiệm thu sản phẩm" in page.locator(".messages").inner_text()
    assignment_a.refresh_from_db()
    assert assignment_a.status == Status.ACCEPTED

    # 5. The dashboard shows commune A done on time, at desktop and phone widths.
    page.goto(base + "/dashboard/?q=10507")
    row = page.locator("tbody tr", has_text="Phường Thành Đông")
    cells = row.locator("td.num").all_inner_texts()
    assert cells[:4] == ["1", "1", "0", "0"]  # assigned, done on time, done late, in progress overdue
    assert page.locator("svg[role=img]").count() == 2
    assert_labelled(page)
    page.goto(base + "/dashboard/")
    shot(page, "04-dashboard-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "05-dashboard-390")
    # No horizontal scroll of the page itself on a phone: wide tables scroll inside their box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    desktop.close()

    # 6. Another commune's official cannot open the first commune's assignment by URL.
    other = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = other.new_page()
    sign_in(page, base, official_b.user.username, "pw-official-b")
    response = page.goto(base + detail_path)
    assert response.status == 404
    shot(page, "06-other-commune-404-390")
    other.close()


def test_stale_form_is_refused_and_keeps_what_was_typed(browser, live_server, official_a, leader, assignment_a):
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    sign_in(page, live_server.url, "official-a", "pw-official-a")
    page.goto(f"{live_server.url}/assignments/{assignment_a.pk}/")
    # Meanwhile the authority changes the assignment.
    Assignment.objects.filter(pk=assignment_a.pk).update(version=assignment_a.version + 1)
    page.fill("#id_progress-percent", "40")
    page.fill("#id_progress-note", "Nội dung không được mất.")
    press_button(page, "form-progress")
    assert "vừa được người khác cập nhật" in page.content()
    assert page.input_value("#id_progress-note") == "Nội dung không được mất."
    shot(page, "07-stale-form-390")
    # Sent again, the kept input now goes through.
    press_button(page, "form-progress")
    assert "Đã ghi báo cáo tiến độ 40%" in page.locator(".messages").inner_text()


def test_pages_work_in_english_and_the_menu_opens_by_keyboard(browser, live_server, official_a, assignment_a):
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    sign_in(page, live_server.url, "official-a", "pw-official-a")
    # Choosing a language submits the form: wait for that navigation, not just the current load.
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    page.locator("h1", has_text="My work").wait_for()
    assert page.locator("h1").inner_text() == "My work"
    page.focus(".nav-toggle summary")
    page.keyboard.press("Enter")
    assert page.locator("nav .nav a", has_text="Notifications").is_visible()
    shot(page, "08-english-menu-390")


def test_filters_refresh_the_list_in_place_without_csp_violations(browser, live_server, official_a, assignment_a):
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server.url, "official-a", "pw-official-a")
    assert page.locator("#results .item").count() == 1
    page.fill("#id_q", "không có việc này")
    page.locator("#results .empty").wait_for()
    assert "q=" in page.url  # the filtered list has its own URL (htmx pushes it)
    page.select_option("#id_status", "")
    page.fill("#id_q", "")
    page.locator("#results .item").first.wait_for()
    assert not [text for text in console if "Content Security Policy" in text or "Refused" in text], console
