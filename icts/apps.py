from django.apps import AppConfig


class IctsConfig(AppConfig):
    name = "icts"
    verbose_name = "ICTS (International Case Tracking System)"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import IctsCase, PackageAttachment, ResponsePackage, Review

        for model in (IctsCase, ResponsePackage, PackageAttachment, Review):
            auditlog.register(model)
