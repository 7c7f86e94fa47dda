from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cpms.accounts"
    label = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self):
        from . import audit, schema, signals  # noqa: F401  (events on record; unlocks audited; OpenAPI schemes)
