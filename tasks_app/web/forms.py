"""Forms of the web pages. Each action form carries the assignment version it was rendered with."""

from __future__ import annotations

from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from tasks_app import evidence
from tasks_app.models import Assignment, TaskGroup, Unit
from tasks_app.status import Status, Timeliness


def _choice(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of the form, to set its choices per request."""
    return cast(forms.ChoiceField, form.fields[name])


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
    note = forms.CharField(label=_("Nội dung báo cáo"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    # (The ignores: a form's `files` is also its uploads; the metaclass moves this field out of the way.)
    files = MultipleFileField(  # type: ignore[assignment]
        label=_("Tệp minh chứng"),
        required=False,
        help_text=lazy(evidence.accepted_hint, str)(),
    )
    links = LinksField(label=_("Đường dẫn minh chứng"), required=False, help_text=_("Mỗi dòng một đường dẫn."))


class SubmitForm(VersionedForm):
    note = forms.CharField(label=_("Thuyết minh sản phẩm"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
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
    reason = forms.CharField(label=_("Lý do đề nghị gia hạn"), widget=forms.Textarea(attrs={"rows": 3}))


class AcceptForm(VersionedForm):
    note = forms.CharField(label=_("Ý kiến nghiệm thu"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ReturnForm(VersionedForm):
    reason = forms.CharField(label=_("Lý do trả lại"), widget=forms.Textarea(attrs={"rows": 3}))


class CancelForm(VersionedForm):
    reason = forms.CharField(label=_("Lý do hủy"), widget=forms.Textarea(attrs={"rows": 2}))


class DecideExtensionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Quyết định"),
        choices=[("approve", _("Chấp thuận")), ("reject", _("Không chấp thuận"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Ý kiến"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


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

    def __init__(self, *args, groups=(), show_unit=False, **kwargs):
        super().__init__(*args, **kwargs)
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

    def __init__(self, *args, groups=(), provinces=(), **kwargs):
        super().__init__(*args, **kwargs)
        _choice(self, "group").choices = [("", _("Mọi nhóm"))] + [(g.pk, str(g)) for g in groups]
        self.fields["q"].widget.input_type = "search"
        if len(provinces) > 1:
            _choice(self, "parent").choices = [("", _("Mọi tỉnh, thành phố"))] + [(p.pk, p.name) for p in provinces]
        else:
            # One city (Hải Phòng alone): nothing to choose, one field less on a phone.
            del self.fields["parent"]


def group_choices():
    return TaskGroup.objects.select_related("plan").order_by("plan__year", "number")
