"""Forms of the web pages. Each action form carries the assignment version it was rendered with."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from tasks_app import evidence
from tasks_app.lifecycle import NOTE_MAX_LENGTH
from tasks_app.models import Assignment, Official, Plan, SourceDocument, TaskGroup, Unit
from tasks_app.scope import actor_scope, in_province_filter
from tasks_app.status import Status, Timeliness


def _choice(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of the form, to set its choices per request."""
    return cast(forms.ChoiceField, form.fields[name])


def _model_choice(form: forms.Form, name: str) -> forms.ModelChoiceField:
    """A model choice field of the form, to set its queryset per request."""
    return cast(forms.ModelChoiceField, form.fields[name])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by content in `tasks_app.evidence`."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        return evidence.validate_uploads(files)


class LinksField(forms.CharField):
    """Evidence links, one per line; http(s) only."""

    widget = forms.Textarea(attrs={"rows": 2})

    def clean(self, value):
        value = super().clean(value)
        links = [line.strip() for line in (value or "").splitlines() if line.strip()]
        validator = URLValidator(schemes=["http", "https"])
        for link in links:
            try:
                validator(link)
            except ValidationError as exc:
                raise ValidationError(
                    _("Đường dẫn không hợp lệ: %(link)s (chỉ nhận http:// hoặc https://)"),
                    params={"link": link},
                    code="invalid_link",
                ) from exc
        return links


def note_field(label, *, required: bool = False, rows: int = 3) -> forms.CharField:
    """A note or a reason: its limit stated under it and enforced by the browser and the lifecycle."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
        # Lazy to the end: the form classes are built once, the text is read in each user's language.
        help_text=format_lazy(_("Tối đa {n} ký tự."), n=f"{NOTE_MAX_LENGTH:,}".replace(",", ".")),
    )


class VersionedForm(forms.Form):
    """The version of the assignment the user saw; a different current version means a stale form."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ProgressForm(VersionedForm):
    percent = forms.IntegerField(
        label=_("Tiến độ (%)"),
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 5}),
    )
    note = note_field(_("Nội dung báo cáo"))
    # (The ignores: a form's `files` is also its uploads; the metaclass moves this field out of the way.)
    files = MultipleFileField(  # type: ignore[assignment]
        label=_("Tệp minh chứng"),
        required=False,
        help_text=lazy(evidence.accepted_hint, str)(),
    )
    links = LinksField(label=_("Đường dẫn minh chứng"), required=False, help_text=_("Mỗi dòng một đường dẫn."))


class SubmitForm(VersionedForm):
    note = note_field(_("Thuyết minh sản phẩm"))
    files = MultipleFileField(label=_("Tệp sản phẩm"), required=False, help_text=lazy(evidence.accepted_hint, str)())  # type: ignore[assignment]
    links = LinksField(label=_("Đường dẫn sản phẩm"), required=False, help_text=_("Mỗi dòng một đường dẫn."))

    def clean(self):
        cleaned = super().clean() or {}
        if not self.errors and not cleaned.get("files") and not cleaned.get("links"):
            raise ValidationError(
                _("Hãy đính kèm sản phẩm: ít nhất một tệp hoặc một đường dẫn."), code="no_deliverable"
            )
        return cleaned


