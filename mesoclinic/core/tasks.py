"""Celery tasks of the outbox: thin, idempotent wrappers around mesoclinic.core.outbox."""

from celery import shared_task
from django.utils import timezone

from mesoclinic.core import outbox

BATCH = outbox.CLAIM_BATCH


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due_messages() -> int:
    """Every minute (beat): hand due messages to workers in batches."""
    ids = outbox.due_message_ids(now=timezone.now())
    for start in range(0, len(ids), BATCH):
        deliver_messages.delay(ids[start : start + BATCH])
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages(ids: list[int]) -> dict:
    return outbox.deliver(ids=ids)


@shared_task(acks_late=True, ignore_result=True)
def recover_stuck_messages() -> int:
    return outbox.recover_stuck(now=timezone.now())
