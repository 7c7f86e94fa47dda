from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cpms.accounts"
    label = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self):
        from . import audit, signals  # noqa: F401  (authentication events on record; unlocks audited)
