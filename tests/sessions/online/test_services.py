"""Online booking's services against PostgreSQL: holds under the database's constraints,
verification books all or nothing, matching without revealing, expiry, the email cap."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent, OutboundMessage
from patients.models import Screening
from sessions.online import services
from sessions.online.models import Hold, OnlineBooking, OnlinePatientReview
from sessions.scheduling import services as scheduling_services
from sessions.scheduling.models import Appointment, TreatmentPlan
from tests.factories import PatientFactory

from .conftest import NO, give_details, hold_course, local

pytestmark = pytest.mark.usefixtures("clock")

MONDAY = datetime.date(2026, 3, 9)


def test_a_course_is_held_then_booked_whole_when_the_link_is_used(
    online, policy, face, location, working_practitioner
):
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    assert booking.holds.count() == 3
    give_details(booking, policy)
    assert OutboundMessage.objects.filter(
        kind="online_verify", recipient="ann@example.com"
    ).exists()

    booked = services.booking_verify(booking=booking)

    assert booked.status == OnlineBooking.Status.BOOKED
    sessions = list(booked.course.appointments.order_by("sequence"))
    assert [a.starts_at for a in sessions] == [
        local(MONDAY, 10),
        local(MONDAY + datetime.timedelta(days=28), 10),
        local(MONDAY + datetime.timedelta(days=56), 10),
    ]
    assert not Hold.objects.filter(released_at__isnull=True).exists()
    screening = Screening.objects.get(patient=booked.patient)
    assert screening.source == "online" and screening.recorded_by is None
    assert booked.policy == policy and str(booked.policy_accepted_ip) == "203.0.113.9"
    kinds = set(
        OutboundMessage.objects.filter(patient_id=booked.patient.pk).values_list("kind", flat=True)
    )
    assert {"booking_confirmation", "online_booked"} <= kinds
    assert OnlinePatientReview.objects.filter(patient=booked.patient).exists()
    assert AuditEvent.objects.filter(
        object_type="clinic_sessions.OnlineBooking", summary__startswith="Booked online"
    ).exists()


def test_the_link_used_twice_books_once(online, policy, face, location, working_practitioner):
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    give_details(booking, policy)
    services.booking_verify(booking=booking)
    again = services.booking_verify(booking=booking)
    assert again.status == OnlineBooking.Status.BOOKED
    assert Appointment.objects.count() == 3


def test_one_matching_patient_is_linked_and_two_make_a_new_one_to_review(
    online, policy, face, location, working_practitioner
):
    known = PatientFactory(email="Ann@Example.com", date_of_birth=datetime.date(1980, 5, 4))
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    give_details(booking, policy)
    booked = services.booking_verify(booking=booking)
    assert booked.patient == known and booked.matched_existing
    assert not OnlinePatientReview.objects.exists()

    PatientFactory(email="bo@example.com", date_of_birth=datetime.date(1990, 1, 1))
    PatientFactory(email="bo@example.com", date_of_birth=datetime.date(1990, 1, 1))
    second = hold_course(face, location, working_practitioner, local(MONDAY, 14))
    give_details(second, policy, email="bo@example.com", dob=datetime.date(1990, 1, 1))
    booked = services.booking_verify(booking=second)
    assert not booked.matched_existing
    assert OnlinePatientReview.objects.get().patient == booked.patient


def test_an_expired_hold_books_nothing_and_frees_its_times(
    online, policy, face, location, working_practitioner, clock
):
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    give_details(booking, policy)
    clock.shift(datetime.timedelta(minutes=16))
    with pytest.raises(services.OnlineError, match="not confirmed in time"):
        services.booking_verify(booking=booking)
    assert not Appointment.objects.exists()
    booking.refresh_from_db()
    assert booking.status == OnlineBooking.Status.EXPIRED
    # Someone else may now hold the same times.
    other = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    assert other.holds.count() == 3


def test_the_periodic_task_releases_expired_holds(
    online, face, location, working_practitioner, clock
):
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    assert services.holds_expire() == 0
    clock.shift(datetime.timedelta(minutes=15))
    assert services.holds_expire() == 3
    booking.refresh_from_db()
    assert booking.status == OnlineBooking.Status.EXPIRED
    assert services.holds_expire() == 0


def test_staff_cannot_book_over_a_hold_and_a_hold_cannot_cover_a_booking(
    online, face, location, working_practitioner, patient
):
    hold_course(face, location, working_practitioner, local(MONDAY, 10))
    with pytest.raises(scheduling_services.SlotTaken, match="booking online"):
        scheduling_services.appointment_book(
            patient=patient,
            practitioner=working_practitioner,
            location=location,
            starts_at=local(MONDAY, 10, 30),
            by=None,
        )
    scheduling_services.appointment_book(
        patient=patient,
        practitioner=working_practitioner,
        location=location,
        starts_at=local(MONDAY + datetime.timedelta(days=1), 10),
        by=None,
    )
    with pytest.raises(services.TimeTaken, match="no longer free"):
        hold_course(face, location, working_practitioner, local(MONDAY + datetime.timedelta(1), 10))
    assert Hold.objects.count() == 3


def test_staff_cannot_book_a_course_over_a_hold(
    online, face, location, working_practitioner, patient, catalogue
):
    """The course's sessions are inserted together: the database's guard against holds
    still refuses, in words, and nothing of the course is left."""
    hold_course(face, location, working_practitioner, local(MONDAY, 10))
    starts = [local(MONDAY + datetime.timedelta(days=d), 10) for d in (1, 29, 56)]
    with pytest.raises(scheduling_services.SlotTaken, match="booking online"):
        scheduling_services.course_book(
            patient=patient,
            protocol=face,
            practitioner=working_practitioner,
            location=location,
            room=None,
            starts=starts,
            by=None,
            screening_acknowledged=True,
        )
    assert not Appointment.objects.exists()
    assert not TreatmentPlan.objects.exists()
    assert not OutboundMessage.objects.filter(patient_id=patient.pk).exists()


def test_bad_requests_are_refused_in_words_and_hold_nothing(
    online, face, location, working_practitioner, catalogue
):
    too_soon = services.OnlineError
    with pytest.raises(too_soon, match="too soon"):
        hold_course(face, location, working_practitioner, local(datetime.date(2026, 3, 2), 14))
    with pytest.raises(services.OnlineError, match="between 14 and 42 days"):
        services.booking_hold(
            kind="course",
            protocol=face,
            location=location,
            practitioner=working_practitioner,
            starts=[local(MONDAY, 10), local(MONDAY, 12), local(MONDAY, 14)],
        )
    other = next(p for name, p in catalogue.items() if p != face)
    with pytest.raises(services.OnlineError, match="cannot be booked online"):
        hold_course(other, location, working_practitioner, local(MONDAY, 10))
    assert not Hold.objects.exists() and not OnlineBooking.objects.exists()


def test_an_email_may_have_only_so_many_active_bookings(
    online, policy, face, location, working_practitioner
):
    online.max_active_per_email = 1
    online.save()
    first = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    give_details(first, policy)
    second = hold_course(face, location, working_practitioner, local(MONDAY, 14))
    with pytest.raises(services.OnlineError, match="as many online bookings"):
        give_details(second, policy, email=" ANN@example.com ")


def test_a_changed_policy_must_be_read_again(online, policy, face, location, working_practitioner):
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    services.policy_publish(text=policy.text + " Deposits are not refundable.", by=None)
    with pytest.raises(services.OnlineError, match="policy changed"):
        give_details(booking, policy)


def test_a_course_deposit_is_due_on_the_booking(
    deposit, policy, face, location, working_practitioner
):
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    assert booking.deposit_due == Decimal("75.00")
    give_details(booking, policy)
    booked = services.booking_verify(booking=booking)
    assert booked.deposit_outstanding


def test_a_consultation_books_one_appointment_without_screening(
    online, policy, location, working_practitioner
):
    booking = services.booking_hold(
        kind="consultation",
        protocol=None,
        location=location,
        practitioner=working_practitioner,
        starts=[local(MONDAY, 9)],
    )
    give_details(booking, policy)
    booked = services.booking_verify(booking=booking)
    assert booked.appointment.kind == "consultation"
    assert booked.appointment.ends_at - booked.appointment.starts_at == datetime.timedelta(
        minutes=30
    )
    assert not Screening.objects.exists()


def test_nothing_is_recorded_when_a_time_is_lost_before_the_link_is_used(
    online, policy, face, location, working_practitioner, patient, clock
):
    booking = hold_course(face, location, working_practitioner, local(MONDAY, 10))
    give_details(booking, policy)
    clock.shift(datetime.timedelta(minutes=15, seconds=1))
    services.holds_expire()
    # The hold expired; staff booked session 2's time meanwhile, then the link is used.
    scheduling_services.appointment_book(
        patient=patient,
        practitioner=working_practitioner,
        location=location,
        starts_at=local(MONDAY + datetime.timedelta(days=28), 10),
        by=None,
    )
    with pytest.raises(services.OnlineError):
        services.booking_verify(booking=booking)
    assert Appointment.objects.count() == 1
    assert not Screening.objects.exists()
    assert NO


def test_the_bench_functions_run_on_a_small_clinic(
    online, policy, face, location, working_practitioner
):
    """A smoke run of tests/bench/online_bench.py's measure (no timing is asserted)."""
    from tests.bench import online_bench
    from tests.bench.run import percentile

    ctx = {"percentile": percentile, "locations": [location]}
    figures = online_bench.measure(ctx, samples=3)
    assert set(figures) == {
        "online_slots_p95_ms",
        "online_propose_course_p95_ms",
        "online_book_p95_ms",
    }
    assert not OnlineBooking.objects.exists()  # every sample rolled back


