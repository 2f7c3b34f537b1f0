"""Fixtures of the web tests: signing in (with a second factor when asked), many assignments fast."""

import datetime as dt

import pytest
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tasks_app import figures
from tasks_app.models import Assignment, Official, Task, Unit
from tasks_app.status import Status
from tests.conftest import make_official


def sign_in(client, official, *, verified=False):
    """Sign the official in; `verified` also marks the session as passed the second factor."""
    return sign_in_user(client, official.user, verified=verified)


def sign_in_user(client, user, *, verified=False):
    client.force_login(user)
    if verified:
        device, _ = TOTPDevice.objects.get_or_create(user=user, name="default", defaults={"confirmed": True})
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin client, signed in with a second factor as the admin requires."""
    return sign_in_user(client, admin_user, verified=True)


@pytest.fixture
def official_b(commune_b, head_b):
    return make_official("official-b", commune_b, position="Chuyên viên")


# Deadlines and states spread so every timeliness class appears in a big list.
_STATES = [
    (Status.ISSUED, 30, None),
    (Status.IN_PROGRESS, 10, None),
    (Status.IN_PROGRESS, -5, None),
    (Status.SUBMITTED, 3, -1),
    (Status.ACCEPTED, -20, -25),
    (Status.ACCEPTED, -40, -30),
    (Status.RETURNED, -2, None),
]


def make_many(group, units, n_tasks, *, authority, today=None, code_prefix="T"):
    """n_tasks tasks, each assigned to every unit in `units`, in a mix of states (bulk inserts)."""
    today = today or timezone.localdate()
    now = timezone.now()
    tasks = Task.objects.bulk_create(
        Task(
            group=group,
            code=f"{code_prefix}-{i:03d}",
            number=i,
            title=f"Nhiệm vụ số {i}",
            description="Nội dung nhiệm vụ.",
            deliverable="Báo cáo kết quả",
            acceptance_criteria="Đạt chỉ tiêu",
            default_deadline=today,
            authority=authority,
        )
        for i in range(1, n_tasks + 1)
    )
    rows = []
    for t_index, task in enumerate(tasks):
        for u_index, unit in enumerate(units):
            status, due, done = _STATES[(t_index + u_index) % len(_STATES)]
            deadline = today + dt.timedelta(days=due)
            finished = now + dt.timedelta(days=done) if done is not None else None
            rows.append(
                Assignment(
                    task=task,
                    unit=unit,
                    role=Assignment.Role.LEAD,
                    responsible_id=unit.head_id,
                    deadline=deadline,
                    original_deadline=deadline,
                    authority=authority,
                    status=status,
                    progress=100 if status in (Status.SUBMITTED, Status.ACCEPTED) else 40,
                    issued_at=now,
                    submitted_at=finished,
                    completed_at=finished if status == Status.ACCEPTED else None,
                )
            )
    Assignment.objects.bulk_create(rows, batch_size=2000)
    figures.bump()  # a bulk write path, like fan-out: bulk_create sends no post_save
    return tasks


def make_communes(city, n, *, start=20000):
    """n commune-level units, each with a head (bulk inserts)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    units = Unit.objects.bulk_create(
        Unit(code=str(start + i), name=f"Xã thử nghiệm {i}", kind=Unit.Kind.COMMUNE, parent=city) for i in range(n)
    )
    users = User.objects.bulk_create(User(username=f"head-{u.code}", email=f"head-{u.code}@example.org") for u in units)
    heads = Official.objects.bulk_create(
        Official(user=user, unit=unit, full_name=f"Chủ tịch {unit.name}", position="Chủ tịch UBND")
        for user, unit in zip(users, units, strict=True)
    )
    for unit, head in zip(units, heads, strict=True):
        unit.head = head
    Unit.objects.bulk_update(units, ["head"])
    return units


ADMIN_DELIVERABLE = "Sản phẩm sửa trong trang quản trị"


def admin_edit_deliverable(admin_client, assignment):
    """The admin's change form for an issued assignment, saved with a new deliverable (one of the
    write paths the counts, the change stamps and the figures' version must all see)."""
    data = {
        "task": assignment.task_id,
        "deliverable": ADMIN_DELIVERABLE,
        "acceptance_criteria": "",
        "progress": 0,
        "start_date": "",
        "reports-TOTAL_FORMS": "0",
        "reports-INITIAL_FORMS": "0",
        "reports-MIN_NUM_FORMS": "0",
        "reports-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(f"/admin/tasks_app/assignment/{assignment.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response
