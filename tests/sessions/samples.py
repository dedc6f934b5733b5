"""One real object for every URL keyword of the sessions app (for the permission walk)."""

import datetime

from django.utils import timezone

from mesoclinic.core import roles
from sessions.scheduling.models import (
    Absence,
    Appointment,
    CalendarFeed,
    Closure,
    Location,
    Room,
    TreatmentPlan,
    WorkingHours,
)
from tests.conftest import make_user


def sample_kwargs(patient, catalogue) -> dict:
    doctor = make_user("sample-doctor", roles.PRACTITIONER, first_name="Sam")
    location = Location.objects.create(name="Sample clinic")
    room = Room.objects.create(location=location, name="Sample room")
    hours = WorkingHours.objects.create(
        practitioner=doctor,
        location=location,
        weekday=0,
        start=datetime.time(9),
        end=datetime.time(17),
    )
    now = timezone.now()
    absence = Absence.objects.create(
        practitioner=doctor,
        starts_at=now + datetime.timedelta(days=90),
        ends_at=now + datetime.timedelta(days=91),
    )
    closure = Closure.objects.create(
        name="Sample holiday",
        starts_on=now.date() + datetime.timedelta(days=100),
        ends_on=now.date() + datetime.timedelta(days=100),
    )
    protocol = catalogue["PRP face rejuvenation"]
    course = TreatmentPlan.objects.create(
        patient=patient,
        protocol=protocol,
        practitioner=doctor,
        location=location,
        sessions_planned=3,
        min_interval_days=14,
        target_interval_days=28,
        max_interval_days=42,
    )
    start = now + datetime.timedelta(days=3)
    appointment = Appointment.objects.create(
        patient=patient,
        protocol=protocol,
        course=course,
        sequence=1,
        kind=Appointment.Kind.COURSE_SESSION,
        practitioner=doctor,
        location=location,
        room=room,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
    )
    feed = CalendarFeed.objects.create(practitioner=doctor)
    online = _online_samples(patient, protocol, location, doctor)
    return {
        **online,
        "appointment_id": appointment.public_id,
        "course_id": course.public_id,
        "location_id": location.public_id,
        "room_id": room.public_id,
        "hours_id": hours.public_id,
        "absence_id": absence.public_id,
        "closure_id": closure.public_id,
        "feed_token": feed.token,
    }


def _online_samples(patient, protocol, location, doctor) -> dict:
    """An online booking (booked) and a consent signed on the patient's phone."""
    from protocols.services import current_consent
    from sessions.online.models import OnlineBooking, OnlinePatientReview, RemoteConsent

    now = timezone.now()
    booking = OnlineBooking.objects.create(
        kind="course",
        protocol=protocol,
        location=location,
        practitioner=doctor,
        status="booked",
        patient=patient,
        expires_at=now,
        email=patient.email,
    )
    OnlinePatientReview.objects.create(patient=patient, booking=booking)
    remote = RemoteConsent.objects.create(
        patient=patient,
        protocol=protocol,
        consent_version=current_consent(protocol),
        text_sha256="0" * 64,
        signature_png=b"png",
        signature_sha256="0" * 64,
    )
    return {
        "online_booking_id": booking.public_id,
        "remote_consent_id": remote.public_id,
        "sequence": 1,
    }
