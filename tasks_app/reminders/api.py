"""GET /api/v1/reminders/: the caller's reminders — what was sent, is waiting or failed, per assignment.

An official sees the reminders addressed to them; the city office, city leaders and API keys see
the reminders of every assignment they may see (the office watches dead deliveries here too).

These are the ledger's per-assignment rows (`Delivery`). Since issue 14 the sweep records a day as
one digest per recipient and channel, and a sender expands it into these rows just before sending:
a day's reminders are listed once expanded (normally seconds after the sweep), and a channel the
recipient has no address on is one skipped digest per recipient and day (admin), not listed here.
"""

import django_filters
from rest_framework import generics, serializers

from tasks_app.scope import request_actor

from .models import Channel, Delivery


class ReminderSerializer(serializers.ModelSerializer):
    assignment = serializers.IntegerField(source="assignment_id", read_only=True)
    task_code = serializers.CharField(source="assignment.task.code", read_only=True)
    task_title = serializers.CharField(source="assignment.task.title", read_only=True)
    unit_code = serializers.CharField(source="assignment.unit.code", read_only=True)
    recipient = serializers.IntegerField(source="recipient_id", read_only=True)
    recipient_name = serializers.CharField(source="recipient.full_name", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "assignment",
            "task_code",
            "task_title",
            "unit_code",
            "stage",
            "offset_days",
            "deadline",
            "day",
            "recipient",
            "recipient_name",
            "recipient_role",
            "channel",
            "status",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "last_error",
        ]
        read_only_fields = fields


class ReminderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Delivery.Status.choices)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    day_after = django_filters.DateFilter(field_name="day", lookup_expr="gte")
    day_before = django_filters.DateFilter(field_name="day", lookup_expr="lte")

    class Meta:
        model = Delivery
        fields = ["assignment", "status", "channel", "day_after", "day_before"]


class ReminderList(generics.ListAPIView):
    """Danh sách lượt nhắc việc của người gọi, theo phân công (sổ nhắc việc).

    The caller's reminders, one row per assignment, stage, recipient and channel. A day's reminders
    appear once the sender has expanded the recipient's daily digest into these rows (normally
    seconds after the sweep); a channel the recipient has no address on is recorded once per
    recipient and day as a skipped digest (admin), not as a row here."""

    serializer_class = ReminderSerializer
    filterset_class = ReminderFilter

    def get_queryset(self):
        return (
            Delivery.objects.visible_to(request_actor(self.request))
            .select_related("assignment__task", "assignment__unit", "recipient")
            .order_by("-day", "-id")
        )
