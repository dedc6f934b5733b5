"""Celery tasks of the outbox: thin, idempotent wrappers around mesoclinic.core.outbox.

The two periodic tasks (dispatch, recovery) go to their own queue (settings
CELERY_TASK_ROUTES), which every worker also consumes: they never wait behind a
long line of deliveries.
"""

from celery import shared_task
from django.utils import timezone

from mesoclinic.core import outbox

BATCH = outbox.CLAIM_BATCH


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due_messages() -> int:
    """Every minute (beat): hand due messages not yet queued to workers in batches.

    The marks are committed before the first batch goes out: a worker may start on a
    batch at once, and rows still locked by this transaction would be skipped by its
    claim. If the broker refuses a batch, the marks of the rest are taken back, so the
    next run queues them.
    """
    ids = outbox.mark_queued(now=timezone.now())
    sent = 0
    try:
        for start in range(0, len(ids), BATCH):
            deliver_messages.delay(ids[start : start + BATCH])
            sent = start + BATCH
    except Exception:
        outbox.unmark_queued(ids=ids[sent:])
        raise
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages(ids: list[int]) -> dict:
    return outbox.deliver(ids=ids)


@shared_task(acks_late=True, ignore_result=True)
def recover_stuck_messages() -> int:
    return outbox.recover_stuck(now=timezone.now())
