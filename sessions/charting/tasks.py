"""Charting's Celery tasks: thin, idempotent wrappers that load by id and call a service."""

from celery import shared_task

from sessions.charting import documents


# The name it had before the sessions app was split, so queued tasks still run.
@shared_task(
    name="sessions.tasks.session_document_pdf",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError,),
    max_retries=3,
)
def session_document_pdf(appointment_id: int, kind: str) -> bool:
    """Render and store (or replace) a session's aftercare sheet or printable chart."""
    return documents.session_document_generate(appointment_id=appointment_id, kind=kind) is not None
