from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from tasks_app.api.models import ApiKey, WebhookDelivery, WebhookEndpoint, new_webhook_secret

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
    # The signing secret is never on a page again after the one that shows it (ASVS 13.3.2): it
    # appears once at creation and once per rotation, on a page that is not cached.
    exclude = ["secret"]
    readonly_fields = ["created_at"]
    actions = ["rotate_secret"]

    def _show_secrets(self, request, endpoints):
        response = TemplateResponse(
            request,
            "admin/api/webhook_secrets.html",
            {**self.admin_site.each_context(request), "endpoints": endpoints, "title": _("Khóa ký webhook")},
        )
        return never_cache(lambda _request: response)(request)

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_secrets(request, [obj])

    @admin.action(description=_("Đổi khóa ký (khóa cũ hết hiệu lực ngay)"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        endpoints = list(queryset)
        for endpoint in endpoints:
            endpoint.secret = new_webhook_secret()
            endpoint.save(update_fields=["secret"])
        return self._show_secrets(request, endpoints)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log for the city office: what was sent where, how often it was tried, why it
    failed, and which deliveries are dead (given up after WEBHOOK_MAX_ATTEMPTS)."""

    list_display = ["created_at", "event", "url", "assignment_id", "attempts", "response_status", "sent_at", "dead_at"]
    list_filter = [
        "event",
        ("sent_at", admin.EmptyFieldListFilter),
        ("dead_at", admin.EmptyFieldListFilter),
        "endpoint",
    ]
    search_fields = ["event_id", "url", "last_error"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Gửi lại (đặt lại số lần gửi)"), permissions=["view"])
    def send_again(self, request, queryset):
        from tasks_app.api.tasks import deliver_webhook

        ids = list(queryset.filter(sent_at__isnull=True).values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(dead_at=None, attempts=0, next_attempt_at=None)
        for delivery_id in ids:
            deliver_webhook.delay_on_commit(delivery_id)
