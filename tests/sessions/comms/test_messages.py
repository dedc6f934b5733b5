"""The appointment and course emails, built and sent through the outbox (clock frozen)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from icalendar import Calendar
from pypdf import PdfReader

from mesoclinic.core import outbox
from mesoclinic.core.models import MessageSetting, OutboundMessage
from patients.models import Patient
from sessions.comms import services as reminders
from sessions.scheduling import services
from sessions.scheduling.models import TreatmentPlan
from sessions.scheduling.rules import add_months
from sessions.tasks import schedule_course_messages
from tests.sessions.comms.conftest import NOW, book, complete_session, local, messages_of

pytestmark = pytest.mark.usefixtures("clock")
State = OutboundMessage.State
MON = NOW.date()
TUE = MON + timedelta(days=1)
WED_NEXT = MON + timedelta(days=9)


def deliver_due() -> dict:
    return outbox.deliver(ids=outbox.due_message_ids(now=outbox.timezone.now()))


def parts(message) -> tuple[str, str]:
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    return message.body, html


@pytest.fixture
def appointment(patient, working_practitioner, location, room, face):
    return book(
        patient,
        working_practitioner,
        location,
        local(WED_NEXT, 10),
        kind="maintenance",
        protocol=face,
    )


class TestBookingConfirmation:
    def test_booking_sends_a_confirmation_with_a_valid_calendar_file(self, appointment, patient):
        counts = deliver_due()
        assert counts["sent"] >= 1
        [email] = [m for m in mail.outbox if "is booked" in m.subject]
        assert email.to == [patient.email]
        assert "Wednesday 11 March" in email.subject and "10:00" in email.subject
        text, html = parts(email)
        assert "PRP face rejuvenation" in text and "Harley Street" in text
        assert "https://clinic.example/p/confirm/" in text
        assert "https://clinic.example/p/cancel/" in html
        assert "https://clinic.example/p/reschedule/" in html
        assert "Mesoclinic Demo Clinic" in html  # the clinic's branding
        [(filename, content, mimetype)] = email.attachments
        assert filename == "appointment.ics" and mimetype.startswith("text/calendar")
        calendar = Calendar.from_ical(content)
        [event] = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == appointment.starts_at
        assert event.decoded("dtend") == appointment.ends_at
        assert str(event["uid"]) == f"{appointment.public_id}@mesoclinic"
        assert "Harley Street" in str(event["location"])
        row = messages_of(appointment, "booking_confirmation").get()
        assert row.state == State.SENT and row.email_subject == email.subject

    def test_a_cancelled_appointment_gets_no_confirmation(self, appointment, working_practitioner):
        services.appointment_cancel(
            party="patient", appointment=appointment, reason="Ill", by=working_practitioner
        )
        row = messages_of(appointment, "booking_confirmation").get()
        assert row.state == State.CANCELLED
        # Even a row that slipped through (e.g. resent by staff) is cancelled at send time.
        outbox.message_resend(message=row)
        deliver_due()
        assert mail.outbox == []
        row.refresh_from_db()
        assert row.state == State.CANCELLED and row.last_error == "No longer applies"

    @pytest.mark.parametrize(
        "change",
        [
            {"consents_to_transactional": False},
            {"email": ""},
            {"preferred_channel": Patient.Channel.PHONE},
        ],
    )
    def test_consent_channel_and_address_are_rechecked_at_send_time(
        self, appointment, patient, change
    ):
        Patient.objects.filter(pk=patient.pk).update(**change)
        deliver_due()
        assert mail.outbox == []
        assert not messages_of(appointment).filter(state=State.SENT).exists()


class TestPrecareAndReminders:
    def test_precare_lists_the_protocols_items_with_their_dates(self, appointment, face, clock):
        items = list(face.care_instructions.filter(phase="pre"))
        assert items, "the seeded protocol has pre-care instructions"
        assert sorted(messages_of(appointment, "precare").values_list("offset_key", flat=True)) == [
            "-192",
            "0",
        ]
        row = messages_of(appointment, "precare").get(offset_key="0")
        assert row.due_at == local(MON, 8)  # booked in quiet hours: goes when they end
        clock.move_to(row.due_at)
        deliver_due()
        [email] = [m for m in mail.outbox if m.subject.startswith("Preparing")]
        text, html = parts(email)
        for item in items:
            assert item.text in html
        dated = [i for i in items if i.duration_hours]
        if dated:
            first = (appointment.starts_at - timedelta(hours=dated[0].duration_hours)).date()
            assert f"from {first:%A} {first.day} {first:%B}" in text

    def test_reminders_are_timed_by_the_managers_offsets_and_sent_when_due(
        self, appointment, clock
    ):
        rows = messages_of(appointment, "appointment_reminder").order_by("due_at")
        assert [r.offset_key for r in rows] == ["-48", "-3"]
        assert rows[0].due_at == appointment.starts_at - timedelta(hours=48)
        # 3 hours before 10:00 is 07:00, inside quiet hours (21:00-08:00): sent at 08:00.
        assert rows[1].due_at == local(WED_NEXT, 8)
        deliver_due()
        mail.outbox.clear()
        clock.move_to(rows[0].due_at - timedelta(minutes=1))
        deliver_due()
        assert not [m for m in mail.outbox if m.subject.startswith("Reminder:")]
        clock.move_to(rows[0].due_at)
        deliver_due()
        assert len([m for m in mail.outbox if m.subject.startswith("Reminder:")]) == 1
        clock.move_to(rows[1].due_at)
        deliver_due()
        assert len([m for m in mail.outbox if m.subject.startswith("Reminder:")]) == 2
        assert set(rows.values_list("state", flat=True)) == {State.SENT}

    def test_moving_re_times_pending_reminders_and_the_email_shows_the_new_time(
        self, appointment, working_practitioner, clock
    ):
        new_start = local(TUE + timedelta(days=2), 14)
        services.appointment_move(
            appointment=appointment, starts_at=new_start, by=working_practitioner
        )
        row = messages_of(appointment, "appointment_reminder").get(offset_key="-3")
        assert row.state == State.PENDING and row.due_at == new_start - timedelta(hours=3)
        clock.move_to(row.due_at)
        deliver_due()
        sent = [m for m in mail.outbox if m.subject.startswith("Reminder:")]
        assert len(sent) == 2  # the 48-hour one (now past) and the 3-hour one
        assert all("Thursday 5 March at 14:00" in m.subject for m in sent)

    def test_cancelling_cancels_every_pending_reminder(self, appointment, working_practitioner):
        pending = messages_of(appointment).filter(state=State.PENDING)
        assert pending.filter(kind="appointment_reminder").count() == 2
        services.appointment_cancel(
            party="patient", appointment=appointment, reason="Ill", by=working_practitioner
        )
        assert not pending.exists()

    def test_a_kind_the_manager_switched_off_is_not_scheduled(
        self, patient, working_practitioner, location, face
    ):
        MessageSetting.objects.create(kind="appointment_reminder", enabled=False)
        a = book(
            patient,
            working_practitioner,
            location,
            local(TUE, 11),
            kind="maintenance",
            protocol=face,
        )
        assert not messages_of(a, "appointment_reminder").exists()


class TestAftercare:
    def test_completion_schedules_aftercare_now_and_the_check_in_later(
        self, appointment, working_practitioner, clock
    ):
        clock.move_to(appointment.starts_at + timedelta(minutes=5))
        complete_session(appointment, working_practitioner)
        aftercare = messages_of(appointment, "aftercare").get()
        followup = messages_of(appointment, "aftercare_followup").get()
        assert aftercare.due_at == appointment.completed_at
        assert followup.due_at == appointment.completed_at + timedelta(hours=72)
        mail.outbox.clear()
        deliver_due()
        [email] = [m for m in mail.outbox if "aftercare" in m.subject.lower()]
        [(filename, content, mimetype)] = email.attachments
        assert mimetype == "application/pdf" and filename.startswith("aftercare-")
        pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
        assert appointment.patient.first_name in pdf_text
        text, html = parts(email)
        assert "https://clinic.example/p/aftercare/" in text
        assert "https://clinic.example/p/consent/" in html
        clock.move_to(followup.due_at + timedelta(minutes=1))
        mail.outbox.clear()
        deliver_due()
        [check_in] = [m for m in mail.outbox if "feeling" in m.subject]
        assert check_in.subject.startswith("How are you feeling")

    def test_consultations_get_no_aftercare(self, patient, working_practitioner, location, clock):
        a = book(patient, working_practitioner, location, local(TUE, 10))
        clock.move_to(a.starts_at)
        services.appointment_check_in(appointment=a, by=working_practitioner)
        services.appointment_complete(appointment=a, by=working_practitioner)
        assert not messages_of(a, "aftercare").exists()


@pytest.fixture
def course(patient, working_practitioner, location, room, face):
    return _course_with_first_session(patient, working_practitioner, location, room, face)


def _course_with_first_session(patient, practitioner, location, room, face):
    course = services.course_create(
        patient=patient,
        protocol=face,
        practitioner=practitioner,
        location=location,
        room=room,
        by=practitioner,
    )
    services.course_sessions_book(course=course, starts=[(1, local(TUE, 10))], by=practitioner)
    return course


class TestCourseMessages:
    def test_next_session_due_when_its_window_opens_and_nothing_is_booked(
        self, course, working_practitioner, clock
    ):
        first = course.appointments.get(sequence=1)
        clock.move_to(first.starts_at + timedelta(minutes=5))
        complete_session(first, working_practitioner)
        assert reminders.course_messages_schedule() == 0  # the window is weeks away
        window_opens = first.starts_at + timedelta(days=course.min_interval_days)
        clock.move_to(window_opens - timedelta(hours=2))
        assert schedule_course_messages.apply().get() == 1  # the hourly beat task
        assert reminders.course_messages_schedule() == 0  # idempotent
        row = messages_of(course, "next_session_due").get()
        assert row.offset_key == "2:0"
        clock.move_to(row.due_at)
        mail.outbox.clear()
        deliver_due()
        [email] = [m for m in mail.outbox if m.subject.startswith("Time to book")]
        assert "session 2" in email.subject
        text, _ = parts(email)
        assert "between" in text

    def test_booking_the_next_session_first_cancels_the_nudge(
        self, course, working_practitioner, clock, location
    ):
        first = course.appointments.get(sequence=1)
        clock.move_to(first.starts_at + timedelta(minutes=5))
        complete_session(first, working_practitioner)
        window_opens = first.starts_at + timedelta(days=course.min_interval_days)
        clock.move_to(window_opens - timedelta(hours=2))
        reminders.course_messages_schedule()
        services.course_sessions_book(
            course=course,
            starts=[(2, local(window_opens.date() + timedelta(days=1), 11))],
            by=working_practitioner,
        )
        clock.move_to(window_opens + timedelta(hours=1))
        mail.outbox.clear()
        deliver_due()
        assert not [m for m in mail.outbox if "Time to book" in m.subject]
        assert messages_of(course, "next_session_due").get().state == State.CANCELLED

    def test_maintenance_due_needs_marketing_consent_and_carries_unsubscribe(
        self, course, patient, clock
    ):
        course.appointments.update(status="completed", completed_at=NOW)
        TreatmentPlan.objects.filter(pk=course.pk).update(
            status=TreatmentPlan.Status.COMPLETED, sessions_planned=1
        )
        course.refresh_from_db()
        months = course.maintenance_interval_months
        assert months, "the seeded protocol has maintenance"
        first = course.appointments.get(sequence=1)
        due_day = add_months(first.starts_at.date(), months)
        clock.move_to(local(due_day, 9))
        assert reminders.course_messages_schedule() == 0  # no marketing consent
        Patient.objects.filter(pk=patient.pk).update(consents_to_marketing=True)
        clock.move_to(local(due_day, 9) + timedelta(days=5))
        assert reminders.course_messages_schedule() == 1
        mail.outbox.clear()
        deliver_due()
        [email] = [m for m in mail.outbox if "maintenance" in m.subject]
        text, html = parts(email)
        assert "https://clinic.example/p/unsubscribe/" in text
        assert "Unsubscribe" in html
        assert email.extra_headers["List-Unsubscribe"].startswith("<https://clinic.example/p/")


class TestRescheduleRequest:
    def test_request_reaches_the_clinic_inbox(self, appointment, settings):
        settings.CLINIC_EMAIL = "desk@clinic.example"
        reminders.appointment_reschedule_request(appointment=appointment)
        reminders.appointment_reschedule_request(appointment=appointment)  # same day: once
        row = messages_of(appointment, "reschedule_request").get()
        assert row.recipient == "desk@clinic.example" and row.patient_id == appointment.patient_id
        mail.outbox.clear()
        deliver_due()
        [email] = [m for m in mail.outbox if m.to == ["desk@clinic.example"]]
        assert appointment.patient.full_name in email.subject
        assert f"/patients/{appointment.patient.public_id}/" in email.body


def test_every_kind_the_clinic_sends_has_a_builder_and_the_beat_runs_the_course_job(settings):
    from mesoclinic.celery import app

    kinds = {
        "booking_confirmation",
        "precare",
        "appointment_reminder",
        "aftercare",
        "aftercare_followup",
        "next_session_due",
        "maintenance_due",
        "reschedule_request",
    }
    assert kinds <= set(outbox._builders)
    entry = settings.CELERY_BEAT_SCHEDULE["schedule-course-messages"]
    assert entry["task"] in app.tasks and entry["schedule"] <= 3600


def test_a_reschedule_request_for_a_cancelled_appointment_is_dropped(
    appointment, working_practitioner
):
    row = reminders.appointment_reschedule_request(appointment=appointment)
    services.appointment_cancel(
        party="patient", appointment=appointment, reason="Ill", by=working_practitioner
    )
    deliver_due()
    row.refresh_from_db()
    assert row.state == State.CANCELLED
    assert not [m for m in mail.outbox if "asks to move" in m.subject]


def test_a_nudge_not_sent_before_the_window_closed_is_dropped(course, working_practitioner, clock):
    first = course.appointments.get(sequence=1)
    clock.move_to(first.starts_at + timedelta(minutes=5))
    complete_session(first, working_practitioner)
    clock.move_to(first.starts_at + timedelta(days=course.min_interval_days) - timedelta(hours=2))
    reminders.course_messages_schedule()
    row = messages_of(course, "next_session_due").get()
    clock.move_to(first.starts_at + timedelta(days=course.max_interval_days + 1))
    mail.outbox.clear()
    deliver_due()
    row.refresh_from_db()
    assert row.state == State.CANCELLED
    assert not [m for m in mail.outbox if m.subject.startswith("Time to book")]
    assert reminders.course_messages_schedule() == 0  # interrupted: no new nudge


def test_no_maintenance_reminder_once_maintenance_is_booked(
    course, patient, clock, working_practitioner, location, face
):
    course.appointments.update(status="completed", completed_at=NOW)
    TreatmentPlan.objects.filter(pk=course.pk).update(
        status=TreatmentPlan.Status.COMPLETED, sessions_planned=1
    )
    Patient.objects.filter(pk=patient.pk).update(consents_to_marketing=True)
    course.refresh_from_db()
    first = course.appointments.get(sequence=1)
    due_day = add_months(first.starts_at.date(), course.maintenance_interval_months)
    clock.move_to(local(due_day, 9) - timedelta(days=20))
    book(
        patient,
        working_practitioner,
        location,
        local(due_day + timedelta(days=(7 - due_day.weekday()) % 7 + 1), 11),
        kind="maintenance",
        course=course,
    )
    clock.move_to(local(due_day, 9))
    assert reminders.course_messages_schedule() == 0
