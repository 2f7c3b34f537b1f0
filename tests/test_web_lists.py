"""The lists' figures follow what is listed: the counters above a filtered list count its rows;
the task page puts the most urgent units first, filters them, and its legend's counts are links."""

import re

import pytest
from django.urls import reverse

from tasks_app.models import Assignment
from tasks_app.status import OPEN, Status, Timeliness
from tests.fixtures_web import make_communes, make_many, sign_in

pytestmark = pytest.mark.django_db


def counters(response) -> dict[str, int]:
    block = re.search(rb'data-testid="counts">(.*?)</ul>', response.content, re.S).group(1).decode()
    numbers = [int(n.replace(".", "")) for n in re.findall(r'<span class="n">([\d.]+)</span>', block)]
    return dict(zip(["overdue", "due_week", "awaiting", "open", "done"], numbers, strict=True))


def test_counters_count_the_filtered_rows_not_the_city(client, office, group, leader, city, commune_a, head_a):
    units = [commune_a, *make_communes(city, 3)]
    make_many(group, units, 14, authority=leader)
    sign_in(client, office)
    response = client.get(reverse("web:assignments"), {"unit": commune_a.code})
    mine = Assignment.objects.filter(unit=commune_a).with_timeliness()
    assert counters(response) == {
        "overdue": mine.filter(timeliness=Timeliness.OVERDUE).count(),
        "due_week": counters(response)["due_week"],
        "awaiting": mine.filter(status=Status.SUBMITTED).count(),
        "open": mine.filter(status__in=OPEN).count(),
        "done": mine.filter(status=Status.ACCEPTED).count(),
    }
    assert counters(response)["open"] < Assignment.objects.filter(status__in=OPEN).count()
    assert response.context["page"].paginator.count == mine.count() == 14
    # A counter's link keeps the unit filter and adds its own.
    assert (
        f"unit={commune_a.code}"
        in re.search(rb'href="([^"]*timeliness=in_progress_overdue[^"]*)"', response.content).group(1).decode()
    )
    # The in-place (htmx) refresh of the list carries the counters with it.
    partial = client.get(
        reverse("web:assignments"),
        {"unit": commune_a.code, "status": "open"},
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    assert counters(partial)["open"] == counters(partial)["overdue"] + (
        mine.filter(status__in=OPEN).exclude(timeliness=Timeliness.OVERDUE).count()
    )
    assert counters(partial)["done"] == 0


def test_task_page_most_urgent_first_with_filters_and_legend_links(client, office, group, leader, city):
    units = make_communes(city, 19)
    task = make_many(group, units, 1, authority=leader)[0]
    sign_in(client, office)
    url = reverse("web:task", args=[task.code])
    response = client.get(url)
    rows = response.context["assignments"]
    ranks = [0 if a.timeliness == Timeliness.OVERDUE and a.status != Status.SUBMITTED else
             1 if a.status == Status.RETURNED else 2 if a.status in (Status.ISSUED, Status.IN_PROGRESS) else
             3 if a.status == Status.SUBMITTED else 4 for a in rows]  # fmt: skip
    assert ranks == sorted(ranks) and ranks[0] == 0
    overdue = sum(1 for a in rows if a.timeliness == Timeliness.OVERDUE)
    assert f'href="?timeliness={Timeliness.OVERDUE.value}"' in response.content.decode()
    assert response.context["page"].paginator.num_pages == 1

    filtered = client.get(url, {"timeliness": Timeliness.OVERDUE.value})
    shown = filtered.context["assignments"]
    assert len(shown) == overdue and {a.timeliness for a in shown} == {Timeliness.OVERDUE}
    legend = {c["value"]: c["n"] for c in filtered.context["classes"]}
    assert sum(legend.values()) == 19  # the legend still counts every unit
    more = make_communes(city, 26, start=50000)
    Assignment.objects.bulk_create(
        Assignment(
            task=task, unit=u, role=Assignment.Role.LEAD, responsible_id=u.head_id, deadline=task.default_deadline,
            original_deadline=task.default_deadline, authority=leader, status=Status.ISSUED,
        )
        for u in more
    )  # fmt: skip
    paged = client.get(url)
    assert (paged.context["page"].paginator.count, len(paged.context["assignments"])) == (45, 20)
    assert client.get(url, {"page": 2}).context["assignments"][-1].unit_id in {u.pk for u in [*units, *more]}
    by_name = client.get(url, {"q": units[3].code})
    assert [a.unit_id for a in by_name.context["assignments"]] == [units[3].pk]
