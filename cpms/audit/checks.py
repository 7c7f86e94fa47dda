"""Deploy checks of the audit trail (`manage.py check --deploy`)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_anchor_file_is_configured(app_configs=None, **kwargs):
    """Without an anchor outside the database, removing the end of the chain (or all of it) cannot be detected."""
    if getattr(settings, "AUDIT_ANCHOR_FILE_SET", False):
        return []
    return [checks.Error(
        "AUDIT_ANCHOR_FILE is not set: the audit chain's head would be anchored in var/ beside the database, where whoever "
        "can empty the audit tables can empty the anchors too, and verify_audit could not tell a removed tail.",
        hint="Set AUDIT_ANCHOR_FILE to an append-only file on storage the database's owners cannot rewrite (a write-once "
             "mount or another host); README: How production runs.",
        id="cpms.audit.E001")]
