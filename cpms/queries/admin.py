"""Queries in the admin: workflow metadata only, read-only. Partner data is not shown here (sequestered)."""

from django.contrib import admin

from .models import InternationalQuery


@admin.register(InternationalQuery)
class InternationalQueryAdmin(admin.ModelAdmin):
    list_display = ("query_ref", "partner", "status", "priority", "requestor", "created_at", "overdue_since")
    list_filter = ("status", "partner", "priority")
    search_fields = ("=query_ref",)
    fields = ("query_ref", "case", "partner", "agreement", "reason", "priority", "requestor", "status", "overdue_since", "created_at", "updated_at")
    readonly_fields = fields
    list_select_related = ("partner", "requestor")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
