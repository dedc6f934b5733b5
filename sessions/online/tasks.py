"""Online booking's Celery task: release expired holds (beat, every minute). Idempotent."""

from celery import shared_task

from sessions.online import services


@shared_task(acks_late=True, ignore_result=True)
def expire_holds() -> int:
    return services.holds_expire()
