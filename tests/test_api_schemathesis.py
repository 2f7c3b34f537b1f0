"""Property-based test of the live API against its own OpenAPI schema (schemathesis).

A real server (pytest-django's live_server) serves /api/schema/; every operation gets a bounded
number of generated requests with a real unit key, each sent twice: as generated, and with its
path pointed at a real object of the caller's unit. Positive cases (valid by the schema) may not
give a 5xx or break the schema; negative cases (values the schema forbids: wrong types, NUL bytes,
Unicode digits, deep JSON, missing fields) may not give a 5xx and must answer in JSON (ASVS 5.0
16.5.3).
"""

import datetime as dt

import hypothesis
import pytest
import schemathesis
from django.core.files.base import ContentFile
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tasks_app.api.models import ApiKey, WebhookEndpoint
from tasks_app.models import Evidence, ExtensionRequest
from tests.conftest import make_assignment

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Negative cases are refused; the refusal's code may be one the schema does not list for the
# operation (a 404 for a path no route matches), but it is never a 5xx and always JSON.
NEGATIVE_CHECKS = [not_a_server_error, content_type_conformance]
EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def api_world(live_server, settings, task, head_a, head_b, dept_head, commune_a):
    # A budget no generated run reaches, so the runs test the endpoints and not the throttle.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "100000/min"}}
    own = make_assignment(task, head_a.unit)
    make_assignment(task, head_b.unit)
    key, raw = ApiKey.objects.create_key(name="schemathesis", unit=commune_a)
    report = own.report_progress(by=key, percent=10, links=["https://example.org/a"])
    evidence = Evidence(report=report, original_name="a.pdf", content_type="application/pdf", size=9)
    evidence.file.save("a.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    extension = ExtensionRequest.objects.create(
        assignment=own,
        requested_by_label="x",
        current_deadline=own.deadline,
        requested_deadline=own.deadline + dt.timedelta(days=10),
        reason="r",
    )
    webhook = WebhookEndpoint.objects.create(api_key=key, url="http://127.0.0.1:9/hook", events=["assignment.overdue"])
    real = {
        "/api/v1/assignments/": own.pk,
        "/api/v1/extension-requests/": extension.pk,
        "/api/v1/evidence/": evidence.pk,
        "/api/v1/webhooks/": webhook.pk,
        "/api/v1/units/": "10507",
        "/api/v1/tasks/": task.code,
    }
    return {"url": live_server.url, "headers": {"Authorization": f"Bearer {raw}"}, "real": real}


def with_real_object(case, real):
    for prefix, value in real.items():
        if case.path.startswith(prefix):
            for name in case.path_parameters or {}:
                case.path_parameters[name] = value
            return True
    return False


@pytest.mark.django_db(transaction=True)
def test_api_conforms_to_its_schema(api_world):
    # Operations are walked here rather than with schemathesis' pytest plugin, whose parametrize
    # does not run under pytest 9; each operation is one bounded Hypothesis run.
    schema = schemathesis.openapi.from_url(api_world["url"] + "/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    failures = {}

    for operation in operations:
        for mode, checks in ((GenerationMode.POSITIVE, CHECKS), (GenerationMode.NEGATIVE, NEGATIVE_CHECKS)):
            try:
                exercise(operation, mode, checks, api_world)
            except Exception as exc:  # collect every operation's failure, then fail once with all of them
                failures[f"{operation.label} ({mode.value})"] = f"{type(exc).__name__}: {str(exc)[:2000]}"

    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())


def exercise(operation, mode, checks, world):
    """One bounded Hypothesis run of one operation in one generation mode."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def run(case):
        case.call_and_validate(base_url=world["url"], headers=world["headers"], checks=checks)
        if case.path_parameters and with_real_object(case, world["real"]):
            case.call_and_validate(base_url=world["url"], headers=world["headers"], checks=checks)

    run()
