"""Read queries about billing that views, services and reports share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from billing import pricing
from billing.models import (
    Credit,
    Invoice,
    Package,
    Payment,
    Price,
    PriceList,
    Purchase,
    Quote,
)
from mesoclinic.core import nested
from mesoclinic.core.money import currency_exponent
from sessions.scheduling.models import Location

ZERO = Decimal(0)


def policy() -> pricing.Policy:
    """The clinic's billing settings as the pure pricing module wants them."""
    return pricing.Policy(
        exponent=currency_exponent(),
        tax_rate_percent=settings.BILLING_TAX_RATE,
        prices_include_tax=settings.BILLING_PRICES_INCLUDE_TAX,
        deposit_percent=settings.BILLING_DEPOSIT_PERCENT,
        discount_approval_limit_percent=settings.BILLING_DISCOUNT_APPROVAL_LIMIT,
    )


# --- Access helpers: each 404s for anything the URL does not name ------------------


def quote_for_staff(public_id) -> Quote:
    return get_object_or_404(
        Quote.objects.select_related("patient", "price_list", "package", "approved_by"),
        public_id=public_id,
    )


def purchase_for_staff(public_id) -> Purchase:
    return get_object_or_404(Purchase.objects.select_related("patient"), public_id=public_id)


def invoice_for_staff(public_id) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("patient", "corrects", "purchase"), public_id=public_id
    )


def price_list_for_staff(public_id) -> PriceList:
    return get_object_or_404(
        PriceList.objects.select_related("location").prefetch_related("prices__protocol"),
        public_id=public_id,
    )


def package_for_staff(public_id) -> Package:
    return get_object_or_404(
        Package.objects.prefetch_related("items__protocol"), public_id=public_id
    )


# --- Prices -----------------------------------------------------------------------


def price_list_current(*, on: date, location=None) -> PriceList | None:
    """The list in force on a day: the location's own list first, else the clinic's."""
    lists = PriceList.objects.filter(effective_from__lte=on)
    if location is not None:
        own = lists.filter(location=location).order_by("-effective_from", "-id").first()
        if own is not None:
            return own
    return lists.filter(location__isnull=True).order_by("-effective_from", "-id").first()


def session_prices(price_list: PriceList) -> dict[int, Decimal]:
    return dict(
        Price.objects.filter(price_list=price_list, kind=Price.Kind.SESSION)
        .order_by()
        .values_list("protocol_id", "amount")
    )


def addon_prices(price_list: PriceList) -> list[Price]:
    return list(Price.objects.filter(price_list=price_list, kind=Price.Kind.ADDON).order_by("name"))


def package_terms(packages: QuerySet[Package] | None = None) -> list[pricing.PackageTerms]:
    packages = Package.objects.filter(is_active=True) if packages is None else packages
    terms = []
    for package in packages.prefetch_related("items"):
        terms.append(
            pricing.PackageTerms(
                key=f"package:{package.public_id}",
                name=package.name,
                sessions=tuple((item.protocol_id, item.sessions) for item in package.items.all()),
                maintenance_sessions=package.maintenance_sessions,
                price=package.price,
                percent_off=package.percent_off,
                valid_months=package.valid_months,
                allow_above_single_price=package.allow_above_single_price,
            )
        )
    return terms


@dataclass(frozen=True)
class ConsultationCredit:
    invoice: Invoice
    consulted_on: date
    amount: Decimal


def consultation_credit(*, patient, on: date) -> ConsultationCredit | None:
    """A consultation invoiced within BILLING_CONSULTATION_DEDUCT_DAYS before `on`, whose
    fee has not yet been taken off a treatment (the most recent one)."""
    days = settings.BILLING_CONSULTATION_DEDUCT_DAYS
    if days <= 0:
        return None
    zone = timezone.get_default_timezone()
    invoice = (
        Invoice.objects.filter(
            patient=patient,
            kind=Invoice.Kind.INVOICE,
            status=Invoice.Status.ISSUED,
            appointment__kind="consultation",
            appointment__starts_at__gte=datetime.combine(
                on - timedelta(days=days), time.min, tzinfo=zone
            ),
            appointment__starts_at__lt=datetime.combine(
                on + timedelta(days=1), time.min, tzinfo=zone
            ),
            deducted_by__isnull=True,
            credit_notes__isnull=True,
        )
        .select_related("appointment")
        .order_by("-appointment__starts_at")
        .first()
    )
    if invoice is None:
        return None
    consulted_on = timezone.localtime(invoice.appointment.starts_at).date()
    amount = pricing.consultation_deduction(
        fee=invoice.total, consulted_on=consulted_on, treated_on=on, within_days=days
    )
    return ConsultationCredit(invoice, consulted_on, amount) if amount > 0 else None


