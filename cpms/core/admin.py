from django.contrib import admin

from .models import Agreement, BenefitCase, Notification, Partner, Person
from .permissions import case_grants_sync


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ("partner", "title", "appendix_a_ref", "effective_from", "effective_to", "is_active",
                    "allows_uscis_queries", "allows_partner_requests", "asylum_disclosure_authorised")
    list_filter = ("partner", "is_active", "allows_uscis_queries", "allows_partner_requests")
    search_fields = ("title", "appendix_a_ref")


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
