from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "cpms.disclosure"
    label = "disclosure"
    verbose_name = "Disclosure rules, decisions and accounting"

    def ready(self):
        from . import help  # noqa: F401  (its section of the help page)

        from auditlog.registry import auditlog

        from .models import Decision, DisclosureRecord, Rule, RuleSet

        from .services import register_delivery_handlers

        for model in (RuleSet, Rule, Decision, DisclosureRecord):
            auditlog.register(model)
        register_delivery_handlers()
