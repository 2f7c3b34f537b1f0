"""Phone first: at 390 px no page scrolls sideways and none is endless, for any role (Debian's Chromium).

Every page of the menu, an assignment, a task, the KPI pages, the inbox and the error pages, for a
commune head, the city office and a city leader, with a long reason in the feed and the inbox. Long
tables are paged (and the dashboard's table by group folded under its chart), so no page is taller
than HEIGHT_BUDGET at 390 px; the demo's pages (114 communes) were measured within it too.
"""

import pytest

from tasks_app.models import Assignment, Indicator
from tasks_app.status import Status
from tests.fixtures_web import make_communes, make_many
from tests.test_web_browser import PHONE, browser, shot, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMON = [
    "/",
    "/inbox/",
    "/assignments/",
    "/assignments/?status=open&unit=10507",
    "/notifications/",
    "/kpi/units/",
    "/kpi/officials/",
    "/kpi/indicators/",
    "/kpi/reports/",
    "/assignments/999999999/",
    "/accounts/password_change/",
    "/account/two_factor/",
]
CITY = [
    "/dashboard/",
    "/dashboard/?sort=rate",
    "/dashboard/?basis=original",
    "/kpi/units/10507/",
    "/kpi/import/",
    "/tasks/new/",
    "/kpi/units/?page=2",
]
# At most this tall at 390 px (it was 16,000–30,000 px): a long table is paged instead.
HEIGHT_BUDGET = 6000

WIDTH_JS = """
() => {
  const root = document.documentElement;
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter(el => el.getBoundingClientRect().right > root.clientWidth + 1)
    .filter(el => !el.closest('.table-wrap, .visually-hidden, .skip-link'))
    .slice(0, 3).map(el => el.tagName + '.' + el.className + ': ' + (el.textContent || '').slice(0, 60));
  return {scroll: root.scrollWidth, client: root.clientWidth, height: root.scrollHeight, wide};
}
"""


@pytest.fixture
def city_of_work(eager_celery, commune_a, commune_b, head_a, head_b, city, group, leader, office, plan):
    units = [commune_a, commune_b, *make_communes(city, 24)]
    tasks = make_many(group, units, 6, authority=leader, code_prefix="MH-2026-01")
    indicator = Indicator.objects.create(
        plan=plan, number=1, name="Tốc độ tăng trưởng tổng sản phẩm trên địa bàn (GRDP)", unit_of_measure="%",
        annual_target=13, responsible_unit=commune_a,
    )  # fmt: skip
    # A return with a long reason, so the inbox, the feed and the banner carry long text.
    a = Assignment.objects.filter(unit=commune_a, status=Status.IN_PROGRESS).first()
    a.submit(by=head_a, note="Báo cáo", links=["https://phuong-thanh-dong.example.vn/" + "bao-cao-" * 20 + ".pdf"])
    a.return_(by=leader, reason="Thiếu phụ lục số liệu giải ngân theo từng dự án " * 8)
    return {"task": tasks[0], "assignment": a, "indicator": indicator}


@pytest.fixture
def eager_celery():
    from accountability.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.mark.parametrize(
    ("username", "password", "extra"),
    [("head-a", "pw-head-a", []), ("city-office", "pw-city-office", CITY), ("city-leader", "pw-city-leader", CITY)],
    ids=["commune-head", "city-office", "city-leader"],
)
def test_no_page_scrolls_sideways_at_390px(browser, live_server, city_of_work, username, password, extra):  # noqa: F811
    task, a = city_of_work["task"], city_of_work["assignment"]
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    page.goto(live_server.url + "/account/login/")
    measured = page.evaluate(WIDTH_JS)
    assert measured["scroll"] <= PHONE["width"], ("/account/login/", measured)
    sign_in(page, live_server.url, username, password)
    problems = []
    heights: dict[str, int] = {}
    pages = [
        *COMMON,
        f"/assignments/{a.pk}/",
        f"/tasks/{task.code}/",
        f"/kpi/indicators/{city_of_work['indicator'].pk}/",
    ]
    if extra:
        pages += [*extra, f"/assignments/{a.pk}/inspections/new/"]
    for path in pages:
        response = page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert response.status in (200, 403, 404), (path, response.status)
        measured = page.evaluate(WIDTH_JS)
        if measured["scroll"] > PHONE["width"] or measured["height"] > HEIGHT_BUDGET:
            problems.append((path, measured))
            shot(page, f"phone-{username}-{path.strip('/').replace('/', '_').replace('?', '_') or 'home'}")
        heights[path] = measured["height"]
    assert problems == []
    # The long tables were long enough to be paged: the budget was not met by an empty city.
    if extra:
        assert heights["/dashboard/"] > 2 * PHONE["height"] and heights["/kpi/units/"] > 2 * PHONE["height"], heights


