from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from tasks_app.api.models import ApiKey, WebhookDelivery, WebhookEndpoint

# Our keys are tasks_api.ApiKey; the library's own model stays unused and out of the admin.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    # The library's admin shows the new key once, in a message, after "save".
    # (The ignores: the library types its defaults as tuples of their exact length.)
    list_display = (  # type: ignore[assignment]
        "name",
        "prefix",
        "unit",
        "is_portal",
        "created",
        "last_used_at",
        "expiry_date",
        "_has_expired",
        "revoked",
    )
    list_filter = ("is_portal", "revoked", "created")  # type: ignore[assignment]
    search_fields = ("name", "prefix", "unit__code", "unit__name")  # type: ignore[assignment]
    autocomplete_fields = ["unit"]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "last_used_at")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "api_key", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "api_key__name"]
    list_select_related = ["api_key"]
    readonly_fields = ["secret", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: what was sent where, how often it was tried and why it failed."""

    list_display = ["created_at", "event", "endpoint", "assignment_id", "attempts", "response_status", "sent_at", "ok"]
    list_filter = ["event", ("sent_at", admin.EmptyFieldListFilter), "endpoint"]
    search_fields = ["event_id", "endpoint__url", "last_error"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    date_hierarchy = "created_at"

    @admin.display(boolean=True, description=_("đã gửi"))
    def ok(self, delivery):
        return delivery.sent_at is not None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
