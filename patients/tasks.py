"""Celery tasks of the patients app: thin, idempotent wrappers around services and documents."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from patients import documents, selectors

# A consent PDF still missing this long after signing had its task lost (a broker restart).
PDF_RETRY_AFTER = timedelta(minutes=2)


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), max_retries=3)
def signed_consent_pdf(signed_consent_id: int) -> bool:
    """Render and store a signed consent's PDF; does nothing if it is already stored."""
    return documents.signed_consent_pdf_generate(signed_consent_id=signed_consent_id)


@shared_task(acks_late=True, ignore_result=True)
def retry_missing_consent_pdfs() -> int:
    """Beat (every 10 minutes): ask again for consent PDFs whose task was lost.

    Harmless when the PDF is meanwhile stored: the task then does nothing.
    """
    ids = selectors.signed_consents_without_pdf(signed_before=timezone.now() - PDF_RETRY_AFTER)
    for signed_consent_id in ids:
        signed_consent_pdf.delay(signed_consent_id)
    return len(ids)
