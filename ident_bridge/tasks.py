"""Thin tasks: ids in, reload, call one service. Redis is only a fast path: the database is the truth,
and the sweeps (Celery beat, or `manage.py cpms_worker` in the embedded mode) find anything Redis lost."""

from celery import shared_task

from . import inbound, outbox


@shared_task(name="ident_bridge.tasks.outbox_relay", acks_late=True)
def outbox_relay(pk: int) -> str | None:
    return outbox.outbox_deliver(pk)


@shared_task(name="ident_bridge.tasks.inbound_process", acks_late=True)
def inbound_process(pk: int) -> str:
    return inbound.inbound_process(pk)


@shared_task(name="ident_bridge.tasks.outbox_sweep", acks_late=True)
def outbox_sweep() -> int:
    ids = outbox.outbox_due_ids()
    for pk in ids:
        outbox.outbox_deliver(pk)
    return len(ids)


@shared_task(name="ident_bridge.tasks.inbound_sweep", acks_late=True)
def inbound_sweep() -> int:
    ids = inbound.inbound_stale_ids()
    for pk in ids:
        try:
            inbound.inbound_process(pk)
        except Exception:  # recorded on the row by inbound_process; go on with the others
            continue
    return len(ids)
