"""Celery tasks of the outbox: thin, idempotent wrappers around mesoclinic.core.outbox.

The two periodic tasks (dispatch, recovery) go to their own queue (settings
CELERY_TASK_ROUTES), which every worker also consumes: they never wait behind a
long line of deliveries.
"""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from mesoclinic.core import outbox

BATCH = outbox.CLAIM_BATCH


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due_messages() -> int:
    """Every minute (beat): hand due messages not yet queued to workers in batches."""
    with transaction.atomic():
        # If the broker refuses a batch, the marks roll back and the next run retries.
        ids = outbox.mark_queued(now=timezone.now())
        for start in range(0, len(ids), BATCH):
            deliver_messages.delay(ids[start : start + BATCH])
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages(ids: list[int]) -> dict:
    return outbox.deliver(ids=ids)


@shared_task(acks_late=True, ignore_result=True)
def recover_stuck_messages() -> int:
    return outbox.recover_stuck(now=timezone.now())
