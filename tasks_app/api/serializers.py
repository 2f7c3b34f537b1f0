"""JSON shapes of the API: snake_case English names, ISO 8601 dates, codes instead of ids where
a code exists (units, tasks)."""

from __future__ import annotations

from typing import cast

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tasks_app import evidence
from tasks_app.api.models import WebhookEndpoint
from tasks_app.api.webhooks import DestinationRefused, checked_address
from tasks_app.models import (
    Assignment,
    Evidence,
    ExtensionRequest,
    Inspection,
    InspectionPhoto,
    Official,
    ProgressReport,
    SourceDocument,
    Task,
    TaskGroup,
    Unit,
)
from tasks_app.scope import request_actor
from tasks_app.status import Timeliness


class OfficialSerializer(serializers.ModelSerializer):
    class Meta:
        model = Official
        fields = ["id", "full_name", "position"]


class UnitSerializer(serializers.ModelSerializer):
    parent: serializers.SlugRelatedField = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="code", read_only=True, allow_null=True
    )
    head = OfficialSerializer(read_only=True, allow_null=True)
    province = serializers.SerializerMethodField(help_text="The code of the unit's province (null for the nation).")

    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "parent", "province", "head"]

    def get_province(self, unit: Unit) -> str | None:
        if unit.kind == Unit.Kind.NATION:
            return None
        return unit.parent.code if unit.parent is not None else unit.code


class AssignmentSerializer(serializers.ModelSerializer):
    task = serializers.CharField(source="task.code", read_only=True)
    task_title = serializers.CharField(source="task.title", read_only=True)
    group = serializers.IntegerField(source="task.group_id", read_only=True)
    plan = serializers.IntegerField(source="task.group.plan_id", read_only=True)
    unit = serializers.CharField(source="unit.code", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    responsible = OfficialSerializer(read_only=True, allow_null=True)
    authority = OfficialSerializer(read_only=True, allow_null=True)
    deliverable = serializers.CharField(source="effective_deliverable", read_only=True)
    acceptance_criteria = serializers.CharField(source="effective_acceptance_criteria", read_only=True)
    timeliness = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "task",
            "task_title",
            "group",
            "plan",
            "unit",
            "unit_name",
            "role",
            "responsible",
            "authority",
            "start_date",
            "deadline",
            "original_deadline",
            "deliverable",
            "acceptance_criteria",
            "status",
            "timeliness",
            "progress",
            "issued_at",
            "submitted_at",
            "completed_at",
            "return_count",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Timeliness.choices, allow_null=True))
    def get_timeliness(self, assignment):
        # Annotated in SQL by every queryset that serializes assignments (with_timeliness).
        return assignment.timeliness


# The assignment list, read as plain rows: the columns AssignmentSerializer shows, in one query.
ASSIGNMENT_LIST_COLUMNS = (
    "id",
    "task__code",
    "task__title",
    "task__group_id",
    "task__group__plan_id",
    "unit__code",
    "unit__name",
    "role",
    "responsible_id",
    "responsible__full_name",
    "responsible__position",
    "authority_id",
    "authority__full_name",
    "authority__position",
    "start_date",
    "deadline",
    "original_deadline",
    "deliverable",
    "task__deliverable",
    "acceptance_criteria",
    "task__acceptance_criteria",
    "status",
    "timeliness",
    "progress",
    "issued_at",
    "submitted_at",
    "completed_at",
    "return_count",
    "version",
    "created_at",
    "updated_at",
)


