"""Celery tasks of the patients app: thin, idempotent wrappers around services and documents."""

from celery import shared_task

from patients import documents


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), max_retries=3)
def signed_consent_pdf(signed_consent_id: int) -> bool:
    """Render and store a signed consent's PDF; does nothing if it is already stored."""
    return documents.signed_consent_pdf_generate(signed_consent_id=signed_consent_id)
