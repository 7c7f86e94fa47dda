from celery import shared_task

from . import services


@shared_task(name="icts.tasks.package_transmit", acks_late=True)
def package_transmit_task(case_id: int) -> str:
    return services.package_transmit(case_id)


@shared_task(name="icts.tasks.transmit_due", acks_late=True)
def transmit_due() -> int:
    return services.transmit_due()
