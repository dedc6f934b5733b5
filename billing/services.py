"""Every billing write: quotes, purchases, credits, invoices, payments, refunds.

Plain functions with keyword arguments, each in one transaction, raising BillingError
(a ValidationError) with a message the front desk can act on. Figures come from
billing.pricing; nothing here does arithmetic of its own beyond adding them up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from billing import pricing, selectors, tasks
from billing.models import (
    Credit,
    CreditUse,
    DocumentCounter,
    Instalment,
    Invoice,
    InvoiceLine,
    Package,
    Payment,
    Price,
    PriceList,
    Purchase,
    Quote,
    QuoteLine,
)
from mesoclinic.core import audit, message_kinds, outbox
from mesoclinic.core.money import format_money
from sessions.scheduling.models import Appointment

ZERO = Decimal(0)


class BillingError(ValidationError):
    """A billing action that cannot be done as asked; the message says why."""


def _checked(func, *args, **kwargs):
    """Run a pricing function, turning its refusals into BillingError."""
    try:
        return func(*args, **kwargs)
    except pricing.PricingError as exc:
        raise BillingError(str(exc)) from exc


# --- Numbers ----------------------------------------------------------------------

SERIES = {"quote": "Q", Invoice.Kind.INVOICE: "INV", Invoice.Kind.CREDIT_NOTE: "CN"}


def _next_number(series: str, year: int) -> int:
    """The next number of a series, gapless: the counter row stays locked until commit.

    Two issuers in the same year queue on the row; a rolled-back issue rolls its
    number back too, so no number is ever skipped.
    """
    table = DocumentCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (series, year, last) VALUES (%s, %s, 1)
            ON CONFLICT (series, year) DO UPDATE SET last = {table}.last + 1
            RETURNING last
            """,
            [series, year],
        )
        return cursor.fetchone()[0]


def _format_number(series: str, year: int, sequence: int) -> str:
    return f"{series}-{year}-{sequence:05d}"


# --- Price lists and packages ---------------------------------------------------------
# Kept by managers in the app (billing/price_views.py), audited; the rules are the
# pure ones of billing.pricing, the same every quote is priced by.


def _refusal(problems: dict[str, list[str]]) -> BillingError:
    return BillingError({NON_FIELD_ERRORS if k == "__all__" else k: v for k, v in problems.items()})


def _where(location) -> str:
    return f"at {location}" if location is not None else "for the whole clinic"


def _price_list_terms(price_list: PriceList) -> dict[str, str]:
    """A list's prices as text, for the audit summary of a change."""
    terms = {
        "name": price_list.name,
        "from": f"{price_list.effective_from:%d %b %Y}",
        "location": str(price_list.location or "whole clinic"),
        "consultation": str(price_list.consultation_fee),
        "maintenance": str(price_list.maintenance_price or "none"),
    }
    for price in price_list.prices.select_related("protocol"):
        label = price.protocol.name if price.protocol_id else f"{price.name} (add-on)"
        terms[label] = str(price.amount)
    return terms


def _changes(before: dict[str, str], after: dict[str, str]) -> str:
    parts = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            parts.append(f"{key} {new} added")
        elif new is None:
            parts.append(f"{key} removed")
        else:
            parts.append(f"{key} {old} → {new}")
    return "; ".join(parts) or "no change"


def price_list_save(
    *,
    name: str,
    effective_from: date,
    consultation_fee: Decimal,
    maintenance_price: Decimal | None,
    session_prices: dict,
    price_list: PriceList | None = None,
    location=None,
    addons: dict[str, Decimal] | None = None,
    by=None,
    request=None,
) -> PriceList:
    """Create a price list, or change one (`price_list`): protocol -> price per session,
    add-ons by name. Quotes and invoices already made keep the prices they copied."""
    addons = addons or {}
    problems = pricing.price_list_problems(
        name=name,
        consultation_fee=consultation_fee,
        maintenance_price=maintenance_price,
        session_prices={p.pk: a for p, a in session_prices.items()},
        addons=list(addons.items()),
        protocol_names={p.pk: p.name for p in session_prices},
    )
    if problems:
        raise _refusal(problems)
    with transaction.atomic():
        before = None
        if price_list is not None:
            price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
            before = _price_list_terms(price_list)
        same_day = PriceList.objects.filter(effective_from=effective_from, location=location)
        if price_list is not None:
            same_day = same_day.exclude(pk=price_list.pk)
        clash = same_day.first()
        if clash is not None:
            raise BillingError(
                {
                    "effective_from": [
                        f"“{clash.name}” already applies from {effective_from:%d %b %Y} "
                        f"{_where(location)}. Choose another day, or change that list."
                    ]
                }
            )
        if price_list is None:
            price_list = PriceList()
        price_list.name = name.strip()
        price_list.effective_from = effective_from
        price_list.location = location
        price_list.consultation_fee = consultation_fee
        price_list.maintenance_price = maintenance_price
        price_list.full_clean()
        price_list.save()
        price_list.prices.all().delete()
        Price.objects.bulk_create(
            [Price(price_list=price_list, protocol=p, amount=a) for p, a in session_prices.items()]
            + [
                Price(price_list=price_list, kind=Price.Kind.ADDON, name=n.strip(), amount=a)
                for n, a in addons.items()
            ]
        )
        if by is not None:
            after = _price_list_terms(price_list)
            audit.record(
                request=request,
                actor=by,
                action=audit.Action.CREATE if before is None else audit.Action.CHANGE,
                obj=price_list,
                summary=(
                    f"Price list {price_list} created"
                    if before is None
                    else f"Price list {price_list} changed: {_changes(before, after)}"
                ),
            )
    return price_list


