"""Nothing English on a Vietnamese page (issue 11): every page, for a commune head, the city office
and a city leader, the sign-in and password pages, 403/404/500, and the error state of the forms, is
rendered in Vietnamese and searched for English.

What counts as English: the English text of our own catalogue (tasks_app/locale/en: each msgstr that
differs from its Vietnamese msgid), every msgid of the catalogues of Django (core, auth), Django
REST framework, django-filter and django-two-factor-auth (their msgids are English), and a few
words that give English away (Approve, Rejected, Next, Previous, Page, Password…). A phrase of one
word is searched only if listed; longer ones as whole words, case-sensitively."""

import datetime as dt
import gettext
import html
import re
from functools import cache
from pathlib import Path

import django
import django_filters
import django_otp
import pytest
import rest_framework
import two_factor
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import RequestFactory
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.defaults import server_error

from tasks_app.models import Assignment, Indicator
from tasks_app.status import Status
from tests.fixtures_web import make_communes, make_many, sign_in

pytestmark = pytest.mark.django_db

WORDS = {
    "Approve", "Approved", "Reject", "Rejected", "Next", "Previous", "Page", "Password", "Username", "Submit",
    "Cancel", "Save", "Delete", "Search", "Filter", "Required", "required", "Invalid", "invalid", "Login",
    "Logout", "Log in", "Log out", "Sign in", "Home", "Back", "Yes", "No", "Error", "Warning", "Please",
    "Unknown", "Any", "Ascending", "Descending", "Forbidden", "Not Found", "Server Error", "Token",
}  # fmt: skip
# English words our Vietnamese pages use on purpose: names of things.
ALLOWED = {"KPI", "Zalo", "Zalo OA", "Zalo ZNS", "Excel", "CSV", "PDF", "Atom", "iCalendar", "Email", "OK", "API"}

SITE = Path(django.__file__).parent


def _a_catalogue(locale: Path) -> Path:
    """A catalogue of a package's (its msgids are the same in every language): Vietnamese or
    English when it has one, else the first there is (as .mo beside the .po that is read)."""
    found = sorted(locale.glob("*/LC_MESSAGES/django.po"))
    if not found:  # compiled catalogues only: the fullest one holds the most msgids
        compiled = sorted(locale.glob("*/LC_MESSAGES/django.mo"), key=lambda p: p.stat().st_size)
        assert compiled, locale
        return compiled[-1]
    preferred = [p for p in found if p.parts[-3] in ("vi", "en")]
    return (preferred or found)[0].with_suffix(".mo")


def _catalogue_ids(mo: Path) -> set[str]:
    """Every msgid of a catalogue: from its .po when shipped (the untranslated ones too, which a
    .mo leaves out), else from its .mo."""
    po = mo.with_suffix(".po")
    if po.exists():
        import polib

        return {e.msgid for e in polib.pofile(str(po)) if e.msgid and not e.obsolete}
    with mo.open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    out = set()
    for key in catalog:
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid:
            out.add(msgid)
    return out


def _phrases(text: str) -> list[str]:
    """The fixed parts of a msgid (placeholders and markup cut out) worth searching for."""
    text = re.sub(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[sdifr%]|\{[^}]*\}|<[^>]+>", "\n", text)
    parts = []
    for part in re.split(r"[\n.:;!?()\"“”]+", text):
        part = " ".join(part.split()).strip(" ,-–—'/")
        words = part.split()
        if part in ALLOWED:
            continue
        if len(words) >= 2 and all(re.fullmatch(r"[A-Za-z'’-]+", w) for w in words):
            parts.append(part)
        elif part in WORDS:
            parts.append(part)
    return parts


