"""The sessions facts in the patient page's header: a consent that stands in the way of a
booked treatment."""

from datetime import timedelta

import pytest
from django.test import RequestFactory

from patients import services as patient_services
from sessions.panels import patient_summary
from sessions.scheduling import services
from tests.sessions.charting.helpers import sign_consent
from tests.sessions.conftest import NOW, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
MON = NOW.date()


@pytest.fixture
def booked(clock, patient, working_practitioner, location, face):
    """A consultation tomorrow, then two treatments with the face protocol."""
    services.appointment_book(
        patient=patient,
        practitioner=working_practitioner,
        location=location,
        starts_at=local(MON + timedelta(days=1), 10),
        by=working_practitioner,
    )
    return [
        services.appointment_book(
            patient=patient,
            practitioner=working_practitioner,
            location=location,
            starts_at=local(MON + timedelta(days=days), 10),
            by=working_practitioner,
            kind="maintenance",
            protocol=face,
        )
        for days in (2, 3)
    ]


def _blockers(patient, user):
    request = RequestFactory().get("/")
    request.user = user
    return [(f.text, f.detail, f.tone) for f in patient_summary(request, patient=patient)[1:]]


@pytest.mark.usefixtures("booked")
def test_no_consent_is_a_warning_before_the_soonest_treatment(patient, practitioner, face):
    [(text, detail, tone)] = _blockers(patient, practitioner)
    assert text == f"No consent to {face.name} on file"
    assert detail == "To sign before the session on Wed 04 Mar 2026 10:00."
    assert tone == "warning"


@pytest.mark.usefixtures("booked")
def test_a_signed_consent_leaves_nothing_and_a_withdrawn_one_is_danger(patient, practitioner, face):
    sign_consent(patient, face, by=practitioner)
    assert _blockers(patient, practitioner) == []
    patient_services.consent_withdraw(
        patient=patient, protocol=face, reason="Changed her mind", by=practitioner
    )
    patient = type(patient).objects.get(pk=patient.pk)  # the page reads its consents once
    assert _blockers(patient, practitioner) == [
        (
            f"Consent to {face.name} withdrawn",
            "No further session until the patient signs a new consent.",
            "danger",
        )
    ]


@pytest.mark.usefixtures("booked")
def test_a_consent_to_a_replaced_version_asks_for_the_current_one(
    patient, practitioner, manager, face
):
    """The treatment gates want the current version: the header says so before the day."""
    from protocols.services import consent_version_create

    sign_consent(patient, face, by=practitioner)
    consent_version_create(
        protocol=face,
        text="Version two of the face consent: what the treatment is, its risks and aftercare.",
        by=manager,
    )
    patient = type(patient).objects.get(pk=patient.pk)  # the page reads its consents once
    assert _blockers(patient, practitioner) == [
        (
            f"Consent to {face.name} is to an old version",
            "The consent text has changed: the patient signs the current version before the "
            "session on Wed 04 Mar 2026 10:00.",
            "warning",
        )
    ]
    sign_consent(patient, face, by=practitioner)
    assert _blockers(type(patient).objects.get(pk=patient.pk), practitioner) == []