def price_list_create(**kwargs) -> PriceList:
    """A new price list (see price_list_save)."""
    return price_list_save(price_list=None, **kwargs)


def _package_terms(package: Package) -> dict[str, str]:
    terms = {
        "name": package.name,
        "price": str(package.price) if package.price is not None else "none",
        "% off": str(package.percent_off) if package.percent_off is not None else "none",
        "maintenance": str(package.maintenance_sessions),
        "months": str(package.valid_months),
        "above single price": "yes" if package.allow_above_single_price else "no",
        "offered": "yes" if package.is_active else "no",
    }
    for item in package.items.select_related("protocol"):
        terms[item.protocol.name] = f"{item.sessions} sessions"
    return terms


def package_save(
    *,
    name: str,
    sessions: dict,
    package: Package | None = None,
    price: Decimal | None = None,
    percent_off: Decimal | None = None,
    maintenance_sessions: int = 0,
    valid_months: int = 12,
    allow_above_single_price: bool = False,
    is_active: bool = True,
    by=None,
    request=None,
) -> Package:
    """Create a package, or change one: protocol -> sessions, at a price or % off.
    Quotes and purchases already made keep the terms they copied."""
    problems = pricing.package_problems(
        name=name,
        sessions={p.pk: n for p, n in sessions.items()},
        price=price,
        percent_off=percent_off,
        maintenance_sessions=maintenance_sessions,
        valid_months=valid_months,
    )
    if problems:
        raise _refusal(problems)
    with transaction.atomic():
        before = None
        if package is not None:
            package = Package.objects.select_for_update().get(pk=package.pk)
            before = _package_terms(package)
        else:
            package = Package()
        package.name = name.strip()
        package.price = price
        package.percent_off = percent_off
        package.maintenance_sessions = maintenance_sessions
        package.valid_months = valid_months
        package.allow_above_single_price = allow_above_single_price
        package.is_active = is_active
        package.full_clean()
        package.save()
        package.items.all().delete()
        package.items.bulk_create(
            [
                package.items.model(package=package, protocol=p, sessions=n)
                for p, n in sessions.items()
            ]
        )
        if by is not None:
            audit.record(
                request=request,
                actor=by,
                action=audit.Action.CREATE if before is None else audit.Action.CHANGE,
                obj=package,
                summary=(
                    f"Package {package.name} created"
                    if before is None
                    else f"Package {package.name} changed: "
                    f"{_changes(before, _package_terms(package))}"
                ),
            )
    return package


def package_create(**kwargs) -> Package:
    """A new package (see package_save)."""
    return package_save(package=None, **kwargs)


# --- Quotes -------------------------------------------------------------------------


def _quote_expiring_schedule(quote: Quote) -> None:
    patient = quote.patient
    setting = message_kinds.setting_for("quote_expiring")
    if not (setting.enabled and patient.email and patient.consents_to_transactional):
        return
    zone = timezone.get_default_timezone()
    expires = datetime.combine(quote.valid_until, time(18, 0), tzinfo=zone)
    for hours in setting.offsets_hours:
        due = expires + timedelta(hours=hours)
        if due <= timezone.now():
            continue
        outbox.message_schedule(
            kind="quote_expiring",
            subject=quote,
            due_at=due,
            recipient=patient.email,
            patient=patient,
            offset_key=f"{hours}h",
            respect_quiet_hours=setting.respects_quiet_hours,
        )


