"""The billing app's part of the patient timeline: front office (front desk, managers) only.

Practitioners do not see money (docs/permissions.md), so for them this adds nothing
and runs no query. Otherwise three queries, each the newest `limit + 1` rows: quotes
(made, accepted), issued invoices and credit notes, payments and refunds.
"""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse

from billing.models import Invoice, Payment, Quote
from mesoclinic.core.money import format_money
from mesoclinic.core.roles import FRONT_OFFICE
from mesoclinic.core.timeline import TimelineEntry


def _take(rows, limit: int | None):
    return rows if limit is None else rows[: limit + 1]


def _quote_entries(patient, limit) -> list[TimelineEntry]:
    rows = (
        Quote.objects.filter(patient=patient)
        .only("public_id", "number", "status", "option_name", "total", "created_at", "accepted_at")
        .annotate(last_event=Greatest(F("created_at"), Coalesce("accepted_at", "created_at")))
        .order_by("-last_event", "-id")
    )
    entries = []
    for quote in _take(rows, limit):
        url = reverse("billing:quote_detail", args=[quote.public_id])
        waiting = quote.status == Quote.Status.PENDING_APPROVAL
        entries.append(
            TimelineEntry(
                quote.created_at,
                "quote_issued",
                f"Quote {quote.number} {'made' if waiting else 'issued'}: {quote.option_name}",
                f"{format_money(quote.total)}"
                + (" (waiting for a manager's approval)" if waiting else ""),
                "file-earmark-text",
                url,
            )
        )
        if quote.accepted_at:
            entries.append(
                TimelineEntry(
                    quote.accepted_at,
                    "quote_accepted",
                    f"Quote {quote.number} accepted: {quote.option_name}",
                    format_money(quote.total),
                    "bag-check",
                    url,
                    "success",
                )
            )
    return entries


def _invoice_entries(patient, limit) -> list[TimelineEntry]:
    rows = (
        Invoice.objects.filter(patient=patient, status=Invoice.Status.ISSUED)
        .only("public_id", "kind", "number", "reason", "total", "issued_at")
        .order_by("-issued_at", "-id")
    )
    entries = []
    for invoice in _take(rows, limit):
        credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
        entries.append(
            TimelineEntry(
                invoice.issued_at,
                "credit_note_issued" if credit else "invoice_issued",
                f"{'Credit note' if credit else 'Invoice'} {invoice.number} issued",
                format_money(invoice.total) + (f": {invoice.reason}" if invoice.reason else ""),
                "receipt",
                reverse("billing:invoice_detail", args=[invoice.public_id]),
            )
        )
    return entries


def _payment_entries(patient, limit) -> list[TimelineEntry]:
    rows = (
        Payment.objects.filter(patient=patient)
        .select_related("invoice")
        .only(
            "kind",
            "method",
            "amount",
            "is_deposit",
            "taken_at",
            "invoice__public_id",
            "invoice__number",
        )
        .order_by("-taken_at", "-id")
    )
    entries = []
    for payment in _take(rows, limit):
        refund = payment.kind == Payment.Kind.REFUND
        what = "Refund" if refund else ("Deposit" if payment.is_deposit else "Payment")
        entries.append(
            TimelineEntry(
                payment.taken_at,
                "refund" if refund else "payment",
                f"{what} {format_money(payment.amount)} ({payment.get_method_display().lower()})",
                f"{'From' if refund else 'Towards'} invoice {payment.invoice.number}",
                "arrow-counterclockwise" if refund else "cash-coin",
                reverse("billing:invoice_detail", args=[payment.invoice.public_id]),
                "" if refund else "success",
            )
        )
    return entries


def timeline_entries_for(
    patient, *, roles: frozenset[str], limit: int | None = None
) -> list[TimelineEntry]:
    if not roles & FRONT_OFFICE:
        return []
    return [
        *_quote_entries(patient, limit),
        *_invoice_entries(patient, limit),
        *_payment_entries(patient, limit),
    ]
