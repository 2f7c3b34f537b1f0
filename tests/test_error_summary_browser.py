"""Errors in view on every form (issue 11): a refused form, on any page, shows one error summary at
the top of the view (templates/web/_error_summary.html, put there by base.html), focus moves to it
(static/web/app.js), and each of its links leads to its field and focuses it. Debian's Chromium at
390 px; the browser's own checks are switched off so that the server's errors speak."""

import datetime as dt

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tasks_app.models import Assignment, Indicator
from tasks_app.status import Status
from tests.test_web_browser import PHONE, browser, shot  # noqa: F401  (browser: a fixture)
from tests.test_web_browser import sign_in as browser_sign_in
from tests.test_web_phone_browser import city_of_work, eager_celery  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUMMARY_JS = """
() => {
  const summary = document.querySelector('[data-error-summary]');
  if (!summary) return null;
  const box = summary.getBoundingClientRect();
  const links = Array.from(summary.querySelectorAll('a')).map(a => a.getAttribute('href'));
  return {
    top: box.top,
    focused: document.activeElement === summary,
    count: document.querySelectorAll('[data-error-summary]').length,
    links,
    missing: links.filter(h => !h.startsWith('#') || !document.getElementById(h.slice(1))),
    text: summary.innerText,
  };
}
"""


def refuse(page, url, form, fill=None):
    """Open `url`, fill what `fill` says, submit `form` (a CSS selector) with the browser's checks off."""
    page.goto(url)
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    page.evaluate("document.querySelectorAll('[required]').forEach(f => f.removeAttribute('required'))")
    for selector, value in (fill or {}).items():
        page.fill(selector, value)
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").first.click()
    page.wait_for_load_state("load")


def assert_summary_in_view(page, name, expect=""):
    seen = page.evaluate(SUMMARY_JS)
    if seen is None or not seen["focused"] or seen["top"] < -1 or seen["top"] > 200:
        shot(page, f"error-summary-{name}")
    assert seen is not None, (name, page.url)
    assert seen["count"] == 1, (name, seen)
    assert seen["focused"], (name, seen)
    # At the top of the view: scrolled to the top edge, or as near as a short page allows.
    assert -1 <= seen["top"] <= 200, (name, seen)
    assert seen["links"] and seen["missing"] == [], (name, seen)
    assert expect in seen["text"], (name, seen)
    assert "This field" not in seen["text"] and "Enter a" not in seen["text"], (name, seen)
    # Its first link moves focus to its field.
    target = seen["links"][0][1:]
    page.locator("[data-error-summary] a").first.click()
    assert page.evaluate("document.activeElement.id") == target, (name, target)
    box = page.evaluate(f"document.getElementById({target!r}).getBoundingClientRect().top")
    assert 0 <= box < PHONE["height"], (name, box)
    return seen


def test_every_refused_form_shows_the_summary_at_the_top_focused_with_links(
    browser,  # noqa: F811
    live_server,
    city_of_work,  # noqa: F811
    head_a,
    leader,
    office,
    commune_a,
):
    base = live_server.url
    a = city_of_work["assignment"]
    other = Assignment.objects.filter(unit=commune_a, status=Status.IN_PROGRESS).exclude(pk=a.pk).first()
    ext = other.request_extension(
        by=head_a, requested_deadline=other.deadline + dt.timedelta(days=20), reason="Chờ bố trí vốn"
    )
    indicator = Indicator.objects.get(responsible_unit=commune_a)

    ctx = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = ctx.new_page()

    # Sign-in: a wrong password.
    refuse(page, base + "/account/login/", "main form", {"#id_auth-username": "head-a", "#id_auth-password": "sai"})
    assert_summary_in_view(page, "sign-in")

    # Password reset: not an e-mail address.
    refuse(page, base + "/accounts/password_reset/", "main form", {"#id_email": "khong-phai-thu"})
    assert_summary_in_view(page, "password-reset", "hợp lệ")

    # Setting a new password from the reset link: the two do not match.
    uid = urlsafe_base64_encode(force_bytes(head_a.user.pk))
    token = default_token_generator.make_token(head_a.user)
    refuse(
        page,
        f"{base}/accounts/reset/{uid}/{token}/",
        "main form",
        {"#id_new_password1": "Hai-Phong-2026-mot", "#id_new_password2": "Hai-Phong-2026-hai"},
    )
    assert_summary_in_view(page, "password-reset-confirm")

    browser_sign_in(page, base, "head-a", "pw-head-a")
    # Changing one's password: the old one is wrong.
    refuse(
        page,
        base + "/accounts/password_change/",
        "main form",
        {"#id_old_password": "sai", "#id_new_password1": "x", "#id_new_password2": "y"},
    )
    assert_summary_in_view(page, "password-change")

    # A KPI actual: no value.
    refuse(page, f"{base}/kpi/indicators/{indicator.pk}/", "main form")
    assert_summary_in_view(page, "kpi-actual")

    # An action on the assignment page: progress over 100 %.
    refuse(page, f"{base}/assignments/{other.pk}/", "#form-progress", {"#id_progress-percent": "500"})
    assert_summary_in_view(page, "assignment-progress", "Tiến độ")

    ctx.close()
    ctx = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = ctx.new_page()
    browser_sign_in(page, base, "city-leader", "pw-city-leader")
    # The decision on an extension: no decision chosen.
    refuse(page, f"{base}/assignments/{ext.assignment_id}/", "#form-decide")
    assert_summary_in_view(page, "extension-decision", "Quyết định")
    # A field inspection: nothing filled.
    refuse(page, f"{base}/assignments/{a.pk}/inspections/new/", "#form-inspection")
    assert_summary_in_view(page, "inspection")

    ctx.close()
    ctx = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = ctx.new_page()
    browser_sign_in(page, base, "city-office", "pw-city-office")
    # Giving a task: nothing filled.
    refuse(page, base + "/tasks/new/", "#form-give-task")
    assert_summary_in_view(page, "give-task")
    ctx.close()
