"""A patient with a full record (3 courses, 12 completed sessions with lots and areas,
screenings, signed and withdrawn consents, 6 stored PDFs, invoices, photos, messages),
written directly as rows so tests and benchmarks can build it quickly."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from billing.models import Invoice, InvoiceLine
from mesoclinic.core import outbox
from patients.models import ClinicalPhoto, ConsentWithdrawal, SignedConsent
from sessions.charting.models import (
    AdverseEvent,
    ChartArea,
    ChartProduct,
    SessionChart,
    SessionDocument,
)
from sessions.scheduling.models import Appointment, Location, TreatmentPlan
from tests.factories import ScreeningFactory
from tests.sessions.charting.helpers import sign_consent

PROTOCOLS = ("PRP face rejuvenation", "PRP scalp (hair loss)", "Face mesotherapy")
ZONES = {
    "PRP face rejuvenation": ["face_cheek_left", "face_cheek_right", "face_forehead"],
    "PRP scalp (hair loss)": ["scalp_crown", "scalp_frontal"],
    "Face mesotherapy": ["face_periorbital_left", "neck"],
}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 150, 120)).save(out, format="JPEG")
    return out.getvalue()


def build_record(patient, catalogue, practitioner, *, start=None, location=None) -> dict:
    """Three courses of four completed sessions each, finished by `start` + ~1 year."""
    start = start or timezone.now() - datetime.timedelta(days=500)
    location = (
        location
        or Location.objects.get_or_create(
            name="Record clinic", defaults={"address": "1 High Street", "phone": "+441234567890"}
        )[0]
    )
    ScreeningFactory(patient=patient, recorded_by=practitioner, taken_on=start.date())
    ScreeningFactory(
        patient=patient,
        recorded_by=practitioner,
        taken_on=(start + datetime.timedelta(days=200)).date(),
        anticoagulants=True,
        current_medications="Warfarin 5 mg",
    )
    made = {"courses": [], "appointments": [], "consents": [], "documents": [], "invoices": []}
    for c, name in enumerate(PROTOCOLS):
        protocol = catalogue[name]
        consent = sign_consent(patient, protocol, by=practitioner)
        # As patients.documents stores it: a file, then the one update the trigger allows.
        stored = default_storage.save(
            f"consents/test/{consent.public_id}.pdf", ContentFile(b"%PDF-1.7 consent")
        )
        SignedConsent.objects.filter(pk=consent.pk).update(pdf=stored, pdf_sha256="1" * 64)
        consent.refresh_from_db()
        made["consents"].append(consent)
        course = TreatmentPlan.objects.create(
            patient=patient,
            protocol=protocol,
            practitioner=practitioner,
            location=location,
            status=TreatmentPlan.Status.COMPLETED,
            sessions_planned=4,
            min_interval_days=14,
            target_interval_days=28,
            max_interval_days=42,
            maintenance_interval_months=6,
        )
        made["courses"].append(course)
        invoice = Invoice.objects.create(
            patient=patient,
            location=location,
            subtotal=Decimal("1000.00"),
            net=Decimal("833.33"),
            tax=Decimal("166.67"),
            total=Decimal("1000.00"),
            tax_rate=Decimal("20"),
            created_by=practitioner,
        )
        InvoiceLine.objects.create(
            invoice=invoice,
            description=f"{name}: course of 4",
            protocol=protocol,
            quantity=4,
            unit_price=Decimal("250.00"),
            amount=Decimal("1000.00"),
        )
        # Issued after its lines are written (issued lines are frozen by a trigger).
        Invoice.objects.filter(pk=invoice.pk).update(
            status=Invoice.Status.ISSUED,
            number=f"INV-{patient.pk}-{c}",
            year=2026,
            sequence=patient.pk * 10 + c,
            issued_at=start + datetime.timedelta(days=c * 120),
        )
        invoice.refresh_from_db()
        made["invoices"].append(invoice)
        for s in range(4):
            begins = start + datetime.timedelta(days=c * 120 + s * 28)
            appointment = Appointment.objects.create(
                patient=patient,
                protocol=protocol,
                course=course,
                sequence=s + 1,
                kind=Appointment.Kind.COURSE_SESSION,
                practitioner=practitioner,
                location=location,
                starts_at=begins,
                ends_at=begins + datetime.timedelta(hours=1),
                status=Appointment.Status.COMPLETED,
                completed_at=begins + datetime.timedelta(minutes=55),
            )
            made["appointments"].append(appointment)
            chart = SessionChart.objects.create(
                appointment=appointment,
                created_by=practitioner,
                technique="point_by_point",
                prp_yield_ml=Decimal("4.5") if protocol.is_prp else None,
            )
            ChartProduct.objects.create(
                chart=chart,
                kind="kit" if protocol.is_prp else "product",
                brand="RegenLab" if protocol.is_prp else "Fillmed",
                name="A-PRP" if protocol.is_prp else "NCTF 135HA",
                lot_number=f"LOT-{c}{s}",
                expiry_date=datetime.date(2030, 1, 1),
            )
            for zone in ZONES[name]:
                ChartArea.objects.create(chart=chart, zone=zone, volume_ml=Decimal("0.5"))
            if s == 1:
                AdverseEvent.objects.create(
                    chart=chart,
                    type="bruising",
                    severity="mild",
                    onset="after",
                    action_taken="Cold compress",
                )
            SessionChart.objects.filter(pk=chart.pk).update(
                signed_by=practitioner, signed_at=begins + datetime.timedelta(minutes=50)
            )
            if s in (0, 3):
                doc = SessionDocument(appointment=appointment, kind="aftercare", sha256="0" * 64)
                doc.file.save(
                    f"aftercare-{c}-{s}.pdf", ContentFile(b"%PDF-1.7 aftercare"), save=False
                )
                doc.save()
                made["documents"].append(doc)
    ConsentWithdrawal.objects.create(
        signed_consent=made["consents"][2], recorded_by=practitioner, reason="Changed mind"
    )
    photo = ClinicalPhoto(
        patient=patient,
        kind="before",
        area="face_cheek_left",
        taken_on=start.date(),
        width=8,
        height=8,
        size_bytes=100,
        sha256="0" * 64,
        uploaded_by=practitioner,
    )
    photo.image.save("p.jpg", ContentFile(jpeg()), save=False)
    photo.save()
    made["photo"] = photo
    made["message"] = outbox.message_schedule(
        kind="booking_confirmation",
        subject=made["appointments"][0],
        due_at=start,
        recipient=patient.email,
        patient=patient,
    )
    made["location"] = location
    return made
