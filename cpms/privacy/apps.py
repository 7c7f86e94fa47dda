from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "cpms.privacy"
    label = "privacy"
    verbose_name = "Privacy officer's console"

    def ready(self):
        from . import home  # noqa: F401  (its section of the home page)
        from . import search  # noqa: F401  (what the header's search finds for its roles)
