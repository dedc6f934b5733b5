"""Billing pages. Thin: parse with a form, call one service, render.

Every view declares its roles and loads objects by public id through the access
helpers in billing.selectors (404 for anything else).
"""

from __future__ import annotations

import csv
import uuid
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import documents, reports, selectors, services
from billing.forms import (
    AcceptForm,
    CancelPurchaseForm,
    CreditNoteForm,
    PaymentForm,
    QuoteForm,
    RefundForm,
    ReportFilterForm,
)
from billing.models import Invoice, Package, PriceList, Quote
from mesoclinic.core import roles
from patients.selectors import patient_for_staff
from protocols.models import Protocol
from sessions.scheduling.models import Location

ZERO = Decimal(0)


def _locations():
    return list(Location.objects.filter(is_active=True).order_by("name"))


def _location_by_public_id(value):
    if not value:
        return None

    try:
        public_id = uuid.UUID(str(value))
    except ValueError:  # a malformed id names no location
        return None
    return Location.objects.filter(public_id=public_id).first()


def _pdf_response(content: bytes, filename: str, download: bool) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


# --- Quotes -------------------------------------------------------------------------


@roles.role_required(roles.FRONT_OFFICE)
def quote_new(request, patient_id):
    """The quote builder: sessions per protocol; options recalculated live with htmx."""
    patient = patient_for_staff(patient_id)
    today = timezone.localdate()
    locations = _locations()
    data = request.POST if request.method == "POST" else (request.GET or None)
    location = _location_by_public_id(data.get("location") if data else None)
    price_list = selectors.price_list_current(on=today, location=location)
    prices = selectors.session_prices(price_list) if price_list else {}
    protocols = list(
        Protocol.objects.bookable()
        .filter(pk__in=list(prices))
        .only("id", "name", "sessions_in_course")
        .order_by("name")
    )
    addons = selectors.addon_prices(price_list) if price_list else []
    form = QuoteForm(data, protocols=protocols, locations=locations, addons=addons)
    if data is None:
        form = QuoteForm(protocols=protocols, locations=locations, addons=addons)
    consultation = selectors.consultation_credit(patient=patient, on=today)
    found = None
    if price_list is not None and form.is_bound and form.is_valid() and form.wanted():
        found = selectors.comparison(
            price_list=price_list,
            wanted=form.wanted(),
            discount_percent=form.cleaned_data["discount_percent"],
            prices=prices,
            deduction=consultation.amount if consultation else ZERO,
            extras=form.extras(),
        )
    if request.method == "POST" and price_list is not None and form.is_valid():
        try:
            quote = services.quote_create(
                patient=patient,
                price_list=price_list,
                wanted=form.wanted(),
                option_key=request.POST.get("choose") or form.cleaned_data["option"] or "single",
                by=request.user,
                today=today,
                discount_percent=form.cleaned_data["discount_percent"],
                discount_reason=form.cleaned_data["discount_reason"],
                areas=form.cleaned_data["areas"],
                location=location,
                notes=form.cleaned_data["notes"],
                extras=form.extras(),
            )
        except services.BillingError as exc:
            form.add_error(None, exc.message)
        else:
            if quote.status == Quote.Status.PENDING_APPROVAL:
                messages.warning(
                    request,
                    f"Quote {quote.number} saved. Its discount is above the "
                    f"{selectors.policy().discount_approval_limit_percent}% limit: "
                    "a manager must approve it before it can be sent or accepted.",
                )
            else:
                messages.success(request, f"Quote {quote.number} is ready.")
            return redirect("billing:quote_detail", quote_id=quote.public_id)
    context = {
        "patient": patient,
        "form": form,
        "price_list": price_list,
        "prices": prices,
        "found": found,
        "extras": form.extras() if found else [],
        "consultation": consultation,
        "policy": selectors.policy(),
    }
    if request.htmx:
        return render(request, "billing/_comparison.html", context)
    return render(request, "billing/quote_new.html", context)


@roles.role_required(roles.FRONT_OFFICE)
def quote_list(request):
    quotes = Quote.objects.select_related("patient").order_by("-created_at")[:100]
    return render(
        request, "billing/quote_list.html", {"quotes": quotes, "today": timezone.localdate()}
    )


