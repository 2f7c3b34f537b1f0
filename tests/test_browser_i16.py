"""In a real browser at 390 px: the city office records a field inspection with a photo chosen in a
file input (the phone's camera), and gives a task while the six clears update as it types.

Neither page scrolls sideways on a phone; screenshots go to test-artifacts/.
"""

import datetime as dt

import pytest
from django.utils import timezone

from tasks_app.models import Assignment, Inspection, InspectionPhoto, Task
from tasks_app.status import Status
from tests.test_inspections import camera_jpeg
from tests.test_web_browser import PHONE, assert_labelled, shot, sign_in
from tests.test_web_browser import browser as browser  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_office_records_an_inspection_with_a_photo_on_a_phone(
    browser, live_server, office, head_a, assignment_a, tmp_path
):  # noqa: F811
    photo = tmp_path / "IMG_20261120_093005.jpg"
    photo.write_bytes(camera_jpeg(width=1200, height=900))
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server.url, "city-office", "pw-city-office")

    page.goto(f"{live_server.url}/assignments/{assignment_a.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Kiểm tra thực địa").click()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert_labelled(page)
    assert page.locator("#id_photos").get_attribute("accept") == "image/jpeg,image/png,image/webp"
    page.fill("#id_findings", "Biển báo công trình chưa lắp; hạng mục mương thoát nước chậm 2 tuần.")
    page.check("input[name=conclusion][value=remedy]")
    page.fill("#id_remedy_deadline", (timezone.localdate() + dt.timedelta(days=14)).isoformat())
    page.set_input_files("#id_photos", str(photo))
    shot(page, "inspection-new-390")
    with page.expect_navigation():
        page.get_by_role("button", name="Ghi kết quả kiểm tra").click()

    assert f"/assignments/{assignment_a.pk}/" in page.url
    assert "Đã ghi kết quả kiểm tra thực địa (1 ảnh)." in page.content()
    image = page.locator(".photos img").first
    # The photo loads lazily (loading="lazy"): bring it into view and wait for it to finish loading.
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 1200
    assert page.locator("a[href*='openstreetmap.org/?mlat=20.858333']").count() == 1
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot(page, "inspection-timeline-390")

    stored = InspectionPhoto.objects.get()
    assert (str(stored.latitude), str(stored.longitude)) == ("20.858333", "106.687500")
    remedy = Inspection.objects.get().remedy
    assert remedy.unit == head_a.unit and remedy.status == Status.ISSUED
    assert not [text for text in console if "Content Security Policy" in text or "Refused" in text], console


def test_giving_a_task_shows_the_six_clears_as_the_office_types(browser, live_server, office, leader, group, head_a):  # noqa: F811
    page = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server.url, "city-office", "pw-city-office")
    page.goto(f"{live_server.url}/tasks/new/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert_labelled(page)
    assert page.locator("#clears .clear-missing").count() == 6

    page.select_option("#id_group", str(group.pk))
    page.fill("#id_title", "Rà soát trụ sở dôi dư")
    page.fill("#id_description", "Lập danh mục và phương án xử lý.")
    page.locator("#clears [data-clear=task].clear-ok").wait_for()
    page.fill("#id_deliverable", "Báo cáo danh mục")
    page.fill("#id_acceptance_criteria", "Đủ 100% cơ sở")
    page.fill("#id_deadline", "2026-12-31")
    page.select_option("#id_authority", str(leader.pk))
    page.select_option("#id_units", str(head_a.unit.pk))
    page.select_option("#id_role", Assignment.Role.LEAD)
    page.locator("#clears [data-clear=responsibility].clear-ok").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#clears .clear-missing').length === 0")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot(page, "task-new-390")
    with page.expect_navigation():
        page.get_by_role("button", name="Giao ngay").click()
    task = Task.objects.get()
    assert page.url.endswith(f"/tasks/{task.code}/")
    assert Assignment.objects.get(task=task).status == Status.ISSUED
    assert not [text for text in console if "Content Security Policy" in text or "Refused" in text], console
