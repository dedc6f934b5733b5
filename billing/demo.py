"""Demo billing data for `make run`: a price list, packages and an open quote. Idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from billing import services
from billing.models import Package, PriceList, Quote
from mesoclinic.core import roles
from patients.models import Patient
from protocols.models import Protocol

# Per-session prices by protocol name (CLINICAL.md: PRP 300-700 a session).
SESSION_PRICES = {
    "PRP scalp (hair loss)": "450.00",
    "PRP scalp with microneedling": "520.00",
    "PRP face rejuvenation": "500.00",
    "PRP with microneedling for acne scars": "480.00",
    "PRP for stretch marks": "420.00",
    "Plasma lift: PRP with fractional laser": "650.00",
    "Hair mesotherapy": "250.00",
    "Face mesotherapy": "280.00",
}
PACKAGES = (
    # name, {protocol: sessions}, price, percent off, maintenance sessions, months
    ("Scalp course of 3", {"PRP scalp (hair loss)": 3}, "1150.00", None, 0, 12),
    ("Scalp 6 + 2 maintenance", {"PRP scalp (hair loss)": 6}, None, "15", 2, 18),
    ("Face course of 3", {"PRP face rejuvenation": 3}, "1300.00", None, 0, 12),
    ("Face and neck duo", {"PRP face rejuvenation": 3, "Face mesotherapy": 3}, None, "12", 0, 12),
)


def load_demo_billing(*, users: dict) -> None:
    protocols = {p.name: p for p in Protocol.objects.filter(name__in=SESSION_PRICES)}
    today = timezone.localdate()
    if not PriceList.objects.filter(name="Standard prices").exists():
        services.price_list_create(
            name="Standard prices",
            effective_from=date(today.year, 1, 1),
            consultation_fee=Decimal("100.00"),
            maintenance_price=Decimal("350.00"),
            session_prices={
                protocols[name]: Decimal(amount)
                for name, amount in SESSION_PRICES.items()
                if name in protocols
            },
            addons={"Exosome serum": Decimal("150.00"), "Numbing cream": Decimal("20.00")},
        )
    for name, sessions, price, pct, maintenance, months in PACKAGES:
        if Package.objects.filter(name=name).exists() or not all(p in protocols for p in sessions):
            continue
        services.package_create(
            name=name,
            sessions={protocols[p]: n for p, n in sessions.items()},
            price=Decimal(price) if price else None,
            percent_off=Decimal(pct) if pct else None,
            maintenance_sessions=maintenance,
            valid_months=months,
        )
    patient = Patient.objects.filter(first_name="Amelia", last_name="Hughes").first()
    scalp = protocols.get("PRP scalp (hair loss)")
    if patient is None or scalp is None or Quote.objects.filter(patient=patient).exists():
        return
    package = Package.objects.get(name="Scalp course of 3")
    services.quote_create(
        patient=patient,
        price_list=PriceList.objects.get(name="Standard prices"),
        wanted=[(scalp.pk, scalp.name, 3)],
        option_key=f"package:{package.public_id}",
        by=users[roles.FRONT_DESK],
        today=today,
        areas=["scalp_frontal", "scalp_crown"],
        notes="Demo quote: compare the package with paying per session.",
    )