@roles.role_required(roles.FRONT_OFFICE)
def quote_detail(request, quote_id):
    quote = selectors.quote_for_staff(quote_id)
    today = timezone.localdate()
    purchase = getattr(quote, "purchase", None) if quote.status == Quote.Status.ACCEPTED else None
    return render(
        request,
        "billing/quote_detail.html",
        {
            "quote": quote,
            "patient": quote.patient,
            "lines": list(quote.lines.select_related("protocol")),
            "expired": quote.is_expired(today),
            "accept_form": AcceptForm(),
            "purchase": purchase,
            "can_approve": roles.has_role(request.user, roles.MANAGERS),
        },
    )


@roles.role_required(roles.FRONT_OFFICE)
def quote_pdf(request, quote_id):
    quote = selectors.quote_for_staff(quote_id)
    return _pdf_response(
        documents.quote_pdf(quote), documents.pdf_filename(quote), "download" in request.GET
    )


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def quote_email(request, quote_id):
    quote = selectors.quote_for_staff(quote_id)
    try:
        services.quote_email_request(quote=quote)
    except services.BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The quote is on its way to {quote.patient.email}.")
    return redirect("billing:quote_detail", quote_id=quote.public_id)


@roles.role_required(roles.MANAGERS)
@require_POST
def quote_approve(request, quote_id):
    quote = selectors.quote_for_staff(quote_id)
    try:
        services.quote_approve(quote=quote, by=request.user)
    except services.BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Discount approved; the quote is issued.")
    return redirect("billing:quote_detail", quote_id=quote.public_id)


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def quote_decline(request, quote_id):
    """Mark the quote declined, once the clerk confirmed it in the dialog."""
    quote = selectors.quote_for_staff(quote_id)
    if request.POST.get("confirm") != "declined":
        messages.error(request, "Nothing changed: confirm that the patient declined the quote.")
        return redirect("billing:quote_detail", quote_id=quote.public_id)
    try:
        services.quote_decline(quote=quote, by=request.user)
    except services.BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Quote {quote.number} is marked as declined; it can no longer be accepted."
        )
    return redirect("billing:quote_detail", quote_id=quote.public_id)


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def quote_accept(request, quote_id):
    quote = selectors.quote_for_staff(quote_id)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how the patient will pay.")
        return redirect("billing:quote_detail", quote_id=quote.public_id)
    try:
        purchase = services.quote_accept(
            quote=quote,
            by=request.user,
            today=timezone.localdate(),
            instalments=form.cleaned_data["instalments"],
        )
    except services.BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing:quote_detail", quote_id=quote.public_id)
    messages.success(request, f"Accepted: {purchase.name}. Take the deposit below.")
    return redirect("billing:purchase_detail", purchase_id=purchase.public_id)


# --- Purchases ------------------------------------------------------------------------


@roles.role_required(roles.FRONT_OFFICE)
def purchase_detail(request, purchase_id):
    purchase = selectors.purchase_for_staff(purchase_id)
    invoice = selectors.purchase_invoice(purchase)
    context = {"purchase": purchase, "patient": purchase.patient, "invoice": invoice}
    context["credits"] = list(purchase.credits.select_related("protocol"))
    if invoice is not None:
        context.update(_invoice_context(invoice))
    return render(request, "billing/purchase_detail.html", context)


@roles.role_required(roles.FRONT_OFFICE)
def purchase_cancel(request, purchase_id):
    """Shows the refund the written policy gives, then cancels on confirmation."""
    purchase = selectors.purchase_for_staff(purchase_id)
    preview = services.purchase_cancel_preview(purchase=purchase)
    form = CancelPurchaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = services.purchase_cancel(
                purchase=purchase,
                by=request.user,
                method=form.cleaned_data["method"],
                token=form.cleaned_data["token"],
            )
        except services.BillingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{purchase.name} is cancelled. Refund: {done.outcome.refund}; "
                f"credited: {done.outcome.credit}.",
            )
            return redirect("billing:purchase_detail", purchase_id=purchase.public_id)
    return render(
        request,
        "billing/purchase_cancel.html",
        {"purchase": purchase, "patient": purchase.patient, "preview": preview, "form": form},
    )


# --- Invoices, payments, refunds, credit notes ------------------------------------------