def quote_create(
    *,
    patient,
    price_list: PriceList,
    wanted: list[tuple[int, str, int]],
    option_key: str,
    by,
    today: date,
    discount_percent: Decimal = ZERO,
    discount_reason: str = "",
    areas: list[str] | None = None,
    location=None,
    notes: str = "",
    extras: list[pricing.Line] | None = None,
) -> Quote:
    """Save the option the patient is considering, with every option shown beside it.

    A discount above the manager's limit leaves the quote waiting for approval; otherwise
    it is issued at once with a number and a validity date.
    """
    extras = _checked_request(wanted, discount_percent, discount_reason, extras or [])
    rules = selectors.policy()
    consultation = selectors.consultation_credit(patient=patient, on=today)
    found = selectors.comparison(
        price_list=price_list,
        wanted=wanted,
        discount_percent=discount_percent,
        deduction=consultation.amount if consultation else ZERO,
        extras=extras,
    )
    if found.missing_prices:
        raise BillingError(
            f"The price list {price_list.name} has no price for {', '.join(found.missing_prices)}."
        )
    option = next((o for o in found.options if o.key == option_key), None)
    if option is None:
        raise BillingError("That option is not available for these protocols; choose another.")
    figures = found.totals[option.key]
    package = None
    if option.key.startswith("package:"):
        package = Package.objects.get(public_id=option.key.split(":", 1)[1])
    needs_approval = pricing.needs_approval(discount_percent, rules)
    with transaction.atomic():
        sequence = _next_number(SERIES["quote"], today.year)
        quote = Quote.objects.create(
            number=_format_number(SERIES["quote"], today.year, sequence),
            patient=patient,
            price_list=price_list,
            location=location,
            status=Quote.Status.PENDING_APPROVAL if needs_approval else Quote.Status.ISSUED,
            package=package,
            option_name=option.name,
            areas=list(areas or []),
            discount_percent=discount_percent,
            discount_reason=discount_reason.strip(),
            single_price_total=option.single_price_total,
            subtotal=figures.subtotal,
            discount=figures.discount,
            net=figures.net,
            tax=figures.tax,
            total=figures.total,
            deposit=figures.deposit,
            tax_rate=rules.tax_rate_percent,
            prices_include_tax=rules.prices_include_tax,
            consultation_invoice=consultation.invoice if consultation else None,
            consultation_deduction=figures.deduction,
            comparison=[_option_json(o, found.totals[o.key]) for o in found.options],
            valid_until=today + timedelta(days=settings.BILLING_QUOTE_VALID_DAYS),
            valid_months=option.valid_months or 12,
            notes=notes,
            created_by=by,
        )
        shares = pricing.line_shares(
            lines=option.lines,
            extras=extras,
            package_price=option.price if package is not None else None,
            total=figures.total,
            exponent=rules.exponent,
        )
        _quote_lines_create(quote, option.lines, extras, shares)
        if quote.status == Quote.Status.ISSUED:
            _quote_expiring_schedule(quote)
    return quote


def _checked_request(wanted, discount_percent, discount_reason, extras) -> list[pricing.Line]:
    """Refuse a quote request a person must correct; returns the add-ons actually wanted."""
    _checked(pricing.check_discount, discount_percent)
    if not any(n > 0 for _, _, n in wanted):
        raise BillingError("Choose at least one protocol and a number of sessions.")
    if any(n < 0 for _, _, n in wanted):
        raise BillingError("A number of sessions cannot be negative.")
    if discount_percent > 0 and not discount_reason.strip():
        raise BillingError("Say why the discount is given.")
    extras = [line for line in extras if line.quantity > 0]
    for line in extras:
        _checked(pricing.check_price, line.unit_price)
    return extras


def _quote_lines_create(quote: Quote, lines, extras, shares) -> None:
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                quote=quote,
                protocol_id=line.protocol_id,
                is_maintenance=line.protocol_id is None and n < len(lines),
                is_addon=n >= len(lines),
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=share,
                position=n,
            )
            for n, (line, share) in enumerate(zip([*lines, *extras], shares, strict=True))
        ]
    )


def _option_json(option: pricing.Option, figures: pricing.Totals) -> dict:
    return {
        "key": option.key,
        "name": option.name,
        "sessions": option.sessions,
        "single_price_total": str(option.single_price_total),
        "price": str(option.price),
        "saving": str(option.saving),
        "saving_percent": str(option.saving_percent),
        "discount": str(figures.discount),
        "deduction": str(figures.deduction),
        "tax": str(figures.tax),
        "total": str(figures.total),
        "deposit": str(figures.deposit),
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit": str(line.unit_price),
            }
            for line in option.lines
        ],
    }