def test_a_refused_form_moves_focus_to_the_error_summary(browser, live_server, city_of_work):  # noqa: F811
    a = city_of_work["assignment"]
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    sign_in(page, live_server.url, "head-a", "pw-head-a")
    page.goto(f"{live_server.url}/assignments/{a.pk}/")
    # The browser's own checks would stop the value first; the server's must speak too.
    page.evaluate("document.querySelector('#id_extension-requested_deadline').removeAttribute('required')")
    page.fill("#id_extension-reason", "Cần thêm thời gian")
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    with page.expect_navigation():
        page.click("#form-extension button[type=submit]")
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    box = page.locator("[data-error-summary]").bounding_box()
    assert box["y"] < PHONE["height"]
    page.click("[data-error-summary] a[href='#id_extension-requested_deadline']")
    assert page.evaluate("location.hash") == "#id_extension-requested_deadline"


# The sub-menu's visible things in reading order, each with its line: a link, or a text run that
# is not a link's (a separator such as "·"). Lines are told apart by their boxes' vertical middles.
SUBMENU_JS = """
(selector) => {
  const nav = document.querySelector(selector);
  const things = [];
  const walker = document.createTreeWalker(nav, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const link = node.parentElement.closest('a');
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width < 1) continue;
      things.push({link: !!link, text: link ? link.textContent.trim() : node.textContent.trim(),
                   left: r.left, right: r.right, middle: (r.top + r.bottom) / 2});
    }
  }
  things.sort((a, b) => a.middle - b.middle || a.left - b.left);
  const lines = [];
  for (const t of things) {
    const line = lines.find(l => Math.abs(l.middle - t.middle) < 8);
    if (line) line.things.push(t); else lines.push({middle: t.middle, things: [t]});
  }
  lines.forEach(l => l.things.sort((a, b) => a.left - b.left));
  const links = Array.from(nav.querySelectorAll('a')).map(a => {
    const r = a.getBoundingClientRect();
    return {text: a.textContent.trim(), width: r.width, height: r.height, right: r.right,
            current: a.getAttribute('aria-current')};
  });
  return {lines: lines.map(l => l.things.map(t => (t.link ? '' : '~') + t.text)), links,
          width: document.documentElement.clientWidth};
}
"""


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["390px", "1280px"])
def test_the_kpi_sub_menu_has_no_stray_separators(browser, live_server, city_of_work, viewport):  # noqa: F811
    """The KPI pages' sub-menu (units, officials, indicators, reports) wraps on a phone: no line of
    it starts or ends with a separator, every link is whole on one line, within the screen, and big
    enough to tap (24 px, WCAG 2.2 target size), and the page it is on is marked as current."""
    page = browser.new_context(viewport=viewport, locale="vi-VN").new_page()
    sign_in(page, live_server.url, "city-office", "pw-city-office")
    for path in ("/kpi/units/", "/kpi/officials/", "/kpi/indicators/", "/kpi/reports/"):
        page.goto(live_server.url + path)
        menu = page.evaluate(SUBMENU_JS, "nav.subnav")
        shot(page, f"kpi-subnav-{viewport['width']}-{path.strip('/').replace('/', '_')}")
        for line in menu["lines"]:
            assert not line[0].startswith("~") and not line[-1].startswith("~"), (path, menu["lines"])
        names = [t for line in menu["lines"] for t in line if not t.startswith("~")]
        # Each link's text is on one line (it appears once), and all four are there.
        assert sorted(names) == sorted(link["text"] for link in menu["links"]) and len(names) == 4, menu
        for link in menu["links"]:
            assert link["right"] <= menu["width"] and link["height"] >= 24 and link["width"] >= 24, (path, link)
        assert [link["text"] for link in menu["links"] if link["current"] == "page"] != [], (path, menu["links"])
