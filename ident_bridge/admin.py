"""Read-only admin for what crossed the boundary. Raw bodies carry partner data: only their size shows."""

from django.contrib import admin, messages
from django.utils import timezone

from . import inbound, outbox
from .models import InboundAttention, InboundMessage, OutboxAttention, OutboxMessage, RejectedInbound


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
    list_display = ("received_at", "status", "title", "count", "last_at", "message_id", "remote_addr", "pointers")
    list_filter = ("status",)
    search_fields = ("message_id",)
    date_hierarchy = "received_at"


# --- things a person must look at (ICD §1: a message that cannot be processed or delivered is never dropped) --


class AttentionAdmin(ReadOnlyAdmin):
    """Close an item once it is dealt with (the note says how); retry where sending or processing again can help."""

    actions = ["retry", "close"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(f"ident_bridge.change_{self.model._meta.model_name}")

    @admin.action(description="Close: dealt with (recorded with your name)")
    def close(self, request, queryset):
        rows = list(queryset.filter(attention_closed_at__isnull=True))
        for row in rows:  # save(), row by row: each close is recorded with its user
            row.attention_closed_at, row.attention_closed_by = timezone.now(), request.user
            row.attention_note = f"closed from the attention list by {request.user.get_username()}"
            row.save(update_fields=["attention_closed_at", "attention_closed_by", "attention_note"])
        self.message_user(request, f"{len(rows)} item(s) closed.", messages.SUCCESS)


@admin.register(InboundAttention)
class InboundAttentionAdmin(AttentionAdmin):
    list_display = ("message_id", "type", "partner", "ref", "received_at", "gave_up_at", "attempts", "last_error")
    list_filter = ("type", "partner")
    search_fields = ("message_id", "ref")
    exclude = ("raw",)
    readonly_fields = ("message_id", "type", "partner", "ref", "body_sha256", "received_at", "gave_up_at", "attempts",
                       "last_error", "attention_closed_at", "attention_closed_by", "attention_note")

    def get_queryset(self, request):
        return super().get_queryset(request) & InboundAttention.open_items()

    @admin.action(description="Retry: process the selected messages again from the first attempt")
    def retry(self, request, queryset):
        count = sum(inbound.inbound_retry(pk, actor=request.user) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} message(s) will be processed again.", messages.SUCCESS)


@admin.register(OutboxAttention)
class OutboxAttentionAdmin(AttentionAdmin):
    list_display = ("message_id", "type", "partner", "ref", "status", "delivery_status", "attempts", "created_at", "last_error",
                    "delivery_detail")
    list_filter = ("type", "partner", "status", "delivery_status")
    search_fields = ("message_id", "ref")
    exclude = ("raw",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields if f.name != "raw"]

    def get_queryset(self, request):
        return super().get_queryset(request) & OutboxAttention.open_items()

    @admin.action(description="Retry: send the selected expired messages again (same message_id and bytes)")
    def retry(self, request, queryset):
        count = sum(outbox.outbox_retry_expired(pk) for pk in queryset.values_list("pk", flat=True))
        skipped = queryset.count() - count
        self.message_user(request, f"{count} message(s) will be sent again." + (
            f" {skipped} not: only messages that expired unsent can be sent again (a refusal or a partner's rejection is "
            "final, ICD §1; the officer or analyst sends a new one)." if skipped else ""), messages.SUCCESS)
