from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cpms.core"
    label = "core"
    verbose_name = "CPMS people, cases and partners"

    def ready(self):
        from . import audit  # noqa: F401  registers models with django-auditlog
