"""Celery tasks of the sessions app: thin, idempotent wrappers that load by id and
call a service."""

from celery import shared_task

# --- Charting
# Importing sessions.charting also registers the "recall_notice" outbox builder in
# every worker (Celery autodiscovers this module).
from sessions import charting


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), max_retries=3)
def session_document_pdf(appointment_id: int, kind: str) -> bool:
    """Render and store (or replace) a session's aftercare sheet or printable chart."""
    return charting.session_document_generate(appointment_id=appointment_id, kind=kind) is not None


# --- Patient communications


@shared_task(acks_late=True, ignore_result=True)
def schedule_course_messages() -> int:
    """Beat (hourly): "next session due" and "maintenance due" messages whose day is near."""
    from sessions import reminders

    return reminders.course_messages_schedule()
