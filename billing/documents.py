"""Quote, invoice and credit note PDFs, rendered by the shared mesoclinic.core.pdf module."""

from __future__ import annotations

from billing import selectors
from billing.models import Invoice, Quote
from mesoclinic.core.pdf import render_pdf
from protocols.areas import labels


def quote_pdf(quote: Quote) -> bytes:
    return render_pdf(
        "pdf/billing/quote.html",
        {
            "quote": quote,
            "lines": list(quote.lines.all()),
            "options": quote.comparison,
            "area_labels": labels(quote.areas),
        },
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    balance = None if invoice.is_credit_note else selectors.invoice_balance(invoice)
    return render_pdf(
        "pdf/billing/invoice.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.all()),
            "balance": balance,
            "instalments": [] if balance is None else selectors.instalment_rows(invoice, balance),
        },
    )


def pdf_filename(obj) -> str:
    return f"{obj.number}.pdf"
