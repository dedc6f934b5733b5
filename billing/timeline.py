"""The billing app's part of the patient timeline: front office (front desk, managers) only.

Practitioners do not see money (docs/permissions.md), so for them this adds nothing
and runs no query. Otherwise the quotes (made, accepted), issued invoices and credit
notes, payments and refunds come from `selectors.patient_money`, which the billing
panel shares (three queries for both).
"""

from __future__ import annotations

from django.urls import reverse

from billing.models import Invoice, Payment, Quote
from billing.selectors import PatientMoney, patient_money
from mesoclinic.core.money import format_money
from mesoclinic.core.roles import FRONT_OFFICE
from mesoclinic.core.timeline import TimelineEntry


def _take(rows, limit: int | None):
    return rows if limit is None else rows[: limit + 1]


def _quote_entries(money: PatientMoney, limit) -> list[TimelineEntry]:
    rows = sorted(
        money.quotes,
        key=lambda q: (max(q.created_at, q.accepted_at or q.created_at), q.pk),
        reverse=True,
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


def _invoice_entries(money: PatientMoney, limit) -> list[TimelineEntry]:
    rows = money.invoices  # issued, newest first
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


def _payment_entries(money: PatientMoney, limit) -> list[TimelineEntry]:
    rows = money.payments  # newest first, each with its invoice
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
    money = patient_money(patient)
    return [
        *_quote_entries(money, limit),
        *_invoice_entries(money, limit),
        *_payment_entries(money, limit),
    ]
