"""The status of an assignment, its named sets, and the timeliness classes.

These are the choices of `Assignment.status` and of the `timeliness` annotation. They sit beside
the models (which use them for choices, constraints and the partial index) and below the
lifecycle (which decides the moves between them), so neither of those imports the other's rules.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("Dự thảo")
    ISSUED = "issued", _("Đã giao")
    IN_PROGRESS = "in_progress", _("Đang thực hiện")
    SUBMITTED = "submitted", _("Đã nộp sản phẩm")
    RETURNED = "returned", _("Bị trả lại")
    ACCEPTED = "accepted", _("Đã nghiệm thu")
    CANCELLED = "cancelled", _("Đã hủy")


# Issued and not yet finished: what reminders, "my work", overdue counts and the sweep's partial
# index look at.
OPEN: tuple[Status, ...] = (Status.ISSUED, Status.IN_PROGRESS, Status.SUBMITTED, Status.RETURNED)
# The unit still works on it: it may report progress and ask for more time.
WORKING: tuple[Status, ...] = (Status.ISSUED, Status.IN_PROGRESS, Status.RETURNED)
# Counted in the dashboard, KPI and reports: everything issued, done or not; not drafts, not cancelled.
TRACKED: tuple[Status, ...] = (*OPEN, Status.ACCEPTED)
# The authority may cancel from these.
CANCELLABLE: tuple[Status, ...] = (Status.DRAFT, *OPEN)


class Timeliness(models.TextChoices):
    NOT_YET_DUE = "not_yet_due", _("Chưa đến hạn")
    ON_TIME = "in_progress_on_time", _("Đang thực hiện trong hạn")
    OVERDUE = "in_progress_overdue", _("Đang thực hiện quá hạn")
    COMPLETED_ON_TIME = "completed_on_time", _("Hoàn thành đúng hạn")
    COMPLETED_LATE = "completed_late", _("Hoàn thành quá hạn")


# Counted as a delay in KPI: late work, done or not.
DELAYED: tuple[Timeliness, ...] = (Timeliness.OVERDUE, Timeliness.COMPLETED_LATE)
