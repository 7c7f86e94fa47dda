from django.apps import AppConfig


class PartnerRequestsConfig(AppConfig):
    name = "cpms.partner_requests"
    label = "partner_requests"
    verbose_name = "Foreign partners' requests for additional information"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import Augmentation, PartnerRequest

        auditlog.register(PartnerRequest)
        auditlog.register(Augmentation)