@cache
def english() -> re.Pattern:
    phrases = set(WORDS)
    ours = Path(settings.BASE_DIR) / "tasks_app/locale/en/LC_MESSAGES/django.mo"
    with ours.open("rb") as f:
        catalog = f and gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    for key, value in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid and value and value != msgid:
            phrases.update(_phrases(value))
    for locale in [
        SITE / "conf/locale",
        SITE / "contrib/auth/locale",
        Path(rest_framework.__file__).parent / "locale",
        Path(django_filters.__file__).parent / "locale",
        Path(two_factor.__file__).parent / "locale",
        Path(django_otp.__file__).parent / "locale",
    ]:
        for msgid in _catalogue_ids(_a_catalogue(locale)):
            phrases.update(_phrases(msgid))
    phrases -= ALLOWED
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def visible_text(page: str) -> str:
    """What a reader sees or hears: the text and the labelling attributes, without script, style and URLs."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    attrs = re.findall(r'(?:aria-label|title|placeholder|alt|data-label|data-confirm)="([^"]*)"', page)
    buttons = re.findall(r'<input[^>]+type="(?:submit|button)"[^>]*value="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *attrs, *buttons]))


def english_in(page: str) -> list[str]:
    found = sorted({m.group(0) for m in english().finditer(visible_text(page))})
    return found


@pytest.fixture
def city_of_work(commune_a, commune_b, head_a, head_b, city, group, leader, office, plan, official_a):
    units = [commune_a, commune_b, *make_communes(city, 4)]
    tasks = make_many(group, units, 3, authority=leader, code_prefix="EN-2026-01")
    indicator = Indicator.objects.create(
        plan=plan, number=1, name="Tốc độ tăng trưởng GRDP", unit_of_measure="%", annual_target=13,
        responsible_unit=commune_a,
    )  # fmt: skip
    returned = Assignment.objects.filter(unit=commune_a, status=Status.IN_PROGRESS).first()
    pending = Assignment.objects.filter(unit=commune_a, status__in=[Status.IN_PROGRESS, Status.ISSUED]).exclude(
        pk=returned.pk
    )[0]
    returned.submit(by=head_a, note="Báo cáo")
    returned.return_(by=leader, reason="Thiếu phụ lục")
    extension = pending.request_extension(
        by=head_a, requested_deadline=pending.deadline + dt.timedelta(days=10), reason="Chờ vốn"
    )
    return {
        "unit_code": commune_a.code,
        "task": tasks[0],
        "returned": returned,
        "pending": pending,
        "extension": extension,
        "indicator": indicator,
    }


def _vi(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    return client


def _check(client, method, path, data=None, problems=None):
    response = client.post(path, data or {}) if method == "post" else client.get(path)
    assert response.status_code < 500 or path == "500", (path, response.status_code)
    if response.status_code in (301, 302):
        return response
    page = response.content.decode()
    if "<html" not in page:
        return response
    assert 'lang="vi"' in page, path
    found = english_in(page)
    if found:
        problems.append((method, path, response.status_code, found))
    return response


def test_the_catalogue_of_english_finds_what_it_should():
    assert english_in("<p>This field is required.</p>") == ["This field is required"]
    assert english_in('<button aria-label="Next">›</button>') == ["Next"]
    assert english_in("<p>Phê duyệt · Trang 1/3 · Mật khẩu</p>") == []
    assert english_in("<p>The deliverable was returned</p>")  # our own English


@pytest.mark.parametrize("who", ["head_a", "office", "leader"])
def test_no_english_on_any_vietnamese_page(client, request, who, city_of_work):
    official = request.getfixturevalue(who)
    w = city_of_work
    problems: list = []
    _vi(client)
    sign_in(client, official)
    a, task = w["returned"], w["task"]
    pages = [
        "/", "/inbox/", "/assignments/", "/assignments/?status=open&q=khong+co", f"/assignments/{a.pk}/",
        f"/assignments/{w['pending'].pk}/", f"/tasks/{task.code}/", "/notifications/", "/kpi/units/",
        "/kpi/officials/", "/kpi/indicators/", f"/kpi/indicators/{w['indicator'].pk}/", "/kpi/reports/",
        "/kpi/import/", "/dashboard/", "/dashboard/?basis=original", "/tasks/new/",
        f"/assignments/{a.pk}/inspections/new/", "/accounts/password_change/", "/account/two_factor/",
        "/assignments/999999999/", "/khong-co-trang-nay/", f"/kpi/units/{w['unit_code']}/",
        "/account/two_factor/setup/", "/account/two_factor/backup/tokens/", "/account/two_factor/disable/",
        f"/kpi/officials/{official.pk}/",
    ]  # fmt: skip
    for path in pages:
        _check(client, "get", path, problems=problems)
    # The error state of the forms.
    pending = w["pending"]
    posts = [
        (f"/assignments/{pending.pk}/progress/", {"progress-version": pending.version, "progress-percent": 500}),
        (f"/assignments/{pending.pk}/extension/", {"extension-version": pending.version}),
        (f"/assignments/{pending.pk}/submit/", {"submit-version": pending.version}),
        (f"/assignments/{pending.pk}/return/", {"return-version": pending.version}),
        (f"/assignments/{pending.pk}/accept/", {"accept-version": 0}),
        (f"/assignments/{pending.pk}/extensions/{w['extension'].pk}/decide/", {}),
        (f"/kpi/indicators/{w['indicator'].pk}/", {"quarter": "9", "value": "abc"}),
        ("/tasks/new/", {}),
        (f"/assignments/{a.pk}/inspections/new/", {}),
        ("/accounts/password_change/", {"old_password": "sai", "new_password1": "123", "new_password2": "456"}),
    ]
    for path, data in posts:
        _check(client, "post", path, data, problems)
    # Two-factor setup, past its welcome: the method, then the authenticator's QR code and token form.
    _check(client, "post", "/account/two_factor/setup/", {"setup_view-current_step": "welcome"}, problems)
    page = _check(client, "post", "/account/two_factor/setup/",
                  {"setup_view-current_step": "method", "method-method": "generator"}, problems)  # fmt: skip
    assert page.status_code == 200
    _check(client, "post", "/account/two_factor/setup/",
           {"setup_view-current_step": "generator", "generator-token": "12"}, problems)  # fmt: skip
    assert problems == [], "\n".join(map(repr, problems))
    # The search is not blind: the same pages in English are found English.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert english_in(client.get("/").content.decode()) and english_in(client.get("/inbox/").content.decode())


def test_no_english_on_the_sign_in_password_and_error_pages(client, head_a):
    problems: list = []
    _vi(client)
    for path in ["/account/login/", "/accounts/password_reset/", "/accounts/password_reset/done/",
                 "/accounts/reset/done/", "/accounts/reset/MQ/bad-token/"]:  # fmt: skip
        _check(client, "get", path, problems=problems)
    _check(client, "post", "/account/login/", {"login_view-current_step": "auth", "auth-username": "head-a",
                                                "auth-password": "sai"}, problems)  # fmt: skip
    _check(client, "post", "/accounts/password_reset/", {"email": "khong-phai-thu"}, problems)
    uid = urlsafe_base64_encode(force_bytes(head_a.user.pk))
    token = default_token_generator.make_token(head_a.user)
    response = client.get(f"/accounts/reset/{uid}/{token}/")
    form_url = response["Location"]
    _check(client, "get", form_url, problems=problems)
    _check(client, "post", form_url, {"new_password1": "123", "new_password2": "456"}, problems)
    # The sign-in lock, after too many wrong passwords.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _check(client, "post", "/account/login/", {"login_view-current_step": "auth",
                          "auth-username": "official-x", "auth-password": "sai"}, problems)  # fmt: skip
    assert response.status_code in (403, 429) and "<html" in response.content.decode()
    # 403: a commune head on the dashboard; 500: the handler's page.
    sign_in(client, head_a)
    _check(client, "get", "/dashboard/", problems=problems)
    with translation.override("vi"):
        page = server_error(RequestFactory().get("/")).content.decode()
    found = english_in(page)
    if found:
        problems.append(("get", "500", 500, found))
    assert problems == [], "\n".join(map(repr, problems))
