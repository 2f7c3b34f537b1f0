"""Thin viewsets: `visible_to` scopes every read (outside scope → 404), the lifecycle decides every
write (not allowed → 403, wrong state → 409, stale If-Match → 412; see exceptions.py)."""

from __future__ import annotations

from typing import cast

from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from tasks_app import actions, evidence, inspections
from tasks_app.api import serializers as s
from tasks_app.api import stamps
from tasks_app.api.conditional import LIST_CACHE_CONTROL
from tasks_app.api.filters import (
    AssignmentFilter,
    AssignmentSyncFilter,
    ExtensionRequestFilter,
    TaskFilter,
    UnitFilter,
)
from tasks_app.api.models import WebhookEndpoint
from tasks_app.api.pagination import ApiPagination, AssignmentSyncPagination, settled_until
from tasks_app.api.permissions import HasApiKey, IsAuthenticatedOrApiKey, has_api_key
from tasks_app.api.prepared import Statement, StatementCache, prepared
from tasks_app.api.renderers import ApiJSONRenderer
from tasks_app.inputs import DepthLimitedJSONParser, is_id
from tasks_app.models import Assignment, Evidence, ExtensionRequest, InspectionPhoto, Plan, ProgressReport, Task, Unit
from tasks_app.scope import actor_scope, in_province_filter, request_actor

# Database ids in URLs: digits that fit a bigint, so no input reaches the database out of range.
ID_PATTERN = r"[0-9]{1,18}"
CODE_PATTERN = r"[A-Za-z0-9_.\-]{1,30}"

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description='The assignment\'s ETag (e.g. `"7"`) as read: the write is refused with 412 if it changed since.',
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="The assignment's version, for If-Match.",
)
LIST_ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 304],
    description="The page's version: send it back in If-None-Match to get 304 while nothing the page shows changed.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of a page read before: 304 with no body if nothing it shows has changed since.",
)
WRITE_PARSERS = [DepthLimitedJSONParser, MultiPartParser, FormParser]
# The assignment list's compiled statements, per process (AssignmentViewSet.list).
LIST_STATEMENTS = StatementCache()


def etag(assignment) -> str:
    return f'"{assignment.version}"'


