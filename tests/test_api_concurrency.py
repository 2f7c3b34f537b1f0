"""Two clients write the same assignment with the same If-Match at the same moment, on PostgreSQL:
exactly one wins, the other gets 412, and the history shows one change."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tasks_app.models import Assignment


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_same_if_match_from_two_clients_exactly_one_wins(key_a, assignment_a, round_):
    url = f"/api/v1/assignments/{assignment_a.pk}/progress/"
    etag = key_a.client().get(f"/api/v1/assignments/{assignment_a.pk}/")["ETag"]
    history_before = assignment_a.history.count()
    barrier = threading.Barrier(2)
    results = {}

    def write(percent):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_a.raw}")
        try:
            barrier.wait(timeout=10)
            results[percent] = client.post(url, {"percent": percent}, format="json", HTTP_IF_MATCH=etag)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=write, args=(p,)) for p in (30, 70)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    codes = sorted(r.status_code for r in results.values())
    assert codes == [201, 412], {p: r.content for p, r in results.items()}
    winner = next(p for p, r in results.items() if r.status_code == 201)
    loser = next(r for r in results.values() if r.status_code == 412)
    assignment = Assignment.objects.get(pk=assignment_a.pk)
    assert (assignment.progress, assignment.version) == (winner, 2)
    assert loser.json()["current_version"] == 2
    assert assignment.reports.count() == 1
    assert assignment.history.count() == history_before + 1
