from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Project-wide operations that span every app (demo data, rebuilding object grants). It sits above the apps:
    it may import any of them and none imports it."""

    name = "cpms.ops"
    label = "ops"
    verbose_name = "CPMS operations"

    def ready(self):
        from . import home  # noqa: F401  (the administrator's section of the home page)