def if_match_version(request) -> int | None:
    """The version named by If-Match; None when absent or `*`; -1 (matches nothing) when unreadable."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    tag = raw.split(",")[0].strip().removeprefix("W/").strip('"')
    return int(tag) if is_id(tag) and len(tag) < 10 else -1


class PortalKeysReadOnly(BasePermission):
    """A portal key sees everything and changes nothing: refused before any input is read."""

    message = _("Khóa cổng thông tin chỉ được đọc dữ liệu.")

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or not (has_api_key(request) and request.auth.is_portal)


@extend_schema_view(
    list=extend_schema(summary="Units (communes, wards, departments, the city)"),
    retrieve=extend_schema(summary="One unit by its official code"),
)
class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.UnitSerializer
    filterset_class = UnitFilter
    lookup_field = "code"
    lookup_value_regex = CODE_PATTERN

    def get_queryset(self):
        # The units of the caller's province (every province for national callers).
        units = Unit.objects.select_related("parent", "head").order_by("code")
        q = in_province_filter(actor_scope(request_actor(self.request)))
        return units if q is None else units.filter(q)


@extend_schema_view(
    list=extend_schema(summary="The plan's specific tasks"),
    retrieve=extend_schema(summary="One task, with the assignments the caller may see"),
    create=extend_schema(
        summary="Give a new task to units (the city office or an authority); draft or issued at once",
        request=s.TaskCreateSerializer,
        responses={201: s.TaskDetailSerializer},
    ),
)
class TaskViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    filterset_class = TaskFilter
    lookup_field = "code"
    lookup_value_regex = CODE_PATTERN
    permission_classes = [IsAuthenticatedOrApiKey, PortalKeysReadOnly]

    def get_serializer_class(self):
        if self.action == "create":
            return s.TaskCreateSerializer
        return s.TaskDetailSerializer if self.action == "retrieve" else s.TaskSerializer

    def get_queryset(self):
        tasks = Task.objects.select_related("group", "authority", "source_document").order_by(
            "group__plan", "number", "id"
        )
        tasks = tasks.filter(group__plan__in=Plan.objects.visible_to(request_actor(self.request)))
        if self.action in ("retrieve", "create"):
            visible = (
                Assignment.objects.visible_to(request_actor(self.request))
                .with_timeliness()
                .select_related("task__group", "unit", "responsible", "authority")
                .order_by("deadline", "id")
            )
            tasks = tasks.prefetch_related(Prefetch("assignments", queryset=visible, to_attr="visible_assignments"))
        return tasks

    def create(self, request, *args, **kwargs):
        serializer = s.TaskCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actor = request_actor(request)
        units = actions.communes_of_province(actor) if data["all_communes"] else data["units"]
        task, _assignments = actions.give_task(
            by=actor,
            group=data["group"],
            title=data["title"],
            description=data["description"],
            deliverable=data["deliverable"],
            acceptance_criteria=data["acceptance_criteria"],
            deadline=data["deadline"],
            authority=data["authority"],
            units=units,
            role=data["role"],
            source_document=data["source_document_id"] or data["source_document"],
            code=data["code"],
            issue=data["issue"],
        )
        task = self.get_queryset().get(pk=task.pk)
        body = s.TaskDetailSerializer(task, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="Assignments the caller may see, by deadline",
        parameters=[IF_NONE_MATCH, LIST_ETAG],
        responses={200: s.AssignmentSerializer(many=True), 304: OpenApiResponse(description="Not modified.")},
    ),
    retrieve=extend_schema(summary="One assignment", parameters=[ETAG]),
)
class AssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.AssignmentSerializer
    filterset_class = AssignmentFilter
    lookup_value_regex = ID_PATTERN
    permission_classes = [IsAuthenticatedOrApiKey, PortalKeysReadOnly]

    def get_queryset(self):
        return (
            Assignment.objects.visible_to(request_actor(self.request))
            .with_timeliness()
            .select_related("task__group", "unit", "responsible", "authority")
            .order_by("deadline", "id")
        )

    def list(self, request, *args, **kwargs):
        alias = router.db_for_read(Assignment) or DEFAULT_DB_ALIAS
        paginator = cast(ApiPagination, self.paginator)
        with prepared(alias):  # each statement planned once per connection (prepared.py)
            key = has_api_key(request)
            scopes, identity = stamps.scopes_of(actor_scope(request_actor(request)), None if key else request.user.pk)
            tag = None
            if "HTTP_IF_NONE_MATCH" in request.META:
                # The ETag first, from the change stamps of the caller's scope (one small query): an
                # unchanged page is answered 304 before anything is filtered or read (stamps.py
                # says why it is never stale). A key's is mostly answered earlier (conditional.py).
                tag = stamps.list_etag(request, stamps.read(scopes, alias), identity)
                if stamps.if_none_match(request, tag):
                    headers = {"ETag": tag, "Cache-Control": LIST_CACHE_CONTROL}
                    return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
            # The page, its count and its stamps in one statement (ApiPagination.page_query),
            # compiled once per process for the same key scope, query and day: django-filter's form
            # and the ORM's compilation are paid by the first such request only; the rows are read
            # every time. (Keys only: a key's scope is its identity; a user's depends on their official.)
            cache_key = (identity, request.META.get("QUERY_STRING", ""), timezone.localdate()) if key else None
            found = LIST_STATEMENTS.get(cache_key)
            if found is None:
                query = paginator.page_query(
                    self.filter_queryset(self.get_queryset()),
                    s.ASSIGNMENT_LIST_COLUMNS,
                    request,
                    list_stamps=stamps.in_statement(scopes, alias),
                )
                if query is None:  # `page=last`: counted first, then read; the stamps before both
                    tag = tag or stamps.list_etag(request, stamps.read(scopes, alias), identity)
                    rows = paginator.paginate_rows(
                        self.filter_queryset(self.get_queryset()), s.ASSIGNMENT_LIST_COLUMNS, request, self
                    )
                else:
                    found = (Statement(query[0]), query[1], query[2])
                    LIST_STATEMENTS.put(cache_key, found)
            if found is not None:
                statement, number, size = found
                rows = paginator.take(statement.rows(), number, size, request)
            if rows and hasattr(rows[0], "list_stamps"):  # the stamps the page was read with
                tag = stamps.list_etag(request, rows[0].list_stamps, identity)
        # An empty page carries no stamps: its ETag only if they were read before it (never after:
        # a write committed in between would make an older page look current).
        headers = (
            {"Cache-Control": LIST_CACHE_CONTROL} if tag is None else {"ETag": tag, "Cache-Control": LIST_CACHE_CONTROL}
        )
        # Plain rows instead of model instances and nested serializers: the same JSON, a fraction
        # of the CPU (tests/test_api_perf.py compares it with AssignmentSerializer's).
        response = self.get_paginated_response(self._list_results(request, rows))
        for name, value in headers.items():
            response[name] = value
        return response

    @extend_schema(
        summary="Sync: the assignments changed since a moment, in keyset pages by (updated_at, id), no count",
        responses=s.AssignmentSerializer(many=True),
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=AssignmentSyncPagination,
        filterset_class=AssignmentSyncFilter,
    )
    def sync(self, request):
        """Every assignment the caller sees that changed in `[updated_since, until)`, each once, in
        pages that follow `next`; the last page's `next_since` starts the next sync (README: syncing)."""
        queryset = self.filter_queryset(self.get_queryset())
        with prepared(queryset.db):
            paginator = cast(AssignmentSyncPagination, self.paginator)
            rows = paginator.paginate_rows(queryset, s.ASSIGNMENT_LIST_COLUMNS, request, self, settled=settled_until)
        return self.get_paginated_response(self._list_results(request, rows))

    @staticmethod
    def _list_results(request, rows):
        # Written by orjson for the API's JSON renderer; plain data for another (the browsable API).
        if isinstance(request.accepted_renderer, ApiJSONRenderer):
            return s.assignment_list_json(rows)
        return s.assignment_list_data(rows)

    def retrieve(self, request, *args, **kwargs):
        assignment = self.get_object()
        return Response(self.get_serializer(assignment).data, headers={"ETag": etag(assignment)})

    def _valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _report_created(self, assignment, report):
        report = ProgressReport.objects.select_related("author").prefetch_related("evidence").get(pk=report.pk)
        data = s.ProgressReportSerializer(report, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"ETag": etag(assignment)})

    @extend_schema(
        summary="Report progress (percent, note, evidence links and files)",
        request={"application/json": s.ProgressInputSerializer, "multipart/form-data": s.ProgressInputSerializer},
        responses={201: s.ProgressReportSerializer},
        parameters=[IF_MATCH, ETAG],
    )
    @action(detail=True, methods=["post"], parser_classes=WRITE_PARSERS)
    def progress(self, request, pk=None):
        assignment = self.get_object()
        data = self._valid(s.ProgressInputSerializer)
        with transaction.atomic():  # the report and its files together, or neither
            report = assignment.report_progress(
                by=request_actor(request),
                percent=data["percent"],
                note=data["note"],
                links=data["links"],
                expected_version=if_match_version(request),
            )
            evidence.attach_files(report, data["files"])
        return self._report_created(assignment, report)

    @extend_schema(
        summary="Submit the deliverable",
        request={"application/json": s.SubmitInputSerializer, "multipart/form-data": s.SubmitInputSerializer},
        responses={201: s.ProgressReportSerializer},
        parameters=[IF_MATCH, ETAG],
    )
    @action(detail=True, methods=["post"], parser_classes=WRITE_PARSERS)
    def submit(self, request, pk=None):
        assignment = self.get_object()
        data = self._valid(s.SubmitInputSerializer)
        with transaction.atomic():
            report = assignment.submit(
                by=request_actor(request),
                note=data["note"],
                links=data["links"],
                expected_version=if_match_version(request),
            )
            evidence.attach_files(report, data["files"])
        return self._report_created(assignment, report)

    @extend_schema(
        summary="Accept the submitted deliverable (the authority only)",
        request=s.AcceptInputSerializer,
        responses={201: s.ProgressReportSerializer},
        parameters=[IF_MATCH, ETAG],
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        assignment = self.get_object()
        data = self._valid(s.AcceptInputSerializer)
        report = assignment.accept(
            by=request_actor(request), note=data["note"], expected_version=if_match_version(request)
        )
        return self._report_created(assignment, report)

    @extend_schema(
        summary="Return the submitted deliverable with a reason (the authority only)",
        request=s.ReturnInputSerializer,
        responses={201: s.ProgressReportSerializer},
        parameters=[IF_MATCH, ETAG],
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        assignment = self.get_object()
        data = self._valid(s.ReturnInputSerializer)
        report = assignment.return_(
            by=request_actor(request), reason=data["reason"], expected_version=if_match_version(request)
        )
        return self._report_created(assignment, report)

    @extend_schema(
        summary="Ask the authority for a later deadline",
        request=s.ExtensionRequestInputSerializer,
        responses={201: s.ExtensionRequestSerializer},
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"], url_path="extension-requests", url_name="extension-requests")
    def extension_requests(self, request, pk=None):
        assignment = self.get_object()
        data = self._valid(s.ExtensionRequestInputSerializer)
        extension = assignment.request_extension(
            by=request_actor(request),
            requested_deadline=data["requested_deadline"],
            reason=data["reason"],
            expected_version=if_match_version(request),
        )
        extension = ExtensionRequest.objects.select_related("requested_by", "decided_by").get(pk=extension.pk)
        return Response(
            s.ExtensionRequestSerializer(extension).data,
            status=status.HTTP_201_CREATED,
            headers={"ETag": etag(assignment)},
        )

    @extend_schema(
        methods=["GET"],
        summary="The assignment's field inspections, newest first",
        responses=s.InspectionSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a field inspection with photos (city office, leaders, the authority, inspectors)",
        request={"multipart/form-data": s.InspectionInputSerializer, "application/json": s.InspectionInputSerializer},
        responses={201: s.InspectionSerializer},
    )
    @action(
        detail=True, methods=["get", "post"], parser_classes=WRITE_PARSERS, filterset_class=None, pagination_class=None
    )
    def inspections(self, request, pk=None):
        assignment = self.get_object()
        context = self.get_serializer_context()
        if request.method == "POST":
            data = self._valid(s.InspectionInputSerializer)
            inspection = inspections.record_inspection(
                assignment,
                by=request_actor(request),
                date=data["date"],
                findings=data["findings"],
                conclusion=data["conclusion"],
                remedy_deadline=data["remedy_deadline"],
                uploads=data["photos"],
            )
            inspection = (
                assignment.inspections.select_related("inspector").prefetch_related("photos").get(pk=inspection.pk)
            )
            return Response(s.InspectionSerializer(inspection, context=context).data, status=status.HTTP_201_CREATED)
        rows = assignment.inspections.select_related("inspector").prefetch_related("photos").order_by("-date", "-id")
        return Response(s.InspectionSerializer(rows, many=True, context=context).data)

    @extend_schema(
        summary="The assignment's progress reports, oldest first", responses=s.ProgressReportSerializer(many=True)
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def reports(self, request, pk=None):
        assignment = self.get_object()
        reports = (
            ProgressReport.objects.filter(assignment=assignment)
            .select_related("author")
            .prefetch_related("evidence")
            .order_by("created_at", "id")
        )
        # Unpaginated: one assignment's reports are few, and a reader wants them all in order.
        return Response(s.ProgressReportSerializer(reports, many=True, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(summary="Extension requests on the assignments the caller may see"),
    retrieve=extend_schema(summary="One extension request"),
)
class ExtensionRequestViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ExtensionRequestSerializer
    filterset_class = ExtensionRequestFilter
    lookup_value_regex = ID_PATTERN
    permission_classes = [IsAuthenticatedOrApiKey, PortalKeysReadOnly]

    def get_queryset(self):
        return (
            ExtensionRequest.objects.visible_to(request_actor(self.request))
            .select_related("requested_by", "decided_by")
            .order_by("-requested_at", "-id")
        )

    @extend_schema(
        summary="Approve or reject (the authority only); approval moves the deadline",
        request=s.DecideInputSerializer,
        responses={200: s.ExtensionRequestSerializer},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def decide(self, request, pk=None):
        extension = self.get_object()
        serializer = s.DecideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extension.decide(
            by=request_actor(request),
            approve=serializer.validated_data["approve"],
            note=serializer.validated_data["note"],
        )
        extension = self.get_queryset().get(pk=extension.pk)
        return Response(self.get_serializer(extension).data)


class EvidenceDownloadView(generics.GenericAPIView):
    """An evidence file, only for those who may see its assignment, always as a download."""

    @extend_schema(
        summary="Download an evidence file",
        responses={
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as an attachment, with the type read from its content."
            )
        },
    )
    def get(self, request, pk):
        visible = Assignment.objects.visible_to(request_actor(request)).values("pk")
        item = Evidence.objects.filter(pk=pk, report__assignment__in=visible).exclude(file="").first()
        if item is None:
            raise Http404
        return evidence.evidence_response(item)


class InspectionPhotoDownloadView(generics.GenericAPIView):
    """An inspection photo (the stored, metadata-free copy), only for those who may see its assignment."""

    @extend_schema(
        summary="Download an inspection photo",
        responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The photo (JPEG).")},
    )
    def get(self, request, pk):
        visible = Assignment.objects.visible_to(request_actor(request)).values("pk")
        photo = InspectionPhoto.objects.filter(pk=pk, inspection__assignment__in=visible).first()
        if photo is None:
            raise Http404
        name = (photo.original_name or photo.file.name).rsplit("/", 1)[-1]
        return evidence.file_response(photo.file, name, "image/jpeg")


@extend_schema_view(
    list=extend_schema(summary="Webhooks registered with the calling key"),
    create=extend_schema(
        summary="Register a webhook (the signing secret is shown once)",
        responses={201: s.WebhookEndpointCreatedSerializer},
    ),
)
class WebhookEndpointViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.WebhookEndpointSerializer
    permission_classes = [HasApiKey]
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if not has_api_key(self.request):  # the schema generator asks without a request key
            return WebhookEndpoint.objects.none()
        return WebhookEndpoint.objects.filter(api_key_id=self.request.auth.pk).order_by("id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save(api_key=request.auth)
        return Response(s.WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)
