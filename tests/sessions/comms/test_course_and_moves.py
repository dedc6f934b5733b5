"""One confirmation for a course booked in one step, the "moved" email, consultations
without pre-care, and the reschedule request as a kind staff can read (clock frozen)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from mesoclinic.core import message_kinds, outbox
from mesoclinic.core.messages_views import OutboxFilterForm
from mesoclinic.core.models import MessageSetting, OutboundMessage
from sessions.comms import services as reminders
from sessions.scheduling import services
from tests.factories import ScreeningFactory
from tests.sessions.comms.conftest import NOW, book, local, messages_of

pytestmark = pytest.mark.usefixtures("clock")
State = OutboundMessage.State
MON = NOW.date()
TUE = MON + timedelta(days=1)
WED_NEXT = MON + timedelta(days=9)
# Three Wednesdays four weeks apart: inside the face protocol's 14-42 day spacing.
COURSE_STARTS = [local(WED_NEXT + timedelta(days=28 * i), 10) for i in range(3)]


def deliver_due() -> dict:
    return outbox.deliver(ids=outbox.due_message_ids(now=outbox.timezone.now()))


def ics_events(email) -> list:
    [(filename, content, mimetype)] = email.attachments
    assert filename.endswith(".ics") and mimetype.startswith("text/calendar")
    calendar = Calendar.from_ical(content)
    assert str(calendar["method"]) == "PUBLISH"
    return calendar.walk("VEVENT")


@pytest.fixture
def booked_course(patient, working_practitioner, location, room, face):
    return services.course_book(
        patient=patient,
        protocol=face,
        practitioner=working_practitioner,
        location=location,
        room=room,
        starts=COURSE_STARTS,
        by=working_practitioner,
    )


@pytest.fixture
def appointment(patient, working_practitioner, location, room, face):
    start = local(WED_NEXT, 10)
    return book(patient, working_practitioner, location, start, kind="maintenance", protocol=face)


def sessions_of(course):
    return list(course.appointments.order_by("sequence"))


class TestCourseBookedInOneStep:
    def test_one_confirmation_and_one_precare_at_booking_the_rest_per_session(self, booked_course):
        first, second, third = sessions_of(booked_course)
        confirmations = OutboundMessage.objects.filter(kind="booking_confirmation")
        assert [(m.subject_id, m.offset_key) for m in confirmations] == [(first.pk, "course:1-3")]
        at_booking = OutboundMessage.objects.filter(
            kind="precare", offset_key__startswith="course:"
        )
        assert [(m.subject_id, m.offset_key) for m in at_booking] == [(first.pk, "course:1-3")]
        assert not OutboundMessage.objects.filter(kind="precare", offset_key="0").exists()
        for session in (first, second, third):
            assert set(
                messages_of(session, "appointment_reminder").values_list("offset_key", flat=True)
            ) == {"-48", "-3"}
            assert messages_of(session, "precare").filter(offset_key="-192").exists()
        # Nothing was scheduled only to be cancelled.
        assert not OutboundMessage.objects.filter(state=State.CANCELLED).exists()

    def test_the_patient_gets_one_confirmation_listing_every_session_and_one_calendar_file(
        self, booked_course, patient, clock
    ):
        sessions = sessions_of(booked_course)
        assert deliver_due()["sent"] == 1  # the confirmation; pre-care waits out quiet hours
        precare_row = messages_of(sessions[0], "precare").get(offset_key="course:1-3")
        clock.move_to(precare_row.due_at)
        counts = deliver_due()
        assert counts == {"sent": 1, "cancelled": 0, "retry": 0, "failed": 0}
        assert len(mail.outbox) == 2
        [confirmation] = [m for m in mail.outbox if "booked" in m.subject]
        [precare] = [m for m in mail.outbox if m.subject.startswith("Preparing")]
        assert confirmation.to == precare.to == [patient.email]
        assert "3 PRP face rejuvenation sessions" in confirmation.subject
        text = confirmation.body
        for n, label in enumerate(("11 March", "8 April", "6 May"), start=1):
            assert f"Session {n}: Wednesday {label} 2026, 10:00" in text
        assert text.count("https://clinic.example/p/cancel/") == 3
        events = ics_events(confirmation)
        assert len(events) == 3
        assert [str(e["uid"]) for e in events] == [f"{a.public_id}@mesoclinic" for a in sessions]
        assert [e.decoded("dtstart") for e in events] == [a.starts_at for a in sessions]
        assert [e.decoded("dtend") for e in events] == [a.ends_at for a in sessions]
        assert "each of your 3 sessions" in precare.body
        assert "Wednesday 11 March" in precare.subject
        assert deliver_due()["sent"] == 0  # nothing else is due today

    def test_a_session_cancelled_before_the_confirmation_went_out_is_left_out(
        self, booked_course, working_practitioner
    ):
        first, second, third = sessions_of(booked_course)
        services.appointment_cancel(
            party="patient", appointment=second, reason="Away", by=working_practitioner
        )
        deliver_due()
        [confirmation] = [m for m in mail.outbox if "booked" in m.subject]
        assert [str(e["uid"]) for e in ics_events(confirmation)] == [
            f"{first.public_id}@mesoclinic",
            f"{third.public_id}@mesoclinic",
        ]
        # The cancelled session's month (April) by month and year, since the patient's
        # made-up first name may be April too.
        assert f"{timezone.localtime(second.starts_at):%B %Y}" not in confirmation.body

    def test_checking_in_session_one_keeps_the_confirmation_of_the_others(
        self, booked_course, patient, working_practitioner, clock
    ):
        """Issue 11, item 4: check-in before the outbox's next dispatch."""
        first, second, third = sessions_of(booked_course)
        clock.move_to(first.starts_at - timedelta(minutes=10))
        ScreeningFactory(
            patient=patient, taken_on=first.starts_at.date(), recorded_by=working_practitioner
        )
        services.appointment_check_in(appointment=first, by=working_practitioner)
        row = messages_of(first, "booking_confirmation").get()
        assert (row.state, row.offset_key) == (State.PENDING, "course:1-3")
        # Session 1's own reminders are no longer needed.
        assert set(messages_of(first, "appointment_reminder").values_list("state", flat=True)) == {
            State.CANCELLED
        }
        deliver_due()
        row.refresh_from_db()
        assert row.state == State.SENT
        [confirmation] = [m for m in mail.outbox if "booked" in m.subject]
        assert [str(e["uid"]) for e in ics_events(confirmation)] == [
            f"{second.public_id}@mesoclinic",
            f"{third.public_id}@mesoclinic",
        ]
        assert "Wednesday 8 April 2026, 10:00" in confirmation.body
        assert "Wednesday 6 May 2026, 10:00" in confirmation.body
        assert "11 March" not in confirmation.body

    def test_the_confirmation_goes_once_no_session_it_covers_is_still_to_come(
        self, booked_course, working_practitioner
    ):
        first, second, third = sessions_of(booked_course)
        for session in (second, third, first):
            services.appointment_cancel(
                party="patient", appointment=session, reason="Moved away", by=working_practitioner
            )
            row = messages_of(first, "booking_confirmation").get()
            assert row.state == (State.CANCELLED if session == first else State.PENDING)
        assert deliver_due()["sent"] == 0

    def test_booking_one_more_session_of_a_course_gets_its_own_confirmation(
        self, patient, working_practitioner, location, room, face
    ):
        course = services.course_create(
            patient=patient,
            protocol=face,
            practitioner=working_practitioner,
            location=location,
            room=room,
            by=working_practitioner,
        )
        [one] = services.course_sessions_book(
            course=course, starts=[(1, COURSE_STARTS[0])], by=working_practitioner
        )
        assert messages_of(one, "booking_confirmation").get().offset_key == "0"
        assert messages_of(one, "precare").filter(offset_key="0").exists()
        deliver_due()
        [confirmation] = [m for m in mail.outbox if "is booked" in m.subject]
        assert len(ics_events(confirmation)) == 1

    def test_a_switched_off_confirmation_stays_off_for_courses(
        self, patient, working_practitioner, location, room, face
    ):
        MessageSetting.objects.create(kind="booking_confirmation", enabled=False)
        course = services.course_book(
            patient=patient,
            protocol=face,
            practitioner=working_practitioner,
            location=location,
            room=room,
            starts=COURSE_STARTS,
            by=working_practitioner,
        )
        assert not OutboundMessage.objects.filter(kind="booking_confirmation").exists()
        first = sessions_of(course)[0]
        assert messages_of(first, "precare").filter(offset_key="course:1-3").exists()


