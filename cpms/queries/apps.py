from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "cpms.queries"
    label = "queries"
    verbose_name = "International queries (USCIS-initiated)"

    def ready(self):
        from . import home  # noqa: F401  (its sections of the home page)
        from . import help  # noqa: F401  (its section of the help page)
        from . import search  # noqa: F401  (what the header's search finds for its roles)
        from ident_bridge import handlers

        from . import audit  # noqa: F401
        from . import services

        handlers.on_receive("query.result", services.round1_record_result)
        handlers.on_receive("query.response", services.round_record_response, when="query_ref")
        handlers.on_references("query.result", services.inbound_reference_errors)
        handlers.on_references("query.response", services.inbound_reference_errors, when="query_ref")
        for message_type in ("query.submit", "query.followup"):
            handlers.on_outbound_failed(message_type, services.query_record_outbound_failure)
