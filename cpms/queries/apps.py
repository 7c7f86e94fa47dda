from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "cpms.queries"
    label = "queries"
    verbose_name = "International queries (USCIS-initiated)"

    def ready(self):
        from . import audit  # noqa: F401
