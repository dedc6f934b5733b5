"""Billing reports as plain rows: the page draws them as tables and charts, CSV exports them.

- Revenue by month: invoices issued in the month, less credit notes issued in it.
- Revenue by protocol, practitioner and location: sessions delivered, valued at the
  credit used (its share of the package price) or at the session's own invoice; fees
  for late cancellations and no-shows count for the appointment's practitioner.
- Outstanding: issued invoices with money still due.
- Unused credits: sessions paid for and not yet given (the clinic's liability).
- Conversion: quotes made in the period and how many became purchases.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from billing.models import Credit, CreditUse, Invoice, InvoiceLine, Purchase, Quote
from billing.selectors import with_balances
from protocols.models import Protocol
from sessions.scheduling.models import Location

ZERO = Decimal(0)
MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    location: object | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        zone = timezone.get_default_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


def _issued(filters: Filters):
    start, end = filters.bounds()
    rows = Invoice.objects.filter(
        status=Invoice.Status.ISSUED, issued_at__gte=start, issued_at__lt=end
    )
    if filters.location is not None:
        rows = rows.filter(location=filters.location)
    return rows


def revenue_by_month(filters: Filters) -> list[dict]:
    zone = timezone.get_default_timezone()
    rows = (
        _issued(filters)
        .annotate(month=TruncMonth("issued_at", tzinfo=zone))
        .values("month")
        .annotate(
            invoiced=Coalesce(Sum("total", filter=Q(kind=Invoice.Kind.INVOICE)), ZERO),
            credited=Coalesce(Sum("total", filter=Q(kind=Invoice.Kind.CREDIT_NOTE)), ZERO),
            tax=Coalesce(Sum("tax", filter=Q(kind=Invoice.Kind.INVOICE)), ZERO)
            - Coalesce(Sum("tax", filter=Q(kind=Invoice.Kind.CREDIT_NOTE)), ZERO),
        )
        .order_by("month")
    )
    return [
        {
            "label": r["month"].strftime("%b %Y"),
            "invoiced": r["invoiced"],
            "credited": r["credited"],
            "revenue": r["invoiced"] - r["credited"],
            "tax": r["tax"],
        }
        for r in rows
    ]


def _delivered(filters: Filters, credit_key: str, line_key: str, label_of) -> list[dict]:
    """Sessions delivered in the period, grouped: credit uses plus session/fee invoices."""
    start, end = filters.bounds()
    uses = CreditUse.objects.filter(used_at__gte=start, used_at__lt=end)
    lines = InvoiceLine.objects.filter(
        invoice__status=Invoice.Status.ISSUED,
        invoice__kind=Invoice.Kind.INVOICE,
        invoice__appointment__isnull=False,
        invoice__issued_at__gte=start,
        invoice__issued_at__lt=end,
    )
    if filters.location is not None:
        uses = uses.filter(location=filters.location)
        lines = lines.filter(invoice__location=filters.location)
    totals: dict = defaultdict(lambda: {"sessions": 0, "revenue": ZERO})
    for row in uses.values(credit_key).annotate(n=Count("id"), amount=Sum("value")):
        bucket = totals[row[credit_key]]
        bucket["sessions"] += row["n"]
        bucket["revenue"] += row["amount"] or ZERO
    for row in lines.values(line_key).annotate(n=Sum("quantity"), amount=Sum("amount")):
        bucket = totals[row[line_key]]
        bucket["sessions"] += row["n"] or 0
        bucket["revenue"] += row["amount"] or ZERO
    labels = label_of([k for k in totals if k is not None])
    return sorted(
        ({"label": labels.get(k, "Not recorded"), **v} for k, v in totals.items()),
        key=lambda r: (-r["revenue"], r["label"]),
    )


def revenue_by_protocol(filters: Filters) -> list[dict]:
    return _delivered(
        filters,
        "credit__protocol_id",
        "protocol_id",
        lambda ids: dict(Protocol.objects.filter(pk__in=ids).values_list("id", "name")),
    )


def revenue_by_practitioner(filters: Filters) -> list[dict]:
    def names(ids):
        return {u.pk: u.get_full_name() or u.username for u in User.objects.filter(pk__in=ids)}

    return _delivered(filters, "practitioner_id", "invoice__appointment__practitioner_id", names)


def revenue_by_location(filters: Filters) -> list[dict]:
    return _delivered(
        filters,
        "location_id",
        "invoice__location_id",
        lambda ids: dict(Location.objects.filter(pk__in=ids).values_list("id", "name")),
    )


def outstanding(filters: Filters) -> list[dict]:
    """Issued invoices (in the period) with a balance still due, oldest first."""
    rows = (
        with_balances(_issued(filters).filter(kind=Invoice.Kind.INVOICE))
        .annotate(
            due=ExpressionWrapper(
                F("total") - F("credited_sum") - F("paid_sum") + F("refunded_sum"),
                output_field=MONEY,
            )
        )
        .filter(due__gt=0)
        .select_related("patient")
        .order_by("issued_at", "id")
    )
    return [
        {
            "label": inv.number,
            "invoice": inv,
            "patient": inv.patient.full_name,
            "issued": timezone.localtime(inv.issued_at).date(),
            "total": inv.total,
            "due": inv.due,
        }
        for inv in rows
    ]


def unused_credits(*, today: date, location=None) -> dict:
    """Sessions paid for and not yet given, valued at their share of the price."""
    credits = Credit.objects.filter(purchase__status=Purchase.Status.ACTIVE, used__lt=F("quantity"))
    if location is not None:
        credits = credits.filter(purchase__location=location)
    used_value = Coalesce(
        Subquery(
            CreditUse.objects.filter(credit=OuterRef("pk"))
            .order_by()
            .values("credit_id")
            .annotate(s=Sum("value"))
            .values("s")[:1]
        ),
        Value(ZERO),
        output_field=MONEY,
    )
    left = {
        c.pk: c.value - c.used_value
        for c in credits.annotate(used_value=used_value).only("id", "value")
    }
    rows = credits.values("description").annotate(
        sessions=Sum(F("quantity") - F("used")),
        ids=ArrayAgg("id"),
        valid_ids=ArrayAgg("id", filter=Q(purchase__valid_until__gte=today)),
    )
    table = [
        {
            "label": r["description"],
            "sessions": r["sessions"],
            "revenue": sum((left[i] for i in r["ids"]), ZERO),
            "expired": sum((left[i] for i in r["ids"] if i not in set(r["valid_ids"] or ())), ZERO),
        }
        for r in rows.order_by("description")
    ]
    return {
        "rows": table,
        "sessions": sum(r["sessions"] for r in table),
        "liability": sum((r["revenue"] for r in table), ZERO),
    }


def conversion(filters: Filters) -> dict:
    start, end = filters.bounds()
    quotes = Quote.objects.filter(created_at__gte=start, created_at__lt=end)
    if filters.location is not None:
        quotes = quotes.filter(location=filters.location)
    zone = timezone.get_default_timezone()
    rows = (
        quotes.annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month")
        .annotate(
            quotes=Count("id"),
            accepted=Count("id", filter=Q(status=Quote.Status.ACCEPTED)),
            value=Coalesce(Sum("total"), ZERO),
            won=Coalesce(Sum("total", filter=Q(status=Quote.Status.ACCEPTED)), ZERO),
        )
        .order_by("month")
    )
    table = [
        {
            "label": r["month"].strftime("%b %Y"),
            "quotes": r["quotes"],
            "accepted": r["accepted"],
            "rate": _rate(r["accepted"], r["quotes"]),
            "value": r["value"],
            "won": r["won"],
        }
        for r in rows
    ]
    made = sum(r["quotes"] for r in table)
    accepted = sum(r["accepted"] for r in table)
    return {"rows": table, "quotes": made, "accepted": accepted, "rate": _rate(accepted, made)}


def _rate(part: int, whole: int) -> Decimal:
    if not whole:
        return ZERO
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))
