"""Billing at clinic scale: quotes compared against every package, invoices issued.

Dataset: one price list over the whole catalogue, a dozen packages (six of them
applicable to a scalp course), and 20,000 (tier L: 80,000) issued invoices from earlier years, so
numbering, balances and indexes work against a realistic table.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.bench import tiers

NAME = "billing"
TARGET_INVOICES = tiers.current().invoices
SAMPLES = 200


def generate(ctx: dict) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from billing import services
    from billing.models import DocumentCounter, Invoice, InvoiceLine, Package, PriceList
    from mesoclinic.core import roles
    from patients.models import Patient
    from protocols.catalogue import real_models, seed
    from protocols.models import Protocol

    roles.sync_groups()
    seed(real_models())
    user, _ = User.objects.get_or_create(username="bench-frontdesk")
    user.groups.add(Group.objects.get(name=roles.FRONT_DESK))
    ctx["frontdesk"] = user
    protocols = list(Protocol.objects.order_by("name"))
    scalp = Protocol.objects.get(name="PRP scalp (hair loss)")
    price_list = PriceList.objects.filter(name="Bench prices").first()
    if price_list is None:
        price_list = services.price_list_create(
            name="Bench prices",
            effective_from=datetime(2020, 1, 1, tzinfo=UTC).date(),
            consultation_fee=Decimal("100"),
            maintenance_price=Decimal("350"),
            session_prices={p: Decimal(300 + 25 * n) for n, p in enumerate(protocols)},
        )
    ctx["price_list"] = price_list
    ctx["scalp"] = scalp
    if not Package.objects.filter(name__startswith="Bench ").exists():
        for n in range(1, 7):
            services.package_create(
                name=f"Bench scalp {n * 2}",
                sessions={scalp: n * 2},
                percent_off=Decimal(5 + n * 2),
                maintenance_sessions=n % 3,
            )
        for n, protocol in enumerate(p for p in protocols if p != scalp):
            if n >= 6:
                break
            services.package_create(
                name=f"Bench other {n}", sessions={protocol: 3}, price=Decimal("900")
            )
    existing = Invoice.objects.filter(year__lt=2026).count()
    rng = random.Random(20261123)
    patient_ids = list(Patient.objects.values_list("id", flat=True)[:20_000])
    ctx["patient_ids"] = patient_ids
    year = 2025
    while existing < TARGET_INVOICES:
        size = min(5_000, TARGET_INVOICES - existing)
        with transaction.atomic():
            counter, _ = DocumentCounter.objects.select_for_update().get_or_create(
                series="INV", year=year
            )
            first = counter.last + 1
            invoices = Invoice.objects.bulk_create(
                [
                    Invoice(
                        patient_id=rng.choice(patient_ids),
                        number=f"INV-{year}-{first + n:05d}",
                        year=year,
                        sequence=first + n,
                        subtotal=Decimal("450.00"),
                        net=Decimal("375.00"),
                        tax=Decimal("75.00"),
                        total=Decimal("450.00"),
                        tax_rate=Decimal("20"),
                        issued_at=datetime(year, 1, 1, tzinfo=UTC)
                        + timedelta(minutes=rng.randrange(0, 525_000)),
                        created_by=user,
                    )
                    for n in range(size)
                ]
            )
            InvoiceLine.objects.bulk_create(
                [
                    InvoiceLine(
                        invoice=inv,
                        description="Session",
                        protocol=scalp,
                        unit_price=Decimal("450.00"),
                        amount=Decimal("450.00"),
                    )
                    for inv in invoices
                ]
            )
            Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(status="issued")
            counter.last = first + size - 1
            counter.save(update_fields=["last"])
        existing += size
        print(f"  invoices: {existing}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_invoice; ANALYZE billing_invoiceline;")


def measure(ctx: dict) -> dict[str, float]:
    from django.test import Client
    from django.urls import reverse

    from billing import pricing, services
    from patients.models import Patient

    percentile = ctx["percentile"]
    rng = random.Random(11)
    client = Client()
    client.force_login(ctx["frontdesk"])
    patients = list(Patient.objects.filter(pk__in=rng.sample(ctx["patient_ids"], SAMPLES)))
    field = f"sessions_{ctx['scalp'].pk}"
    quote_times = []
    for patient in patients:
        url = reverse("billing:quote_new", args=[patient.public_id])
        started = time.perf_counter()
        response = client.get(url, {field: str(rng.randint(1, 6))}, HTTP_HX_REQUEST="true")
        quote_times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b"Bench scalp" in response.content
    issue_times = []
    for patient in patients:
        lines = [
            pricing.Line("Session", 1, Decimal("450.00"), ctx["scalp"].pk),
            pricing.Line("Exosome serum", 1, Decimal("150.00")),
        ]
        started = time.perf_counter()
        services.invoice_issue(patient=patient, lines=lines, by=ctx["frontdesk"])
        issue_times.append((time.perf_counter() - started) * 1000)
    return {
        "quote_build_p95_ms": round(percentile(quote_times, 95), 1),
        "invoice_issue_p95_ms": round(percentile(issue_times, 95), 1),
    }