@dataclass(frozen=True)
class Comparison:
    options: list[pricing.Option]
    totals: dict[str, pricing.Totals]  # per option key, after the quote's discount
    missing_prices: list[str]


def priced_lines(option: pricing.Option) -> list[pricing.Line]:
    """What the invoice bills: the sessions one by one, or the package as one line."""
    if option.key == "single":
        return list(option.lines)
    return [pricing.Line(f"Package: {option.name}", 1, option.price)]


def comparison(
    *,
    price_list: PriceList,
    wanted: list[tuple[int, str, int]],
    discount_percent: Decimal = ZERO,
    packages: list[pricing.PackageTerms] | None = None,
    prices: dict[int, Decimal] | None = None,
    deduction: Decimal = ZERO,
    extras: list[pricing.Line] | None = None,
) -> Comparison:
    """Pay per session next to every applicable package, each with its totals.

    An applicable package sells only protocols that were asked for, so the names
    of the wanted protocols are all the names the options need.
    """
    rules = policy()
    prices = session_prices(price_list) if prices is None else prices
    missing = [name for pid, name, n in wanted if n > 0 and pid not in prices]
    wanted = [w for w in wanted if w[0] in prices]
    names = {pid: name for pid, name, _ in wanted}
    if packages is None:
        packages = package_terms()
    options = pricing.compare(
        wanted,
        single_prices=prices,
        maintenance_price=price_list.maintenance_price,
        packages=packages,
        names=names,
        policy=rules,
    )
    totals = {
        o.key: pricing.totals(
            priced_lines(o) + list(extras or []),
            rules,
            discount_percent=discount_percent,
            deduction=deduction,
        )
        for o in options
    }
    return Comparison(options=options, totals=totals, missing_prices=missing)


# --- Balances ---------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    total: Decimal
    credited: Decimal
    paid: Decimal
    refunded: Decimal

    @property
    def due(self) -> Decimal:
        return self.total - self.credited - self.paid + self.refunded

    @property
    def net_paid(self) -> Decimal:
        return self.paid - self.refunded


def invoice_balance(invoice: Invoice) -> Balance:
    credited = invoice.credit_notes.filter(status=Invoice.Status.ISSUED).aggregate(s=Sum("total"))[
        "s"
    ]
    sums = invoice.payments.aggregate(
        paid=Sum("amount", filter=Q(kind=Payment.Kind.PAYMENT)),
        refunded=Sum("amount", filter=Q(kind=Payment.Kind.REFUND)),
    )
    return Balance(
        total=invoice.total,
        credited=credited or ZERO,
        paid=sums["paid"] or ZERO,
        refunded=sums["refunded"] or ZERO,
    )


MONEY = DecimalField(max_digits=14, decimal_places=2)


def _sum_of(rows: QuerySet, group: str, field: str):
    return Coalesce(
        Subquery(rows.order_by().values(group).annotate(s=Sum(field)).values("s")[:1]),
        Value(ZERO),
        output_field=MONEY,
    )


def with_balances(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate paid, refunded and credited sums: balances without a query per invoice."""
    payments = Payment.objects.filter(invoice=OuterRef("pk"))
    return invoices.annotate(
        paid_sum=_sum_of(payments.filter(kind=Payment.Kind.PAYMENT), "invoice_id", "amount"),
        refunded_sum=_sum_of(payments.filter(kind=Payment.Kind.REFUND), "invoice_id", "amount"),
        credited_sum=_sum_of(
            Invoice.objects.filter(corrects=OuterRef("pk"), status=Invoice.Status.ISSUED),
            "corrects_id",
            "total",
        ),
    )


def annotated_balance(invoice: Invoice) -> Balance:
    return Balance(
        total=invoice.total,
        credited=invoice.credited_sum,
        paid=invoice.paid_sum,
        refunded=invoice.refunded_sum,
    )


def instalment_rows(invoice: Invoice, balance: Balance | None = None) -> list[dict]:
    """Each instalment with how much of it the payments so far cover."""
    balance = balance or invoice_balance(invoice)
    rows = list(invoice.instalments.all())
    covered = pricing.allocate_payments([r.amount for r in rows], balance.net_paid)
    return [
        {"instalment": r, "covered": c, "is_paid": c >= r.amount}
        for r, c in zip(rows, covered, strict=True)
    ]


def purchase_invoice(purchase: Purchase) -> Invoice | None:
    return (
        purchase.invoices.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED)
        .order_by("issued_at", "id")
        .first()
    )


PAYMENT_FIELDS = ("id", "invoice", "kind", "method", "amount", "is_deposit", "taken_at")
CREDIT_FIELDS = (
    "id",
    "purchase",
    "protocol",
    "is_maintenance",
    "description",
    "quantity",
    "used",
    "value",
    "unit_value",
    "single_price",
)


@dataclass(frozen=True)
class PatientMoney:
    """A patient's quotes, invoices (with their payments) and purchases (with their
    credits), newest first: what the patient page's billing panel and timeline read."""

    quotes: list[Quote]
    invoices: list[Invoice]  # issued ones, with balances annotated
    payments: list[Payment]  # each with .invoice set
    purchases: list[Purchase]


