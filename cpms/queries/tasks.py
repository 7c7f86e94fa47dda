from celery import shared_task

from . import services


@shared_task(name="cpms.queries.tasks.flag_overdue_rounds", acks_late=True)
def flag_overdue_rounds() -> int:
    return services.flag_overdue_rounds()
