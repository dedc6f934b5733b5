"""PDF rendering: the signed consent and the aftercare sheet, as a worker renders them.

Times each render (median, p95), records the process's peak memory, and renders 500
documents in one process to show whether memory keeps growing (one shared
FontConfiguration, no per-render caches). Renders only: storage is not timed.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta

NAME = "pdf"
TIMED_RENDERS = 40
GROWTH_RENDERS = 500
WARM_UP = 30
# The bench's own session, far in the future so it never clashes with other suites.
SESSION_START = datetime(2101, 3, 1, 9, 0, tzinfo=UTC)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def generate(ctx: dict) -> None:
    from decimal import Decimal

    from django.contrib.auth.models import User

    from patients.models import Patient, SignedConsent
    from patients.selectors import current_signed_consent
    from protocols.models import Protocol
    from sessions.charting import services as charting
    from sessions.charting.rules import Area, Product, Spin
    from sessions.scheduling.models import Appointment, Location, TreatmentPlan
    from tests.sessions.charting.helpers import sign_consent

    protocol = Protocol.objects.get(name="PRP face rejuvenation")
    doctor, _ = User.objects.get_or_create(
        username="bench-pdf", defaults={"first_name": "Bench", "last_name": "Practitioner"}
    )
    patient, _ = Patient.objects.get_or_create(
        email="bench-pdf@example.com",
        defaults={
            "first_name": "Beatrice",
            "last_name": "Benchmark",
            "date_of_birth": datetime(1980, 5, 17).date(),
        },
    )
    signed = current_signed_consent(patient=patient, protocol=protocol)
    if signed is None:
        signed = sign_consent(patient, protocol, by=doctor)
    location, _ = Location.objects.get_or_create(name="Bench PDF clinic")
    appointment = Appointment.objects.filter(location=location, patient=patient).first()
    if appointment is None:
        course = TreatmentPlan.objects.create(
            patient=patient,
            protocol=protocol,
            practitioner=doctor,
            location=location,
            sessions_planned=3,
            min_interval_days=protocol.min_interval_days,
            target_interval_days=protocol.target_interval_days,
            max_interval_days=protocol.max_interval_days,
        )
        appointment = Appointment.objects.create(
            patient=patient,
            protocol=protocol,
            course=course,
            sequence=1,
            kind=Appointment.Kind.COURSE_SESSION,
            practitioner=doctor,
            location=location,
            starts_at=SESSION_START,
            ends_at=SESSION_START + timedelta(hours=1),
            status=Appointment.Status.IN_TREATMENT,
        )
    if not hasattr(appointment, "chart") or not appointment.chart.is_signed:
        chart = charting.chart_open(appointment=appointment, by=doctor)
        data = charting.chart_input_of(chart)
        data.check_screening_current = data.check_consent_signed = True
        data.blood_volume_ml, data.prp_yield_ml = Decimal("20"), Decimal("6")
        data.spins = [Spin(300, 5), Spin(700, 15)]
        data.products = [
            Product("kit", "RegenLab", "BENCH-KIT", datetime(2102, 1, 1).date(), "A-PRP"),
            Product("activator", "Generic", "BENCH-ACT", datetime(2102, 1, 1).date(), "CaCl"),
        ]
        data.areas = [Area("face_cheek_left", Decimal("2")), Area("face_cheek_right", Decimal("2"))]
        charting.chart_save(chart=chart, data=data, by=doctor)
        charting.chart_sign(chart=chart, by=doctor)
        Appointment.objects.filter(pk=appointment.pk).update(
            status=Appointment.Status.COMPLETED, completed_at=SESSION_START + timedelta(hours=1)
        )
    ctx["pdf_signed_consent_id"] = signed.pk
    ctx["pdf_appointment_id"] = appointment.pk
    assert SignedConsent.objects.filter(pk=signed.pk).exists()


def measure(ctx: dict) -> dict:
    from patients.documents import signed_consent_pdf_render
    from patients.models import SignedConsent
    from sessions.charting import documents
    from sessions.scheduling.models import Appointment

    percentile = ctx["percentile"]
    signed = SignedConsent.objects.select_related(
        "patient", "protocol", "consent_version", "practitioner"
    ).get(pk=ctx["pdf_signed_consent_id"])
    appointment = Appointment.objects.select_related("patient", "protocol", "course", "chart").get(
        pk=ctx["pdf_appointment_id"]
    )

    def consent() -> bytes:
        return signed_consent_pdf_render(signed=signed)

    def aftercare() -> bytes:
        return documents.session_document_render(appointment=appointment, kind="aftercare")

    def timed(render) -> list[float]:
        render()  # first render loads fonts and templates
        times = []
        for _ in range(TIMED_RENDERS):
            started = time.perf_counter()
            assert render().startswith(b"%PDF")
            times.append((time.perf_counter() - started) * 1000)
        return times

    consent_ms = timed(consent)
    aftercare_ms = timed(aftercare)

    for i in range(WARM_UP):
        (consent if i % 2 else aftercare)()
    gc.collect()
    before = _rss_mb()
    for i in range(GROWTH_RENDERS):
        (consent if i % 2 else aftercare)()
    gc.collect()
    after = _rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "pdf_consent_median_ms": round(statistics.median(consent_ms), 1),
        "pdf_consent_p95_ms": round(percentile(consent_ms, 95), 1),
        "pdf_aftercare_median_ms": round(statistics.median(aftercare_ms), 1),
        "pdf_aftercare_p95_ms": round(percentile(aftercare_ms, 95), 1),
        "pdf_peak_rss_mb": round(peak, 1),
        "pdf_rss_growth_mb_500": round(after - before, 1),
    }
