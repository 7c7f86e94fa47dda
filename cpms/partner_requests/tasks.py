from celery import shared_task

from . import services


@shared_task(name="cpms.partner_requests.tasks.request_check", acks_late=True)
def request_check_task(request_id: int) -> str:
    return services.request_check(request_id)


@shared_task(name="cpms.partner_requests.tasks.recheck_due", acks_late=True)
def recheck_due() -> int:
    return services.recheck_due()
