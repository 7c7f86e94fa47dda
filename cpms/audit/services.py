"""Recording reads of partner data. One call per read; the entry joins the chain in the same transaction."""

from __future__ import annotations

from django.db import transaction

from . import chain
from .models import AccessLogEntry, ChainLink


# Purpose of use, from the reader's role (the first that applies): what the access log and the timeline say.
PURPOSE_BY_ROLE = (
    ("privacy_officer", "privacy_oversight"),
    ("officer", "case_adjudication"),
    ("supervisor", "case_adjudication"),
    ("icts_analyst", "icts_response"),
    ("icts_reviewer", "icts_response"),
    ("obim_analyst", "obim_retrieval"),
    ("fdns_analyst", "fdns_review"),
)


def purpose_of_use(user) -> str:
    from cpms.core.roles import has_role

    for role, purpose in PURPOSE_BY_ROLE:
        if has_role(user, role):
            return purpose
    return "administration"


def reference_of(obj) -> str:
    """How people name the record read: its reference, never a model id."""
    for attr in ("query_ref", "case_number", "request_ref", "augment_ref", "receipt_number", "filename"):
        value = getattr(obj, attr, "")
        if value:
            return str(value)
    return str(obj)


def access_record(*, user, obj, action: str, person_id: int | None = None, request=None, context: dict | None = None) -> AccessLogEntry:
    """One read of partner data by `user`: what, whose (person_id), how (action), from where (request), why (the
    purpose of use of the reader's role) and through which route. `obj` may be a model class: a report over many of
    its rows (the system-wide accounting), whose filters go in `context`."""
    meta = obj._meta
    report = isinstance(obj, type)
    route = getattr(getattr(request, "resolver_match", None), "url_name", "") or ""
    context = {"purpose": purpose_of_use(user), "reference": "" if report else reference_of(obj),
               **({"route": route} if route else {}), **(context or {})}
    with transaction.atomic(savepoint=False):
        entry = AccessLogEntry.objects.create(
            user=user,
            action=action,
            object_type=f"{meta.app_label}.{meta.model_name}",
            object_id="" if report else str(obj.pk),
            person_id=person_id,
            path=(request.get_full_path()[:500] if request else ""),
            method=(request.method if request else ""),
            remote_addr=(request.META.get("REMOTE_ADDR") if request else None),
            context=context,
        )
        chain.append(ChainLink.Kind.ACCESS, entry.pk, instance=entry)
    return entry


def audited_update(model, pk, *, touch: bool = True, **fields):
    """Change some fields of one row through save(), so django-auditlog records who changed what from what.

    The models holding personal or partner data are never changed with QuerySet.update() (which bypasses
    auditlog); services use this instead. Locks the row: callers are inside their own transaction.
    `touch=False` leaves an `updated_at` alone: a step recorded in fields of its own (an approval, a transmission)
    is not an edit of the row's content, whose time the pages show as "last saved".
    """
    obj = model.objects.select_for_update().get(pk=pk)
    for name, value in fields.items():
        setattr(obj, name, value)
    update_fields = list(fields)
    if touch and any(f.name == "updated_at" for f in model._meta.get_fields() if hasattr(f, "auto_now") and f.auto_now):
        update_fields.append("updated_at")
    obj.save(update_fields=update_fields)
    return obj


def read_recorded(request, obj, *, person_id: int | None, action: str | None = None, context: dict | None = None):
    """The access helpers' half of a read: a GET that shows `obj` records one entry (a POST that changes something is
    audited as a change, not a read). Returns `obj`."""
    if request is not None and request.method in ("GET", "HEAD"):
        if action is None:
            is_api = request.path.startswith("/api/")
            action = AccessLogEntry.Action.API_READ if is_api else AccessLogEntry.Action.VIEW
        access_record(user=request.user, obj=obj, action=action, person_id=person_id, request=request, context=context)
    return obj
