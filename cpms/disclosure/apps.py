from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "cpms.disclosure"
    label = "disclosure"
    verbose_name = "Disclosure rules, decisions and accounting"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import Decision, DisclosureRecord, Rule, RuleSet

        for model in (RuleSet, Rule, Decision, DisclosureRecord):
            auditlog.register(model)
