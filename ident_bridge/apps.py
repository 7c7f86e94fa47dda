from django.apps import AppConfig


class IdentBridgeConfig(AppConfig):
    name = "ident_bridge"
    verbose_name = "IDENT bridge (inbound messages and outbox)"