def _invoice_context(invoice: Invoice, **forms) -> dict:
    balance = None if invoice.is_credit_note else selectors.invoice_balance(invoice)
    instalments = selectors.instalment_rows(invoice, balance) if balance else []
    next_due = next((r for r in instalments if not r["is_paid"]), None)
    suggested = None
    if balance is not None and balance.due > 0:
        suggested = balance.due
        if next_due is not None:
            suggested = min(balance.due, next_due["instalment"].amount - next_due["covered"])
        elif invoice.purchase_id and balance.paid == 0:
            quote = getattr(invoice.purchase, "quote", None)
            if quote is not None and quote.deposit > 0:
                suggested = min(balance.due, quote.deposit)
    no_payments_yet = balance is not None and balance.paid == 0
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "balance": balance,
        "instalments": instalments,
        "payments": list(invoice.payments.select_related("taken_by")),
        "credit_notes": list(invoice.credit_notes.all()),
        "payment_form": forms.get("payment_form")
        or PaymentForm(initial={"amount": suggested, "is_deposit": no_payments_yet}),
        "refund_form": forms.get("refund_form") or RefundForm(),
        "credit_form": forms.get("credit_form") or CreditNoteForm(),
    }


@roles.role_required(roles.FRONT_OFFICE)
def invoice_list(request):
    filters = reports.Filters(
        start=timezone.localdate().replace(year=2000), end=timezone.localdate()
    )
    show = request.GET.get("show", "outstanding")
    if show == "all":
        rows = Invoice.objects.filter(status=Invoice.Status.ISSUED).select_related("patient")[:200]
        return render(request, "billing/invoice_list.html", {"invoices": rows, "show": show})
    return render(
        request,
        "billing/invoice_list.html",
        {"outstanding": reports.outstanding(filters), "show": show},
    )


@roles.role_required(roles.FRONT_OFFICE)
def invoice_detail(request, invoice_id):
    invoice = selectors.invoice_for_staff(invoice_id)
    context = _invoice_context(invoice)
    context["patient"] = invoice.patient
    context["can_credit"] = roles.has_role(request.user, roles.MANAGERS)
    return render(request, "billing/invoice_detail.html", context)


@roles.role_required(roles.FRONT_OFFICE)
def invoice_pdf(request, invoice_id):
    invoice = selectors.invoice_for_staff(invoice_id)
    return _pdf_response(
        documents.invoice_pdf(invoice), documents.pdf_filename(invoice), "download" in request.GET
    )


def _back_to_invoice(request, invoice: Invoice):
    target = request.POST.get("next", "")
    if target == "purchase" and invoice.purchase_id:
        return redirect("billing:purchase_detail", purchase_id=invoice.purchase.public_id)
    return redirect("billing:invoice_detail", invoice_id=invoice.public_id)


def _invoice_page_with_errors(request, invoice: Invoice, **forms):
    context = _invoice_context(invoice, **forms)
    context["patient"] = invoice.patient
    context["can_credit"] = roles.has_role(request.user, roles.MANAGERS)
    return render(request, "billing/invoice_detail.html", context, status=400)


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def payment_create(request, invoice_id):
    invoice = selectors.invoice_for_staff(invoice_id)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            payment, created = services.payment_record(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                token=form.cleaned_data["token"],
                is_deposit=form.cleaned_data["is_deposit"],
                reference=form.cleaned_data["reference"],
                by=request.user,
            )
        except services.BillingError as exc:
            form.add_error(None, exc.message)
        else:
            if created:
                messages.success(request, f"Payment of {payment.amount} recorded.")
            else:
                messages.info(request, "This payment was already recorded; it was not taken twice.")
            return _back_to_invoice(request, invoice)
    return _invoice_page_with_errors(request, invoice, payment_form=form)


@roles.role_required(roles.FRONT_OFFICE)
@require_POST
def refund_create(request, invoice_id):
    invoice = selectors.invoice_for_staff(invoice_id)
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            refund, created = services.refund_record(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                token=form.cleaned_data["token"],
                reference=form.cleaned_data["reference"],
                by=request.user,
            )
        except services.BillingError as exc:
            form.add_error(None, exc.message)
        else:
            if created:
                messages.success(request, f"Refund of {refund.amount} recorded.")
            else:
                messages.info(request, "This refund was already recorded.")
            return _back_to_invoice(request, invoice)
    return _invoice_page_with_errors(request, invoice, refund_form=form)


