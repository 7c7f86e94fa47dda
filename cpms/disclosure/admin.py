from django.contrib import admin, messages

from . import services
from .models import Decision, Rule, RuleSet


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.published_at is None

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    """Published versions are read-only; "new draft" copies one, "publish" makes a draft the active version."""

    list_display = ("version", "is_active", "published_at", "note", "created_by")
    readonly_fields = ("version", "is_active", "published_at", "created_by", "created_at")
    inlines = [RuleInline]
    actions = ["new_draft", "publish"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.published_at is None)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.published_at is None and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            from django.db.models import Max

            obj.version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Create a new draft version from the selected rule set")
    def new_draft(self, request, queryset):
        for rs in queryset[:1]:
            draft = services.ruleset_new_draft(actor=request.user, source=rs)
            self.message_user(request, f"Draft v{draft.version} created from v{rs.version}; edit it, then publish it.", messages.SUCCESS)

    @admin.action(description="Publish the selected draft (it becomes the active rules)")
    def publish(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one draft to publish.", messages.ERROR)
            return
        rs = queryset.get()
        if rs.published_at is not None:
            self.message_user(request, f"v{rs.version} is already published.", messages.ERROR)
            return
        services.ruleset_publish(actor=request.user, ruleset=rs)
        self.message_user(request, f"v{rs.version} is now the active rule set.", messages.SUCCESS)


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ("decided_at", "partner_request", "stage", "outcome", "ruleset", "decided_by")
    list_filter = ("outcome", "stage")
    readonly_fields = [f.name for f in Decision._meta.fields]
    list_select_related = ("partner_request", "ruleset", "decided_by")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
