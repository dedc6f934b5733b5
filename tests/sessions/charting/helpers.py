"""Helpers for consent and chart tests: real signature images and signed consents."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

from tests.factories import UserFactory


def signature_data_uri(seed: int = 0) -> str:
    """A PNG like signature_pad makes: transparent, with a drawn stroke."""
    image = Image.new("RGBA", (400, 150), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 30, 75 + ((i + seed) % 3 - 1) * 40) for i in range(12)]
    draw.line(points, fill=(26, 26, 46, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def empty_signature_data_uri() -> str:
    out = io.BytesIO()
    Image.new("RGBA", (400, 150), (0, 0, 0, 0)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def sign_consent(patient, protocol, *, by=None):
    from patients import services
    from protocols.services import current_consent

    by = by or UserFactory(username="countersigner", first_name="Casey", last_name="Sign")
    return services.consent_sign(
        patient=patient,
        protocol=protocol,
        version_id=current_consent(protocol).pk,
        patient_signature=signature_data_uri(1),
        practitioner_signature=signature_data_uri(2),
        by=by,
    )


def sample_session_document(patient, protocol):
    """A stored aftercare document of a past session (for the permission walk)."""
    import datetime

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from sessions.charting.models import SessionChart, SessionDocument
    from sessions.scheduling.models import Appointment, Location

    doctor = UserFactory(username="doc-for-documents")
    location = Location.objects.get_or_create(name="Documents clinic")[0]
    start = timezone.now() - datetime.timedelta(days=400)
    appointment = Appointment.objects.create(
        patient=patient,
        protocol=protocol,
        kind=Appointment.Kind.MAINTENANCE,
        practitioner=doctor,
        location=location,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=Appointment.Status.COMPLETED,
    )
    SessionChart.objects.create(appointment=appointment, created_by=doctor)
    document = SessionDocument(appointment=appointment, kind="aftercare", sha256="0" * 64)
    document.file.save("aftercare.pdf", ContentFile(b"%PDF-1.7 sample"), save=False)
    document.save()
    return document


def ready_to_complete(appointment, by):
    """Give a checked-in treatment session what completion needs: a live signed consent
    for its protocol and a signed chart (used by tests of other apps, too)."""
    from decimal import Decimal

    from django.utils import timezone

    from patients.selectors import current_signed_consent
    from sessions.charting import services as charting
    from sessions.charting.rules import Area, Product, Spin

    if current_signed_consent(patient=appointment.patient, protocol=appointment.protocol) is None:
        sign_consent(appointment.patient, appointment.protocol, by=by)
    chart = charting.chart_open(appointment=appointment, by=by)
    data = charting.chart_input_of(chart)
    data.check_screening_current = data.check_consent_signed = True
    data.technique = data.technique or "point_by_point"
    if appointment.protocol.is_prp:
        data.blood_volume_ml = data.blood_volume_ml or Decimal("20")
        data.prp_yield_ml = Decimal("4")
        data.spins = data.spins or [Spin(300, 10)]
        expiry = timezone.localdate(appointment.starts_at).replace(year=2099)
        data.products = [Product("kit", "RegenLab", "KIT-READY", expiry, "A-PRP")]
    data.areas = [Area(a.zone, None) for a in data.areas] or [Area("face_cheek_left", None)]
    charting.chart_save(chart=chart, data=data, by=by)
    return charting.chart_sign(chart=chart, by=by)
