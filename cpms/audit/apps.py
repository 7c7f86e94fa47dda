from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cpms.audit"
    label = "audit"
    verbose_name = "Audit: access log and tamper-evident chain"

    def ready(self):
        from django.db.models.signals import post_save

        from auditlog.models import LogEntry

        from . import chain, checks  # noqa: F401  (checks registers the deploy check)

        # Infrastructure, not business flow: every audit row joins the chain in the transaction that wrote it.
        post_save.connect(chain.on_logentry_saved, sender=LogEntry, dispatch_uid="audit-chain-logentry")
