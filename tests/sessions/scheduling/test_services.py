"""Booking, moving, courses, the lifecycle and reminders, through the services."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from mesoclinic.core.models import AuditEvent, MessageSetting, OutboundMessage
from patients.models import ScreeningAcknowledgement
from sessions.scheduling import services
from sessions.scheduling.models import Absence, Appointment, Closure, TreatmentPlan
from tests.factories import ScreeningFactory
from tests.sessions.charting.helpers import ready_to_complete
from tests.sessions.conftest import NOW, local

pytestmark = pytest.mark.usefixtures("clock")
MON = NOW.date()
TUE = MON + timedelta(days=1)


def book(patient, practitioner, location, start, **kw):
    kw.setdefault("by", practitioner)
    return services.appointment_book(
        patient=patient, practitioner=practitioner, location=location, starts_at=start, **kw
    )


def book_course(patient, protocol, practitioner, location, days, **kw):
    """A course booked at 10:00 on these days after MON, by the practitioner."""
    kw.setdefault("by", practitioner)
    kw.setdefault("room", None)
    return services.course_book(
        patient=patient,
        protocol=protocol,
        practitioner=practitioner,
        location=location,
        starts=[local(MON + timedelta(days=d), 10) for d in days],
        **kw,
    )


def messages_of(appointment):
    return OutboundMessage.objects.filter(
        subject_type=ContentType.objects.get_for_model(Appointment), subject_id=appointment.pk
    )


class TestBooking:
    def test_consultation_books_with_default_length(self, patient, working_practitioner, location):
        a = book(patient, working_practitioner, location, local(TUE, 10))
        assert a.status == Appointment.Status.BOOKED
        assert a.ends_at - a.starts_at == timedelta(minutes=30)
        assert a.public_id

    def test_treatment_uses_protocol_length(self, patient, working_practitioner, location, face):
        a = book(
            patient,
            working_practitioner,
            location,
            local(TUE, 10),
            kind="maintenance",
            protocol=face,
        )
        assert a.ends_at - a.starts_at == timedelta(minutes=60)

    @pytest.mark.parametrize(
        ("start", "words"),
        [
            (local(TUE, 8), "working hours"),
            (local(TUE, 16, 45), "working hours"),
            (local(MON + timedelta(days=5), 10), "working hours"),
        ],
    )
    def test_outside_hours_refused(self, patient, working_practitioner, location, start, words):
        with pytest.raises(services.SchedulingError, match=words):
            book(patient, working_practitioner, location, start)
        assert not Appointment.objects.exists()

    def test_closure_refused(self, patient, working_practitioner, location):
        Closure.objects.create(name="Bank holiday", starts_on=TUE, ends_on=TUE)
        with pytest.raises(services.SchedulingError, match="closed"):
            book(patient, working_practitioner, location, local(TUE, 10))

    def test_absence_refused(self, patient, working_practitioner, location):
        Absence.objects.create(
            practitioner=working_practitioner, starts_at=local(TUE, 0), ends_at=local(TUE, 23)
        )
        with pytest.raises(services.SchedulingError, match="away"):
            book(patient, working_practitioner, location, local(TUE, 10))

    def test_practitioner_clash_refused(self, patient, working_practitioner, location):
        book(patient, working_practitioner, location, local(TUE, 10))
        with pytest.raises(services.SlotTaken):
            book(patient, working_practitioner, location, local(TUE, 10, 15))

    def test_room_clash_refused(
        self, patient, working_practitioner, second_practitioner, location, room
    ):
        book(patient, working_practitioner, location, local(TUE, 10), room=room)
        with pytest.raises(services.SlotTaken):
            book(
                patient,
                second_practitioner,
                location,
                local(TUE, 10),
                room=room,
                by=second_practitioner,
            )
        # Another room is fine.
        book(patient, second_practitioner, location, local(TUE, 10), by=second_practitioner)

    def test_back_to_back_is_fine(self, patient, working_practitioner, location):
        book(patient, working_practitioner, location, local(TUE, 10))
        book(patient, working_practitioner, location, local(TUE, 10, 30))

    def test_cancelled_slot_is_free_again(self, patient, working_practitioner, location):
        a = book(patient, working_practitioner, location, local(TUE, 10))
        services.appointment_cancel(
            party="patient", appointment=a, reason="Patient asked", by=working_practitioner
        )
        book(patient, working_practitioner, location, local(TUE, 10))

    def test_database_refuses_overlap_even_without_the_check(
        self, patient, working_practitioner, location, monkeypatch
    ):
        book(patient, working_practitioner, location, local(TUE, 10))
        monkeypatch.setattr(services, "_check_slot", lambda *a, **k: None)
        with pytest.raises(services.SlotTaken, match="practitioner already has"):
            book(patient, working_practitioner, location, local(TUE, 10, 15))
        assert Appointment.objects.count() == 1

    def test_constraint_itself(self, patient, working_practitioner, location):
        a = book(patient, working_practitioner, location, local(TUE, 10))
        with pytest.raises(IntegrityError), transaction.atomic():
            Appointment.objects.create(
                patient=patient,
                practitioner=working_practitioner,
                location=location,
                kind="consultation",
                starts_at=a.starts_at,
                ends_at=a.ends_at,
            )

    def test_past_refused(self, patient, working_practitioner, location):
        with pytest.raises(services.SchedulingError, match="passed"):
            book(patient, working_practitioner, location, local(MON - timedelta(days=7), 10))

    def test_not_a_practitioner(self, patient, frontdesk, location):
        with pytest.raises(services.SchedulingError, match="not a practitioner"):
            book(patient, frontdesk, location, local(TUE, 10))

    def test_room_of_another_location(self, patient, working_practitioner, location, room):
        from sessions.scheduling.models import Location, Room

        other = Room.objects.create(location=Location.objects.create(name="Leeds"), name="A")
        with pytest.raises(services.SchedulingError, match="not an open room"):
            book(patient, working_practitioner, location, local(TUE, 10), room=other)

    def test_retired_protocol(self, patient, working_practitioner, location, face):
        face.is_active = False
        face.save()
        with pytest.raises(services.SchedulingError, match="retired"):
            book(
                patient,
                working_practitioner,
                location,
                local(TUE, 10),
                kind="maintenance",
                protocol=face,
            )


class TestReminders:
    def test_booking_schedules_the_messages(self, patient, working_practitioner, location, face):
        a = book(
            patient,
            working_practitioner,
            location,
            local(MON + timedelta(days=14), 14),
            kind="maintenance",
            protocol=face,
        )
        rows = {(m.kind, m.offset_key): m for m in messages_of(a)}
        assert set(rows) == {
            ("booking_confirmation", "0"),
            ("precare", "0"),
            ("precare", "-192"),
            ("appointment_reminder", "-48"),
            ("appointment_reminder", "-3"),
        }
        assert rows[("appointment_reminder", "-3")].due_at == a.starts_at - timedelta(hours=3)

    def test_short_notice_skips_past_offsets(self, patient, working_practitioner, location):
        a = book(patient, working_practitioner, location, local(TUE, 10))
        kinds = {(m.kind, m.offset_key) for m in messages_of(a)}
        assert ("precare", "-192") not in kinds
        assert ("appointment_reminder", "-3") in kinds

    def test_move_retimes_and_cancel_cancels(self, patient, working_practitioner, location):
        a = book(patient, working_practitioner, location, local(MON + timedelta(days=10), 10))
        services.appointment_move(
            appointment=a, starts_at=local(MON + timedelta(days=10), 14), by=working_practitioner
        )
        reminder = messages_of(a).get(kind="appointment_reminder", offset_key="-48")
        assert reminder.due_at == local(MON + timedelta(days=8), 14)
        services.appointment_cancel(
            party="patient", appointment=a, reason="Unwell", by=working_practitioner
        )
        assert not messages_of(a).filter(state="pending").exists()

    def test_no_consent_no_messages(self, patient, working_practitioner, location):
        patient.consents_to_transactional = False
        patient.save()
        a = book(patient, working_practitioner, location, local(TUE, 10))
        assert not messages_of(a).filter(state="pending").exists()

    def test_disabled_kind_is_not_scheduled(self, patient, working_practitioner, location):
        MessageSetting.objects.create(kind="appointment_reminder", enabled=False, offsets_hours=[])
        a = book(patient, working_practitioner, location, local(MON + timedelta(days=4), 10))
        assert not messages_of(a).filter(kind="appointment_reminder").exists()


@pytest.fixture
def course(patient, working_practitioner, location, room, face):
    starts = [local(MON + timedelta(days=d), 10) for d in (1, 29, 57)]
    return services.course_book(
        patient=patient,
        protocol=face,
        practitioner=working_practitioner,
        location=location,
        room=room,
        starts=starts,
        by=working_practitioner,
    )


def session(course, n):
    return course.appointments.get(sequence=n)


class TestCourses:
    def test_plan_skips_a_holiday(self, working_practitioner, location, face):
        holiday = TUE + timedelta(days=28)
        Closure.objects.create(name="Clinic training day", starts_on=holiday, ends_on=holiday)
        proposal = services.course_plan(
            protocol=face, practitioner=working_practitioner, location=location, earliest=TUE
        )
        days = [p.starts_at.date() for p in proposal.sessions]
        assert days[0] == TUE
        assert holiday not in days
        assert days[1] == holiday + timedelta(days=1)

    def test_plan_says_why_it_cannot_fit(self, working_practitioner, location, face):
        Closure.objects.create(
            name="Refurbishment",
            starts_on=TUE + timedelta(days=10),
            ends_on=TUE + timedelta(days=60),
        )
        proposal = services.course_plan(
            protocol=face, practitioner=working_practitioner, location=location, earliest=TUE
        )
        assert not proposal.complete
        assert "session 2" in proposal.sessions[1].problem

    def test_book_whole_course(self, course, face):
        assert course.sessions_planned == 3
        assert course.min_interval_days == 14
        assert [a.sequence for a in course.appointments.order_by("sequence")] == [1, 2, 3]
        assert all(
            a.kind == "course_session" and a.protocol == face for a in course.appointments.all()
        )

    def test_book_course_all_or_nothing(self, patient, working_practitioner, location, face):
        starts = [local(MON + timedelta(days=d), 10) for d in (1, 8, 36)]
        with pytest.raises(services.SchedulingError, match="Session 1 .*minimum is 14"):
            services.course_book(
                patient=patient,
                protocol=face,
                practitioner=working_practitioner,
                location=location,
                room=None,
                starts=starts,
                by=working_practitioner,
            )
        assert not TreatmentPlan.objects.exists()
        assert not Appointment.objects.exists()

    def test_a_course_step_costs_the_same_queries_whatever_its_length(
        self, patient, working_practitioner, location, face
    ):
        """Every session is checked, inserted, messaged and audited, in as many queries
        for three sessions as for two (no query per session)."""

        def book_step(hour, sequences):
            course = services.course_create(
                patient=patient,
                protocol=face,
                practitioner=working_practitioner,
                location=location,
                room=None,
                by=working_practitioner,
            )
            starts = [(q, local(MON + timedelta(days=3 + 28 * (q - 1)), hour)) for q in sequences]
            with CaptureQueriesContext(connection) as queries:
                booked = services.course_sessions_book(
                    course=course, starts=starts, by=working_practitioner
                )
            return booked, len(queries)

        book_step(10, [1, 2])  # the first warms the per-process caches (content types, roles)
        _, two_queries = book_step(12, [1, 2])
        three, three_queries = book_step(14, [1, 2, 3])
        assert two_queries == three_queries
        for a in three:
            assert messages_of(a).filter(kind="appointment_reminder").count() == 2
            assert AuditEvent.objects.filter(
                object_id=str(a.pk), summary__startswith="Booked course session"
            ).exists()
        confirmation = messages_of(three[0]).get(kind="booking_confirmation")
        assert confirmation.offset_key == "course:1-3"

    def test_book_course_beyond_max_needs_reason(
        self, patient, working_practitioner, location, face
    ):
        starts = [local(MON + timedelta(days=d), 10) for d in (1, 50, 78)]
        kwargs = {
            "patient": patient,
            "protocol": face,
            "practitioner": working_practitioner,
            "location": location,
            "room": None,
            "starts": starts,
            "by": working_practitioner,
        }
        with pytest.raises(services.OverrideNeeded):
            services.course_book(**kwargs)
        course = services.course_book(**kwargs, override_reason="Patient abroad for 7 weeks")
        assert session(course, 2).override_reason == "Patient abroad for 7 weeks"
        assert session(course, 3).override_reason == ""

    def test_a_neighbours_reason_goes_when_a_move_closes_its_gap(
        self, patient, working_practitioner, location, face
    ):
        course = book_course(
            patient,
            face,
            working_practitioner,
            location,
            (1, 50, 78),
            override_reason="Patient abroad for 7 weeks",
        )
        two = session(course, 2)
        assert two.override_reason == "Patient abroad for 7 weeks"
        # Session 1 moves to day 22: 1 -> 2 is 28 days, inside 14-42.
        services.appointment_move(
            appointment=session(course, 1),
            starts_at=local(MON + timedelta(days=22), 10),
            by=working_practitioner,
        )
        two.refresh_from_db()
        assert two.override_reason == ""
        assert AuditEvent.objects.filter(
            object_id=str(two.pk),
            summary="Override reason now: none needed, a neighbour moved "
            "(was: Patient abroad for 7 weeks)",
        ).exists()

    def test_move_too_soon_refused(self, course, working_practitioner):
        two = session(course, 2)
        with pytest.raises(services.SchedulingError, match="minimum is 14"):
            services.appointment_move(
                appointment=two,
                starts_at=local(MON + timedelta(days=10), 10),
                by=working_practitioner,
            )
        two.refresh_from_db()
        assert two.starts_at == local(MON + timedelta(days=29), 10)

    def test_move_too_close_to_next_refused(self, course, working_practitioner):
        with pytest.raises(services.SchedulingError, match="before session 3"):
            services.appointment_move(
                appointment=session(course, 2),
                starts_at=local(MON + timedelta(days=45), 10),
                by=working_practitioner,
            )

    def test_move_beyond_max_needs_override(self, course, working_practitioner):
        three = session(course, 3)
        with pytest.raises(services.OverrideNeeded):
            services.appointment_move(
                appointment=three,
                starts_at=local(MON + timedelta(days=72), 10),
                by=working_practitioner,
            )
        services.appointment_move(
            appointment=three,
            starts_at=local(MON + timedelta(days=72), 10),
            by=working_practitioner,
            override_reason="Holiday",
        )
        three.refresh_from_db()
        assert three.override_reason == "Holiday"
        # Back inside the rules: the reason for the old place no longer stands.
        services.appointment_move(
            appointment=three, starts_at=local(MON + timedelta(days=57), 10), by=None
        )
        three.refresh_from_db()
        assert three.override_reason == ""
        assert AuditEvent.objects.filter(
            object_id=str(three.pk), summary="Override reason now: none needed (was: Holiday)"
        ).exists()

    def test_move_offers_shift_and_apply(self, course, working_practitioner):
        two = session(course, 2)
        result = services.appointment_move(
            appointment=two, starts_at=local(MON + timedelta(days=31), 10), by=working_practitioner
        )
        assert [s.sequence for s in result.shifts] == [3]
        offered = result.shifts[0]
        assert offered.proposed_start == local(MON + timedelta(days=59), 10)
        assert not offered.required
        services.course_shift_apply(
            course=course, starts=[(3, offered.proposed_start)], by=working_practitioner
        )
        assert session(course, 3).starts_at == offered.proposed_start

    def test_shift_several_together(self, course, working_practitioner):
        # Moving 2 and 3 one week later together is fine, though 2 alone would be too close to 3.
        services.course_shift_apply(
            course=course,
            starts=[
                (2, local(MON + timedelta(days=36), 10)),
                (3, local(MON + timedelta(days=64), 10)),
            ],
            by=working_practitioner,
        )
        assert session(course, 2).starts_at == local(MON + timedelta(days=36), 10)

    def test_resize(self, course, working_practitioner):
        one = session(course, 1)
        services.appointment_move(
            appointment=one,
            starts_at=one.starts_at,
            ends_at=one.starts_at + timedelta(minutes=90),
            by=working_practitioner,
        )
        one.refresh_from_db()
        assert one.duration == timedelta(minutes=90)

    def test_cancel_course(self, course, working_practitioner):
        services.course_cancel(course=course, reason="Patient moved away", by=working_practitioner)
        course.refresh_from_db()
        assert course.status == "cancelled"
        assert set(course.appointments.values_list("status", flat=True)) == {"cancelled"}

    def test_plan_remaining_after_a_cancellation(self, course, working_practitioner, face):
        services.appointment_cancel(
            party="patient",
            appointment=session(course, 3),
            reason="Will rebook",
            by=working_practitioner,
        )
        proposal = services.course_plan(
            protocol=face,
            practitioner=working_practitioner,
            location=course.location,
            room=course.room,
            earliest=MON,
            course=course,
        )
        assert [p.sequence for p in proposal.sessions] == [3]
        services.course_sessions_book(
            course=course, starts=[(3, proposal.sessions[0].starts_at)], by=working_practitioner
        )
        assert course.appointments.filter(sequence=3, status="booked").count() == 1


class TestSessionsBookedIntoTheMiddle:
    """Sessions booked together into a course that has a later session booked already:
    each is checked, and records a reason, against its neighbours as they will be."""

    @pytest.fixture
    def meso(self, patient, working_practitioner, location, catalogue):
        """Face mesotherapy (4 sessions, 7 / 14 / 21 days) booked on four Tuesdays two weeks
        apart; sessions 2 and 3 then cancelled to be rebooked: 1 and 4 are left."""
        protocol = catalogue["Face mesotherapy"]
        assert (protocol.sessions_in_course, protocol.max_interval_days) == (4, 21)
        course = book_course(patient, protocol, working_practitioner, location, (1, 15, 29, 43))
        for n in (2, 3):
            services.appointment_cancel(
                party="patient", appointment=session(course, n), reason="Will rebook", by=None
            )
        return course

    def rebook(self, course, user, days, **kw):
        starts = [
            (n, local(MON + timedelta(days=d), 11)) for n, d in zip((2, 3), days, strict=True)
        ]
        return services.course_sessions_book(course=course, starts=starts, by=user, **kw)

    def test_sessions_moved_together_record_a_long_gap_between_them_on_the_later(
        self, patient, working_practitioner, location, catalogue
    ):
        course = book_course(
            patient, catalogue["Face mesotherapy"], working_practitioner, location, (1, 15, 29, 43)
        )
        # 3 and 4 move together; 3 → 4 becomes 28 days (beyond 21): session 4's to record.
        three, four = services.course_shift_apply(
            course=course,
            starts=[
                (4, local(MON + timedelta(days=57), 10)),
                (3, local(MON + timedelta(days=29), 11)),
            ],
            by=working_practitioner,
            override_reason="Patient travelling",
        )
        reasons = {a.sequence: a.override_reason for a in (three, four)}
        assert reasons == {3: "", 4: "Patient travelling"}

    def test_two_sessions_between_booked_ones_need_no_override(self, meso, working_practitioner):
        # 1 → 2 → 3 → 4 every 14 days; only 2 → 4 (28 days, not neighbours) passes 21.
        two, three = self.rebook(meso, working_practitioner, (15, 29))
        assert (two.override_reason, three.override_reason) == ("", "")

    @pytest.mark.parametrize(
        ("days", "reasons"),
        [
            # 3 → 4 is 28 days: session 3's gap to the one already booked after it.
            ((8, 15), ("", "Patient away")),
            # 1 → 2 is 22 days: session 2's gap after session 1.
            ((23, 36), ("Patient away", "")),
            # 2 → 3 is 28 days: session 3's own gap after session 2.
            ((8, 36), ("", "Patient away")),
        ],
    )
    def test_the_reason_is_recorded_where_the_gap_is_beyond_the_maximum(
        self, meso, working_practitioner, days, reasons
    ):
        with pytest.raises(services.OverrideNeeded, match="beyond the maximum of 21 days"):
            self.rebook(meso, working_practitioner, days)
        two, three = self.rebook(meso, working_practitioner, days, override_reason="Patient away")
        assert (two.override_reason, three.override_reason) == reasons

    def test_whole_course_records_the_reason_on_the_later_of_the_pair(
        self, patient, working_practitioner, location, face
    ):
        course = book_course(
            patient,
            face,
            working_practitioner,
            location,
            (1, 29, 78),
            override_reason="Patient abroad",
        )
        assert [session(course, n).override_reason for n in (1, 2, 3)] == [
            "",
            "",
            "Patient abroad",
        ]


def check_in_on_the_day(appointment, user):
    return services.appointment_check_in(
        appointment=appointment, by=user, now=appointment.starts_at - timedelta(minutes=10)
    )


def clear_screening(patient, user):
    return ScreeningFactory(patient=patient, taken_on=MON, recorded_by=user)


class TestLifecycle:
    def test_full_lifecycle_completes_the_course(
        self, course, working_practitioner, clock, patient
    ):
        clear_screening(patient, working_practitioner)
        for n in (1, 2, 3):
            a = session(course, n)
            clock.move_to(a.starts_at - timedelta(minutes=5))
            clear_screening(patient, working_practitioner)
            services.appointment_confirm(appointment=a, by=None)
            services.appointment_check_in(appointment=a, by=working_practitioner)
            services.appointment_start(appointment=a, by=working_practitioner)
            ready_to_complete(a, working_practitioner)  # charting's completion gate
            clock.move_to(a.starts_at + timedelta(minutes=40))
            services.appointment_complete(appointment=a, by=working_practitioner)
            assert a.status == "completed" and a.completed_at
        course.refresh_from_db()
        assert course.status == TreatmentPlan.Status.COMPLETED

    def test_check_in_refused_without_screening(self, course, working_practitioner):
        with pytest.raises(services.SchedulingError, match="No screening"):
            check_in_on_the_day(session(course, 1), working_practitioner)
        assert session(course, 1).status == "booked"

    def test_check_in_refused_when_out_of_date(self, course, working_practitioner, patient):
        ScreeningFactory(
            patient=patient, taken_on=MON - timedelta(days=200), recorded_by=working_practitioner
        )
        with pytest.raises(services.SchedulingError, match="days ago"):
            check_in_on_the_day(session(course, 1), working_practitioner)

    def test_check_in_refused_when_blocked_then_needs_ack(
        self, course, working_practitioner, patient
    ):
        ScreeningFactory(
            patient=patient, taken_on=MON, recorded_by=working_practitioner, site_infection=True
        )
        with pytest.raises(services.SchedulingError, match="blocked"):
            check_in_on_the_day(session(course, 1), working_practitioner)

    def test_relative_needs_acknowledgement(self, course, working_practitioner, patient):
        screening = ScreeningFactory(
            patient=patient, taken_on=MON, recorded_by=working_practitioner, anticoagulants=True
        )
        with pytest.raises(services.SchedulingError, match="acknowledgement"):
            check_in_on_the_day(session(course, 1), working_practitioner)
        ScreeningAcknowledgement.objects.create(
            screening=screening,
            code="anticoagulants",
            reason="INR fine",
            acknowledged_by=working_practitioner,
        )
        check_in_on_the_day(session(course, 1), working_practitioner)

    def test_consultation_checks_in_without_screening(
        self, patient, working_practitioner, location
    ):
        a = book(patient, working_practitioner, location, local(TUE, 10))
        check_in_on_the_day(a, working_practitioner)
        assert a.status == "checked_in"

    def test_transitions_refused(self, course, working_practitioner):
        a = session(course, 1)
        with pytest.raises(services.SchedulingError, match="cannot be marked completed"):
            services.appointment_complete(appointment=a, by=working_practitioner)
        services.appointment_cancel(
            party="patient", appointment=a, reason="x", by=working_practitioner
        )
        with pytest.raises(services.SchedulingError, match="cancelled appointment cannot"):
            services.appointment_confirm(appointment=a, by=None)
        with pytest.raises(services.SchedulingError, match="cannot move"):
            services.appointment_move(
                appointment=a, starts_at=a.starts_at + timedelta(days=1), by=working_practitioner
            )

    def test_late_cancellation(self, patient, working_practitioner, location):
        soon = book(patient, working_practitioner, location, local(MON, 15))
        later = book(patient, working_practitioner, location, local(TUE + timedelta(days=3), 15))
        services.appointment_cancel(
            party="patient", appointment=soon, reason="Stuck at work", by=working_practitioner
        )
        services.appointment_cancel(
            party="patient", appointment=later, reason="Stuck at work", by=working_practitioner
        )
        assert soon.cancelled_late and not later.cancelled_late
        assert soon.cancel_reason == "Stuck at work" and soon.cancelled_at

    def test_cancel_needs_reason(self, patient, working_practitioner, location):
        a = book(patient, working_practitioner, location, local(TUE, 15))
        with pytest.raises(services.SchedulingError, match="reason"):
            services.appointment_cancel(
                party="patient", appointment=a, reason="  ", by=working_practitioner
            )

    def test_no_show_only_after_start(self, patient, working_practitioner, location, clock):
        a = book(patient, working_practitioner, location, local(MON, 15))
        with pytest.raises(services.SchedulingError, match="once it has started"):
            services.appointment_no_show(appointment=a, by=working_practitioner)
        clock.move_to(local(MON, 15, 20))
        services.appointment_no_show(appointment=a, by=working_practitioner)
        assert a.status == "no_show"


class TestProposalsStartAfterNotice:
    """The planner never proposes a time that has passed (issue 11, item 5): proposals
    start at now plus CLINIC_MIN_NOTICE_MINUTES, and each can be booked as proposed."""

    def test_late_evening_first_session_from_today(
        self, clock, patient, working_practitioner, location, face
    ):
        clock.move_to(local(MON, 22, 30))
        proposal = services.course_plan(
            protocol=face, practitioner=working_practitioner, location=location, earliest=MON
        )
        first = proposal.sessions[0].starts_at
        assert first == local(TUE, 9)  # not 09:00 today, which has passed
        course = services.course_book(
            patient=patient,
            protocol=face,
            practitioner=working_practitioner,
            location=location,
            room=None,
            starts=[p.starts_at for p in proposal.sessions],
            by=working_practitioner,
        )
        assert course.appointments.count() == face.sessions_in_course

    def test_during_the_day_the_notice_is_kept(
        self, clock, settings, working_practitioner, location, face
    ):
        settings.CLINIC_MIN_NOTICE_MINUTES = 60
        clock.move_to(local(MON, 10, 20))
        proposal = services.course_plan(
            protocol=face, practitioner=working_practitioner, location=location, earliest=MON
        )
        assert proposal.sessions[0].starts_at == local(MON, 11, 30)  # 11:20 on the grid
        settings.CLINIC_MIN_NOTICE_MINUTES = 0
        proposal = services.course_plan(
            protocol=face, practitioner=working_practitioner, location=location, earliest=MON
        )
        assert proposal.sessions[0].starts_at == local(MON, 10, 30)

    def test_a_chosen_time_inside_the_notice_is_refused_in_words(
        self, clock, working_practitioner, location, face
    ):
        clock.move_to(local(MON, 10, 20))
        proposal = services.course_plan(
            protocol=face,
            practitioner=working_practitioner,
            location=location,
            earliest=MON,
            first_start=local(MON, 10, 30),
        )
        assert proposal.sessions[0].starts_at is None
        assert "That time is too soon" in proposal.sessions[0].problem


class TestTreatmentTiming:
    """Treatment a day early: check-in on the day only, completion not before the start,
    either overridden only with a reason, which the audit log keeps with who gave it."""

    def test_check_in_the_day_before_is_refused(self, course, working_practitioner, patient):
        clear_screening(patient, working_practitioner)
        one = session(course, 1)  # Tuesday 10:00; the clock says Monday 07:30
        with pytest.raises(services.OverrideNeeded, match="patients are checked in on the day"):
            services.appointment_check_in(appointment=one, by=working_practitioner)
        one.refresh_from_db()
        assert one.status == "booked"
        assert not AuditEvent.objects.filter(summary__startswith="Override").exists()

    def test_check_in_the_day_before_with_a_reason_is_audited(
        self, course, working_practitioner, patient
    ):
        clear_screening(patient, working_practitioner)
        one = session(course, 1)
        services.appointment_check_in(
            appointment=one, by=working_practitioner, override_reason="Flying abroad tomorrow"
        )
        assert one.status == "checked_in"
        event = AuditEvent.objects.get(summary__startswith="Override")
        assert event.actor == working_practitioner
        assert event.patient_id == patient.pk
        assert event.summary.endswith("Reason: Flying abroad tomorrow")

    def test_completion_before_the_start_is_refused_then_overridden(
        self, course, working_practitioner, patient, clock
    ):
        one = session(course, 1)
        clock.move_to(one.starts_at - timedelta(minutes=30))
        clear_screening(patient, working_practitioner)
        services.appointment_check_in(appointment=one, by=working_practitioner)
        services.appointment_start(appointment=one, by=working_practitioner)
        ready_to_complete(one, working_practitioner)
        with pytest.raises(services.OverrideNeeded, match="cannot be completed before it starts"):
            services.appointment_complete(appointment=one, by=working_practitioner)
        one.refresh_from_db()
        assert one.status == "in_treatment"
        services.appointment_complete(
            appointment=one, by=working_practitioner, override_reason="Arrived early, seen early"
        )
        assert one.status == "completed"
        event = AuditEvent.objects.get(summary__startswith="Override")
        assert event.actor == working_practitioner
        assert "Arrived early, seen early" in event.summary

    def test_completion_after_the_start_needs_no_reason(
        self, course, working_practitioner, patient, clock
    ):
        one = session(course, 1)
        clock.move_to(one.starts_at + timedelta(minutes=45))
        clear_screening(patient, working_practitioner)
        services.appointment_check_in(appointment=one, by=working_practitioner)
        ready_to_complete(one, working_practitioner)
        services.appointment_complete(appointment=one, by=working_practitioner)
        assert one.status == "completed"
        assert not AuditEvent.objects.filter(summary__startswith="Override").exists()


class TestProgress:
    def test_patient_courses_progress_and_interrupted(
        self, course, working_practitioner, patient, clock
    ):
        from sessions.scheduling import selectors

        one = session(course, 1)
        clear_screening(patient, working_practitioner)
        clock.move_to(one.starts_at)
        services.appointment_check_in(appointment=one, by=working_practitioner)
        ready_to_complete(one, working_practitioner)  # charting's completion gate
        services.appointment_complete(appointment=one, by=working_practitioner)
        view = selectors.patient_courses(patient, today=one.starts_at.date())[0]
        assert view.progress.summary == "1 of 3 done"
        assert view.progress.next_window == (
            one.starts_at.date() + timedelta(days=14),
            one.starts_at.date() + timedelta(days=42),
        )
        services.appointment_cancel(
            party="patient", appointment=session(course, 2), reason="x", by=working_practitioner
        )
        services.appointment_cancel(
            party="patient", appointment=session(course, 3), reason="x", by=working_practitioner
        )
        view = selectors.patient_courses(patient, today=one.starts_at.date() + timedelta(days=43))[
            0
        ]
        assert view.progress.interrupted
