from django.apps import AppConfig


class CisConfig(AppConfig):
    name = "cpms.cis"
    label = "cis"
    verbose_name = "CIS protected classes (local index behind the PCQS port)"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import CisClassEntry, CisRecord

        auditlog.register(CisRecord)
        auditlog.register(CisClassEntry)
