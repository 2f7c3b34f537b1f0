"""What makes the API cheap must not change what it answers: the assignment list built from plain
rows equals AssignmentSerializer's output; a verified key is remembered for a bounded time only;
the fixed-window throttle counts per key and answers 429 with Retry-After."""

from __future__ import annotations

import datetime as dt
import json
import random
import time

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from tasks_app.api import authentication
from tasks_app.api.models import ApiKey
from tasks_app.api.serializers import AssignmentSerializer
from tasks_app.models import Assignment, Task
from tasks_app.status import Status
from tests.conftest import make_assignment, make_official

pytestmark = pytest.mark.django_db


def serializer_output(queryset) -> list[dict]:
    """What the list showed before it read plain rows: model instances through the serializer."""
    objects = queryset.with_timeliness().select_related("task__group", "unit", "responsible", "authority")
    return json.loads(JSONRenderer().render(AssignmentSerializer(objects.order_by("deadline", "id"), many=True).data))


@pytest.fixture
def varied(task, group, leader, head_a, commune_a):
    """Assignments covering every shape a row can take: own or inherited deliverable and criteria,
    null officials and dates (a draft), every moment set (accepted), a past deadline, a blank position."""
    other = Task.objects.create(
        group=group,
        code="2026-01-02",
        number=2,
        title="Nhiệm vụ không có sản phẩm mặc định",
        description="Mỗi xã tự xác định sản phẩm.",
        deliverable="",
        acceptance_criteria="",
        default_deadline=dt.date(2026, 3, 31),
        authority=leader,
    )
    member = make_official("member_a", commune_a, position="")
    rows = [
        make_assignment(task, commune_a),
        make_assignment(
            other,
            commune_a,
            status=Status.ACCEPTED,
            deliverable="Sản phẩm riêng của xã",
            acceptance_criteria="Tiêu chí riêng",
            start_date=dt.date(2026, 1, 5),
            issued_at=dt.datetime(2026, 1, 5, 1, 2, 3, 456789, tzinfo=dt.UTC),
            submitted_at=dt.datetime(2026, 3, 30, 23, 59, 59, tzinfo=dt.UTC),
            completed_at=dt.datetime(2026, 4, 1, 17, 0, tzinfo=dt.UTC),
            progress=100,
            return_count=2,
        ),
    ]
    third = Task.objects.create(
        group=group, code="2026-01-03", number=3, title="Dự thảo", default_deadline=None, authority=None
    )
    rows.append(
        Assignment.objects.create(task=third, unit=commune_a, status=Status.DRAFT, responsible=None, authority=None)
    )
    fourth = Task.objects.create(
        group=group,
        code="2026-01-04",
        number=4,
        title="Quá hạn",
        description="Thời hạn đã qua.",
        deliverable="Báo cáo",
        acceptance_criteria="Đúng hạn",
        authority=leader,
    )
    overdue = make_assignment(fourth, commune_a, deadline=dt.date(2026, 1, 10))
    overdue.responsible = member
    overdue.save()
    rows.append(overdue)
    return rows


@pytest.mark.parametrize("zone", [None, "UTC"])
def test_list_rows_equal_the_serializer(varied, key_a, zone):
    client = key_a.client()
    with timezone.override(zone) if zone else timezone.override(timezone.get_default_timezone()):
        answered = client.get("/api/v1/assignments/?page_size=100").json()["results"]
        expected = serializer_output(Assignment.objects.filter(unit=key_a.obj.unit))
    assert len(answered) == len(varied) == 4
    assert answered == expected
    # Key order is part of the shape too.
    assert [list(row) for row in answered] == [list(row) for row in expected]
    # Both branches of every computed value are covered by the fixture.
    by_id = {row["id"]: row for row in answered}
    assert by_id[varied[1].pk]["deliverable"] == "Sản phẩm riêng của xã"
    assert by_id[varied[0].pk]["deliverable"] == "Báo cáo kết quả giải ngân"
    assert by_id[varied[2].pk]["responsible"] is None and by_id[varied[2].pk]["deadline"] is None
    assert by_id[varied[3].pk]["responsible"]["position"] == ""
    assert by_id[varied[1].pk]["completed_at"].endswith("Z" if zone == "UTC" else "+07:00")