class ExtensionForm(VersionedForm):
    requested_deadline = forms.DateField(
        label=_("Thời hạn đề nghị"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    reason = note_field(_("Lý do đề nghị gia hạn"), required=True)

    def __init__(self, *args, limit=None, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["requested_deadline"]
        if current is not None:
            field.widget.attrs["min"] = (current + dt.timedelta(days=1)).isoformat()
        if limit is not None:
            field.widget.attrs["max"] = limit.isoformat()
            field.help_text = _("Sau thời hạn hiện tại và không quá %(limit)s (giới hạn gia hạn của kế hoạch).") % {
                "limit": limit.strftime("%d/%m/%Y")
            }


class AcceptForm(VersionedForm):
    note = note_field(_("Ý kiến nghiệm thu"), rows=2)


class ReturnForm(VersionedForm):
    reason = note_field(_("Lý do trả lại"), required=True)


class CancelForm(VersionedForm):
    reason = note_field(_("Lý do hủy"), required=True, rows=2)


class DecideExtensionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Quyết định"),
        choices=[("approve", _("Chấp thuận")), ("reject", _("Không chấp thuận"))],
        widget=forms.RadioSelect,
    )
    note = note_field(_("Ý kiến"), rows=2)


class AssignmentFilterForm(forms.Form):
    """Filters of "my work" and the assignment list; every field optional, bad values ignored."""

    DUE_CHOICES = [("", _("Mọi thời hạn")), ("week", _("Đến hạn trong 7 ngày"))]

    q = forms.CharField(label=_("Tìm kiếm"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Trạng thái"), required=False)
    timeliness = forms.ChoiceField(label=_("Phân loại"), required=False)
    group = forms.TypedChoiceField(label=_("Nhóm nhiệm vụ"), required=False, coerce=int, empty_value=None)
    role = forms.ChoiceField(label=_("Vai trò"), required=False)
    due = forms.ChoiceField(label=_("Thời hạn"), required=False, choices=DUE_CHOICES)
    unit = forms.CharField(label=_("Mã đơn vị"), required=False, max_length=20)
    month = forms.RegexField(label=_("Tháng hạn (yyyy-mm)"), required=False, regex=r"^\d{4}-(0[1-9]|1[0-2])$")
    plan = forms.TypedChoiceField(label=_("Kế hoạch"), required=False, coerce=int, empty_value=None)
    source_document = forms.TypedChoiceField(
        label=_("Văn bản giao nhiệm vụ"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, groups=(), show_unit=False, plans=(), documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        _source_filters(self, plans, documents)
        self.fields["q"].widget.input_type = "search"
        self.fields["q"].widget.attrs["placeholder"] = _("Mã, tên nhiệm vụ, đơn vị…")
        _choice(self, "status").choices = [("", _("Mọi trạng thái")), ("open", _("Chưa hoàn thành")), *Status.choices]
        _choice(self, "timeliness").choices = [("", _("Mọi phân loại")), *Timeliness.choices]
        _choice(self, "group").choices = [("", _("Mọi nhóm"))] + [(g.pk, str(g)) for g in groups]
        _choice(self, "role").choices = [("", _("Mọi vai trò")), *Assignment.Role.choices]
        if not show_unit:
            del self.fields["unit"]
            del self.fields["month"]


class DashboardFilterForm(forms.Form):
    SORTS = ["name", "code", "assigned", "on_time", "late", "overdue", "open", "rate"]
    KIND_CHOICES = [
        ("", _("Tất cả đơn vị")),
        ("commune", _("Cấp xã (phường, xã, đặc khu)")),
        (Unit.Kind.DEPARTMENT, _("Sở, ban, ngành")),
    ]

    q = forms.CharField(label=_("Tìm đơn vị"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Loại đơn vị"), required=False, choices=KIND_CHOICES)
    # The province (a unit of kind city) the units belong to: what makes 3,321 communes navigable.
    parent = forms.TypedChoiceField(label=_("Tỉnh, thành phố"), required=False, coerce=int, empty_value=None)
    group = forms.TypedChoiceField(label=_("Nhóm nhiệm vụ"), required=False, coerce=int, empty_value=None)
    sort = forms.ChoiceField(
        label=_("Sắp xếp"),
        required=False,
        choices=[
            ("overdue", _("Quá hạn nhiều nhất")),
            ("rate", _("Tỷ lệ đúng hạn thấp nhất")),
            ("assigned", _("Nhiều nhiệm vụ nhất")),
            ("name", _("Tên đơn vị")),
            ("code", _("Mã đơn vị")),
            ("on_time", _("Hoàn thành đúng hạn")),
            ("late", _("Hoàn thành quá hạn")),
            ("open", _("Đang thực hiện")),
        ],
    )

    # Which deadline the classes judge by: the current one (what the assignment list shows) or the
    # original one (what the reports and KPI use; an approved extension does not erase a delay).
    basis = forms.ChoiceField(
        label=_("Phân loại theo"),
        required=False,
        choices=[
            ("current", _("Thời hạn hiện hành (sau gia hạn)")),
            ("original", _("Thời hạn ban đầu (như báo cáo, KPI)")),
        ],
    )

    plan = forms.TypedChoiceField(label=_("Kế hoạch"), required=False, coerce=int, empty_value=None)
    source_document = forms.TypedChoiceField(
        label=_("Văn bản giao nhiệm vụ"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, groups=(), provinces=(), plans=(), documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        _source_filters(self, plans, documents)
        _choice(self, "group").choices = [("", _("Mọi nhóm"))] + [(g.pk, str(g)) for g in groups]
        self.fields["q"].widget.input_type = "search"
        if len(provinces) > 1:
            _choice(self, "parent").choices = [("", _("Mọi tỉnh, thành phố"))] + [(p.pk, p.name) for p in provinces]
        else:
            # One city (Hải Phòng alone): nothing to choose, one field less on a phone.
            del self.fields["parent"]


def _source_filters(form: forms.Form, plans, documents) -> None:
    """The plan and source-document filters: "the tasks of the November meeting's conclusions" in one click.
    Shown only when there is a choice to make (one field less on a phone otherwise)."""
    if len(plans) > 1:
        _choice(form, "plan").choices = [("", _("Mọi kế hoạch"))] + [(p.pk, p.name) for p in plans]
    else:
        del form.fields["plan"]
    if documents:
        _choice(form, "source_document").choices = [("", _("Mọi văn bản"))] + [
            (d.pk, f"{d.number} — {d.summary[:60]}" if d.summary else d.number) for d in documents
        ]
    else:
        del form.fields["source_document"]


def group_choices():
    return TaskGroup.objects.select_related("plan").order_by("plan__year", "number")


class TaskUnitsFilterForm(forms.Form):
    """Filters of the task page's units; every field optional, bad values ignored."""

    timeliness = forms.ChoiceField(label=_("Phân loại"), required=False)
    role = forms.ChoiceField(label=_("Vai trò"), required=False)
    q = forms.CharField(label=_("Đơn vị"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _choice(self, "timeliness").choices = [("", _("Mọi phân loại")), *Timeliness.choices]
        _choice(self, "role").choices = [("", _("Mọi vai trò")), *Assignment.Role.choices]
        self.fields["q"].widget.input_type = "search"
        self.fields["q"].widget.attrs["placeholder"] = _("Tên hoặc mã đơn vị")


# --- giving a task ---------------------------------------------------------------------------


class GroupChoiceField(forms.ModelChoiceField):
    """Groups named with their plan's year: several plans' groups share numbers and titles."""

    def label_from_instance(self, obj: TaskGroup) -> str:
        return f"{obj.plan.year} · {obj}"


class GiveTaskForm(forms.Form):
    """A new task with its six clears, for one unit, several, or every commune of the province.

    Every field is optional here: a draft may be incomplete. Issuing asks the lifecycle's one rule
    (`actions.give_task`), which names each missing clear.
    """

    TARGETS = [
        ("units", _("Các đơn vị chọn dưới đây")),
        ("communes", _("Tất cả xã, phường, đặc khu của tỉnh/thành phố")),
    ]

    group = GroupChoiceField(label=_("Nhóm nhiệm vụ (kế hoạch)"), queryset=TaskGroup.objects.none())
    title = forms.CharField(label=_("Tên nhiệm vụ (rõ việc)"), max_length=500, required=False)
    description = forms.CharField(
        label=_("Nội dung cần làm (rõ việc)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    deliverable = forms.CharField(label=_("Sản phẩm (rõ sản phẩm)"), max_length=500, required=False)
    acceptance_criteria = forms.CharField(
        label=_("Tiêu chí nghiệm thu (rõ sản phẩm)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    deadline = forms.DateField(
        label=_("Thời hạn (rõ thời gian)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    authority = forms.ModelChoiceField(
        label=_("Người có thẩm quyền (rõ thẩm quyền)"), queryset=Official.objects.none(), required=False
    )
    target = forms.ChoiceField(label=_("Giao cho"), choices=TARGETS, initial="units", widget=forms.RadioSelect)
    units = forms.ModelMultipleChoiceField(
        label=_("Đơn vị được giao"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Giữ Ctrl (máy tính) để chọn nhiều đơn vị."),
    )
    role = forms.ChoiceField(label=_("Vai trò của đơn vị (rõ trách nhiệm)"), required=False)
    code = forms.CharField(
        label=_("Mã nhiệm vụ"), max_length=30, required=False, help_text=_("Để trống để hệ thống tự đánh mã.")
    )
    source_document = forms.ModelChoiceField(
        label=_("Văn bản giao nhiệm vụ đã có"), queryset=SourceDocument.objects.none(), required=False
    )
    doc_number = forms.CharField(label=_("Số, ký hiệu văn bản"), max_length=100, required=False)
    doc_date = forms.DateField(
        label=_("Ngày ban hành"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    doc_issuer = forms.CharField(label=_("Cơ quan ban hành"), max_length=200, required=False)
    doc_summary = forms.CharField(label=_("Trích yếu"), max_length=500, required=False)

    def __init__(self, *args, giver: Official | None = None, actor: Any = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Behind the province wall (scope.py): the giver's province's groups, units, authorities
        # and documents only.
        in_province = in_province_filter(actor_scope(actor)) or Q()
        _model_choice(self, "group").queryset = (
            TaskGroup.objects.filter(plan__in=Plan.objects.visible_to(actor))
            .select_related("plan")
            .order_by("-plan__year", "number")
        )
        _model_choice(self, "authority").queryset = (
            Official.objects.filter(
                Q(role=Official.Role.LEADER)
                | Q(tasks_under_authority__isnull=False)
                | Q(pk=giver.pk if giver is not None else None)
            )
            .filter(unit__in=Unit.objects.filter(in_province))
            .distinct()
            .order_by("full_name")
        )
        _model_choice(self, "units").queryset = (
            Unit.objects.filter(in_province).exclude(kind__in=Unit.PROVINCE_LEVEL).order_by("kind", "code")
        )
        _choice(self, "role").choices = [("", _("— chưa chọn —")), *Assignment.Role.choices]
        _model_choice(self, "source_document").queryset = SourceDocument.objects.visible_to(actor)

    def source_document_data(self) -> SourceDocument | dict | None:
        data = getattr(self, "cleaned_data", {})
        if data.get("source_document"):
            return data["source_document"]
        if data.get("doc_number"):
            return {
                "number": data["doc_number"],
                "date": data.get("doc_date"),
                "issuer": data.get("doc_issuer", ""),
                "summary": data.get("doc_summary", ""),
            }
        return None


# --- field inspection ------------------------------------------------------------------------


class PhotoInput(forms.ClearableFileInput):
    """The phone's camera: several photos, images only (the server checks each by its content)."""

    allow_multiple_selected = True

    def __init__(self, attrs=None):
        super().__init__({"accept": "image/jpeg,image/png,image/webp", "capture": "environment", **(attrs or {})})


class PhotosField(forms.FileField):
    """Several photos in one input; each is checked and re-encoded by `tasks_app.photos`."""

    widget = PhotoInput

    def clean(self, data, initial=None):
        return [f for f in (data if isinstance(data, list | tuple) else [data]) if f]


class InspectionForm(forms.Form):
    date = forms.DateField(
        label=_("Ngày kiểm tra"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    findings = forms.CharField(label=_("Kết quả kiểm tra"), widget=forms.Textarea(attrs={"rows": 4}))
    conclusion = forms.ChoiceField(label=_("Kết luận"), widget=forms.RadioSelect)
    remedy_deadline = forms.DateField(
        label=_("Thời hạn khắc phục"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        help_text=_("Bắt buộc khi yêu cầu khắc phục: đơn vị nhận một phân công khắc phục có đủ sáu rõ."),
    )
    photos = PhotosField(
        label=_("Ảnh hiện trường"),
        required=False,
        help_text=_("Chụp bằng điện thoại; thời gian và vị trí chụp được đọc từ ảnh."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from tasks_app.models import Inspection

        _choice(self, "conclusion").choices = Inspection.Conclusion.choices