def quote_approve(*, quote: Quote, by, now: datetime | None = None) -> Quote:
    """A manager approves a discount above the limit; the quote is then issued."""
    with transaction.atomic():
        quote = Quote.objects.select_for_update().select_related("patient").get(pk=quote.pk)
        if quote.status != Quote.Status.PENDING_APPROVAL:
            raise BillingError("This quote is not waiting for approval.")
        quote.status = Quote.Status.ISSUED
        quote.approved_by = by
        quote.approved_at = now or timezone.now()
        quote.save(update_fields=["status", "approved_by", "approved_at"])
        _quote_expiring_schedule(quote)
    return quote


def quote_decline(*, quote: Quote, by, now: datetime | None = None) -> Quote:
    """Record that the patient declined the quote: it can no longer be emailed or accepted."""
    with transaction.atomic():
        quote = Quote.objects.select_for_update().get(pk=quote.pk)
        if quote.status not in (Quote.Status.ISSUED, Quote.Status.PENDING_APPROVAL):
            raise BillingError("Only an open quote can be marked as declined.")
        quote.status = Quote.Status.DECLINED
        quote.declined_at = now or timezone.now()
        quote.declined_by = by
        quote.save(update_fields=["status", "declined_at", "declined_by"])
        outbox.messages_cancel(subject=quote)
    return quote


def quote_email_request(*, quote: Quote) -> None:
    """Queue the quote (with its PDF) to the patient; the work runs in a Celery task."""
    if not quote.patient.email:
        raise BillingError("The patient has no email address; add one first.")
    if quote.status != Quote.Status.ISSUED:
        raise BillingError("Only an issued quote can be emailed (approve it first).")
    transaction.on_commit(lambda: tasks.quote_email_send.delay(quote.pk))


def quote_accept(
    *, quote: Quote, by, today: date, instalments: int = 0, now: datetime | None = None
) -> Purchase:
    """The patient said yes: purchase, credits, invoice and payment plan in one step."""
    now = now or timezone.now()
    if instalments < 0 or instalments > 24:
        raise BillingError("Choose between 0 and 24 instalments.")
    with transaction.atomic():
        quote = Quote.objects.select_for_update().select_related("patient").get(pk=quote.pk)
        _check_acceptable(quote, today=today)
        rules = selectors.policy()
        lines = list(quote.lines.all())
        purchase = Purchase.objects.create(
            patient=quote.patient,
            quote=quote,
            package=quote.package,
            name=quote.option_name,
            location=quote.location,
            total=quote.total,
            purchased_at=now,
            valid_until=pricing.add_months(today, quote.valid_months),
            created_by=by,
        )
        _credits_create(purchase, lines, exponent=rules.exponent)
        invoice = _invoice_create(
            patient=quote.patient,
            lines=pricing.quote_invoice_lines(
                [_pricing_line(line) for line in lines],
                package_name=quote.option_name if quote.package_id else None,
                subtotal=quote.subtotal,
                exponent=rules.exponent,
            ),
            by=by,
            purchase=purchase,
            location=quote.location,
            discount_percent=quote.discount_percent,
            deduction=quote.consultation_deduction,
            consultation_deducted=quote.consultation_invoice
            if quote.consultation_deduction
            else None,
            tax_rate=quote.tax_rate,
            prices_include_tax=quote.prices_include_tax,
            now=now,
        )
        if invoice.total != quote.total:
            raise BillingError("The invoice would not match the quote; nothing was saved.")
        if instalments:
            _instalments_create(invoice, quote, count=instalments, today=today, rules=rules)
        quote.status = Quote.Status.ACCEPTED
        quote.accepted_at = now
        quote.save(update_fields=["status", "accepted_at"])
        outbox.messages_cancel(subject=quote, kinds=["quote_expiring"])
    return purchase


def _check_acceptable(quote: Quote, *, today: date) -> None:
    if quote.status == Quote.Status.ACCEPTED:
        raise BillingError("This quote has already been accepted.")
    if quote.status == Quote.Status.PENDING_APPROVAL:
        raise BillingError("A manager must approve this quote's discount before it is accepted.")
    if quote.status != Quote.Status.ISSUED:
        raise BillingError("This quote was declined; make a new one.")
    if quote.is_expired(today):
        raise BillingError(
            f"This quote expired on {quote.valid_until:%d %b %Y}; make a new quote "
            "with today's prices."
        )
    if (
        quote.consultation_deduction
        and Invoice.objects.filter(consultation_deducted=quote.consultation_invoice_id).exists()
    ):
        raise BillingError(
            "The consultation fee in this quote was already taken off another treatment; "
            "make a new quote."
        )