def test_list_rows_equal_the_serializer_with_filters_and_ordering(varied, key_a):
    client = key_a.client()
    answered = client.get("/api/v1/assignments/?ordering=-progress&status=accepted").json()["results"]
    expected = serializer_output(Assignment.objects.filter(unit=key_a.obj.unit, status=Status.ACCEPTED))
    assert answered == expected and len(answered) == 1


@pytest.fixture
def many(varied, group, leader, commune_a):
    """Sixty more rows on top of `varied`: moments with and without microseconds (trailing zeros
    included), one in 1900 (Hồ Chí Minh City's local mean time, an offset with seconds), Vietnamese
    text with quotes, backslashes and control characters, nulls."""
    rows = []
    for number in range(60):
        special = number % 2 == 1
        own = Task.objects.create(
            group=group,
            code=f"2026-09-{number:02d}",
            number=100 + number,
            title='Nhiệm vụ "đặc biệt" \\ dòng 1\ndòng 2\ttab\x01\x1f — Đặc khu Cát Hải 😀'
            if special
            else f"Việc {number}",
            deliverable="Báo cáo\r\n<b>HTML</b> & 'nháy'" if special else "Báo cáo",
            description=f"Mô tả {number}",
            acceptance_criteria="" if special else "Tiêu chí",
            default_deadline=dt.date(2026, 6, 30),
            authority=leader,
        )
        rows.append(
            make_assignment(
                own,
                commune_a,
                deadline=dt.date(2026, 1, 1) + dt.timedelta(days=number * 7),
                status=[Status.ISSUED, Status.IN_PROGRESS, Status.SUBMITTED, Status.ACCEPTED][number % 4],
                progress=number % 101,
                deliverable="" if number % 3 else f"Sản phẩm số {number}",
                acceptance_criteria="Tiêu chí riêng\tcủa xã" if special else "",
                submitted_at=None
                if number % 4 < 2
                else dt.datetime(2026, 2, 1, 3, 4, 5, (number * 10000) % 1000000, tzinfo=dt.UTC),
                completed_at=None if number % 4 != 3 else dt.datetime(2026, 5, 1, 23, 59, 59, 120, tzinfo=dt.UTC),
            )
        )
    Assignment.objects.filter(pk=rows[5].pk).update(issued_at=dt.datetime(1900, 1, 1, 0, 0, tzinfo=dt.UTC))
    Assignment.objects.filter(pk=rows[6].pk).update(issued_at=dt.datetime(2026, 3, 1, 12, 0, 0, 100000, tzinfo=dt.UTC))
    return [*varied, *rows]


@pytest.mark.parametrize("zone", [None, "UTC", "Europe/London", "America/New_York"])
def test_list_bytes_equal_the_serializer_rendered(many, key_a, zone):
    """Byte for byte: the list page (rows formatted in Python, dates and moments written by orjson)
    is the API renderer's output for AssignmentSerializer over model instances with DRF's
    pagination, in the default time zone and in others (a zero offset in winter is `Z`)."""

    from tasks_app.api.renderers import ApiJSONRenderer

    client = key_a.client()
    url = "/api/v1/assignments/?page_size=100"
    with timezone.override(zone) if zone else timezone.override(timezone.get_default_timezone()):
        response = client.get(url)
        objects = (
            Assignment.objects.filter(unit=key_a.obj.unit)
            .with_timeliness()
            .select_related("task__group", "unit", "responsible", "authority")
            .order_by("deadline", "id")
        )
        expected = {
            "count": len(many),
            "next": None,
            "previous": None,
            "results": AssignmentSerializer(objects, many=True).data,
        }
        rendered = ApiJSONRenderer().render(expected)
        in_1900 = AssignmentSerializer().fields["issued_at"].to_representation(dt.datetime(1900, 1, 1, tzinfo=dt.UTC))
    assert len(many) == 64 and response.status_code == 200
    assert response.content == rendered
    assert [row for row in response.json()["results"] if row["issued_at"] == in_1900]
    if zone is None:  # local mean time: an offset with seconds, which orjson alone would round
        assert in_1900 == "1900-01-01T07:06:30+07:06:30"


# --- verified keys in memory ----------------------------------------------------------------


