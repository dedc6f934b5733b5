"""Billing emails: the quote itself, and the outbox builders for reminders.

Builders re-read their subject when the message is due and return None when it no
longer applies (the quote was accepted, the instalment is paid), so the row is
cancelled rather than sent.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from billing import documents, selectors
from billing.models import Instalment, Quote
from mesoclinic.core import emails, outbox


def quote_email(*, quote: Quote, pdf: bytes):
    return emails.build(
        "quote",
        to=[quote.patient.email],
        context={"quote": quote, "patient": quote.patient, "site_url": settings.SITE_URL},
        attachments=(emails.Attachment(f"{quote.number}.pdf", pdf, "application/pdf"),),
    )


@outbox.builder("quote_expiring")
def quote_expiring(message):
    quote = Quote.objects.select_related("patient").filter(pk=message.subject_id).first()
    if quote is None or quote.status != Quote.Status.ISSUED:
        return None
    if quote.is_expired(timezone.localdate()) or not quote.patient.consents_to_transactional:
        return None
    return emails.build(
        "quote_expiring",
        to=[message.recipient],
        context={"quote": quote, "patient": quote.patient},
    )


@outbox.builder("instalment_due")
def instalment_due(message):
    instalment = (
        Instalment.objects.select_related("invoice__patient", "invoice__purchase")
        .filter(pk=message.subject_id)
        .first()
    )
    if instalment is None:
        return None
    invoice = instalment.invoice
    purchase = invoice.purchase
    if purchase is not None and purchase.status != purchase.Status.ACTIVE:
        return None
    row = next(
        (r for r in selectors.instalment_rows(invoice) if r["instalment"].pk == instalment.pk),
        None,
    )
    if row is None or row["is_paid"] or not invoice.patient.consents_to_transactional:
        return None
    return emails.build(
        "instalment_due",
        to=[message.recipient],
        context={
            "instalment": instalment,
            "invoice": invoice,
            "patient": invoice.patient,
            "left_to_pay": instalment.amount - row["covered"],
        },
    )


def quote_email_send(*, quote_id: int) -> bool:
    """Render the PDF and send the quote. Returns False when there is nothing to send."""
    quote = Quote.objects.select_related("patient").filter(pk=quote_id).first()
    if quote is None or not quote.patient.email or quote.status != Quote.Status.ISSUED:
        return False
    quote_email(quote=quote, pdf=documents.quote_pdf(quote)).send()
    Quote.objects.filter(pk=quote.pk).update(emailed_at=timezone.now())
    return True