def _pricing_line(line) -> pricing.QuoteLine:
    return pricing.QuoteLine(
        line.description, line.quantity, line.unit_price, line.protocol_id, line.is_addon
    )


def _credits_create(purchase: Purchase, lines, *, exponent) -> None:
    """One credit row per session line of the quote (add-ons are not sessions)."""
    Credit.objects.bulk_create(
        [
            Credit(
                purchase=purchase,
                protocol_id=line.protocol_id,
                is_maintenance=line.is_maintenance,
                description=line.description,
                quantity=line.quantity,
                value=line.amount,
                unit_value=(line.amount / line.quantity).quantize(exponent, rounding="ROUND_DOWN"),
                single_price=line.unit_price,
            )
            for line in lines
            if line.quantity > 0 and not line.is_addon
        ]
    )


def _instalments_create(invoice: Invoice, quote: Quote, *, count: int, today: date, rules) -> None:
    plan = _checked(
        pricing.instalments,
        total=quote.total,
        deposit=quote.deposit,
        count=count,
        first_due=today,
        exponent=rules.exponent,
    )
    rows = Instalment.objects.bulk_create(
        [
            Instalment(
                invoice=invoice, due_on=d, amount=a, is_deposit=(n == 0 and quote.deposit > 0)
            )
            for n, (d, a) in enumerate(plan)
            if a > 0
        ]
    )
    for row in rows:
        if not row.is_deposit:
            _instalment_due_schedule(row, quote.patient)


def _instalment_due_schedule(instalment: Instalment, patient) -> None:
    setting = message_kinds.setting_for("instalment_due")
    if not (setting.enabled and patient.email and patient.consents_to_transactional):
        return
    zone = timezone.get_default_timezone()
    due = datetime.combine(instalment.due_on, time(9, 0), tzinfo=zone)
    for hours in setting.offsets_hours:
        at = due + timedelta(hours=hours)
        if at <= timezone.now():
            continue
        outbox.message_schedule(
            kind="instalment_due",
            subject=instalment,
            due_at=at,
            recipient=patient.email,
            patient=patient,
            offset_key=f"{hours}h",
            respect_quiet_hours=setting.respects_quiet_hours,
        )


# --- Invoices -------------------------------------------------------------------------


def _invoice_create(
    *,
    patient,
    lines: list[pricing.Line],
    by,
    kind: str = Invoice.Kind.INVOICE,
    purchase: Purchase | None = None,
    appointment=None,
    location=None,
    corrects: Invoice | None = None,
    reason: str = "",
    discount_percent: Decimal = ZERO,
    tax_rate: Decimal | None = None,
    prices_include_tax: bool | None = None,
    practitioner=None,
    deduction: Decimal = ZERO,
    consultation_deducted: Invoice | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Create and issue in the caller's transaction. Numbered last, to hold the lock briefly."""
    now = now or timezone.now()
    rules = selectors.policy()
    if tax_rate is not None:
        rules = pricing.Policy(
            exponent=rules.exponent,
            tax_rate_percent=tax_rate,
            prices_include_tax=rules.prices_include_tax
            if prices_include_tax is None
            else prices_include_tax,
        )
    figures = _checked(
        pricing.totals, lines, rules, discount_percent=discount_percent, deduction=deduction
    )
    invoice = Invoice.objects.create(
        kind=kind,
        patient=patient,
        purchase=purchase,
        appointment=appointment,
        location=location,
        corrects=corrects,
        reason=reason,
        subtotal=figures.subtotal,
        discount=figures.discount,
        deduction=figures.deduction,
        consultation_deducted=consultation_deducted if figures.deduction else None,
        net=figures.net,
        tax=figures.tax,
        total=figures.total,
        tax_rate=rules.tax_rate_percent,
        prices_include_tax=rules.prices_include_tax,
        created_by=by,
        created_at=now,
    )
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=invoice,
                description=line.description,
                protocol_id=line.protocol_id,
                practitioner=practitioner,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=amount,
                position=n,
            )
            for n, (line, amount) in enumerate(zip(lines, figures.line_amounts, strict=True))
        ]
    )
    year = timezone.localtime(now).year
    series = SERIES[kind]
    sequence = _next_number(series, year)
    invoice.number = _format_number(series, year, sequence)
    invoice.year = year
    invoice.sequence = sequence
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = now
    invoice.save(update_fields=["number", "year", "sequence", "status", "issued_at"])
    return invoice


