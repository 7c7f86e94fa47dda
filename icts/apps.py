from django.apps import AppConfig


class IctsConfig(AppConfig):
    name = "icts"
    verbose_name = "ICTS (International Case Tracking System)"

    def ready(self):
        from . import home  # noqa: F401  (its sections of the home page)
        from . import help  # noqa: F401  (its section of the help page)
        from . import search  # noqa: F401  (what the header's search finds for its roles)
        from auditlog.registry import auditlog

        from .models import (IctsCase, IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission, PackageAttachment,
                             ResponsePackage, Review)

        for model in (IctsCase, ResponsePackage, PackageAttachment, Review, IctsCaseUserObjectPermission,
                      IctsCaseGroupObjectPermission):
            auditlog.register(model)

        from cpms.partner_requests.ports import CaseDesk, register_case_desk
        from ident_bridge import handlers

        from . import permissions, services

        register_case_desk(CaseDesk(
            open_case=services.case_open, resume_after_referral=services.case_resume_after_referral,
            close_withheld=services.case_close_withheld,
            request_ids_visible_to=lambda user: permissions.cases_visible_to(user).values("partner_request_id"),
        ))

        # A transmitted response: OBIM sees whether it arrived; the analyst and approver are told when it did not.
        handlers.on_outbound_failed("request.reply", services.package_record_delivery)
        handlers.on_outbound_delivered("request.reply", services.package_record_delivery)