def test_course_step_keys_round_trip():
    assert reminders.course_step_key([3, 1, 2]) == "course:1-3"
    assert reminders.course_step_key([1, 2, 4, 6, 7]) == "course:1-2,4,6-7"
    assert reminders.course_step_sequences("course:1-2,4,6-7") == {1, 2, 4, 6, 7}
    wide = reminders.course_step_key([1, 3, 5, 7, 9, 11, 13, 15])
    assert len(wide) <= 20 and reminders.course_step_sequences(wide) >= {1, 3, 15}
    assert reminders.course_step_sequences("0") == set()


class TestMoved:
    def test_moving_after_the_confirmation_went_out_tells_the_patient_with_an_updated_file(
        self, appointment, working_practitioner, clock
    ):
        deliver_due()
        [confirmation] = [m for m in mail.outbox if "is booked" in m.subject]
        [original] = ics_events(confirmation)
        mail.outbox.clear()
        clock.shift(timedelta(minutes=30))
        new_start = local(TUE + timedelta(days=2), 14)
        services.appointment_move(
            appointment=appointment, starts_at=new_start, by=working_practitioner
        )
        row = messages_of(appointment, "appointment_moved").get()
        assert row.state == State.PENDING and row.offset_key == "1"
        deliver_due()
        [email] = [m for m in mail.outbox if "moved" in m.subject]
        assert email.subject == "Your appointment has moved to Thursday 5 March at 14:00"
        assert "Thursday 5 March 2026, 14:00" in email.body
        [event] = ics_events(email)
        assert event["uid"] == original["uid"]
        assert event.decoded("dtstart") == new_start
        assert int(event["sequence"]) > int(original["sequence"])
        assert messages_of(appointment, "appointment_moved").get().state == State.SENT

    def test_each_move_is_told_once(self, appointment, working_practitioner, clock):
        deliver_due()
        first_move = local(TUE + timedelta(days=2), 14)
        services.appointment_move(
            appointment=appointment, starts_at=first_move, by=working_practitioner
        )
        # The same move seen twice, and a second move before the email went out: one row.
        reminders.appointment_moved_messages(appointment=appointment, old_starts_at=NOW)
        services.appointment_move(
            appointment=appointment,
            starts_at=first_move + timedelta(hours=1),
            by=working_practitioner,
        )
        assert messages_of(appointment, "appointment_moved").count() == 1
        mail.outbox.clear()
        deliver_due()
        [email] = mail.outbox
        assert "15:00" in email.subject
        services.appointment_move(
            appointment=appointment, starts_at=first_move, by=working_practitioner
        )
        keys = messages_of(appointment, "appointment_moved").values_list("offset_key", "state")
        assert sorted(keys) == [("1", State.SENT), ("2", State.PENDING)]

    def test_no_moved_email_while_the_confirmation_has_not_gone_out(
        self, appointment, working_practitioner
    ):
        new_start = local(TUE + timedelta(days=2), 14)
        services.appointment_move(
            appointment=appointment, starts_at=new_start, by=working_practitioner
        )
        assert not messages_of(appointment, "appointment_moved").exists()
        deliver_due()
        [email] = [m for m in mail.outbox if "is booked" in m.subject]
        assert "Thursday 5 March" in email.subject  # the confirmation carries the new time
        assert not [m for m in mail.outbox if "moved" in m.subject]

    def test_a_course_session_covered_by_the_course_confirmation_is_told_when_it_moves(
        self, booked_course, working_practitioner
    ):
        second = sessions_of(booked_course)[1]
        deliver_due()
        mail.outbox.clear()
        services.appointment_move(
            appointment=second,
            starts_at=second.starts_at + timedelta(days=1),
            by=working_practitioner,
        )
        assert messages_of(second, "appointment_moved").exists()
        deliver_due()
        [email] = mail.outbox
        assert "Thursday 9 April" in email.subject
        [event] = ics_events(email)
        assert str(event["uid"]) == f"{second.public_id}@mesoclinic"

    def test_switched_off_means_no_moved_email(self, appointment, working_practitioner):
        MessageSetting.objects.create(kind="appointment_moved", enabled=False)
        deliver_due()
        services.appointment_move(
            appointment=appointment,
            starts_at=local(TUE + timedelta(days=2), 14),
            by=working_practitioner,
        )
        assert not messages_of(appointment, "appointment_moved").exists()

    def test_cancelling_drops_a_waiting_moved_email(self, appointment, working_practitioner):
        deliver_due()
        services.appointment_move(
            appointment=appointment,
            starts_at=local(TUE + timedelta(days=2), 14),
            by=working_practitioner,
        )
        services.appointment_cancel(
            party="patient", appointment=appointment, reason="Ill", by=working_practitioner
        )
        assert messages_of(appointment, "appointment_moved").get().state == State.CANCELLED


