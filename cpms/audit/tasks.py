from celery import shared_task

from . import anchor as anchors


@shared_task(name="cpms.audit.tasks.anchor", acks_late=True)
def anchor() -> int:
    """Anchor the chain's head outside the audit tables (every AUDIT_ANCHOR_SECONDS)."""
    return anchors.anchor_write().seq
