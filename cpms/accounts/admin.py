from django.contrib import admin

from .models import AuthEvent


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    """Every authentication event, read-only: who signed in, failed, was locked out, signed out, from where."""

    list_display = ("at", "kind", "username", "ip_address", "detail")
    list_filter = ("kind",)
    search_fields = ("=username", "=ip_address")
    readonly_fields = [f.name for f in AuthEvent._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
