"""Recording reads of partner data. One call per read; the entry joins the chain in the same transaction."""

from __future__ import annotations

from django.db import transaction

from . import chain
from .models import AccessLogEntry, ChainLink


def access_record(*, user, obj, action: str, person_id: int | None = None, request=None, context: dict | None = None) -> AccessLogEntry:
    """One read of partner data by `user`: what, whose (person_id), how (action), from where (request)."""
    meta = obj._meta
    with transaction.atomic():
        entry = AccessLogEntry.objects.create(
            user=user,
            action=action,
            object_type=f"{meta.app_label}.{meta.model_name}",
            object_id=str(obj.pk),
            person_id=person_id,
            path=(request.get_full_path()[:500] if request else ""),
            method=(request.method if request else ""),
            remote_addr=(request.META.get("REMOTE_ADDR") if request else None),
            context=context or {},
        )
        chain.append(ChainLink.Kind.ACCESS, entry.pk)
    return entry


def audited_update(model, pk, **fields):
    """Change some fields of one row through save(), so django-auditlog records who changed what from what.

    The models holding personal or partner data are never changed with QuerySet.update() (which bypasses
    auditlog); services use this instead. Locks the row: callers are inside their own transaction.
    """
    obj = model.objects.select_for_update().get(pk=pk)
    for name, value in fields.items():
        setattr(obj, name, value)
    update_fields = list(fields)
    if any(f.name == "updated_at" for f in model._meta.get_fields() if hasattr(f, "auto_now") and f.auto_now):
        update_fields.append("updated_at")
    obj.save(update_fields=update_fields)
    return obj
