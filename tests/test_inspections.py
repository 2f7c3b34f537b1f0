"""Field inspection from a phone: the web form and the API, photos with EXIF time and GPS read on
the server, other metadata gone from the stored copy, and "remedy required" as tracked work."""

import datetime as dt
import zoneinfo
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from tasks_app.lifecycle import Clear
from tasks_app.models import Assignment, Inspection, InspectionPhoto, Official, Unit
from tasks_app.status import Status
from tests.conftest import make_official
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)  # 15:00 in Hải Phòng
HANOI = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def camera_jpeg(*, width=2400, height=1800, gps=True, taken="2026:11:20 09:30:05") -> bytes:
    """A real JPEG as a phone writes it: make, model, owner, software, time and GPS in EXIF."""
    image = Image.new("RGB", (width, height), (40, 120, 60))
    for x in range(0, width, 50):  # some detail, so the encoder has something to keep
        image.paste((200, 30, 30), (x, 0, x + 10, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Samsung"
    exif[ExifTags.Base.Model] = "Galaxy A55"
    exif[ExifTags.Base.Artist] = "Nguyen Van Kiem Tra"
    exif[ExifTags.Base.Software] = "SecretCameraApp 9.1"
    exif[ExifTags.Base.ImageDescription] = "Private note of the owner"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(
            {
                ExifTags.GPS.GPSLatitudeRef: "N",
                ExifTags.GPS.GPSLatitude: (20.0, 51.0, 30.0),
                ExifTags.GPS.GPSLongitudeRef: "E",
                ExifTags.GPS.GPSLongitude: (106.0, 41.0, 15.0),
            }
        )
    buffer = BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def inspector(city):
    unit = Unit.objects.create(code="TTR-TP", name="Thanh tra thành phố", kind=Unit.Kind.DEPARTMENT, parent=city)
    return make_official("thanh-tra", unit, role=Official.Role.INSPECTOR, position="Thanh tra viên")


def post_inspection(client, assignment, **data):
    body = {"date": "2026-11-20", "findings": "Công trình đang thi công, chậm so với kế hoạch.", "conclusion": "passed"}
    body.update(data)
    return client.post(reverse("web:inspection-new", args=[assignment.pk]), body)


def test_exif_time_and_gps_are_read_and_other_metadata_is_gone_from_the_stored_copy(client, office, assignment_a):
    sign_in(client, office, verified=True)
    original = camera_jpeg()
    assert b"Nguyen Van Kiem Tra" in original and b"Galaxy A55" in original
    photo = SimpleUploadedFile("IMG_20261120.jpg", original, content_type="application/octet-stream")

    response = post_inspection(client, assignment_a, photos=photo)

    assert response.status_code == 302, response.content.decode()[-3000:]
    stored = InspectionPhoto.objects.get()
    assert stored.taken_at == dt.datetime(2026, 11, 20, 9, 30, 5, tzinfo=HANOI)  # camera clock: local time
    assert stored.latitude == Decimal("20.858333")  # 20° 51′ 30″ N
    assert stored.longitude == Decimal("106.687500")  # 106° 41′ 15″ E
    assert "mlat=20.858333&mlon=106.687500" in stored.map_url

    content = stored.file.read()
    for secret in (b"Nguyen Van Kiem Tra", b"Galaxy A55", b"Samsung", b"SecretCameraApp", b"Private note"):
        assert secret not in content
    with Image.open(BytesIO(content)) as copy:
        assert copy.format == "JPEG"
        assert len(copy.getexif()) == 0
        assert "exif" not in copy.info and "icc_profile" not in copy.info
        assert max(copy.size) == 1600 and copy.size == (1600, 1200)  # resized for viewing
    assert (stored.width, stored.height) == (1600, 1200)

    # The timeline shows it with its time and a link to where it was taken.
    page = client.get(reverse("web:assignment", args=[assignment_a.pk])).content.decode()
    assert "Kiểm tra thực địa" in page and "openstreetmap.org/?mlat=20.858333&amp;mlon=106.687500" in page
    image = client.get(reverse("web:inspection-photo", args=[stored.pk]))
    assert image["Content-Type"] == "image/jpeg" and image["X-Content-Type-Options"] == "nosniff"
    assert image["Content-Disposition"].startswith("attachment;")  # like every upload; an <img> still shows it
    assert b"".join(image.streaming_content) == content


def test_a_photo_without_exif_is_kept_without_time_or_place(client, office, assignment_a):
    sign_in(client, office, verified=True)
    buffer = BytesIO()
    Image.new("RGB", (300, 200), (1, 2, 3)).save(buffer, "PNG")
    response = post_inspection(client, assignment_a, photos=SimpleUploadedFile("a.png", buffer.getvalue()))
    assert response.status_code == 302
    stored = InspectionPhoto.objects.get()
    assert (stored.taken_at, stored.latitude, stored.longitude, stored.map_url) == (None, None, None, "")
    assert (stored.width, stored.height) == (300, 200)


@pytest.mark.parametrize(
    "name,content",
    [
        ("anh.jpg", b"<html><script>alert(1)</script></html>"),
        ("anh.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"),
        ("anh.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 40),  # a JPEG signature with nothing behind it
        ("anh.jpg", b""),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(client, office, assignment_a, name, content):
    sign_in(client, office, verified=True)
    response = post_inspection(client, assignment_a, photos=SimpleUploadedFile(name, content))
    assert response.status_code == 400
    assert "anh.jpg" in response.content.decode()
    assert not Inspection.objects.exists() and not InspectionPhoto.objects.exists()


def test_the_unit_cannot_inspect_itself_and_another_commune_gets_404(client, head_a, official_a, head_b, assignment_a):
    for person, status in ((head_a, 403), (official_a, 403), (head_b, 404)):
        sign_in(client, person)
        assert client.get(reverse("web:inspection-new", args=[assignment_a.pk])).status_code == status
        assert post_inspection(client, assignment_a).status_code == status
    assert not Inspection.objects.exists()
    # The unit does not even see the button.
    sign_in(client, head_a)
    page = client.get(reverse("web:assignment", args=[assignment_a.pk])).content.decode()
    assert reverse("web:inspection-new", args=[assignment_a.pk]) not in page


def test_an_inspector_sees_and_inspects_every_commune_but_gives_no_tasks(client, inspector, assignment_a):
    sign_in(client, inspector)
    page = client.get(reverse("web:assignment", args=[assignment_a.pk])).content.decode()
    assert reverse("web:inspection-new", args=[assignment_a.pk]) in page
    assert post_inspection(client, assignment_a, conclusion="failed").status_code == 302
    assert Inspection.objects.get().inspector == inspector
    assert client.get(reverse("web:task-new")).status_code == 403


def test_remedy_required_needs_a_deadline(client, office, assignment_a):
    sign_in(client, office, verified=True)
    response = post_inspection(client, assignment_a, conclusion="remedy")
    assert response.status_code == 400
    assert "Yêu cầu khắc phục cần có thời hạn khắc phục." in response.content.decode()
    assert not Inspection.objects.exists() and Assignment.objects.count() == 1


def test_remedy_becomes_tracked_work_with_six_clears_in_the_units_queue(client, office, head_a, assignment_a, key_a):
    sign_in(client, office, verified=True)
    response = post_inspection(
        client, assignment_a, conclusion="remedy", remedy_deadline="2026-12-10", findings="Chưa lắp biển báo."
    )
    assert response.status_code == 302
    inspection = Inspection.objects.get()
    remedy = inspection.remedy
    assert remedy is not None and remedy.pk != assignment_a.pk
    assert (remedy.unit, remedy.role, remedy.status) == (assignment_a.unit, Assignment.Role.LEAD, Status.ISSUED)
    assert (remedy.responsible, remedy.authority) == (assignment_a.responsible, assignment_a.authority)
    assert remedy.deadline == remedy.original_deadline == dt.date(2026, 12, 10)
    assert remedy.missing_clears() == []
    assert remedy.task.description == "Chưa lắp biển báo." and remedy.task.group == assignment_a.task.group
    assert Clear.DELIVERABLE not in remedy.missing_clears() and remedy.task.deliverable

    # The unit's own queue ("my work") and its API list carry it like any other assignment.
    sign_in(client, head_a)
    home = client.get(reverse("web:home")).content.decode()
    assert reverse("web:assignment", args=[remedy.pk]) in home
    rows = key_a.client().get("/api/v1/assignments/").json()["results"]
    assert remedy.pk in {row["id"] for row in rows}
    # And the unit works it through the lifecycle.
    remedy.report_progress(by=head_a.user, percent=50, note="Đã đặt hàng biển báo")
    remedy.refresh_from_db()
    assert remedy.status == Status.IN_PROGRESS


def test_the_api_records_an_inspection_with_photos_and_lists_it(client, leader_client, assignment_a, key_a, key_b):
    path = f"/api/v1/assignments/{assignment_a.pk}/inspections/"
    photo = SimpleUploadedFile("hien-truong.jpg", camera_jpeg(width=800, height=600))
    response = leader_client.post(
        path,
        {"date": "2026-11-20", "findings": "Đạt yêu cầu.", "conclusion": "passed", "photos": [photo]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["conclusion"] == "passed" and len(body["photos"]) == 1
    shot = body["photos"][0]
    assert (shot["latitude"], shot["longitude"]) == ("20.858333", "106.687500")
    assert shot["taken_at"].startswith("2026-11-20T")
    # The unit reads its inspections (not record them); another commune sees nothing.
    listed = key_a.client().get(path)
    assert listed.status_code == 200 and [i["id"] for i in listed.json()] == [body["id"]]
    download = key_a.client().get(shot["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/jpeg"
    assert key_b.client().get(path).status_code == 404
    assert key_b.client().get(shot["download_url"]).status_code == 404
    # Bad input: a clear error, nothing stored.
    bad = leader_client.post(path, {"date": "2026-11-20", "findings": "", "conclusion": "perfect"}, format="json")
    assert bad.status_code == 400 and set(bad.json()) >= {"findings", "conclusion"}
    assert Inspection.objects.count() == 1


def test_the_dashboard_shows_this_months_inspections_by_unit(client, office, assignment_a, assignment_b):
    sign_in(client, office, verified=True)
    assert client.get(reverse("web:dashboard")).context["inspections"]["total"] == 0
    post_inspection(client, assignment_a, conclusion="remedy", remedy_deadline="2026-12-10")
    post_inspection(client, assignment_a, date="2026-11-02")
    post_inspection(client, assignment_b, date="2026-10-30")  # last month: not counted
    figures = client.get(reverse("web:dashboard")).context["inspections"]
    assert figures["total"] == 2
    assert [(r["assignment__unit__code"], r["n"], r["remedy"]) for r in figures["by_unit"]] == [("10507", 2, 1)]


def test_a_large_phone_photo_is_decoded_small_and_a_bomb_is_refused(client, office, assignment_a):
    from tasks_app import photos

    big = photos.process(SimpleUploadedFile("big.jpg", camera_jpeg(width=6400, height=4800)))
    assert (big.width, big.height) == (1600, 1200) and big.latitude == Decimal("20.858333")
    # A PNG that claims 20000 × 20000 pixels is refused before it is decoded.
    buffer = BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")
    sign_in(client, office, verified=True)
    response = post_inspection(client, assignment_a, photos=SimpleUploadedFile("bomb.png", buffer.getvalue()))
    assert response.status_code == 400 and "bomb.png" in response.content.decode()
    assert not Inspection.objects.exists()


def test_the_inspections_list_costs_the_same_for_one_and_for_many(leader_client, office, assignment_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tasks_app.models import InspectionPhoto as Photo

    path = f"/api/v1/assignments/{assignment_a.pk}/inspections/"

    def add(n):
        for i in range(n):
            inspection = Inspection.objects.create(
                assignment=assignment_a,
                date=dt.date(2026, 11, 1 + i),
                inspector=office,
                findings="x",
                conclusion="passed",
            )
            Photo.objects.create(inspection=inspection, file=f"inspections/p{inspection.pk}.jpg")

    add(1)
    with CaptureQueriesContext(connection) as one:
        assert len(leader_client.get(path).json()) == 1
    add(9)
    with CaptureQueriesContext(connection) as ten:
        assert len(leader_client.get(path).json()) == 10
    assert len(ten) == len(one)


def test_remedy_work_waits_in_the_units_inbox_with_the_findings_and_is_counted_in_the_menu(
    client, office, head_a, assignment_a
):
    """Issue 16 in issue 11's inbox: an inspection concluding "yêu cầu khắc phục" puts the remedy
    work in the unit's /inbox/ (labelled, with the inspector's findings) and in the menu's count;
    once done it leaves the queue."""
    sign_in(client, head_a)
    before = client.get(reverse("web:inbox")).context["inbox_count"]
    sign_in(client, office, verified=True)
    response = post_inspection(
        client, assignment_a, conclusion="remedy", remedy_deadline="2026-12-10", findings="Chưa lắp biển báo."
    )
    assert response.status_code == 302
    remedy = Inspection.objects.get().remedy
    assert remedy is not None

    sign_in(client, head_a)
    page = client.get(reverse("web:inbox"))
    assert page.status_code == 200
    items = [i for i in page.context["queues"].unit.items if i.kind == "remedy"]
    assert [i.assignment.pk for i in items] == [remedy.pk]
    assert items[0].note == "Chưa lắp biển báo." and items[0].who == office.full_name
    assert page.context["inbox_count"] == before + 1
    html = page.content.decode()
    assert "Yêu cầu khắc phục" in html and "Chưa lắp biển báo." in html
    assert reverse("web:assignment", args=[remedy.pk]) in html
    # The inspector's office does not find the unit's remedy work in its own unit queue.
    sign_in(client, office, verified=True)
    assert remedy.pk not in {i.assignment.pk for i in client.get(reverse("web:inbox")).context["queues"].unit.items}

    # Done and accepted: no longer waiting.
    Assignment.objects.filter(pk=remedy.pk).update(status=Status.ACCEPTED)
    sign_in(client, head_a)
    page = client.get(reverse("web:inbox"))
    assert remedy.pk not in {i.assignment.pk for i in page.context["queues"].unit.items}
    assert page.context["inbox_count"] == before