def invoice_issue(
    *,
    patient,
    lines: list[pricing.Line],
    by,
    purchase: Purchase | None = None,
    appointment=None,
    location=None,
    reason: str = "",
    discount_percent: Decimal = ZERO,
    practitioner=None,
    now: datetime | None = None,
) -> Invoice:
    """Issue an invoice: gapless number per year, immutable from this moment."""
    if not lines:
        raise BillingError("An invoice needs at least one line.")
    with transaction.atomic():
        return _invoice_create(
            patient=patient,
            lines=lines,
            by=by,
            purchase=purchase,
            appointment=appointment,
            location=location,
            reason=reason,
            discount_percent=discount_percent,
            practitioner=practitioner,
            now=now,
        )


def credit_note_issue(
    *, invoice: Invoice, amount: Decimal, reason: str, by, now: datetime | None = None
) -> Invoice:
    """Correct an issued invoice by crediting part or all of it (tax split at its rate)."""
    if not reason.strip():
        raise BillingError("Give the reason for the credit note.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED:
            raise BillingError("Only an issued invoice can be credited.")
        balance = selectors.invoice_balance(invoice)
        creditable = invoice.total - balance.credited
        if amount <= 0:
            raise BillingError("The amount to credit must be more than zero.")
        if amount > creditable:
            raise BillingError(f"At most {creditable} of this invoice can still be credited.")
        return _invoice_create(
            patient=invoice.patient,
            lines=[pricing.Line(f"Credit for invoice {invoice.number}: {reason}", 1, amount)],
            by=by,
            kind=Invoice.Kind.CREDIT_NOTE,
            purchase=invoice.purchase,
            location=invoice.location,
            corrects=invoice,
            reason=reason.strip(),
            tax_rate=invoice.tax_rate,
            prices_include_tax=True,
            now=now,
        )


# --- Payments and refunds ------------------------------------------------------------


def _existing(token: uuid.UUID) -> Payment | None:
    return Payment.objects.filter(token=token).first()


class PaymentRefused(BillingError):
    """Money was NOT taken (or given back); the message says so first, then why."""

    def __init__(self, why: str, *, refund: bool = False):
        lead = "Refund not given" if refund else "Payment NOT taken"
        super().__init__(f"{lead}: {why}")


def _last_payment_text(invoice: Invoice) -> str:
    """ "the last payment, £150.00 by card, was taken by Fran at 14:02 on 2 Mar"."""
    last = (
        invoice.payments.filter(kind=Payment.Kind.PAYMENT)
        .select_related("taken_by")
        .order_by("-taken_at", "-id")
        .first()
    )
    if last is None:
        return ""
    who = last.taken_by.get_full_name() or last.taken_by.get_username()
    when = timezone.localtime(last.taken_at)
    return (
        f" The last payment, {format_money(last.amount)} by {last.get_method_display().lower()}, "
        f"was taken by {who} at {when:%H:%M} on {when.day} {when:%b %Y}."
    )


def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    token: uuid.UUID,
    by,
    is_deposit: bool = False,
    reference: str = "",
    now: datetime | None = None,
) -> tuple[Payment, bool]:
    """Take a payment. Returns (payment, created): the same form token twice is one payment."""
    if method not in Payment.Method.values:
        raise PaymentRefused("choose cash, card or bank transfer.")
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        existing = _existing(token)
        if existing is not None:
            return existing, False
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.ISSUED:
            raise PaymentRefused("payments are taken against an issued invoice.")
        if amount <= 0:
            raise PaymentRefused("the amount must be more than zero.")
        due = selectors.invoice_balance(invoice).due
        if due <= 0:
            # Typically a colleague took the balance a moment ago, from another screen.
            raise PaymentRefused(
                "nothing is due on this invoice any more, it is paid in full. "
                "Do not charge the patient." + _last_payment_text(invoice)
            )
        if amount > due:
            raise PaymentRefused(
                f"{format_money(amount)} is more than the {format_money(due)} still due. "
                f"Take {format_money(due)} or less." + _last_payment_text(invoice)
            )
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    token=token,
                    invoice=invoice,
                    patient_id=invoice.patient_id,
                    method=method,
                    amount=amount,
                    is_deposit=is_deposit,
                    reference=reference,
                    taken_by=by,
                    taken_at=now or timezone.now(),
                )
        except IntegrityError:
            existing = _existing(token)
            if existing is None:
                raise
            return existing, False
    return payment, True


