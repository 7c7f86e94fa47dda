from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from .models import Agreement, BenefitCase, Notification, Partner, Person
from .permissions import case_grants_sync
from .services import (agreement_new_version, agreement_publish, agreement_return_to_draft,
                       agreement_submit_for_review)


def _referred_to(obj) -> bool:
    """Some row points at `obj` (an agreement, a query, a disclosure, a rule; related_name="+" relations included)."""
    relations = [f for f in obj._meta.get_fields(include_hidden=True) if f.auto_created and not f.concrete and f.field.concrete]
    return any(r.related_model._base_manager.filter(**{r.field.name: obj}).exists() for r in relations)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    """A partner's code is its key in every agreement, query, request and disclosure (and in the ICD's messages):
    fixed once created. A partner anything refers to is never deleted, so its Delete is not offered."""

    list_display = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not _referred_to(obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one partner at a time, from its page, when nothing refers to it
        return actions


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    """Versions of the agreements. A published version is read-only: "new version" copies it into a draft, which is
    edited, sent for review and published (ending the version it supersedes the day before it takes effect)."""

    # What tells the versions apart, in columns that fit a laptop's screen; what each allows is on its page and in the
    # filters on the right.
    list_display = ("partner", "title", "version", "status", "effective_from", "effective_to", "is_active")
    list_filter = ("partner", "status", "is_active", "allows_uscis_queries", "allows_partner_requests")
    search_fields = ("title", "appendix_a_ref")
    readonly_fields = ("version", "status", "supersedes", "drafted_by", "published_by", "published_at")
    actions = ["new_version", "submit_for_review", "return_to_draft", "publish"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.status != Agreement.Status.PUBLISHED)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.status == Agreement.Status.DRAFT and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:  # a new agreement starts as a draft version 1
            obj.status, obj.version, obj.drafted_by = Agreement.Status.DRAFT, 1, request.user
        super().save_model(request, obj, form, change)

    def _each(self, request, queryset, service, done: str):
        from .services import AgreementError

        for agreement in queryset:
            try:
                result = service(actor=request.user, agreement=agreement) if service is not agreement_new_version else \
                    service(actor=request.user, source=agreement)
            except AgreementError as exc:
                self.message_user(request, f"{agreement}: {exc.message}", messages.ERROR)
            except ValidationError as exc:
                self.message_user(request, f"{agreement}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, done.format(a=result), messages.SUCCESS)

    @admin.action(description="Create a new draft version of the selected published agreement")
    def new_version(self, request, queryset):
        self._each(request, queryset, agreement_new_version, "Draft version {a.version} created: edit it, then send it for review.")

    @admin.action(description="Send the selected draft for review")
    def submit_for_review(self, request, queryset):
        self._each(request, queryset, agreement_submit_for_review, "Version {a.version} is in review.")

    @admin.action(description="Return the selected version in review to draft")
    def return_to_draft(self, request, queryset):
        self._each(request, queryset, agreement_return_to_draft, "Version {a.version} is a draft again.")

    @admin.action(description="Publish the selected reviewed version (it is in force from its effective date)")
    def publish(self, request, queryset):
        self._each(request, queryset, agreement_publish, "Version {a.version} is published, in force from {a.effective_from:%-d %b %Y}.")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("family_name", "given_names", "a_number", "fin", "date_of_birth", "country_of_birth", "retain_until")
    search_fields = ("=a_number", "=fin", "family_name")
    readonly_fields = ("retain_until", "created_at", "updated_at")
    show_full_result_count = False


@admin.register(BenefitCase)
class BenefitCaseAdmin(admin.ModelAdmin):
    list_display = ("receipt_number", "kind", "person", "is_open", "created_at")
    list_filter = ("kind", "is_open")
    search_fields = ("=receipt_number", "=person__a_number")
    autocomplete_fields = ("person",)
    filter_horizontal = ("assigned_officers",)
    list_select_related = ("person",)
    show_full_result_count = False

    def save_related(self, request, form, formsets, change):
        # The assignment is saved by the form; the officers' object grants follow it (cpms.core.permissions).
        super().save_related(request, form, formsets, change)
        case_grants_sync(form.instance)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    readonly_fields = ("user", "kind", "message", "query", "created_at", "read_at")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False
