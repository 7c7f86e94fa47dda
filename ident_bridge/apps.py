from django.apps import AppConfig


class IdentBridgeConfig(AppConfig):
    name = "ident_bridge"
    verbose_name = "IDENT bridge (inbound messages and outbox)"

    def ready(self):
        from . import handlers, routing

        # The one message type that is the bridge's own: IDENT's word on whether our message reached the partner.
        handlers.on_receive("delivery.ack", routing.record_delivery_ack)
        handlers.on_references("delivery.ack", routing.acked_message_errors)
