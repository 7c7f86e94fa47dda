from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _forget_permission_ids(**kwargs) -> None:
    # migrate (and a test database's flush) may create the permissions anew, under new ids.
    from .permissions import forget_permission_ids

    forget_permission_ids()


class CoreConfig(AppConfig):
    name = "cpms.core"
    label = "core"
    verbose_name = "CPMS people, cases and partners"

    def ready(self):
        from . import audit  # noqa: F401  registers models with django-auditlog

        from .roles import ensure_roles

        post_migrate.connect(_forget_permission_ids, dispatch_uid="cpms-core-forget-permission-ids")
        # After every app's migrate: the roles' groups get whatever of their permissions exist by then, so after
        # the last app they have all of them.
        post_migrate.connect(ensure_roles, dispatch_uid="cpms-core-ensure-roles")

        from ident_bridge import handlers

        from .notifications import notify_admins_of_message

        handlers.on_attention(notify_admins_of_message)
