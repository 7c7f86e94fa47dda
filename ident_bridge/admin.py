"""Read-only admin for what crossed the boundary. Raw bodies carry partner data: only their size shows."""

from django.contrib import admin, messages
from django.utils import timezone

from .models import InboundMessage, OutboxMessage, RejectedInbound


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("message_id", "type", "partner", "ref", "received_at", "processed_at", "attempts", "last_error")
    list_filter = ("type", "partner", ("processed_at", admin.EmptyFieldListFilter))
    search_fields = ("message_id", "ref")
    date_hierarchy = "received_at"
    exclude = ("raw",)
    readonly_fields = ("message_id", "type", "partner", "ref", "body_sha256", "received_at", "processed_at", "attempts", "last_error", "size")
    show_full_result_count = False

    @admin.display(description="size (bytes)")
    def size(self, obj):
        return len(obj.raw or b"")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("message_id", "type", "partner", "ref", "status", "delivery_status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "delivery_status", "type", "partner")
    search_fields = ("message_id", "ref")
    date_hierarchy = "created_at"
    exclude = ("raw",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields if f.name != "raw"]
    actions = ["retry_now"]
    show_full_result_count = False

    @admin.action(description="Retry selected pending messages now")
    def retry_now(self, request, queryset):
        updated = queryset.filter(status=OutboxMessage.Status.PENDING).update(next_attempt_at=timezone.now())
        self.message_user(request, f"{updated} pending message(s) will be sent on the next sweep.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        # Needed for the action; the form itself stays read-only through readonly_fields.
        return request.user.has_perm("ident_bridge.change_outboxmessage")


@admin.register(RejectedInbound)
class RejectedInboundAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "status", "title", "message_id", "remote_addr", "detail")
    list_filter = ("status",)
    search_fields = ("message_id",)
    date_hierarchy = "received_at"
