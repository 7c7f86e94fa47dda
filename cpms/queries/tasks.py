from celery import shared_task

from . import services


@shared_task(name="cpms.queries.tasks.flag_overdue_rounds", acks_late=True)
def flag_overdue_rounds() -> int:
    return services.flag_overdue_rounds()


@shared_task(name="cpms.queries.tasks.expire_referrals", acks_late=True)
def expire_referrals() -> int:
    return services.referrals_expire()


@shared_task(name="cpms.queries.tasks.rescreen_due", acks_late=True)
def rescreen_due() -> int:
    return services.rescreen_due()