def test_a_consultation_gets_no_precare_rows(patient, working_practitioner, location):
    consultation = book(patient, working_practitioner, location, local(WED_NEXT, 10))
    services.appointment_move(
        appointment=consultation,
        starts_at=local(WED_NEXT + timedelta(days=1), 11),
        by=working_practitioner,
    )
    assert not messages_of(consultation, "precare").exists()
    assert messages_of(consultation, "booking_confirmation").exists()
    assert messages_of(consultation, "appointment_reminder").count() == 2


class TestRescheduleRequestKind:
    def test_it_is_a_kind_with_a_label_for_the_clinic(self):
        kind = message_kinds.KIND_BY_CODE["reschedule_request"]
        assert kind.to_clinic and not kind.configurable
        assert "clinic" in kind.label.lower()
        assert message_kinds.setting_for("reschedule_request").enabled
        choices = dict(OutboxFilterForm().fields["kind"].choices)
        assert choices["reschedule_request"] == kind.label
        assert choices["appointment_moved"] == "Appointment moved"

    def test_the_outbox_shows_the_label_and_filters_by_it(
        self, appointment, manager_client, settings
    ):
        settings.CLINIC_EMAIL = "desk@clinic.example"
        reminders.appointment_reschedule_request(appointment=appointment)
        page = manager_client.get(reverse("outbox:list"), {"kind": "reschedule_request"})
        assert page.status_code == 200
        assert page.context["page"].paginator.count == 1
        assert "Reschedule request (to the clinic)" in page.content.decode()

    def test_the_settings_page_leaves_it_out_and_saving_keeps_it_on(self, manager_client):
        url = reverse("outbox:settings")
        page = manager_client.get(url).content.decode()
        assert "Reschedule request" not in page and "Appointment moved" in page
        data = {}
        for setting in message_kinds.all_settings():
            code = setting.kind.code
            data[f"{code}-offsets"] = ", ".join(map(str, setting.offsets_hours))
        assert manager_client.post(url, data).status_code == 302  # every box unticked
        assert not MessageSetting.objects.filter(kind="reschedule_request").exists()
        assert message_kinds.setting_for("reschedule_request").enabled
        assert not message_kinds.setting_for("appointment_moved").enabled