def refund_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    token: uuid.UUID,
    by,
    reference: str = "",
    now: datetime | None = None,
) -> tuple[Payment, bool]:
    """Give money back; never more than was paid and not yet refunded."""
    if method not in Payment.Method.values:
        raise PaymentRefused("choose cash, card or bank transfer.", refund=True)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        existing = _existing(token)
        if existing is not None:
            return existing, False
        if amount <= 0:
            raise PaymentRefused("the amount must be more than zero.", refund=True)
        balance = selectors.invoice_balance(invoice)
        limit = pricing.refundable(paid=balance.paid, refunded=balance.refunded)
        if limit <= 0:
            raise PaymentRefused(
                "nothing paid on this invoice is left to refund (it has all been refunded).",
                refund=True,
            )
        if amount > limit:
            raise PaymentRefused(
                f"at most {format_money(limit)} was paid and can be refunded.", refund=True
            )
        payment = Payment.objects.create(
            token=token,
            invoice=invoice,
            patient_id=invoice.patient_id,
            kind=Payment.Kind.REFUND,
            method=method,
            amount=amount,
            reference=reference,
            taken_by=by,
            taken_at=now or timezone.now(),
        )
    return payment, True


# --- Purchases: cancelling, credits ----------------------------------------------------


@dataclass(frozen=True)
class CancellationPreview:
    purchase: Purchase
    invoice: Invoice | None
    used: int
    unused: int
    paid: Decimal
    outcome: pricing.Refund


def purchase_cancel_preview(*, purchase: Purchase) -> CancellationPreview:
    rules = selectors.policy()
    invoice = selectors.purchase_invoice(purchase)
    credits = list(purchase.credits.all())
    used_prices = [c.single_price for c in credits for _ in range(c.used)]
    balance = selectors.invoice_balance(invoice) if invoice else None
    invoiced = (invoice.total - balance.credited) if invoice else ZERO
    paid = balance.net_paid if balance else ZERO
    outcome = pricing.package_cancellation(
        package_total=invoiced, paid=paid, used_single_prices=used_prices, exponent=rules.exponent
    )
    return CancellationPreview(
        purchase=purchase,
        invoice=invoice,
        used=sum(c.used for c in credits),
        unused=sum(c.remaining for c in credits),
        paid=paid,
        outcome=outcome,
    )


def purchase_cancel(
    *, purchase: Purchase, by, method: str, token: uuid.UUID, now: datetime | None = None
) -> CancellationPreview:
    """Cancel a purchase per the written refund policy: credit note, refund, no more credits."""
    now = now or timezone.now()
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
        if purchase.status == Purchase.Status.CANCELLED:
            raise BillingError("This purchase is already cancelled.")
        preview = purchase_cancel_preview(purchase=purchase)
        outcome = preview.outcome
        if preview.invoice is not None and outcome.credit > 0:
            credit_note_issue(
                invoice=preview.invoice,
                amount=outcome.credit,
                reason=f"{purchase.name} cancelled: {preview.unused} unused session(s)",
                by=by,
                now=now,
            )
        if preview.invoice is not None and outcome.refund > 0:
            refund_record(
                invoice=preview.invoice,
                amount=outcome.refund,
                method=method,
                token=token,
                by=by,
                reference=f"Cancellation of {purchase.name}",
                now=now,
            )
        purchase.status = Purchase.Status.CANCELLED
        purchase.cancelled_at = now
        purchase.cancelled_by = by
        purchase.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        if preview.invoice is not None:
            for instalment in preview.invoice.instalments.all():
                outbox.messages_cancel(subject=instalment)
    return preview


def _appointment_day(appointment) -> date:
    return timezone.localtime(appointment.starts_at).date()


@dataclass(frozen=True)
class SessionCharge:
    credit_use: CreditUse | None = None
    invoice: Invoice | None = None
    # Why nothing was charged, when nothing was (no price list in force: billing unused).
    not_charged: str = ""


def session_credit_consume(*, appointment, by) -> SessionCharge:
    """A completed appointment is paid: by a credit of a matching purchase (oldest valid
    first) or else by an invoice for the session. Idempotent per appointment.

    Call it inside the transaction that completes the appointment. With no price list
    in force nothing is charged (the clinic does not bill through Mesoclinic); a list
    without a price for the protocol raises BillingError, which a manager must fix.
    `by` may be None (a task); the invoice is then created in the practitioner's name.
    """
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("location", "protocol", "patient", "practitioner")
            .get(pk=appointment.pk)
        )
        done = _session_charge_existing(appointment)
        if done is not None:
            return done
        day = _appointment_day(appointment)
        use = _credit_use(appointment, day=day)
        if use is not None:
            return SessionCharge(credit_use=use)
        price_list = selectors.price_list_current(on=day, location=appointment.location)
        if price_list is None:
            return SessionCharge(not_charged="No price list is in force for this date.")
        line = _session_line(appointment, price_list)
        if line is None:
            return SessionCharge()
        return SessionCharge(invoice=_session_invoice(appointment, line, day=day, by=by))


