"""The access log (every read of partner data) and the hash chain over it and django-auditlog's entries.

All three tables are append-only for the application: a PostgreSQL trigger refuses UPDATE and DELETE
(migration 0002). What a database superuser does behind the trigger's back, verify_audit detects.
"""

from django.conf import settings
from django.db import models


class AccessLogEntry(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed a page"
        API_READ = "api_read", "Read through the API"
        DOWNLOAD = "download", "Downloaded a file"
        PRINT = "print", "Printed (PDF)"
        EXPORT = "export", "Exported (CSV/PDF report)"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=60, help_text="app_label.model of what was read")
    object_id = models.CharField(max_length=64)
    person = models.ForeignKey("core.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=500, blank=True)
    method = models.CharField(max_length=8, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["user", "-at"]),
            models.Index(fields=["person", "-at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]


class ChainLink(models.Model):
    """One entry's place in the chain: hash = sha256(prev_hash | kind | entry_id | digest of the entry)."""

    class Kind(models.TextChoices):
        LOGENTRY = "logentry", "Change (django-auditlog)"
        ACCESS = "access", "Access log"

    seq = models.PositiveBigIntegerField(primary_key=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    entry_id = models.BigIntegerField()
    digest = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["kind", "entry_id"], name="chain_one_link_per_entry")]


class ChainHead(models.Model):
    """The single row that serialises appends to the chain (locked FOR UPDATE) and records its end."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
