"""Search without diacritics: "giai ngan" finds "Giải ngân…", "thanh dong" finds "Phường Thành Đông",
in the web list and the API alike (one filter: the API's FilterSet, which the web list uses)."""

import pytest
from django.db import connection
from django.urls import reverse

from tasks_app import search
from tasks_app.models import Task, Unit
from tests.conftest import make_assignment
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db

VIETNAMESE = "ĐđÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"


@pytest.fixture
def work(task, head_a, head_b, group, leader):
    other = Task.objects.create(
        group=group, code="2026-02-01", number=2, title="Cắt giảm thời gian thủ tục hành chính",
        description="x", deliverable="d", acceptance_criteria="c", default_deadline=task.default_deadline,
        authority=leader,
    )  # fmt: skip
    return {
        "a_giai_ngan": make_assignment(task, head_a.unit),  # Phường Thành Đông
        "b_giai_ngan": make_assignment(task, head_b.unit),  # Phường Hải Dương
        "b_thu_tuc": make_assignment(other, head_b.unit),
    }


def test_fold_is_lower_case_without_any_vietnamese_mark():
    assert search.fold("Giải ngân 100% vốn ĐẦU TƯ") == "giai ngan 100% von dau tu"
    assert search.fold(VIETNAMESE) == "ddaaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyy"


@pytest.mark.postgres
def test_postgresql_folds_exactly_as_python_does():
    with connection.cursor() as cursor:
        cursor.execute("SELECT lower(unaccent(%s))", [VIETNAMESE + VIETNAMESE.lower()])
        assert cursor.fetchone()[0] == search.fold(VIETNAMESE + VIETNAMESE.lower())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("giai ngan", {"a_giai_ngan", "b_giai_ngan"}),
        ("Giải ngân", {"a_giai_ngan", "b_giai_ngan"}),
        ("GIAI NGÂN", {"a_giai_ngan", "b_giai_ngan"}),
        ("thanh dong", {"a_giai_ngan"}),
        ("hai duong", {"b_giai_ngan", "b_thu_tuc"}),
        ("thu tuc", {"b_thu_tuc"}),
        ("10507", {"a_giai_ngan"}),
        ("2026-02", {"b_thu_tuc"}),
        ("khong co", set()),
    ],
)
def test_web_list_and_api_find_the_same_without_diacritics(client, office, work, query, expected):
    names = {a.pk: name for name, a in work.items()}
    sign_in(client, office)
    page = client.get(reverse("web:assignments"), {"q": query})
    assert {names[a.pk] for a in page.context["page"].object_list} == expected
    api = client.get("/api/v1/assignments/", {"search": query})
    assert api.status_code == 200
    assert {names[row["id"]] for row in api.json()["results"]} == expected


def test_units_and_tasks_api_search_without_diacritics(client, office, work):
    sign_in(client, office)
    units = client.get("/api/v1/units/", {"search": "thanh dong"}).json()["results"]
    assert [u["code"] for u in units] == ["10507"]
    tasks = client.get("/api/v1/tasks/", {"search": "giai ngan"}).json()["results"]
    assert [t["code"] for t in tasks] == ["2026-01-01"]
    assert Unit.objects.count() >= 3


def test_dashboard_unit_search_without_diacritics(client, office, work):
    sign_in(client, office)
    rows = client.get(reverse("web:dashboard"), {"q": "thanh dong"}).context["unit_rows"]
    assert [r["code"] for r in rows] == ["10507"]
