"""A withdrawn consent blocks further sessions until the patient signs again; the
appointment page leads clinical staff to the session's chart."""

import datetime

import pytest
from django.urls import reverse

from patients.services import consent_withdraw
from sessions.scheduling import services
from sessions.scheduling.models import Appointment
from tests.factories import ScreeningFactory
from tests.sessions.charting.conftest import LONDON, NOW, make_session
from tests.sessions.charting.helpers import sign_consent


@pytest.fixture
def booked(clock, patient, face, practitioner):
    ScreeningFactory(patient=patient, taken_on=NOW.date(), recorded_by=practitioner)
    return make_session(
        patient,
        face,
        practitioner,
        start=datetime.datetime(2026, 3, 2, 11, 0, tzinfo=LONDON),
        status=Appointment.Status.BOOKED,
    )


def test_withdrawn_consent_refuses_check_in_until_signed_again(booked, face, practitioner):
    sign_consent(booked.patient, face)
    consent_withdraw(
        patient=booked.patient, protocol=face, reason="Changed her mind", by=practitioner
    )

    with pytest.raises(services.SchedulingError, match="withdrew consent"):
        services.appointment_check_in(appointment=booked, by=practitioner)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED

    sign_consent(booked.patient, face, by=practitioner)
    services.appointment_check_in(appointment=booked, by=practitioner)
    assert booked.status == Appointment.Status.CHECKED_IN


def test_no_consent_yet_does_not_block_check_in(booked, practitioner):
    # Patients usually sign on the tablet once they are in the clinic.
    services.appointment_check_in(appointment=booked, by=practitioner)
    assert booked.status == Appointment.Status.CHECKED_IN


def test_withdrawal_also_stops_a_checked_in_session_from_starting(booked, face, practitioner):
    sign_consent(booked.patient, face)
    services.appointment_check_in(appointment=booked, by=practitioner)
    consent_withdraw(patient=booked.patient, protocol=face, reason="Anxious", by=practitioner)
    with pytest.raises(services.SchedulingError, match="new consent"):
        services.appointment_start(appointment=booked, by=practitioner)


def test_appointment_page_links_clinical_staff_to_the_chart(
    booked, practitioner, client, frontdesk
):
    services.appointment_check_in(appointment=booked, by=practitioner)
    page = reverse("sessions:appointment_detail", args=[booked.public_id])
    chart = reverse("charting:chart", args=[booked.public_id])

    client.force_login(practitioner)
    assert chart in client.get(page).content.decode()

    client.force_login(frontdesk)
    assert chart not in client.get(page).content.decode()