def test_a_key_revoked_elsewhere_is_refused_within_the_cache_time(key_a, settings, clock):
    """A revocation made by another worker (here: an UPDATE, which no signal reports) takes effect
    once this worker's memory of the key expires, API_KEY_CACHE_SECONDS at most."""
    settings.API_KEY_CACHE_SECONDS = 1
    client = key_a.client()
    assert client.get("/api/v1/units/").status_code == 200
    ApiKey.objects.filter(pk=key_a.obj.pk).update(revoked=True)
    assert client.get("/api/v1/units/").status_code == 200  # still remembered: the documented bound
    clock.shift(1.1)
    assert client.get("/api/v1/units/").status_code == 401


def test_a_key_revoked_in_this_process_is_refused_at_once(key_a):
    client = key_a.client()
    assert client.get("/api/v1/units/").status_code == 200
    key_a.obj.revoked = True
    key_a.obj.save()  # the admin's revocation: post_save makes this worker forget the key
    assert client.get("/api/v1/units/").status_code == 401


def test_a_key_deleted_is_refused_at_once(key_a):
    client = key_a.client()
    assert client.get("/api/v1/units/").status_code == 200
    ApiKey.objects.get(pk=key_a.obj.pk).delete()
    assert client.get("/api/v1/units/").status_code == 401


def test_a_key_is_never_remembered_past_its_expiry(key_a, settings, clock):
    settings.API_KEY_CACHE_SECONDS = 60
    ApiKey.objects.filter(pk=key_a.obj.pk).update(expiry_date=timezone.now() + dt.timedelta(seconds=1))
    client = key_a.client()
    assert client.get("/api/v1/units/").status_code == 200
    clock.shift(1.1)
    assert client.get("/api/v1/units/").status_code == 401


def test_a_key_is_checked_again_when_the_clock_steps_back(key_a, settings, clock):
    settings.API_KEY_CACHE_SECONDS = 60
    client = key_a.client()
    assert client.get("/api/v1/units/").status_code == 200
    ApiKey.objects.filter(pk=key_a.obj.pk).update(revoked=True)
    clock.shift(-30)  # a clock stepped back must not stretch the bound
    assert client.get("/api/v1/units/").status_code == 401


def test_a_remembered_key_costs_no_query(key_a, django_assert_num_queries):
    client = key_a.client()
    client.get("/api/v1/units/?page_size=1")
    with django_assert_num_queries(2):  # the count and the page; no key lookup
        assert client.get("/api/v1/units/?page_size=1").status_code == 200


def test_wrong_keys_are_not_remembered(key_a):
    prefix = key_a.raw.split(".")[0]
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Bearer {prefix}.wrongsecret")
    assert wrong.get("/api/v1/units/").status_code == 401
    assert all(entry.pk != key_a.obj.pk for entry, _since, _until in authentication._verified.values())


def test_no_memory_when_the_cache_time_is_zero(key_a, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    client = key_a.client()
    assert client.get("/api/v1/units/").status_code == 200
    ApiKey.objects.filter(pk=key_a.obj.pk).update(revoked=True)
    assert client.get("/api/v1/units/").status_code == 401


# --- the fixed-window throttle ---------------------------------------------------------------


@pytest.fixture
def clock(time_machine):
    """A frozen clock at a moment of this run's own (a random second in 2031): the throttle's
    counters of an earlier run, keyed by the same key ids and window, are never this run's, so no
    cache is cleared."""
    moment = dt.datetime(2031, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=random.randrange(365 * 86400))
    time_machine.move_to(moment, tick=False)
    return time_machine


def test_throttle_counts_each_key_in_its_window(key_a, key_b, settings, clock):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "2/hour"}}
    client_a = key_a.client()
    assert [client_a.get("/api/v1/units/").status_code for _ in range(3)] == [200, 200, 429]
    throttled = client_a.get("/api/v1/units/")
    # The window is the clock hour: the wait is to its end, at most an hour.
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 3600
    assert key_b.client().get("/api/v1/units/").status_code == 200


def test_throttle_budget_is_whole_again_in_the_next_window(key_a, settings, clock):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "1/s"}}
    client = key_a.client()
    # The frozen clock stands at the start of a second: both requests fall in one window.
    assert [client.get("/api/v1/units/").status_code for _ in range(2)] == [200, 429]
    clock.shift(1)
    assert client.get("/api/v1/units/").status_code == 200


