from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "cpms.privacy"
    label = "privacy"
    verbose_name = "Privacy officer's console"
