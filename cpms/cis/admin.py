from django.contrib import admin

from .models import CisClassEntry, CisRecord


class CisClassEntryInline(admin.TabularInline):
    model = CisClassEntry
    extra = 1


@admin.register(CisRecord)
class CisRecordAdmin(admin.ModelAdmin):
    list_display = ("a_number", "complete", "updated_at")
    search_fields = ("=a_number",)
    inlines = [CisClassEntryInline]
