"""A province is a wall: two real provinces loaded (Hải Phòng 31 and Hà Nội 01) with their units
from the package, each with its plan, task, assignment, extension request, evidence and indicator.

The leaders, the office, the heads, the unit keys and the portal keys of one province get 404 on
every object of the other, in every API endpoint and web page, and see none of it in any list.
`national-office` and a national portal key see both and change nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from rest_framework.test import APIClient

from tasks_app.api.models import ApiKey
from tasks_app.kpi.models import GeneralScore, KpiRanking, ScoringScheme
from tasks_app.models import (
    Assignment,
    Evidence,
    ExtensionRequest,
    Indicator,
    IndicatorActual,
    Inspection,
    InspectionPhoto,
    Official,
    Plan,
    ProgressReport,
    Task,
    TaskGroup,
    Unit,
)
from tasks_app.status import Status
from tests.conftest import make_assignment
from tests.fixtures_web import sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
COMMUNE = {"31": "10507", "01": "00097"}
PERIOD = "2026-Q2"


@dataclass
class Province:
    code: str
    unit: Unit
    commune: Unit
    plan: Plan
    task: Task
    assignment: Assignment
    extension: ExtensionRequest
    evidence: Evidence
    indicator: Indicator
    photo: InspectionPhoto
    scheme: ScoringScheme
    ranking: KpiRanking


def _province(code: str) -> Province:
    unit = Unit.objects.get(code=code)
    commune = Unit.objects.get(code=COMMUNE[code])
    leader = Official.objects.get(user__username=f"leader-{code}")
    plan = Plan.objects.create(province=unit, year=2026, name="Kế hoạch phát triển KT-XH năm 2026")
    group = TaskGroup.objects.create(plan=plan, number=1, title="Tăng trưởng kinh tế")
    task = Task.objects.create(
        group=group,
        code=f"{code}-2026-01",
        number=1,
        title=f"Nhiệm vụ riêng của tỉnh {code}",
        description="Nội dung",
        deliverable="Báo cáo",
        acceptance_criteria="Đạt",
        default_deadline=dt.date(2026, 6, 30),
        authority=leader,
    )
    assignment = make_assignment(
        task, commune, status=Status.SUBMITTED, submitted_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    )
    extension = ExtensionRequest.objects.create(
        assignment=assignment,
        requested_by_label="test",
        current_deadline=assignment.deadline,
        requested_deadline=assignment.deadline + dt.timedelta(days=30),
        reason="Chờ vốn",
    )
    report = ProgressReport.objects.create(
        assignment=assignment, kind="progress", status=assignment.status, percent=10, author_label="test"
    )
    evidence = Evidence(report=report, original_name="anh.png", content_type="image/png", size=len(PNG))
    evidence.file.save("anh.png", ContentFile(PNG), save=True)
    indicator = Indicator.objects.create(
        plan=plan, number=1, name="Tăng trưởng GRDP", unit_of_measure="%", annual_target=13, responsible_unit=commune
    )
    # A field inspection with its photo, by the province's leader (issue 16).
    inspection = Inspection.objects.create(
        assignment=assignment, date=dt.date(2026, 5, 20), inspector=leader, findings="Kiểm tra", conclusion="passed"
    )
    photo = InspectionPhoto(inspection=inspection, original_name="hien-truong.png")
    photo.file.save("hien-truong.png", ContentFile(PNG), save=True)
    # The province's scoring scheme and a recorded ranking under it.
    scheme = ScoringScheme.objects.create(plan=plan, effective_from=dt.date(2026, 1, 1), name=f"Cách tính {code}")
    ranking = KpiRanking.objects.create(
        plan=plan, period=PERIOD, level="communes", scheme=scheme, as_of=dt.date(2026, 6, 30)
    )
    return Province(code, unit, commune, plan, task, assignment, extension, evidence, indicator, photo, scheme, ranking)


@pytest.fixture
def provinces(db, settings):
    settings.TWO_FACTOR_REQUIRED_FOR_AUTHORITY = False  # the wall is under test here, not the second factor
    call_command("load_province", "31", "01", "--national-office", verbosity=0)
    return {code: _province(code) for code in ("31", "01")}


def _session(username: str, *, verified: bool = False) -> APIClient:
    client = APIClient()
    sign_in(client, Official.objects.get(user__username=username), verified=verified)
    return client


def _key(**fields) -> APIClient:
    _obj, raw = ApiKey.objects.create_key(name="Hệ thống", **fields)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def actors_of(p: Province) -> dict[str, APIClient]:
    """Every kind of actor a province has: three sessions and two keys."""
    return {
        "leader": _session(f"leader-{p.code}"),
        "office": _session(f"office-{p.code}"),
        "head": _session(f"head-{p.commune.code}"),
        "unit-key": _key(unit=p.commune),
        "portal-key": _key(is_portal=True, province=p.unit),
    }


def snapshot(p: Province):
    a = Assignment.objects.get(pk=p.assignment.pk)
    return (
        a.version,
        a.status,
        a.deadline,
        a.reports.count(),
        ExtensionRequest.objects.get(pk=p.extension.pk).status,
        IndicatorActual.objects.filter(indicator=p.indicator).count(),
        Inspection.objects.filter(assignment__unit__parent=p.unit).count(),
        GeneralScore.objects.filter(plan=p.plan).count(),
        KpiRanking.objects.filter(plan=p.plan).count(),
    )


def api_reads(p: Province) -> list[str]:
    a = p.assignment
    return [
        f"/api/v1/assignments/{a.pk}/",
        f"/api/v1/assignments/{a.pk}/reports/",
        f"/api/v1/extension-requests/{p.extension.pk}/",
        f"/api/v1/evidence/{p.evidence.pk}/download/",
        f"/api/v1/tasks/{p.task.code}/",
        f"/api/v1/units/{p.commune.code}/",
        f"/api/v1/units/{p.unit.code}/",
        f"/api/v1/kpi/units/{p.commune.code}/?period={PERIOD}",
        f"/api/v1/kpi/units/?period={PERIOD}&plan={p.plan.pk}",
        f"/api/v1/indicators/{p.indicator.pk}/",
        f"/api/v1/kpi/officials/{p.commune.head_id}/?period={PERIOD}",
        f"/api/v1/kpi/officials/?period={PERIOD}&plan={p.plan.pk}",
        f"/api/v1/kpi/general-scores/?period={PERIOD}&plan={p.plan.pk}",
        f"/api/v1/indicators/?plan={p.plan.pk}",
        f"/api/v1/assignments/{a.pk}/inspections/",
        f"/api/v1/inspection-photos/{p.photo.pk}/download/",
    ]


def api_writes(p: Province) -> list[tuple[str, dict]]:
    a = p.assignment
    return [
        (f"/api/v1/assignments/{a.pk}/progress/", {"percent": 30, "note": "x"}),
        (f"/api/v1/assignments/{a.pk}/submit/", {"note": "x"}),
        (f"/api/v1/assignments/{a.pk}/accept/", {"note": "Đạt"}),
        (f"/api/v1/assignments/{a.pk}/return/", {"reason": "Thiếu số liệu"}),
        (f"/api/v1/assignments/{a.pk}/extension-requests/", {"requested_deadline": "2026-09-30", "reason": "x"}),
        (f"/api/v1/extension-requests/{p.extension.pk}/decide/", {"approve": True, "note": "x"}),
        (f"/api/v1/indicators/{p.indicator.pk}/actuals/", {"quarter": 1, "value": "5.1", "note": ""}),
        (
            f"/api/v1/assignments/{a.pk}/inspections/",
            {"date": "2026-05-21", "findings": "Kiểm tra lại.", "conclusion": "passed"},
        ),
        (
            "/api/v1/kpi/general-scores/",
            {"period": PERIOD, "plan": p.plan.pk, "unit": p.commune.code, "points": "20", "note": ""},
        ),
    ]


def _nonexistent(path: str) -> str:
    """The same request about objects that do not exist: every id in the path and the query."""
    path = "/".join("999999999" if part.isdigit() else part for part in path.split("/"))
    return re.sub(r"(plan|unit)=\w+", r"\1=999999999", path)


def _refused_as_absent(client, method: str, path: str, body: dict | None = None, **kwargs) -> tuple[int, int]:
    """(status, status for objects that do not exist): the other province's object must answer as
    nothing there does (404 wherever an object is named in the path)."""
    send = getattr(client, method)
    got = send(path, body, **kwargs) if body is not None else send(path)
    absent = send(_nonexistent(path), body, **kwargs) if body is not None else send(_nonexistent(path))
    return got.status_code, absent.status_code


def web_pages(p: Province) -> list[str]:
    a = p.assignment
    return [
        f"/assignments/{a.pk}/",
        f"/evidence/{p.evidence.pk}/",
        f"/tasks/{p.task.code}/",
        f"/kpi/units/{p.commune.code}/?period={PERIOD}",
        f"/kpi/units/?period={PERIOD}&plan={p.plan.pk}",
        f"/kpi/indicators/{p.indicator.pk}/",
        f"/kpi/reports/summary.csv?plan={p.plan.pk}",
        f"/kpi/officials/{p.commune.head_id}/?period={PERIOD}",
        f"/kpi/officials/?period={PERIOD}&unit={p.commune.code}",
        f"/kpi/units/export.xlsx?period={PERIOD}&plan={p.plan.pk}",
        f"/kpi/officials/export.csv?period={PERIOD}&plan={p.plan.pk}",
        f"/kpi/reports/?plan={p.plan.pk}",
        f"/kpi/reports/meeting.docx?plan={p.plan.pk}&month=2026-05",
        f"/kpi/indicators/?plan={p.plan.pk}",
        f"/inspection-photos/{p.photo.pk}/",
        f"/assignments/{a.pk}/inspections/new/",
    ]


def wide_pages(p: Province) -> list[str]:
    """Pages only the province-wide (leaders, the office) open, even at home."""
    return [
        f"/dashboard/?plan={p.plan.pk}",
        f"/kpi/reports/appendix.xlsx?plan={p.plan.pk}",
    ]


def web_posts(p: Province) -> list[tuple[str, dict]]:
    a = p.assignment
    v = a.version
    return [
        # Valid forms, prefixed as the page's are, so a refusal is the wall's or the role's.
        (f"/assignments/{a.pk}/accept/", {"accept-note": "Đạt", "accept-version": v}),
        (f"/assignments/{a.pk}/return/", {"return-reason": "Thiếu", "return-version": v}),
        (
            f"/assignments/{a.pk}/extensions/{p.extension.pk}/decide/",
            {"decide-decision": "approve", "decide-note": "x"},
        ),
        (f"/kpi/indicators/{p.indicator.pk}/", {"quarter": 1, "value": "5.1"}),
        (f"/assignments/{a.pk}/progress/", {"progress-percent": 30, "progress-note": "x", "progress-version": v}),
        (f"/assignments/{a.pk}/submit/", {"submit-note": "x", "submit-version": v}),
        (
            f"/assignments/{a.pk}/extension/",
            {"extension-requested_deadline": "2026-09-30", "extension-reason": "x", "extension-version": v},
        ),
        (f"/assignments/{a.pk}/cancel/", {"cancel-reason": "Không còn cần", "cancel-version": v}),
        (
            f"/assignments/{a.pk}/inspections/new/",
            {"date": "2026-05-21", "findings": "Kiểm tra lại.", "conclusion": "passed"},
        ),
        ("/kpi/units/record/", {"period": PERIOD, "plan": p.plan.pk, "level": "communes"}),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("home,other", [("31", "01"), ("01", "31")])
def test_every_actor_of_one_province_gets_404_on_every_object_of_the_other(provinces, home, other):
    """Every endpoint and page naming an object of the other province: 404 when the object is in
    the path; when it is a query parameter (`?plan=`), the very answer a nonexistent one gets."""
    theirs = provinces[other]
    before = snapshot(theirs)
    is_web = {"leader", "office", "head"}
    for name, client in actors_of(provinces[home]).items():
        for path in api_reads(theirs):
            response = client.get(path)
            assert theirs.task.title.encode() not in response.content, (name, path)
            if "?" in path and response.status_code != 404:
                assert _refused_as_absent(client, "get", path) == (response.status_code,) * 2, (name, path)
                continue
            assert response.status_code == 404, (name, path, response.status_code)
        for path, body in api_writes(theirs):
            response = client.post(path, body, format="json")
            if path == "/api/v1/kpi/general-scores/" and response.status_code != 404:
                # The plan is named in the body: refused as a plan that does not exist is.
                absent = client.post(path, {**body, "plan": 999999999}, format="json")
                assert (response.status_code, response.json()) == (absent.status_code, absent.json()), name
                continue
            if name == "portal-key" and response.status_code != 404:
                # A portal key may write nothing anywhere: refused before any lookup, the same for an
                # object that does not exist, so the refusal tells nothing about the other province.
                assert response.status_code == 403, (name, path, response.status_code)
                assert client.post(_nonexistent(path), body, format="json").status_code == 403
                continue
            assert response.status_code == 404, (name, path, response.status_code, response.content[:200])
        if name in is_web:
            pages = web_pages(theirs) + (wide_pages(theirs) if name != "head" else [])
            for path in pages:
                response = client.get(path)
                assert theirs.task.title.encode() not in response.content, (name, path)
                if "?" in path and response.status_code != 404:
                    assert _refused_as_absent(client, "get", path) == (response.status_code,) * 2, (name, path)
                    continue
                assert response.status_code == 404, (name, path, response.status_code)
            for path, body in web_posts(theirs):
                response = client.post(path, body)
                if path == "/kpi/units/record/" and response.status_code != 404:
                    assert _refused_as_absent(client, "post", path, {**body, "plan": 999999999})[1] == (
                        response.status_code
                    ), name
                    continue
                assert response.status_code == 404, (name, path, response.status_code)
    assert snapshot(theirs) == before, "a refused write changed the other province's work"


@pytest.mark.django_db
@pytest.mark.parametrize("home,other", [("31", "01"), ("01", "31")])
def test_no_list_shows_anything_of_the_other_province(provinces, home, other):
    mine, theirs = provinces[home], provinces[other]
    for name, client in actors_of(mine).items():
        assignments = {r["id"] for r in client.get("/api/v1/assignments/").json()["results"]}
        assert theirs.assignment.pk not in assignments, name
        units = client.get("/api/v1/units/?page_size=500").json()
        codes = {u["code"] for u in units["results"]}
        assert theirs.commune.code not in codes and theirs.unit.code not in codes, name
        assert all(u["province"] == home for u in units["results"]), name
        tasks = {t["code"] for t in client.get("/api/v1/tasks/").json()["results"]}
        assert theirs.task.code not in tasks, name
        extensions = {r["id"] for r in client.get("/api/v1/extension-requests/").json()["results"]}
        assert theirs.extension.pk not in extensions, name
        indicators = {i["id"] for i in client.get("/api/v1/indicators/").json()}
        assert theirs.indicator.pk not in indicators, name
    for name in ("leader", "office"):
        client = actors_of(mine)[name]
        page = client.get("/dashboard/", {"parent": theirs.unit.pk, "q": theirs.commune.code})
        assert page.status_code == 200 and not page.context["unit_rows"], name
        assert theirs.task.title not in client.get("/assignments/").content.decode(), name
        kpi = client.get("/kpi/units/", {"period": PERIOD})
        assert {f.code for f in kpi.context["figures"]} <= set(
            Unit.objects.filter(parent=mine.unit).values_list("code", flat=True)
        ), name


@pytest.mark.django_db
def test_a_provincial_leader_decides_only_at_home(provinces):
    leader = actors_of(provinces["31"])["leader"]
    response = leader.post(
        f"/api/v1/assignments/{provinces['31'].assignment.pk}/accept/", {"note": "Đạt"}, format="json"
    )
    assert response.status_code == 201
    assert Assignment.objects.get(pk=provinces["31"].assignment.pk).status == Status.ACCEPTED


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["national-office", "national-portal-key"])
def test_national_actors_see_both_provinces_and_change_nothing(provinces, who):
    if who == "national-office":
        client = _session("national-office")
    else:
        client = _key(is_portal=True)
    before = {code: snapshot(p) for code, p in provinces.items()}
    for p in provinces.values():
        for path in api_reads(p):
            assert client.get(path).status_code == 200, (who, path)
        for path, body in api_writes(p):
            assert client.post(path, body, format="json").status_code in (401, 403), (who, path)
        if who == "national-office":
            for path in web_pages(p):
                # It reads every page; the inspection form is a write, refused to it.
                expected = 403 if path.endswith("/inspections/new/") else 200
                assert client.get(path).status_code == expected, (who, path)
            for path, body in web_posts(p):
                # Valid forms (prefixed as the pages' are): refused for the role (403). Progress,
                # submission and a second extension request are not steps a submitted assignment
                # can take at all (400, for anybody).
                allowed = (400, 403) if re.search(r"/(progress|submit|extension)/$", path) else (403,)
                assert client.post(path, body).status_code in allowed, (who, path)
            for path in wide_pages(p):
                assert client.get(path).status_code == 200, (who, path)
    assert {code: snapshot(p) for code, p in provinces.items()} == before
    listed = {r["id"] for r in client.get("/api/v1/assignments/").json()["results"]}
    assert {p.assignment.pk for p in provinces.values()} <= listed


@pytest.mark.django_db
def test_the_national_view_shows_the_provinces_side_by_side_for_national_office_only(provinces):
    national = _session("national-office")
    Assignment.objects.filter(pk=provinces["01"].assignment.pk).update(
        status=Status.ACCEPTED, completed_at=dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
    )
    page = national.get("/national/")
    assert page.status_code == 200
    rows = {r["province"].code: r for r in page.context["rows"]}
    assert set(rows) == {"01", "31"}
    assert (rows["01"]["assigned"], rows["01"]["on_time"], rows["01"]["rate"]) == (1, 1, 100)
    assert (rows["31"]["assigned"], rows["31"]["on_time"], rows["31"]["rate"]) == (1, 0, 0)
    assert page.context["totals"]["assigned"] == 2
    # Each province links to its dashboard, which the national office may read.
    dashboard = national.get(rows["01"]["url"])
    assert dashboard.status_code == 200 and dashboard.context["total"] == 1
    for name in ("leader", "office", "head"):
        assert actors_of(provinces["31"])[name].get("/national/").status_code == 403, name


@pytest.mark.django_db
def test_the_admin_keeps_a_provincial_staff_member_inside_the_wall(provinces):
    from django.contrib.auth.models import Permission

    office = Official.objects.get(user__username="office-01")
    office.user.is_staff = True
    office.user.save()
    office.user.user_permissions.set(Permission.objects.filter(content_type__app_label="tasks_app"))
    # The admin asks for a second factor (ADMIN_REQUIRES_TWO_FACTOR): the session has passed it.
    client = sign_in(APIClient(), office, verified=True)
    mine, theirs = provinces["01"], provinces["31"]
    listing = client.get("/admin/tasks_app/assignment/")
    assert listing.status_code == 200
    shown = {a.pk for a in listing.context["cl"].result_list}
    assert shown == {mine.assignment.pk}
    for model, obj in [("assignment", theirs.assignment), ("plan", theirs.plan), ("task", theirs.task),
                       ("unit", theirs.commune), ("indicator", theirs.indicator)]:  # fmt: skip
        response = client.get(f"/admin/tasks_app/{model}/{obj.pk}/change/")
        assert response.status_code == 302 and response["Location"] == "/admin/", model  # "does not exist"
        assert (
            client.get(
                f"/admin/tasks_app/{model}/{getattr(mine, model if model != 'unit' else 'commune').pk}/change/"
            ).status_code
            == 200
        ), model


@pytest.mark.django_db
def test_the_admin_walls_schemes_rankings_reminder_policies_and_holidays_by_province(provinces):
    """Scoring schemes, recorded rankings and general scores are their plan's (so their
    province's); reminder policies and holiday overrides carry their province, or none for the
    whole country. A province's staff see their own and the national rows, change only their own,
    and add rows only for their own province."""
    from django.contrib.auth.models import Permission

    from tasks_app.reminders.models import HolidayOverride, ReminderPolicy

    mine, theirs = provinces["01"], provinces["31"]
    policies = {
        "mine": ReminderPolicy.objects.create(province=mine.unit),
        "theirs": ReminderPolicy.objects.create(province=theirs.unit),
        "national": ReminderPolicy.objects.create(),
    }
    holidays = {
        "mine": HolidayOverride.objects.create(province=mine.unit, date=dt.date(2026, 7, 9), is_working_day=False),
        "theirs": HolidayOverride.objects.create(province=theirs.unit, date=dt.date(2026, 7, 9), is_working_day=False),
        "national": HolidayOverride.objects.create(date=dt.date(2026, 7, 10), is_working_day=False, name="Toàn quốc"),
    }
    office = Official.objects.get(user__username="office-01")
    office.user.is_staff = True
    office.user.save()
    office.user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["tasks_app", "kpi", "reminders"])
    )
    client = sign_in(APIClient(), office, verified=True)
    objects = {
        "kpi/scoringscheme": {"mine": mine.scheme, "theirs": theirs.scheme},
        "kpi/kpiranking": {"mine": mine.ranking, "theirs": theirs.ranking},
        "reminders/reminderpolicy": policies,
        "reminders/holidayoverride": holidays,
    }
    for model, rows in objects.items():
        listing = client.get(f"/admin/{model}/")
        assert listing.status_code == 200, model
        shown = {o.pk for o in listing.context["cl"].result_list}
        assert rows["theirs"].pk not in shown and rows["mine"].pk in shown, model
        theirs_page = client.get(f"/admin/{model}/{rows['theirs'].pk}/change/")
        assert theirs_page.status_code == 302 and theirs_page["Location"] == "/admin/", model  # "does not exist"
        assert client.get(f"/admin/{model}/{rows['mine'].pk}/change/").status_code == 200, model
        if "national" in rows:
            # The national row is shown, read-only: no save, no delete.
            assert rows["national"].pk in shown, model
            page = client.get(f"/admin/{model}/{rows['national'].pk}/change/")
            assert page.status_code == 200 and not page.context["has_change_permission"], model
            assert client.post(f"/admin/{model}/{rows['national'].pk}/delete/", {"post": "yes"}).status_code == 403
    assert ReminderPolicy.objects.filter(pk=policies["national"].pk).exists()
    # A holiday added by the office of 01 is 01's: another province or "national" is not offered.
    form = client.get("/admin/reminders/holidayoverride/add/").context["adminform"].form
    assert list(form.fields["province"].queryset) == [mine.unit] and form.fields["province"].required
    response = client.post(
        "/admin/reminders/holidayoverride/add/",
        {"province": theirs.unit.pk, "date": "2026-08-03", "is_working_day": "", "name": "Nghỉ"},
    )
    assert response.status_code == 200 and not HolidayOverride.objects.filter(date=dt.date(2026, 8, 3)).exists()
    response = client.post(
        "/admin/reminders/holidayoverride/add/",
        {"province": mine.unit.pk, "date": "2026-08-03", "is_working_day": "", "name": "Nghỉ"},
    )
    assert response.status_code == 302
    assert HolidayOverride.objects.get(date=dt.date(2026, 8, 3)).province == mine.unit


def _inbox_assignments(client: APIClient) -> set[int]:
    """Every assignment the /inbox/ page lists, in any of its queues."""
    queues = client.get("/inbox/").context["queues"]
    sections = [queues.decide, queues.unit, *([queues.city] if queues.city else [])]
    return {item.assignment.pk for section in sections for item in section.items}


@pytest.mark.django_db
@pytest.mark.parametrize("home,other", [("31", "01"), ("01", "31")])
def test_the_inbox_keeps_to_the_province(provinces, home, other):
    """Issue 11's queues behind issue 15's wall: the province's office watches every authority of
    its province and none of the other's; the menu count agrees; the national office sees both."""
    mine, theirs = provinces[home], provinces[other]
    office = actors_of(mine)["office"]
    page = office.get("/inbox/")
    assert page.status_code == 200
    queues = page.context["queues"]
    assert queues.city is not None
    assert _inbox_assignments(office) == {mine.assignment.pk}
    assert theirs.task.authority_id not in {row["authority"].pk for row in queues.by_authority}
    # One submitted deliverable and one pending extension, both of the home province.
    assert queues.city.total == 2 and queues.total == 2
    assert {row["authority"].pk for row in queues.by_authority} == {mine.task.authority_id}
    assert page.context["inbox_count"] == 2
    leader = actors_of(mine)["leader"]
    assert _inbox_assignments(leader) == {mine.assignment.pk}
    national = _session("national-office").get("/inbox/").context["queues"]
    assert national.city is not None and national.city.total == 4
    assert {i.assignment.pk for i in national.city.items} == {p.assignment.pk for p in provinces.values()}


