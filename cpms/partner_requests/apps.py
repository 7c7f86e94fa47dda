from django.apps import AppConfig


class PartnerRequestsConfig(AppConfig):
    name = "cpms.partner_requests"
    label = "partner_requests"
    verbose_name = "Foreign partners' requests for additional information"

    def ready(self):
        from . import help  # noqa: F401  (its section of the help page)

        from auditlog.registry import auditlog

        from .models import Augmentation, PartnerRequest

        auditlog.register(PartnerRequest)
        auditlog.register(Augmentation)

        from ident_bridge import handlers

        from . import services

        handlers.on_receive("request.received", services.request_record_received)
        handlers.on_receive("query.response", services.augmentation_record_response, when="augment_ref")
        handlers.on_references("request.received", services.reference_errors)
        handlers.on_references("query.response", services.augment_reference_errors, when="augment_ref")
        handlers.on_outbound_failed("request.augment", services.augmentation_record_failure)
