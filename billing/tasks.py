"""Billing's Celery tasks: thin, idempotent wrappers that load by id and call a service."""

from celery import shared_task

from billing import messages


@shared_task(acks_late=True, ignore_result=True)
def quote_email_send(quote_id: int) -> bool:
    return messages.quote_email_send(quote_id=quote_id)