@pytest.mark.django_db
@pytest.mark.parametrize("basis", ["current", "original"])
def test_the_dashboard_basis_switch_keeps_to_the_province(provinces, basis):
    mine, theirs = provinces["31"], provinces["01"]
    page = actors_of(mine)["office"].get("/dashboard/", {"parent": theirs.unit.pk, "basis": basis})
    assert page.status_code == 200 and page.context["basis"] == basis
    assert page.context["total"] == 1
    assert {r["code"] for r in page.context["unit_rows"]} <= set(
        Unit.objects.filter(parent=mine.unit).values_list("code", flat=True)
    )
    # Diacritic-free search finds the home commune by its name, never the other province's.
    for p, expected in ((mine, True), (theirs, False)):
        found = actors_of(mine)["office"].get("/dashboard/", {"basis": basis, "q": _folded(p.commune.name)})
        assert (p.commune.code in {r["code"] for r in found.context["unit_rows"]}) is expected, p.code


def _folded(text: str) -> str:
    """The text as typed without diacritics ("Xã Đồng Hòa" -> "Xa Dong Hoa")."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


# --- giving tasks and field inspections behind the wall (issues 15 and 16) ---------------------


def test_an_office_of_another_province_cannot_give_to_or_inspect_a_unit_of_31(provinces):
    """The office of province 01 gives a task only inside 01 and inspects only 01's work: a unit,
    a task group or an assignment of province 31 is a 404 (giving through the form, fan-out to
    "every commune", the inspection form and the inspections API), and nothing is written. An
    inspector (Thanh tra) of 01 sees and inspects 01 only."""
    from django.urls import reverse

    from tasks_app.models import Inspection
    from tests.conftest import make_official

    mine, theirs = provinces["01"], provinces["31"]
    leader_01 = Official.objects.get(user__username="leader-01")
    client = _session("office-01")
    before = (Task.objects.count(), Assignment.objects.count(), Inspection.objects.count())
    form = {
        "group": mine.task.group_id,
        "title": "Rà soát trụ sở dôi dư",
        "description": "Lập danh mục trụ sở dôi dư.",
        "deliverable": "Báo cáo",
        "acceptance_criteria": "Đủ 100%",
        "deadline": "2026-12-31",
        "authority": leader_01.pk,
        "target": "units",
        "role": Assignment.Role.LEAD,
        "action": "issue",
    }
    # A unit of 31, or 31's task group: not there for the giver.
    assert client.post(reverse("web:task-new"), {**form, "units": [theirs.commune.pk]}).status_code == 404
    assert (
        client.post(reverse("web:task-new"), {**form, "units": [mine.commune.pk, theirs.commune.pk]}).status_code == 404
    )
    assert (
        client.post(
            reverse("web:task-new"), {**form, "group": theirs.task.group_id, "units": [mine.commune.pk]}
        ).status_code
        == 404
    )
    # The same through the API.
    body = {**form, "units": [theirs.commune.code], "issue": True}
    del body["target"], body["action"]
    assert client.post("/api/v1/tasks/", body, format="json").status_code == 404
    # Inspecting 31's work: the page and the write, on the web and through the API.
    inspection = {"date": "2026-05-20", "findings": "Kiểm tra hiện trường.", "conclusion": "passed"}
    assert client.get(reverse("web:inspection-new", args=[theirs.assignment.pk])).status_code == 404
    assert client.post(reverse("web:inspection-new", args=[theirs.assignment.pk]), inspection).status_code == 404
    api = client.post(f"/api/v1/assignments/{theirs.assignment.pk}/inspections/", inspection, format="json")
    assert api.status_code == 404
    assert (Task.objects.count(), Assignment.objects.count(), Inspection.objects.count()) == before

    # Fan-out to "every commune" reaches 01's communes only.
    response = client.post(reverse("web:task-new"), {**form, "target": "communes"})
    assert response.status_code == 302, response.content.decode()[:500]
    given = Task.objects.get(title="Rà soát trụ sở dôi dư")
    assert given.assignments.exists()
    assert set(given.assignments.values_list("unit__parent__code", flat=True)) == {"01"}

    # An inspector of 01 sees and inspects 01's work, not 31's.
    inspector = make_official("inspector-01", Unit.objects.get(code="01-TTR"), role=Official.Role.INSPECTOR)
    client = _session("inspector-01")
    assert client.get(reverse("web:assignment", args=[theirs.assignment.pk])).status_code == 404
    assert client.post(reverse("web:inspection-new", args=[theirs.assignment.pk]), inspection).status_code == 404
    assert client.get(reverse("web:inspection-new", args=[mine.assignment.pk])).status_code == 200
    api = client.post(f"/api/v1/assignments/{mine.assignment.pk}/inspections/", inspection, format="json")
    assert api.status_code == 201, api.content
    assert api.json()["inspector"]["id"] == inspector.pk
