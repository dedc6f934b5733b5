"""Billing test data: a price list, packages, and a quote accepted into a purchase."""

from __future__ import annotations

import datetime
from decimal import Decimal

from billing import services

SCALP = "PRP scalp (hair loss)"
FACE = "PRP face rejuvenation"


def price_list(catalogue, *, effective_from=datetime.date(2026, 1, 1), location=None, scale=1):
    """The standard test list; one list applies from a given day at a place, so asking
    again for the same day and place gives the same list."""
    from billing.models import PriceList

    existing = PriceList.objects.filter(effective_from=effective_from, location=location).first()
    if existing is not None:
        assert existing.maintenance_price == Decimal("350.00") * scale, "another list that day"
        return existing
    return services.price_list_create(
        name="Standard",
        effective_from=effective_from,
        location=location,
        consultation_fee=Decimal("100.00"),
        maintenance_price=Decimal("350.00") * scale,
        session_prices={
            catalogue[SCALP]: Decimal("450.00") * scale,
            catalogue[FACE]: Decimal("500.00") * scale,
        },
        addons={"Exosome serum": Decimal("150.00")},
    )


def scalp_package(catalogue, **kwargs):
    defaults = {
        "name": "Scalp course of 3",
        "sessions": {catalogue[SCALP]: 3},
        "price": Decimal("1150.00"),
    }
    return services.package_create(**{**defaults, **kwargs})


def accepted_purchase(patient, catalogue, user, *, today, package=None, instalments=0):
    pl = price_list(catalogue)
    package = package or scalp_package(catalogue)
    quote = services.quote_create(
        patient=patient,
        price_list=pl,
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key=f"package:{package.public_id}",
        by=user,
        today=today,
    )
    purchase = services.quote_accept(quote=quote, by=user, today=today, instalments=instalments)
    return quote, purchase


def course_appointments(patient, protocol, practitioner, *, first, count, location=None):
    """A course with `count` completed-ready sessions a week apart (ORM only)."""
    from sessions.scheduling.models import Appointment, Location, TreatmentPlan

    location = location or Location.objects.get_or_create(name="Harley Street")[0]
    course = TreatmentPlan.objects.create(
        patient=patient,
        protocol=protocol,
        practitioner=practitioner,
        location=location,
        sessions_planned=count,
        min_interval_days=21,
        target_interval_days=28,
        max_interval_days=42,
    )
    return [
        Appointment.objects.create(
            patient=patient,
            protocol=protocol,
            course=course,
            sequence=n + 1,
            kind=Appointment.Kind.COURSE_SESSION,
            practitioner=practitioner,
            location=location,
            starts_at=first + datetime.timedelta(days=28 * n),
            ends_at=first + datetime.timedelta(days=28 * n, hours=1),
            status=Appointment.Status.COMPLETED,
        )
        for n in range(count)
    ]