def _credit_use(appointment, *, day) -> CreditUse | None:
    """Use the credit that pays for this session (pricing.credit_to_use decides which)."""
    candidates = list(
        Credit.objects.select_for_update(of=("self",))
        .filter(
            purchase__patient_id=appointment.patient_id,
            purchase__status=Purchase.Status.ACTIVE,
            purchase__valid_until__gte=day,
            used__lt=F("quantity"),
        )
        .order_by("purchase__purchased_at", "purchase_id", "id")
    )
    chosen = pricing.credit_to_use(
        kind=appointment.kind,
        protocol_id=appointment.protocol_id,
        credits=[pricing.CreditOption(c.pk, c.protocol_id, c.is_maintenance) for c in candidates],
    )
    if chosen is None:
        return None
    credit = next(c for c in candidates if c.pk == chosen)
    Credit.objects.filter(pk=credit.pk).update(used=F("used") + 1)
    return CreditUse.objects.create(
        credit=credit,
        appointment=appointment,
        value=credit.next_use_value(),
        practitioner_id=appointment.practitioner_id,
        location_id=appointment.location_id,
    )


def _session_line(appointment, price_list) -> pricing.Line | None:
    """The invoice line for a session paid without a credit (None: nothing to charge)."""
    kind = appointment.kind
    if kind == Appointment.Kind.CONSULTATION:
        if price_list.consultation_fee <= 0:
            return None
        return pricing.Line("Consultation", 1, price_list.consultation_fee)
    if kind == Appointment.Kind.MAINTENANCE and price_list.maintenance_price is not None:
        return pricing.Line(
            f"Maintenance session: {appointment.protocol or ''}".rstrip(": "),
            1,
            price_list.maintenance_price,
            appointment.protocol_id,
        )
    price = selectors.session_prices(price_list).get(appointment.protocol_id)
    if price is None:
        raise BillingError(
            f"The price list {price_list.name} has no price for {appointment.protocol}."
        )
    return pricing.Line(f"Session: {appointment.protocol}", 1, price, appointment.protocol_id)


def _session_invoice(appointment, line: pricing.Line, *, day, by) -> Invoice:
    """Invoice the session, less a recent consultation's fee for a treatment."""
    consultation = None
    if appointment.kind != Appointment.Kind.CONSULTATION:
        consultation = selectors.consultation_credit(patient=appointment.patient, on=day)
    return _invoice_create(
        patient=appointment.patient,
        lines=[line],
        by=by or appointment.practitioner,
        appointment=appointment,
        location=appointment.location,
        practitioner=appointment.practitioner,
        deduction=consultation.amount if consultation else ZERO,
        consultation_deducted=consultation.invoice if consultation else None,
    )


def _session_charge_existing(appointment) -> SessionCharge | None:
    use = CreditUse.objects.filter(appointment=appointment).first()
    if use is not None:
        return SessionCharge(credit_use=use)
    invoice = Invoice.objects.filter(appointment=appointment, kind=Invoice.Kind.INVOICE).first()
    if invoice is not None:
        return SessionCharge(invoice=invoice)
    return None


def appointment_fee_charge(*, appointment, by) -> Invoice | None:
    """A late cancellation or a no-show carries the clinic's fee (none if it is zero).

    Idempotent: one invoice per appointment.
    """
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        fee = pricing.late_fee(
            status=appointment.status,
            cancelled_late=appointment.cancelled_late,
            late_cancel_fee=settings.BILLING_LATE_CANCEL_FEE,
            no_show_fee=settings.BILLING_NO_SHOW_FEE,
            fee_waived=bool(appointment.late_fee_waived_reason),
        )
        existing = Invoice.objects.filter(
            appointment=appointment, kind=Invoice.Kind.INVOICE
        ).first()
        if existing is not None or fee <= 0:
            return existing
        label = (
            "Missed appointment (no-show)"
            if appointment.status == Appointment.Status.NO_SHOW
            else "Late cancellation"
        )
        when = timezone.localtime(appointment.starts_at)
        return _invoice_create(
            patient=appointment.patient,
            lines=[pricing.Line(f"{label} on {when:%d %b %Y %H:%M}", 1, fee)],
            by=by or appointment.practitioner,
            appointment=appointment,
            location=appointment.location,
            practitioner=appointment.practitioner,
        )
