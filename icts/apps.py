from django.apps import AppConfig


class IctsConfig(AppConfig):
    name = "icts"
    verbose_name = "ICTS (International Case Tracking System)"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import (IctsCase, IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission, PackageAttachment,
                             ResponsePackage, Review)

        for model in (IctsCase, ResponsePackage, PackageAttachment, Review, IctsCaseUserObjectPermission,
                      IctsCaseGroupObjectPermission):
            auditlog.register(model)
