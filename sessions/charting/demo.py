"""Demo data for charting (`make run` only): completed demo sessions get what a real
clinic would have on file — a signed consent, a signed chart with its kit lot, and the
consent, aftercare and chart PDFs. Idempotent."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from PIL import Image, ImageDraw

from mesoclinic.core import roles
from patients import documents as patient_documents
from patients import services as patient_services
from patients.selectors import current_signed_consent
from protocols.areas import ZONE_BY_CODE
from protocols.services import current_consent
from sessions.charting import documents
from sessions.charting import services as charting
from sessions.charting.models import SessionChart, SessionDocument
from sessions.charting.rules import Area, Product, Spin
from sessions.scheduling.models import Appointment


def _signature(seed: int) -> str:
    image = Image.new("RGBA", (420, 150), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 28, 80 + ((i * 7 + seed) % 5 - 2) * 18) for i in range(14)]
    draw.line(points, fill=(26, 26, 46, 255), width=4, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def load_demo_charting(*, users: dict) -> None:
    practitioner = users[roles.PRACTITIONER]
    done = Appointment.objects.filter(
        status=Appointment.Status.COMPLETED, chart__isnull=True, protocol__isnull=False
    ).select_related("patient", "protocol", "course")
    for n, appointment in enumerate(done):
        protocol = appointment.protocol
        signed = current_signed_consent(patient=appointment.patient, protocol=protocol)
        if signed is None:
            signed = patient_services.consent_sign(
                patient=appointment.patient,
                protocol=protocol,
                version_id=current_consent(protocol).pk,
                patient_signature=_signature(n),
                practitioner_signature=_signature(n + 3),
                by=practitioner,
            )
        patient_documents.signed_consent_pdf_generate(signed_consent_id=signed.pk)
        chart = SessionChart.objects.create(
            appointment=appointment, created_by=practitioner, activation=protocol.activation
        )
        data = charting.chart_input_of(chart)
        zones = [z for z in protocol.treatment_areas if z in ZONE_BY_CODE][:4]
        data.check_screening_current = data.check_consent_signed = True
        data.check_before_photos = True
        data.technique = charting.DEFAULT_TECHNIQUE.get(protocol.technique, "nappage")
        data.needle_gauge = 30
        expiry = timezone.localdate(appointment.starts_at) + timedelta(days=300)
        if protocol.is_prp:
            data.blood_volume_ml = protocol.blood_volume_ml or Decimal("20")
            data.tubes = protocol.tubes or 2
            data.prp_yield_ml = Decimal("6")
            data.spins = [Spin(s.g_force, s.minutes) for s in protocol.spins.all()] or [
                Spin(300, 10)
            ]
            data.products = [Product("kit", "RegenLab", "RL-DEMO-2291", expiry, "A-PRP")]
            per_zone = (Decimal("5") / max(len(zones), 1)).quantize(Decimal("0.1"))
        else:
            data.products = [Product("product", "Demo Labs", "DL-DEMO-77", expiry, "Cocktail")]
            per_zone = Decimal("1.0")
        data.areas = [Area(z, per_zone) for z in zones] or [Area("face_cheek_left", None)]
        data.immediate_reactions = "Mild redness at the injection points."
        charting.chart_save(chart=chart, data=data, by=practitioner)
        charting.chart_sign(chart=chart, by=practitioner)
        for kind in SessionDocument.Kind.values:
            documents.session_document_generate(appointment_id=appointment.pk, kind=kind)
