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


# --- users: the administrator's second-factor reset ------------------------------------------------------------

from django.contrib import messages  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.admin import UserAdmin  # noqa: E402

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class CpmsUserAdmin(UserAdmin):
    actions = ["reset_second_factor"]

    @admin.action(description="Reset the second factor of the selected users (they enrol again at their next sign-in)")
    def reset_second_factor(self, request, queryset):
        from .mfa import second_factor_reset
        from .services import tokens_revoke

        for user in queryset:
            second_factor_reset(actor=request.user, user=user, request=request)
            tokens_revoke(request=request, user=user, why=f"second factor reset by {request.user.get_full_name() or request.user.get_username()}")
        self.message_user(request, f"Second factor reset for {queryset.count()} user(s); each enrols again at the next "
                                   "sign-in. On record under Authentication events.", messages.SUCCESS)