@roles.role_required(roles.MANAGERS)
@require_POST
def credit_note_create(request, invoice_id):
    invoice = selectors.invoice_for_staff(invoice_id)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.credit_note_issue(
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except services.BillingError as exc:
            form.add_error("amount", exc.message)
        else:
            messages.success(request, f"Credit note {note.number} issued.")
            return redirect("billing:invoice_detail", invoice_id=note.public_id)
    return _invoice_page_with_errors(request, invoice, credit_form=form)


# --- Price lists and packages (kept in billing/price_views.py) -------------------------


@roles.role_required(roles.MANAGERS)
def price_lists(request):
    lists = PriceList.objects.select_related("location").prefetch_related("prices__protocol")
    packages = list(Package.objects.prefetch_related("items__protocol"))
    today = timezone.localdate()
    in_force = selectors.lists_in_force(on=today)
    return render(
        request,
        "billing/price_lists.html",
        {
            "price_lists": lists,
            "packages": packages,
            "in_force": {pl.pk for pl in in_force},
            "package_checks": selectors.package_checks(packages, on=today),
            "policy": selectors.policy(),
        },
    )


# --- Reports ------------------------------------------------------------------------


def _report_filters(request):
    locations = _locations()
    form = ReportFilterForm(request.GET or None, locations=locations)
    start, end = form.period(timezone.localdate())
    location = None
    if form.is_valid():
        location = _location_by_public_id(form.cleaned_data.get("location"))
    return form, reports.Filters(start=start, end=end, location=location)


@roles.role_required(roles.MANAGERS)
def report_page(request):
    form, filters = _report_filters(request)
    context = {
        "form": form,
        "filters": filters,
        "by_month": reports.revenue_by_month(filters),
        "by_protocol": reports.revenue_by_protocol(filters),
        "by_practitioner": reports.revenue_by_practitioner(filters),
        "by_location": reports.revenue_by_location(filters),
        "outstanding": reports.outstanding(filters),
        "unused": reports.unused_credits(today=timezone.localdate(), location=filters.location),
        "conversion": reports.conversion(filters),
        "query": request.GET.urlencode(),
    }
    context["outstanding_total"] = sum((r["due"] for r in context["outstanding"]), ZERO)
    context["chart_data"] = {
        "month": {
            "labels": [r["label"] for r in context["by_month"]],
            "values": [str(r["revenue"]) for r in context["by_month"]],
        },
        "protocol": {
            "labels": [r["label"] for r in context["by_protocol"]],
            "values": [str(r["revenue"]) for r in context["by_protocol"]],
        },
        "practitioner": {
            "labels": [r["label"] for r in context["by_practitioner"]],
            "values": [str(r["revenue"]) for r in context["by_practitioner"]],
        },
        "location": {
            "labels": [r["label"] for r in context["by_location"]],
            "values": [str(r["revenue"]) for r in context["by_location"]],
        },
        "conversion": {
            "labels": [r["label"] for r in context["conversion"]["rows"]],
            "values": [str(r["rate"]) for r in context["conversion"]["rows"]],
        },
    }
    return render(request, "billing/reports.html", context)


CSV_REPORTS = {
    "month": (
        ["Month", "Invoiced", "Credited", "Revenue", "Tax"],
        ["label", "invoiced", "credited", "revenue", "tax"],
    ),
    "protocol": (["Protocol", "Sessions", "Revenue"], ["label", "sessions", "revenue"]),
    "practitioner": (["Practitioner", "Sessions", "Revenue"], ["label", "sessions", "revenue"]),
    "location": (["Location", "Sessions", "Revenue"], ["label", "sessions", "revenue"]),
    "outstanding": (
        ["Invoice", "Patient", "Issued", "Total", "Due"],
        ["label", "patient", "issued", "total", "due"],
    ),
    "unused": (
        ["Credit", "Sessions left", "Liability", "Of which expired"],
        ["label", "sessions", "revenue", "expired"],
    ),
    "conversion": (
        ["Month", "Quotes", "Accepted", "Rate %", "Quoted value", "Won value"],
        ["label", "quotes", "accepted", "rate", "value", "won"],
    ),
}


@roles.role_required(roles.MANAGERS)
def report_csv(request):
    report = request.GET.get("report", "month")
    if report not in CSV_REPORTS:
        return HttpResponse("Unknown report.", status=404, content_type="text/plain")
    _, filters = _report_filters(request)
    rows = {
        "month": lambda: reports.revenue_by_month(filters),
        "protocol": lambda: reports.revenue_by_protocol(filters),
        "practitioner": lambda: reports.revenue_by_practitioner(filters),
        "location": lambda: reports.revenue_by_location(filters),
        "outstanding": lambda: reports.outstanding(filters),
        "unused": lambda: reports.unused_credits(
            today=timezone.localdate(), location=filters.location
        )["rows"],
        "conversion": lambda: reports.conversion(filters)["rows"],
    }[report]()
    header, keys = CSV_REPORTS[report]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{report}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[k] for k in keys])
    return response