def test_list_etag_round_trip_on_this_database(key_a, assignment_a):
    """ETag and 304 on whichever database the suite runs (the SQLite triggers, or PostgreSQL's
    deferred ones made to fire at once in this test's transaction): a write is never answered 304."""
    from django.db import connection

    client = key_a.client()
    first = client.get("/api/v1/assignments/")
    etag = first["ETag"]
    assert client.get("/api/v1/assignments/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the test's transaction never commits
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Assignment.objects.filter(pk=assignment_a.pk).update(progress=61)
    again = client.get("/api/v1/assignments/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200 and again.json()["results"][0]["progress"] == 61
    assert client.get("/api/v1/assignments/", HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 304


def test_throttle_counts_each_request_in_one_redis_command_that_expires_with_the_window(redis_url, settings):
    """`throttling.count`: one atomic command per request on Redis (INCR, and EXPIRE with it when the
    window's counter is new), in Django's own key and value format, so `cache.get` reads it; the
    counter goes when its window is over."""
    from django.core.cache import cache

    from tasks_app.api import throttling

    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    }
    key = f"throttle:api:key:test:{random.randrange(10**9)}"
    client = cache._cache.get_client(write=True)
    stored = cache.make_and_validate_key(key)
    before = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    assert [throttling.count(key, 30) for _ in range(3)] == [1, 2, 3]
    assert cache.get(key) == 3
    assert 0 < client.ttl(stored) <= 30  # set by the first request, kept by the others
    # three EVALSHA (the script is loaded once per process with its first use, or again by Redis)
    assert client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0) >= before + 3
    client.expire(stored, 1)
    time.sleep(1.2)
    assert cache.get(key) is None and throttling.count(key, 30) == 1


def test_throttle_counts_in_the_local_memory_cache_too(settings):
    """The embedded default has no Redis: the same counts through Django's cache API."""
    from tasks_app.api import throttling

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    key = f"throttle:api:key:test:{random.randrange(10**9)}"
    assert [throttling.count(key, 30) for _ in range(3)] == [1, 2, 3]


@pytest.mark.parametrize("page", [1, 2, 3, 7])
def test_page_links_equal_drf_page_number_pagination(many, key_a, page):
    """`next` and `previous` as DRF's PageNumberPagination writes them for the same request (page 1
    without the parameter, the other query parameters kept), though built from remembered links."""
    from rest_framework.pagination import PageNumberPagination
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    url = f"/api/v1/assignments/?ordering=deadline&page_size=10&page={page}&status="
    client = key_a.client()
    for _ in range(2):  # the second time from the remembered links
        body = client.get(url).json()
        drf = PageNumberPagination()
        drf.page_size, drf.page_size_query_param = 10, "page_size"
        request = Request(APIRequestFactory().get(url))
        drf.paginate_queryset(Assignment.objects.filter(unit=key_a.obj.unit).order_by("deadline", "id"), request)
        assert body["count"] == len(many) == 64
        assert (body["next"], body["previous"]) == (drf.get_next_link(), drf.get_previous_link())


def test_a_busy_keys_budget_is_taken_in_leases_and_never_exceeded(redis_url, settings, monkeypatch):
    """`throttling.take`: with a budget of 1,000 a window a worker adds 5 to the counter at a time;
    three workers (three lease books) interleaving 1,200 requests serve at most the budget, and at
    least the budget less what the other workers hold unspent; the counter in Redis is never below
    what was served."""
    from django.core.cache import cache

    from tasks_app.api import throttling

    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    }
    assert throttling.lease_size(1000) == 5 and throttling.lease_size(399) == 1 and throttling.lease_size(10**6) == 16
    key = f"throttle:api:key:test:{random.randrange(10**9)}"
    workers = [{}, {}, {}]
    served = 0
    for attempt in range(1200):
        monkeypatch.setattr(throttling, "_leases", workers[attempt % 3])
        if throttling.take(key, 1000, 30):
            served += 1
            assert cache.get(key) >= served
    assert 1000 - 2 * 4 <= served <= 1000
    assert cache.get(key) >= 1000


def test_one_process_serves_its_whole_budget_from_leases_across_threads(redis_url, settings):
    """Threads of one process share its leases (under a lock): exactly the budget is served."""
    from concurrent.futures import ThreadPoolExecutor

    from tasks_app.api import throttling

    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    }
    key = f"throttle:api:key:test:{random.randrange(10**9)}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: throttling.take(key, 1000, 30), range(1300)))
    assert answers.count(True) == 1000
