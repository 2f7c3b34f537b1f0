"""Errors in view: a refused form's errors are summarised at the top of the page with links to the
fields; 403, 404 and 500 are the site's own pages, in the user's language."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db


def test_a_refused_form_is_summarised_at_the_top_with_links_to_its_fields(client, head_a, assignment_a):
    sign_in(client, head_a)
    url = reverse("web:assignment-action", args=[assignment_a.pk, "progress"])
    response = client.post(url, {"progress-version": assignment_a.version, "progress-percent": 500})
    assert response.status_code == 400
    page = response.content.decode()
    summary = page.index("data-error-summary")
    assert summary < page.index("Rõ người")  # above the six clears, not 1,400 px down
    block = page[summary : page.index("</section>", summary)]
    assert 'href="#id_progress-percent"' in block and "Tiến độ (%)" in block
    assert 'tabindex="-1"' in page[summary - 200 : summary + 50]


def test_404_is_the_sites_page_in_the_users_language(client, head_a):
    sign_in(client, head_a)
    response = client.get("/assignments/999999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<nav" in page and "Không tìm thấy trang" in page and 'name="viewport"' in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get("/assignments/999999999/").content.decode()
    assert "Page not found" in page and "Không tìm thấy trang" not in page


def test_403_is_the_sites_page_with_the_reason(client, head_a):
    sign_in(client, head_a)
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "<nav" in page and "Không có quyền truy cập" in page
    assert "Chỉ lãnh đạo thành phố" in page


def test_500_renders_without_the_database(django_assert_num_queries):
    request = RequestFactory().get("/")
    with translation.override("vi"), django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    assert "Hệ thống đang gặp sự cố" in response.content.decode()


def test_an_assignment_without_history_opens(client, head_a, assignment_a):
    """An assignment created in bulk has no history rows yet: its page opens (it was a 500)."""
    assignment_a.history.all().delete()
    sign_in(client, head_a)
    response = client.get(reverse("web:assignment", args=[assignment_a.pk]))
    assert response.status_code == 200
    assert b"data-error-summary" not in response.content


def test_a_filter_with_a_bad_value_brings_no_error_summary(client, office, assignment_a):
    """The summary is for a refused submission: a list filtered by a bad value is not one."""
    sign_in(client, office)
    response = client.get("/assignments/", {"status": "khong-co", "deadline_before": "99/99"})
    assert response.status_code == 200
    assert b"data-error-summary" not in response.content