def test_staff_are_not_offered_times_a_patient_is_holding_online(
    online, face, location, working_practitioner, clock
):
    """The planner and the slot finder leave held times out until the hold lapses; the
    booking's own check leaves a hold to the database, which refuses in its words."""

    def first_offered():
        proposal = scheduling_services.course_plan(
            protocol=face, practitioner=working_practitioner, location=location, earliest=MONDAY
        )
        return proposal.sessions[0].starts_at

    assert first_offered() == local(MONDAY, 9)
    hold_course(face, location, working_practitioner, local(MONDAY, 9))
    assert first_offered() == local(MONDAY, 10)
    clock.shift(datetime.timedelta(minutes=16))  # the hold lapses unconfirmed
    assert first_offered() == local(MONDAY, 9)


def test_the_slot_finder_does_not_offer_a_time_held_online(
    online, face, location, working_practitioner, frontdesk_client, clock
):
    def offered():
        page = frontdesk_client.get(
            reverse("sessions:find_slot"),
            {
                "location": location.public_id,
                "protocol": face.pk,
                "first_day": MONDAY.isoformat(),
                "last_day": MONDAY.isoformat(),
            },
        ).content.decode()
        return "Mon 09 Mar 2026 09:00" in page, "Mon 09 Mar 2026 10:00" in page

    assert offered() == (True, True)
    hold_course(face, location, working_practitioner, local(MONDAY, 9))
    assert offered() == (False, True)
