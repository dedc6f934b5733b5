"""Staff pages of online booking: settings and policy versions, the review list with a
merge into a suggested duplicate, deposits received, markers on staff pages."""

import datetime

import pytest
from django.urls import reverse

from patients.models import Patient
from sessions.online import services
from sessions.online.models import BookingPolicy, OnlineBooking, OnlinePatientReview
from sessions.scheduling.models import Appointment
from tests.factories import PatientFactory

from .conftest import give_details, hold_course, local

pytestmark = pytest.mark.usefixtures("clock")
MONDAY = datetime.date(2026, 3, 9)


def booked(face, location, practitioner, policy, **details):
    booking = hold_course(face, location, practitioner, local(MONDAY, 10))
    give_details(booking, policy, **details)
    return services.booking_verify(booking=booking)


def test_the_manager_sets_what_is_bookable_and_publishes_a_policy(manager_client, face, location):
    url = reverse("online:settings")
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(
        url,
        {
            "enabled": "on",
            "consultation_bookable": "on",
            "consultation_minutes": 30,
            "horizon_days": 90,
            "min_notice_hours": 12,
            "hold_minutes": 10,
            "course_deposit": "50.00",
            "deposit_instructions": "Pay at reception.",
            "max_active_per_email": 2,
            "protocols": [face.pk],
            "locations": [location.pk],
        },
    )
    assert response.status_code == 302
    text = "Cancel up to 24 hours ahead at no cost; later cancellations cost 50."
    manager_client.post(url, {"text": text})
    manager_client.post(url, {"text": text + " Deposits are kept."})
    assert list(BookingPolicy.objects.values_list("number", flat=True)) == [2, 1]
    bad = manager_client.post(url, {"text": "short"})
    assert bad.status_code == 200 and BookingPolicy.objects.count() == 2


def test_front_desk_merges_an_online_registration_into_the_suggested_duplicate(
    frontdesk_client, online, policy, face, location, working_practitioner
):
    known = PatientFactory(
        first_name="Ann", last_name="Lee", date_of_birth=datetime.date(1980, 5, 4), email=""
    )
    booking = booked(face, location, working_practitioner, policy)
    duplicate = booking.patient
    assert duplicate != known
    page = frontdesk_client.get(reverse("online:review"))
    assert page.status_code == 200
    [(review, matches)] = page.context["rows"]
    assert known in matches
    response = frontdesk_client.post(
        reverse("online:review_merge", kwargs={"patient_id": duplicate.public_id}),
        {"into": str(known.public_id)},
    )
    assert response.status_code == 302
    assert Appointment.objects.filter(patient=known, booked_online=True).count() == 3
    assert OnlineBooking.objects.get().patient == known
    duplicate.refresh_from_db()
    assert duplicate.is_archived
    assert OnlinePatientReview.objects.get().merged_into == known
    # A patient that is not a suggestion is refused, nothing changes.
    other = PatientFactory()
    frontdesk_client.post(
        reverse("online:review_merge", kwargs={"patient_id": duplicate.public_id}),
        {"into": str(other.public_id)},
    )
    assert not Appointment.objects.filter(patient=other).exists()


def test_front_desk_keeps_a_new_patient_and_takes_the_deposit(
    frontdesk_client, deposit, policy, face, location, working_practitioner
):
    booking = booked(face, location, working_practitioner, policy)
    patient_page = frontdesk_client.get(
        reverse("patients:detail", kwargs={"patient_id": booking.patient.public_id})
    )
    assert b"deposit due" in patient_page.content and b"Registered online" in patient_page.content
    frontdesk_client.post(
        reverse("online:review_done", kwargs={"patient_id": booking.patient.public_id})
    )
    assert OnlinePatientReview.objects.get().reviewed_at is not None
    frontdesk_client.post(
        reverse("online:deposit_received", kwargs={"online_booking_id": booking.public_id})
    )
    booking.refresh_from_db()
    assert not booking.deposit_outstanding
    assert Patient.objects.filter(archived_at__isnull=True).count() == 1


def test_online_bookings_are_marked_on_the_day_list_and_calendar(
    frontdesk_client, online, policy, face, location, working_practitioner
):
    booked(face, location, working_practitioner, policy)
    day = frontdesk_client.get(reverse("sessions:today"), {"day": MONDAY.isoformat()})
    assert b"Booked online" in day.content
    events = frontdesk_client.get(
        reverse("sessions:calendar_events"),
        {
            "location": location.public_id,
            "start": f"{MONDAY.isoformat()}T00:00:00",
            "end": f"{(MONDAY + datetime.timedelta(days=1)).isoformat()}T00:00:00",
        },
    ).json()
    assert any("booked online" in e["title"] and "booked-online" in e["classNames"] for e in events)
