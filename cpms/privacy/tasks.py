from celery import shared_task

from . import services


@shared_task(name="cpms.privacy.tasks.chain_verify", acks_late=True)
def chain_verify(triggered_by: str = "") -> bool:
    return services.chain_verify(triggered_by=triggered_by).intact
