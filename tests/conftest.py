"""Fixed actors built once per test: two communes, a department, the city leader and office."""

import datetime as dt
import importlib.util
import os
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.status import Status
from tests import services

# Fixtures of each area, kept in their own modules.
pytest_plugins = ["tests.fixtures_api", "tests.fixtures_kpi", "tests.fixtures_web", "tests.fixtures_reminders"]


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        services.missing("PostgreSQL", "set DATABASE_URL or start it on 127.0.0.1:5432")
    if item.get_closest_marker("redis") and services.redis_url() is None:
        services.missing("Redis", "set REDIS_URL or start it on 127.0.0.1:6379")
    if item.get_closest_marker("browser"):
        if not os.access("/usr/bin/chromium", os.X_OK):
            services.missing("Chromium", "install Debian's package: apt-get install chromium (.ci/run does)")
        if importlib.util.find_spec("playwright") is None:
            services.missing("Chromium", "the playwright package is not installed: make install-dev")


@pytest.fixture
def fresh_cache(settings):
    """The default cache under a key prefix of this test's own; call it again for another fresh
    one. Never `cache.clear()`: on Redis that flushes a whole database the test does not own."""

    def renew():
        settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}

    renew()
    return renew


@pytest.fixture(autouse=True)
def _cache_of_its_own(fresh_cache):
    """Every test starts with an empty cache: rolled-back data repeats ids and the figures version
    from test to test, so nothing one test cached may answer another."""


@pytest.fixture
def redis_url():
    url = services.redis_url()
    if url is None:
        services.missing("Redis", "set REDIS_URL or start it on 127.0.0.1:6379")
    return url


def make_official(username, unit, *, role=Official.Role.MEMBER, head=False, position="", email=None):
    user = get_user_model().objects.create_user(username, email or f"{username}@example.org", "pw-" + username)
    official = Official.objects.create(
        user=user, unit=unit, full_name=username.replace("-", " ").title(), position=position, role=role
    )
    if head:
        unit.head = official
        unit.save(update_fields=["head"])
    return official


@pytest.fixture
def city(db):
    return Unit.objects.create(code="31", name="UBND thành phố Hải Phòng", kind=Unit.Kind.CITY)


@pytest.fixture
def commune_a(city):
    return Unit.objects.create(code="10507", name="Phường Thành Đông", kind=Unit.Kind.WARD, parent=city)


@pytest.fixture
def commune_b(city):
    return Unit.objects.create(code="10525", name="Phường Hải Dương", kind=Unit.Kind.WARD, parent=city)


@pytest.fixture
def department(city):
    return Unit.objects.create(code="SO-TC", name="Sở Tài chính", kind=Unit.Kind.DEPARTMENT, parent=city)


@pytest.fixture
def head_a(commune_a):
    return make_official("head-a", commune_a, head=True, position="Chủ tịch UBND")


@pytest.fixture
def official_a(commune_a, head_a):
    return make_official("official-a", commune_a, position="Chuyên viên")


@pytest.fixture
def head_b(commune_b):
    return make_official("head-b", commune_b, head=True, position="Chủ tịch UBND")


@pytest.fixture
def dept_head(department):
    return make_official("dept-head", department, head=True, position="Giám đốc")


@pytest.fixture
def leader(city):
    return make_official("city-leader", city, role=Official.Role.LEADER, position="Phó Chủ tịch UBND thành phố")


@pytest.fixture
def office(department):
    return make_official("city-office", department, role=Official.Role.OFFICE, position="Chuyên viên theo dõi")


@pytest.fixture
def plan(db):
    return Plan.objects.create(year=2026, name="Kế hoạch phát triển KT-XH năm 2026", theme="Chủ động thực thi")


@pytest.fixture
def group(plan):
    return TaskGroup.objects.create(plan=plan, number=1, title="Tăng trưởng kinh tế")


@pytest.fixture
def task(group, leader):
    return Task.objects.create(
        group=group,
        code="2026-01-01",
        number=1,
        title="Giải ngân 100% vốn đầu tư công",
        description="Đẩy nhanh giải ngân vốn đầu tư công được giao năm 2026.",
        deliverable="Báo cáo kết quả giải ngân",
        acceptance_criteria="Tỷ lệ giải ngân đạt 100% kế hoạch vốn",
        default_deadline=dt.date(2026, 6, 30),
        authority=leader,
    )


def make_assignment(task, unit, *, status=Status.ISSUED, role=Assignment.Role.LEAD, deadline=None, **extra):
    return Assignment.objects.create(
        task=task,
        unit=unit,
        role=role,
        responsible_id=unit.head_id,
        deadline=deadline or task.default_deadline,
        original_deadline=deadline or task.default_deadline,
        authority_id=task.authority_id,
        status=status,
        **extra,
    )


@pytest.fixture
def assignment_a(task, head_a):
    return make_assignment(task, head_a.unit)


@pytest.fixture
def assignment_b(task, head_b):
    return make_assignment(task, head_b.unit)
