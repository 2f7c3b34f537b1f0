"""No dead end after a return: the reason, who and when at the top of the page; resubmitting is one
step; the page always says what happens next and whose move it is."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tasks_app import lifecycle
from tasks_app.lifecycle import Status
from tasks_app.models import Assignment
from tests.conftest import make_assignment
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def returned(assignment_a, head_a, leader):
    assignment_a.report_progress(by=head_a, percent=100)
    assignment_a.submit(by=head_a, note="bản 1")
    assignment_a.return_(by=leader, reason="Thiếu phụ lục số liệu quý II")
    return assignment_a


def test_the_return_is_the_first_thing_the_unit_sees(client, returned, head_a):
    sign_in(client, head_a)
    page = client.get(reverse("web:assignment", args=[returned.pk])).content.decode()
    banner = page.index('id="returned"')
    assert banner < page.index("Rõ người") and banner < page.index("Diễn biến")
    top = page[banner : page.index("Rõ người")]
    assert "Thiếu phụ lục số liệu quý II" in top and "City Leader" in top
    assert 'href="#form-submit"' in top
    assert 'data-next-step="resubmit" data-whose="unit"' in page and "Việc của bạn" in page
    assert 'id="form-submit"' in page and "Nộp lại sản phẩm" in page


def test_resubmitting_after_a_return_is_one_step(client, returned, head_a, leader):
    sign_in(client, head_a)
    response = client.post(
        reverse("web:assignment-action", args=[returned.pk, "submit"]),
        {
            "submit-version": Assignment.objects.get(pk=returned.pk).version,
            "submit-note": "bản 2",
            "submit-files": SimpleUploadedFile("bao-cao.pdf", PDF),
        },
    )
    assert response.status_code == 302
    assert Assignment.objects.get(pk=returned.pk).status == Status.SUBMITTED
    sign_in(client, leader)
    page = client.get(reverse("web:assignment", args=[returned.pk])).content.decode()
    assert 'data-next-step="review" data-whose="authority"' in page and "Việc của bạn" in page
    assert 'id="returned"' not in page


@pytest.mark.parametrize(
    ("status", "pending", "expected"),
    [
        (Status.DRAFT, False, ("issue", "authority")),
        (Status.ISSUED, False, ("report", "unit")),
        (Status.IN_PROGRESS, False, ("submit", "unit")),
        (Status.IN_PROGRESS, True, ("decide_extension", "authority")),
        (Status.RETURNED, False, ("resubmit", "unit")),
        (Status.SUBMITTED, False, ("review", "authority")),
        (Status.ACCEPTED, False, ("done", "")),
        (Status.CANCELLED, False, ("cancelled", "")),
    ],
)
def test_every_state_has_a_next_step(client, task, head_a, leader, status, pending, expected):
    a = make_assignment(task, head_a.unit, status=status)
    step = lifecycle.next_step(a, pending_extension=pending)
    assert (step.key, step.whose) == expected
    sign_in(client, head_a)
    page = client.get(reverse("web:assignment", args=[a.pk])).content.decode()
    if not pending:
        assert f'data-next-step="{expected[0]}"' in page