def assignment_list_data(rows) -> list[dict]:
    """AssignmentSerializer's output for named rows of ASSIGNMENT_LIST_COLUMNS (a `with_timeliness()`
    queryset's `values_list(..., named=True)`), built as plain dicts: the same keys, order and values, about ten
    times cheaper than serialising model instances for a page of 50. Dates stay dates and moments
    become aware datetimes in the current time zone, which the JSON renderers write as DRF's fields
    do (ISO 8601, `Z` for UTC): DRF's encoder, or orjson itself in `assignment_list_json`. A moment
    whose offset has seconds (a zone's local mean time before 1906) is given as DRF's text, since
    orjson would round its offset to minutes."""
    tz = timezone.get_current_timezone()

    def moment(value):
        if value is None:
            return None
        local = value.astimezone(tz)
        if local.utcoffset().seconds % 60:
            text = local.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return local

    def official(pk, full_name, position):
        return None if pk is None else {"id": pk, "full_name": full_name, "position": position}

    return [
        {
            "id": row.id,
            "task": row.task__code,
            "task_title": row.task__title,
            "group": row.task__group_id,
            "plan": row.task__group__plan_id,
            "unit": row.unit__code,
            "unit_name": row.unit__name,
            "role": row.role,
            "responsible": official(row.responsible_id, row.responsible__full_name, row.responsible__position),
            "authority": official(row.authority_id, row.authority__full_name, row.authority__position),
            "start_date": row.start_date,
            "deadline": row.deadline,
            "original_deadline": row.original_deadline,
            "deliverable": row.deliverable or row.task__deliverable,
            "acceptance_criteria": row.acceptance_criteria or row.task__acceptance_criteria,
            "status": row.status,
            "timeliness": row.timeliness,
            "progress": row.progress,
            "issued_at": moment(row.issued_at),
            "submitted_at": moment(row.submitted_at),
            "completed_at": moment(row.completed_at),
            "return_count": row.return_count,
            "version": row.version,
            "created_at": moment(row.created_at),
            "updated_at": moment(row.updated_at),
        }
        for row in rows
    ]


def assignment_list_json(rows) -> orjson.Fragment:
    """`assignment_list_data` as JSON written by orjson itself, dates and moments included (in C, where
    the API's renderer hands them to DRF's Python encoder): the same bytes, `Z` by OPT_UTC_Z as DRF
    writes it for a zero offset. The renderer splices the fragment into the page as it is."""
    return orjson.Fragment(orjson.dumps(assignment_list_data(rows), option=orjson.OPT_UTC_Z))


class SourceDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceDocument
        fields = ["id", "number", "date", "issuer", "summary"]
        read_only_fields = fields


class TaskSerializer(serializers.ModelSerializer):
    source_document = SourceDocumentSerializer(read_only=True, allow_null=True)
    group = serializers.IntegerField(source="group_id", read_only=True)
    group_title = serializers.CharField(source="group.title", read_only=True)
    plan = serializers.IntegerField(source="group.plan_id", read_only=True)
    authority = OfficialSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "code",
            "number",
            "title",
            "description",
            "group",
            "group_title",
            "plan",
            "deliverable",
            "acceptance_criteria",
            "default_deadline",
            "authority",
            "indicator",
            "source_document",
        ]
        read_only_fields = fields


class SourceDocumentInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=100)
    date = serializers.DateField()
    issuer = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TaskCreateSerializer(serializers.Serializer):
    """A new task given to units (POST /api/v1/tasks/): the web form's fields, the same rule."""

    group = serializers.PrimaryKeyRelatedField(queryset=TaskGroup.objects.select_related("plan"))
    code = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    deliverable = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    acceptance_criteria = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    deadline = serializers.DateField(required=False, allow_null=True, default=None)
    authority = serializers.PrimaryKeyRelatedField(
        queryset=Official.objects.all(), required=False, allow_null=True, default=None
    )
    units = serializers.SlugRelatedField(
        slug_field="code", queryset=Unit.objects.all(), many=True, required=False, default=list
    )
    all_communes = serializers.BooleanField(
        required=False, default=False, help_text="Every commune-level unit of the caller's province."
    )
    role = serializers.ChoiceField(choices=Assignment.Role.choices, required=False, allow_blank=True, default="")
    source_document = SourceDocumentInputSerializer(required=False, allow_null=True, default=None)
    source_document_id = serializers.PrimaryKeyRelatedField(
        queryset=SourceDocument.objects.all(), required=False, allow_null=True, default=None
    )
    issue = serializers.BooleanField(required=False, default=False, help_text="Issue at once (needs the six clears).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # An existing document behind another province's wall is not there for the caller.
            field = cast(serializers.PrimaryKeyRelatedField, self.fields["source_document_id"])
            field.queryset = SourceDocument.objects.visible_to(request_actor(request))


class TaskDetailSerializer(TaskSerializer):
    assignments = AssignmentSerializer(many=True, read_only=True, source="visible_assignments")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "assignments"]
        read_only_fields = fields


class EvidenceSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="A link given as evidence (null for a file).")
    download_url = serializers.SerializerMethodField(help_text="Where to download a file (null for a link).")

    class Meta:
        model = Evidence
        fields = ["id", "url", "original_name", "content_type", "size", "download_url", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, evidence) -> str | None:
        return evidence.url or None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, evidence) -> str | None:
        if not evidence.file:
            return None
        path = reverse("api:evidence-download", args=[evidence.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ProgressReportSerializer(serializers.ModelSerializer):
    author = OfficialSerializer(read_only=True, allow_null=True)
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = ProgressReport
        fields = ["id", "assignment", "kind", "author", "author_label", "created_at", "status", "percent", "note"]
        fields += ["evidence"]
        read_only_fields = fields


class _EvidenceInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    links = serializers.ListField(
        child=serializers.URLField(max_length=1000), required=False, default=list, max_length=20
    )
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, default=list)

    def validate_files(self, files):
        # The one evidence rule of web and API: type read from the content, size and count capped.
        try:
            return evidence.validate_uploads(files)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class ProgressInputSerializer(_EvidenceInput):
    percent = serializers.IntegerField(min_value=0, max_value=100)


class SubmitInputSerializer(_EvidenceInput):
    pass


class AcceptInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class ReturnInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=10000)


class InspectionPhotoSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = InspectionPhoto
        fields = ["id", "original_name", "taken_at", "latitude", "longitude", "width", "height", "download_url"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_download_url(self, photo) -> str:
        path = reverse("api:inspection-photo-download", args=[photo.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class InspectionSerializer(serializers.ModelSerializer):
    inspector = OfficialSerializer(read_only=True)
    photos = InspectionPhotoSerializer(many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "assignment",
            "date",
            "inspector",
            "findings",
            "conclusion",
            "remedy_deadline",
            "remedy",
            "photos",
            "created_at",
        ]
        read_only_fields = fields


class InspectionInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    findings = serializers.CharField(max_length=10000)
    conclusion = serializers.ChoiceField(choices=Inspection.Conclusion.choices)
    remedy_deadline = serializers.DateField(required=False, allow_null=True, default=None)
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, default=list)


class ExtensionRequestSerializer(serializers.ModelSerializer):
    requested_by = OfficialSerializer(read_only=True, allow_null=True)
    decided_by = OfficialSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "assignment",
            "requested_by",
            "requested_by_label",
            "requested_at",
            "current_deadline",
            "requested_deadline",
            "reason",
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class ExtensionRequestInputSerializer(serializers.Serializer):
    requested_deadline = serializers.DateField()
    reason = serializers.CharField(max_length=10000)


class DecideInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEndpoint.EVENT_CHOICES), min_length=1, max_length=10
    )
    url = serializers.URLField(max_length=1000, validators=[URLValidator(schemes=["http", "https"])])

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_events(self, events):
        return sorted(set(events))

    def validate_url(self, url):
        # A unit's key must not make this server call into the city's internal network; checked
        # again at every delivery attempt (webhooks.checked_address).
        if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
            return url  # development: any address, resolved only when sending
        try:
            checked_address(url)
        except DestinationRefused as exc:
            raise serializers.ValidationError(_("Địa chỉ nhận phải là một địa chỉ công khai trên Internet.")) from exc
        return url


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The registration answer: the signing secret, shown this once."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = ["id", "created_at", "secret"]