def patient_money(patient) -> PatientMoney:
    """Three queries whatever the history, read once per patient page."""

    def read() -> PatientMoney:
        quotes = list(Quote.objects.filter(patient=patient).order_by("-created_at", "-id"))
        invoices = list(
            with_balances(Invoice.objects.filter(patient=patient))
            .annotate(
                payment_rows=nested.rows(
                    Payment.objects.filter(invoice=OuterRef("pk")),
                    PAYMENT_FIELDS,
                    order_by=("-taken_at", "-id"),
                )
            )
            .order_by("-issued_at", "-id")
        )
        payments = []
        for invoice in invoices:
            for payment in nested.instances(Payment, invoice.payment_rows, PAYMENT_FIELDS):
                payment.invoice = invoice
                payments.append(payment)
        payments.sort(key=lambda p: (p.taken_at, p.pk), reverse=True)
        purchases = list(
            Purchase.objects.filter(patient=patient)
            .annotate(
                credit_rows=nested.rows(
                    Credit.objects.filter(purchase=OuterRef("pk")), CREDIT_FIELDS, order_by=("id",)
                )
            )
            .order_by("-purchased_at", "-id")
        )
        for purchase in purchases:
            nested.attach(
                purchase, "credits", nested.instances(Credit, purchase.credit_rows, CREDIT_FIELDS)
            )
        return PatientMoney(
            quotes=quotes,
            invoices=[i for i in invoices if i.status == Invoice.Status.ISSUED],
            payments=payments,
            purchases=purchases,
        )

    return nested.once(patient, "billing.patient_money", read)


def patient_billing(patient) -> dict:
    """Everything the patient page's billing panel shows (patient_money's queries)."""
    money = patient_money(patient)
    invoices = money.invoices[:20]
    balances = {inv.pk: annotated_balance(inv) for inv in invoices if not inv.is_credit_note}
    purchases = money.purchases[:10]
    quotes = money.quotes[:10]
    return {
        "invoices": invoices,
        "balances": balances,
        "outstanding": sum((b.due for b in balances.values()), ZERO),
        "purchases": purchases,
        "quotes": quotes,
        "credits_left": sum(
            c.remaining
            for p in purchases
            if p.status == Purchase.Status.ACTIVE
            for c in p.credits.all()
        ),
    }


# --- Keeping prices: how each package prices on the lists in force ----------------------


@dataclass(frozen=True)
class PackageCheck:
    """A package on one price list, by the same rules a quote uses."""

    price_list: PriceList
    option: pricing.Option | None  # None: this list cannot price the package
    problem: str = ""
    capped: bool = False  # dearer than per session, so quotes charge the per-session price


def lists_in_force(*, on: date) -> list[PriceList]:
    """The clinic's list in force and each location's own, if it has one."""
    lists = [price_list_current(on=on)]
    for location in Location.objects.filter(is_active=True).order_by("name"):
        own = price_list_current(on=on, location=location)
        if own is not None and own.location_id == location.pk:
            lists.append(own)
    return [pl for pl in lists if pl is not None]


def package_checks(packages, *, on: date) -> dict[int, list[PackageCheck]]:
    """For each package: what it costs on every list in force, next to per session."""
    lists = lists_in_force(on=on)
    prices = {pl.pk: session_prices(pl) for pl in lists}
    names = dict(
        Price.objects.filter(price_list__in=lists).values_list("protocol_id", "protocol__name")
    )
    checks: dict[int, list[PackageCheck]] = {}
    for package in packages:
        terms = pricing.PackageTerms(
            key=f"package:{package.public_id}",
            name=package.name,
            sessions=tuple((i.protocol_id, i.sessions) for i in package.items.all()),
            maintenance_sessions=package.maintenance_sessions,
            price=package.price,
            percent_off=package.percent_off,
            valid_months=package.valid_months,
            allow_above_single_price=package.allow_above_single_price,
        )
        for item in package.items.all():
            names.setdefault(item.protocol_id, item.protocol.name)
        rows = []
        for pl in lists:
            try:
                option = pricing.package_option(
                    terms,
                    single_prices=prices[pl.pk],
                    names=names,
                    maintenance_price=pl.maintenance_price,
                    policy=policy(),
                )
            except pricing.PricingError as exc:
                rows.append(PackageCheck(pl, None, f"Not offered: {exc}"))
                continue
            capped = (
                package.price is not None
                and not package.allow_above_single_price
                and package.price > option.single_price_total
            )
            rows.append(PackageCheck(pl, option, capped=capped))
        checks[package.pk] = rows
    return checks
