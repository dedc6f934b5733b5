"""Fixtures for patient communications: the sessions fixtures, a mailbox, booked sessions."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from mesoclinic.core.models import OutboundMessage
from sessions.scheduling import services
from sessions.scheduling.models import Appointment
from tests.factories import ScreeningFactory
from tests.sessions.conftest import (  # noqa: F401  (fixtures shared with the sessions tests)
    NOW,
    clock,
    face,
    local,
    location,
    room,
    working_practitioner,
)


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://clinic.example"


def messages_of(subject, kind: str | None = None):
    rows = OutboundMessage.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )
    return rows.filter(kind=kind) if kind else rows


def book(patient, practitioner, where, start, **kw) -> Appointment:
    kw.setdefault("by", practitioner)
    return services.appointment_book(
        patient=patient, practitioner=practitioner, location=where, starts_at=start, **kw
    )


def complete_session(appointment: Appointment, user, override_reason: str = "") -> Appointment:
    """The real path to a completed treatment: screening, consent, a signed chart.

    `override_reason`: check in and complete on another day than booked (a test whose
    worker runs on the real clock)."""
    from patients.documents import signed_consent_pdf_generate
    from sessions.charting import services as charting
    from sessions.charting.rules import Area, Product, Spin
    from tests.sessions.charting.helpers import sign_consent

    patient = appointment.patient
    day = appointment.starts_at.date()
    ScreeningFactory(patient=patient, taken_on=timezone.localdate(), recorded_by=user)
    if not patient.signed_consents.exists():
        signed = sign_consent(patient, appointment.protocol)
        signed_consent_pdf_generate(signed_consent_id=signed.pk)
    services.appointment_check_in(appointment=appointment, by=user, override_reason=override_reason)
    services.appointment_start(appointment=appointment, by=user)
    chart = charting.chart_open(appointment=appointment, by=user)
    data = charting.chart_input_of(chart)
    data = dataclasses.replace(
        data,
        check_screening_current=True,
        check_consent_signed=True,
        technique=data.technique or "point_by_point",
        blood_volume_ml=data.blood_volume_ml or Decimal("20"),
        prp_yield_ml=Decimal("4"),
        spins=data.spins or [Spin(1500, 8)],
        areas=data.areas or [Area("cheeks", Decimal("1"))],
        products=[Product("kit", "RegenKit", "LOT42", day + datetime.timedelta(days=365))],
    )
    charting.chart_save(chart=chart, data=data, by=user)
    charting.chart_sign(chart=chart, by=user)
    services.appointment_complete(appointment=appointment, by=user, override_reason=override_reason)
    appointment.refresh_from_db()
    return appointment
