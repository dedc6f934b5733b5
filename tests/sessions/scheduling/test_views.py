"""Pages and endpoints: booking from forms and the calendar, refusals in words, feeds."""

import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from billing.models import Invoice
from mesoclinic.core.models import AuditEvent
from sessions.scheduling import services
from sessions.scheduling.models import (
    Appointment,
    CalendarFeed,
    Closure,
    Location,
    TreatmentPlan,
    WorkingHours,
)
from tests.factories import PatientFactory, ScreeningFactory
from tests.sessions.conftest import NOW, add_hours, local

pytestmark = pytest.mark.usefixtures("clock")
MON = NOW.date()
TUE = MON + timedelta(days=1)


@pytest.fixture
def booked(patient, working_practitioner, location, room):
    return services.appointment_book(
        patient=patient,
        practitioner=working_practitioner,
        location=location,
        room=room,
        starts_at=local(TUE, 10),
        by=working_practitioner,
    )


@pytest.fixture
def course(patient, working_practitioner, location, face):
    return services.course_book(
        patient=patient,
        protocol=face,
        practitioner=working_practitioner,
        location=location,
        room=None,
        starts=[local(MON + timedelta(days=d), 10) for d in (1, 29, 57)],
        by=working_practitioner,
    )


class TestSetup:
    def test_manager_adds_location_room_hours_closure_absence(self, manager_client, practitioner):
        r = manager_client.post(
            reverse("sessions:location_create"),
            {"name": "Leeds", "address": "1 Park Row", "is_active": "on"},
        )
        assert r.status_code == 302
        leeds = Location.objects.get(name="Leeds")
        r = manager_client.post(
            reverse("sessions:room_create", args=[leeds.public_id]),
            {"name": "Room A", "is_active": "on"},
        )
        assert leeds.rooms.count() == 1
        r = manager_client.post(
            reverse("sessions:hours_create"),
            {
                "practitioner": practitioner.pk,
                "location": leeds.pk,
                "weekday": 0,
                "start": "09:00",
                "end": "13:00",
            },
        )
        assert r.status_code == 302
        # Overlapping hours on the same day are refused with a message.
        r = manager_client.post(
            reverse("sessions:hours_create"),
            {
                "practitioner": practitioner.pk,
                "location": leeds.pk,
                "weekday": 0,
                "start": "12:00",
                "end": "15:00",
            },
        )
        assert r.status_code == 200 and "overlap" in r.content.decode()
        assert WorkingHours.objects.count() == 1
        r = manager_client.post(
            reverse("sessions:closure_create"),
            {"name": "Christmas", "starts_on": "2026-12-25", "ends_on": "2026-12-26"},
        )
        assert Closure.objects.get().location is None
        r = manager_client.post(
            reverse("sessions:absence_create"),
            {
                "practitioner": practitioner.pk,
                "kind": "leave",
                "starts_at": "2026-04-01T00:00",
                "ends_at": "2026-04-08T00:00",
            },
        )
        assert r.status_code == 302
        page = manager_client.get(reverse("sessions:setup")).content.decode()
        assert "Leeds" in page and "Christmas" in page and "Room A" in page

    def test_bad_input_is_a_form_error(self, manager_client, practitioner, location):
        r = manager_client.post(
            reverse("sessions:hours_create"),
            {
                "practitioner": practitioner.pk,
                "location": location.pk,
                "weekday": 9,
                "start": "17:00",
                "end": "09:00",
            },
        )
        assert r.status_code == 200
        r = manager_client.post(
            reverse("sessions:closure_create"),
            {"name": "x", "starts_on": "2026-12-25", "ends_on": "2026-12-01"},
        )
        assert r.status_code == 200 and "cannot be before" in r.content.decode()
        assert not WorkingHours.objects.exists() and not Closure.objects.exists()

    def test_delete_is_post_only(self, manager_client, location):
        closure = Closure.objects.create(name="x", starts_on=TUE, ends_on=TUE)
        assert (
            manager_client.get(
                reverse("sessions:closure_delete", args=[closure.public_id])
            ).status_code
            == 405
        )
        manager_client.post(reverse("sessions:closure_delete", args=[closure.public_id]))
        assert not Closure.objects.exists()


class TestBookingPage:
    def test_book_from_form(self, frontdesk_client, patient, working_practitioner, location):
        url = reverse("sessions:appointment_create")
        page = frontdesk_client.get(
            url,
            {
                "patient": patient.public_id,
                "start": "2026-03-03T10:00",
                "practitioner": working_practitioner.pk,
            },
        )
        assert page.status_code == 200 and patient.full_name in page.content.decode()
        r = frontdesk_client.post(
            url,
            {
                "patient": patient.public_id,
                "kind": "consultation",
                "practitioner": working_practitioner.pk,
                "location": location.pk,
                "day": "2026-03-03",
                "start": "10:00",
            },
        )
        assert r.status_code == 302
        a = Appointment.objects.get()
        assert a.starts_at == local(TUE, 10) and a.created_by.username == "frontdesk"

    def test_refusal_is_shown_not_500(
        self, frontdesk_client, patient, working_practitioner, location, booked
    ):
        r = frontdesk_client.post(
            reverse("sessions:appointment_create"),
            {
                "patient": patient.public_id,
                "kind": "consultation",
                "practitioner": working_practitioner.pk,
                "location": location.pk,
                "day": "2026-03-03",
                "start": "10:15",
            },
        )
        assert r.status_code == 200
        assert "already" in r.content.decode()
        assert Appointment.objects.count() == 1

    def test_patient_search_on_the_booking_page(self, frontdesk_client, patient):
        r = frontdesk_client.get(reverse("sessions:appointment_create"), {"q": patient.last_name})
        assert patient.full_name in r.content.decode()

    def test_unknown_patient_id_is_ignored(self, frontdesk_client):
        r = frontdesk_client.get(reverse("sessions:appointment_create"), {"patient": "not-a-uuid"})
        assert r.status_code == 200


class TestCalendar:
    def test_day_has_a_column_per_practitioner_week_one_with_a_picker(
        self, frontdesk_client, working_practitioner, second_practitioner, location
    ):
        day = frontdesk_client.get(
            reverse("sessions:calendar"), {"location": location.public_id, "view": "day"}
        ).content.decode()
        assert f'data-column="{working_practitioner.pk}"' in day
        assert f'data-column="{second_practitioner.pk}"' in day
        week = frontdesk_client.get(
            reverse("sessions:calendar"),
            {"location": location.public_id, "view": "week", "column": second_practitioner.pk},
        ).content.decode()
        assert f'data-column="{second_practitioner.pk}"' in week
        assert f'data-column="{working_practitioner.pk}"' not in week
        assert f'<option value="{working_practitioner.pk}"' in week  # the picker offers both
        rooms = frontdesk_client.get(reverse("sessions:calendar"), {"by": "rooms"})
        assert rooms.status_code == 200

    def test_a_practitioners_week_opens_on_their_own_column(
        self, client, working_practitioner, second_practitioner, location
    ):
        client.force_login(second_practitioner)
        week = client.get(
            reverse("sessions:calendar"), {"location": location.public_id, "view": "week"}
        ).content.decode()
        assert f'data-column="{second_practitioner.pk}"' in week
        assert f'data-column="{working_practitioner.pk}"' not in week

    def test_the_calendar_opens_where_you_work_then_where_you_last_looked(
        self, frontdesk, practitioner, location
    ):
        """Harley Street sorts after Chelsea: without a remembered choice a practitioner
        opens on their own location, and anyone gets the location they last chose."""
        chelsea = Location.objects.create(name="Chelsea")
        add_hours(practitioner, location)
        url = reverse("sessions:calendar")

        def shown(c, params=None):
            return c.get(url, params or {}).context["location"]

        client, frontdesk_client = Client(), Client()
        client.force_login(practitioner)
        frontdesk_client.force_login(frontdesk)
        assert shown(client) == location
        assert shown(frontdesk_client) == chelsea  # no working hours: the first by name
        assert shown(frontdesk_client, {"location": location.public_id}) == location
        assert shown(frontdesk_client) == location
        assert shown(client, {"location": chelsea.public_id}) == chelsea
        assert shown(client) == chelsea
        booking_form = frontdesk_client.get(reverse("sessions:appointment_create"))
        assert booking_form.context["form"].initial["location"] == location.pk
        location.is_active = False
        location.save()
        assert shown(frontdesk_client) == chelsea  # a closed location is not kept

    def test_events_feed(self, frontdesk_client, booked, location):
        Closure.objects.create(
            name="Holiday", starts_on=TUE + timedelta(days=1), ends_on=TUE + timedelta(days=1)
        )
        r = frontdesk_client.get(
            reverse("sessions:calendar_events"),
            {
                "location": location.public_id,
                "start": "2026-03-02T00:00:00",
                "end": "2026-03-09T00:00:00",
            },
        )
        events = r.json()
        appointment = next(e for e in events if e.get("id"))
        assert appointment["start"] == "2026-03-03T10:00:00"  # clinic time, no offset
        assert appointment["extendedProps"]["practitioner"] == str(booked.practitioner_id)
        assert "st-booked" in appointment["classNames"]
        assert any(e.get("display") == "background" and "Holiday" in e["title"] for e in events)

    def test_events_feed_tolerates_bad_input(self, frontdesk_client, location):
        r = frontdesk_client.get(
            reverse("sessions:calendar_events"), {"location": "nope", "start": "garbage"}
        )
        assert r.status_code == 200 and r.json() == []

    def test_drag_refused_in_words(self, frontdesk_client, course):
        two = course.appointments.get(sequence=2)
        r = frontdesk_client.post(
            reverse("sessions:appointment_move", args=[two.public_id]),
            {"start": "2026-03-11T10:00:00", "end": "2026-03-11T11:00:00"},
            HTTP_ACCEPT="application/json",
        )
        assert r.status_code == 409
        assert "minimum is 14 days" in r.json()["error"]
        two.refresh_from_db()
        assert two.starts_at == local(MON + timedelta(days=29), 10)

    def test_drag_within_window_offers_shift(self, frontdesk_client, course):
        two = course.appointments.get(sequence=2)
        r = frontdesk_client.post(
            reverse("sessions:appointment_move", args=[two.public_id]),
            {"start": "2026-04-02T11:00:00", "end": "2026-04-02T12:00:00"},
            HTTP_ACCEPT="application/json",
        )
        body = r.json()
        assert body["ok"] and body["course"] == str(course.public_id)
        assert body["shifts"][0]["sequence"] == 3
        shift = frontdesk_client.post(
            reverse("sessions:course_shift", args=[course.public_id]),
            {"session_3": body["shifts"][0]["proposedIso"]},
            HTTP_ACCEPT="application/json",
        )
        assert shift.json() == {"ok": True, "error": ""}

    def test_beyond_max_needs_override_then_recorded(self, frontdesk_client, course):
        three = course.appointments.get(sequence=3)
        url = reverse("sessions:appointment_move", args=[three.public_id])
        data = {"start": "2026-05-13T10:00:00", "end": "2026-05-13T11:00:00"}
        r = frontdesk_client.post(url, data, HTTP_ACCEPT="application/json")
        assert r.status_code == 409 and r.json()["needsOverride"]
        r = frontdesk_client.post(
            url, {**data, "override_reason": "Travelling"}, HTTP_ACCEPT="application/json"
        )
        assert r.json()["ok"]
        three.refresh_from_db()
        assert three.override_reason == "Travelling"

    def test_resize(self, frontdesk_client, booked):
        r = frontdesk_client.post(
            reverse("sessions:appointment_move", args=[booked.public_id]),
            {"start": "2026-03-03T10:00:00", "end": "2026-03-03T10:45:00"},
            HTTP_ACCEPT="application/json",
        )
        assert r.json()["ok"]
        booked.refresh_from_db()
        assert booked.duration == timedelta(minutes=45)

    def test_unreadable_time_is_400(self, frontdesk_client, booked):
        r = frontdesk_client.post(
            reverse("sessions:appointment_move", args=[booked.public_id]),
            {"start": "soon"},
            HTTP_ACCEPT="application/json",
        )
        assert r.status_code == 400

    def test_week_view_queries_do_not_grow(
        self,
        frontdesk_client,
        django_assert_max_num_queries,
        working_practitioner,
        second_practitioner,
        location,
        room,
        face,
    ):
        def week(expected):
            with django_assert_max_num_queries(expected) as ctx:
                frontdesk_client.get(
                    reverse("sessions:calendar"), {"location": location.public_id, "view": "week"}
                )
                frontdesk_client.get(
                    reverse("sessions:calendar_events"),
                    {
                        "location": location.public_id,
                        "start": "2026-03-02T00:00:00",
                        "end": "2026-03-09T00:00:00",
                    },
                )
            return len(ctx.captured_queries)

        services.appointment_book(
            patient=PatientFactory(),
            practitioner=working_practitioner,
            location=location,
            starts_at=local(TUE, 9),
            by=None,
        )
        week(40)  # the first visit remembers the location in the session (a write)
        few = week(40)
        for day in range(5):
            for hour in range(9, 17):
                for person in (working_practitioner, second_practitioner):
                    Appointment.objects.create(
                        patient=PatientFactory(),
                        protocol=face,
                        kind="maintenance",
                        practitioner=person,
                        location=location,
                        starts_at=local(MON + timedelta(days=day), hour, 30),
                        ends_at=local(MON + timedelta(days=day), hour, 50),
                    )
        many = week(40)
        assert many == few


class TestLifecyclePage:
    def test_buttons_and_status_changes(self, frontdesk_client, practitioner_client, booked):
        url = reverse("sessions:appointment_detail", args=[booked.public_id])
        page = frontdesk_client.get(url).content.decode()
        assert "Check in" in page and "Start treatment" not in page
        frontdesk_client.post(
            reverse("sessions:appointment_status", args=[booked.public_id]), {"action": "confirm"}
        )
        booked.refresh_from_db()
        assert booked.status == "confirmed"

    def test_front_desk_cannot_complete(self, client, frontdesk, booked):
        client.force_login(frontdesk)
        r = client.post(
            reverse("sessions:appointment_status", args=[booked.public_id]), {"action": "complete"}
        )
        assert r.status_code == 403

    def test_check_in_refusal_is_a_message(self, frontdesk_client, course):
        one = course.appointments.get(sequence=1)
        r = frontdesk_client.post(
            reverse("sessions:appointment_status", args=[one.public_id]),
            {"action": "check_in"},
            follow=True,
        )
        assert "No screening" in r.content.decode()
        one.refresh_from_db()
        assert one.status == "booked"

    def test_cancel_needs_reason(self, frontdesk_client, booked):
        url = reverse("sessions:appointment_status", args=[booked.public_id])
        r = frontdesk_client.post(url, {"action": "cancel", "reason": ""})
        assert r.status_code == 200
        booked.refresh_from_db()
        assert booked.status == "booked"
        r = frontdesk_client.post(url, {"action": "cancel", "reason": "Unwell"})
        assert "Say who cancelled: the patient or the clinic." in r.content.decode()
        booked.refresh_from_db()
        assert booked.status == "booked"
        frontdesk_client.post(url, {"action": "cancel", "reason": "Unwell", "party": "patient"})
        booked.refresh_from_db()
        assert booked.status == "cancelled" and not booked.cancelled_late


class TestCancellationFee:
    """Only a late cancellation by the patient carries the fee; the page says so first;
    waiving it needs a reason and is audited (issue 11, item 6)."""

    @pytest.fixture
    def soon(self, patient, working_practitioner, location):
        """Today 15:00; the clock says 07:30: within 24 hours."""
        return services.appointment_book(
            patient=patient,
            practitioner=working_practitioner,
            location=location,
            starts_at=local(MON, 15),
            by=working_practitioner,
        )

    def cancel(self, client, appointment, **data):
        url = reverse("sessions:appointment_status", args=[appointment.public_id])
        response = client.post(url, {"action": "cancel", **data})
        appointment.refresh_from_db()
        return response

    def test_the_page_shows_the_fee_before_confirming(self, frontdesk_client, soon, booked):
        page = frontdesk_client.get(reverse("sessions:appointment_detail", args=[soon.public_id]))
        text = " ".join(page.content.decode().split())
        assert "Who cancelled?" in text
        assert "a late-cancellation fee of <strong>£50.00</strong> is invoiced to them" in text
        assert "If the clinic cancelled, there is no fee." in text
        page = frontdesk_client.get(reverse("sessions:appointment_detail", args=[booked.public_id]))
        assert "the start is more than 24 hours away" in page.content.decode()

    def test_a_clinic_cancellation_carries_no_fee(self, frontdesk_client, soon):
        self.cancel(frontdesk_client, soon, party="clinic", reason="Practitioner ill")
        assert soon.status == "cancelled" and soon.cancelled_by_party == "clinic"
        assert not soon.cancelled_late
        assert not Invoice.objects.exists()

    def test_a_late_patient_cancellation_carries_the_fee(self, frontdesk_client, soon):
        self.cancel(frontdesk_client, soon, party="patient", reason="Stuck at work")
        assert soon.cancelled_late and soon.cancelled_by_party == "patient"
        invoice = Invoice.objects.get(appointment=soon)
        assert invoice.total == Decimal("50.00")

    def test_a_checked_in_patient_is_not_charged(self, frontdesk_client, soon):
        services.appointment_check_in(appointment=soon, by=None)
        page = frontdesk_client.get(reverse("sessions:appointment_detail", args=[soon.public_id]))
        assert "The patient is checked in: cancelling now carries no" in page.content.decode()
        self.cancel(frontdesk_client, soon, party="patient", reason="Felt faint, went home")
        assert soon.status == "cancelled" and not soon.cancelled_late
        assert not Invoice.objects.exists()

    def test_waiving_the_fee_needs_a_reason_and_is_audited(self, frontdesk_client, frontdesk, soon):
        r = self.cancel(frontdesk_client, soon, party="patient", reason="Flu", waive_fee="on")
        assert "Give a reason for waiving the fee." in r.content.decode()
        assert soon.status == "booked"
        self.cancel(
            frontdesk_client,
            soon,
            party="patient",
            reason="Flu",
            waive_fee="on",
            fee_waived_reason="Doctor's note",
        )
        assert soon.status == "cancelled" and soon.cancelled_late
        assert soon.late_fee_waived_reason == "Doctor's note"
        assert not Invoice.objects.exists()
        event = AuditEvent.objects.get(summary__startswith="Late-cancellation fee waived")
        assert event.actor == frontdesk and event.summary.endswith("Reason: Doctor's note")

    def test_move_form_and_shift_offer(self, frontdesk_client, course):
        two = course.appointments.get(sequence=2)
        r = frontdesk_client.post(
            reverse("sessions:appointment_move", args=[two.public_id]),
            {
                "day": "2026-04-02",
                "start": "10:00",
                "minutes": 60,
                "practitioner": two.practitioner_id,
            },
        )
        assert r.status_code == 302
        page = frontdesk_client.get(r["Location"]).content.decode()
        assert 'data-testid="shift-offer"' in page and "Session 3" in page

    def test_move_form_refusal(self, frontdesk_client, course):
        two = course.appointments.get(sequence=2)
        r = frontdesk_client.post(
            reverse("sessions:appointment_move", args=[two.public_id]),
            {
                "day": "2026-03-05",
                "start": "10:00",
                "minutes": 60,
                "practitioner": two.practitioner_id,
            },
        )
        assert r.status_code == 200 and "minimum is 14" in r.content.decode()

    def test_unknown_ids_404(self, frontdesk_client):
        import uuid

        assert (
            frontdesk_client.get(
                reverse("sessions:appointment_detail", args=[uuid.uuid4()])
            ).status_code
            == 404
        )
        assert (
            frontdesk_client.get(reverse("sessions:course_detail", args=[uuid.uuid4()])).status_code
            == 404
        )


class TestCoursePages:
    def test_plan_then_book_over_a_holiday(
        self, frontdesk_client, patient, working_practitioner, location, face
    ):
        holiday = TUE + timedelta(days=28)
        Closure.objects.create(name="Easter", starts_on=holiday, ends_on=holiday)
        url = reverse("sessions:course_plan", args=[patient.public_id])
        params = {
            "protocol": face.pk,
            "practitioner": working_practitioner.pk,
            "location": location.pk,
            "earliest": TUE.isoformat(),
        }
        page = frontdesk_client.get(url, params).content.decode()
        assert 'value="2026-03-03T09:00"' in page
        assert 'value="2026-04-01T09:00"' in page  # the day after the holiday
        r = frontdesk_client.post(
            url,
            {
                **params,
                "session_1": "2026-03-03T09:00",
                "session_2": "2026-04-01T09:00",
                "session_3": "2026-04-29T09:00",
            },
        )
        assert r.status_code == 302
        course = TreatmentPlan.objects.get()
        assert course.appointments.count() == 3
        patient_page = frontdesk_client.get(
            reverse("patients:detail", args=[patient.public_id])
        ).content.decode()
        assert "0 of 3 done" in patient_page

    def test_adjusted_date_too_close_is_refused(
        self, frontdesk_client, patient, working_practitioner, location, face
    ):
        url = reverse("sessions:course_plan", args=[patient.public_id])
        params = {
            "protocol": face.pk,
            "practitioner": working_practitioner.pk,
            "location": location.pk,
            "earliest": TUE.isoformat(),
        }
        r = frontdesk_client.post(
            url,
            {
                **params,
                "session_1": "2026-03-03T09:00",
                "session_2": "2026-03-10T09:00",
                "session_3": "2026-04-29T09:00",
            },
        )
        assert r.status_code == 200 and "minimum is 14" in r.content.decode()
        assert not TreatmentPlan.objects.exists()

    def test_course_detail_and_continue(self, frontdesk_client, course):
        page = frontdesk_client.get(
            reverse("sessions:course_detail", args=[course.public_id])
        ).content.decode()
        assert "0 of 3 done" in page
        services.appointment_cancel(
            party="patient", appointment=course.appointments.get(sequence=3), reason="x", by=None
        )
        url = reverse("sessions:course_continue", args=[course.public_id])
        page = frontdesk_client.get(url).content.decode()
        assert "session_3" in page
        r = frontdesk_client.post(url, {"session_3": "2026-04-29T10:00"})
        assert r.status_code == 302
        assert course.appointments.filter(sequence=3, status="booked").exists()

    def test_cancel_course(self, frontdesk_client, course):
        frontdesk_client.post(
            reverse("sessions:course_cancel", args=[course.public_id]), {"reason": "Moved away"}
        )
        course.refresh_from_db()
        assert course.status == "cancelled"


class TestPanelsAndLists:
    def test_home_and_today(self, frontdesk_client, patient, working_practitioner, location):
        services.appointment_book(
            patient=patient,
            practitioner=working_practitioner,
            location=location,
            starts_at=local(MON, 15),
            by=None,
        )
        home = frontdesk_client.get(reverse("home")).content.decode()
        assert patient.full_name in home
        today = frontdesk_client.get(reverse("sessions:today")).content.decode()
        assert patient.full_name in today

    def test_today_rows_open_the_appointment_and_clinical_staff_reach_the_chart(
        self, client, frontdesk, patient, working_practitioner, location, face
    ):
        from sessions.scheduling.models import Appointment

        appointment = services.appointment_book(
            patient=patient,
            practitioner=working_practitioner,
            location=location,
            starts_at=local(MON, 15),
            protocol=face,
            by=None,
        )
        Appointment.objects.filter(pk=appointment.pk).update(
            status="checked_in", kind=Appointment.Kind.MAINTENANCE
        )
        chart = reverse("charting:chart", args=[appointment.public_id])
        detail = reverse("sessions:appointment_detail", args=[appointment.public_id])
        client.force_login(working_practitioner)
        mine = client.get(reverse("sessions:today"), {"day": MON.isoformat()}).content.decode()
        assert f'class="stretched-link today-name" href="{detail}"' in mine
        assert f'href="{chart}"' in mine
        client.force_login(frontdesk)
        desk = client.get(reverse("sessions:today"), {"day": MON.isoformat()}).content.decode()
        assert f'href="{detail}"' in desk and f'href="{chart}"' not in desk

    def test_find_slot(self, frontdesk_client, working_practitioner, location, face, booked):
        r = frontdesk_client.get(
            reverse("sessions:find_slot"),
            {
                "location": location.public_id,
                "protocol": face.pk,
                "first_day": "2026-03-03",
                "last_day": "2026-03-05",
            },
        )
        page = r.content.decode()
        assert "Tue 03 Mar 2026 09:00" in page
        assert "Tue 03 Mar 2026 10:00" not in page  # booked


class TestMaintenance:
    def test_finished_course_offers_a_maintenance_slot(
        self, frontdesk_client, frontdesk, course, working_practitioner, patient, clock
    ):
        from tests.factories import ScreeningFactory
        from tests.sessions.charting.helpers import ready_to_complete

        for n in (1, 2, 3):
            a = course.appointments.get(sequence=n)
            clock.move_to(a.starts_at)
            ScreeningFactory(
                patient=patient, taken_on=a.starts_at.date(), recorded_by=working_practitioner
            )
            services.appointment_check_in(appointment=a, by=working_practitioner)
            ready_to_complete(a, working_practitioner)
            services.appointment_complete(appointment=a, by=working_practitioner)
        frontdesk_client.force_login(frontdesk)
        page = frontdesk_client.get(reverse("patients:detail", args=[patient.public_id]))
        text = page.content.decode()
        assert "3 of 3 done" in text and "Maintenance proposed from" in text
        link = text.split('href="/schedule/find/?')[1].split('"')[0].replace("&amp;", "&")
        found = frontdesk_client.get("/schedule/find/?" + link).content.decode()
        assert "Find the next free slot for" in found
        assert "kind=maintenance" in found


class TestFeed:
    def test_feed_has_initials_and_protocol_only(self, client, practitioner_client, course):
        practitioner_client.post(reverse("sessions:feed_settings"), {"action": "reset"})
        feed = CalendarFeed.objects.get()
        client.logout()
        r = client.get(reverse("sessions:feed", args=[feed.token]))
        assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
        cal = Calendar.from_ical(r.content)
        summaries = [str(e["summary"]) for e in cal.walk("VEVENT")]
        patient = course.patient
        assert summaries[0] == f"{patient.initials} · PRP face rejuvenation"
        assert patient.last_name not in r.content.decode()

    def test_renew_revokes_old_token(self, client, practitioner_client):
        practitioner_client.post(reverse("sessions:feed_settings"), {"action": "reset"})
        old = CalendarFeed.objects.get().token
        practitioner_client.post(reverse("sessions:feed_settings"), {"action": "reset"})
        assert client.get(reverse("sessions:feed", args=[old])).status_code == 404
        practitioner_client.post(reverse("sessions:feed_settings"), {"action": "revoke"})
        assert not CalendarFeed.objects.exists()


def test_second_location_hours(working_practitioner):
    other = Location.objects.create(name="Leeds")
    add_hours(working_practitioner, other, weekdays=[5], start=10, end=14)
    assert WorkingHours.objects.filter(location=other).count() == 1
    assert datetime.time(10) == WorkingHours.objects.get(location=other).start


def test_an_absence_over_booked_appointments_warns_the_manager(manager_client, booked):
    r = manager_client.post(
        reverse("sessions:absence_create"),
        {
            "practitioner": booked.practitioner.pk,
            "kind": "training",
            "starts_at": f"{TUE:%Y-%m-%d}T09:00",
            "ends_at": f"{TUE:%Y-%m-%d}T12:00",
        },
        follow=True,
    )
    page = r.content.decode()
    assert "1 booked appointment(s) fall in this absence" in page
    # Outside the absence: no warning.
    r = manager_client.post(
        reverse("sessions:absence_create"),
        {
            "practitioner": booked.practitioner.pk,
            "kind": "leave",
            "starts_at": f"{TUE:%Y-%m-%d}T13:00",
            "ends_at": f"{TUE:%Y-%m-%d}T17:00",
        },
        follow=True,
    )
    assert "fall in this absence" not in r.content.decode()


class TestPlannerScreening:
    """Issue 11, item 8: the planner shows the screening for the chosen protocol, and a
    screening that blocks it needs an explicit acknowledgement to book the course."""

    SESSIONS = {
        "session_1": "2026-03-03T09:00",
        "session_2": "2026-03-31T09:00",
        "session_3": "2026-04-28T09:00",
    }

    @pytest.fixture
    def params(self, face, working_practitioner, location):
        return {
            "protocol": face.pk,
            "practitioner": working_practitioner.pk,
            "location": location.pk,
            "earliest": TUE.isoformat(),
        }

    @pytest.fixture
    def blocked(self, patient, practitioner):
        return ScreeningFactory(
            patient=patient,
            taken_on=MON,
            platelet_disorder=True,
            current_medications="Warfarin 5 mg",
            recorded_by=practitioner,
        )

    def test_front_desk_reads_the_status_never_the_answers(
        self, frontdesk_client, patient, params, blocked
    ):
        url = reverse("sessions:course_plan", args=[patient.public_id])
        page = frontdesk_client.get(url, params).content.decode()
        assert "Screening for PRP face rejuvenation: Treatment blocked." in page
        assert "Screening must be cleared before treatment." in page
        assert "Blood or platelet disorder" not in page and "Warfarin" not in page
        assert 'name="screening_acknowledged"' in page

    def test_a_practitioner_reads_the_reasons(self, practitioner_client, patient, params, blocked):
        url = reverse("sessions:course_plan", args=[patient.public_id])
        page = practitioner_client.get(url, params).content.decode()
        assert "Blood or platelet disorder: treatment must not go ahead." in page

    def test_booking_needs_the_acknowledgement(
        self, frontdesk_client, frontdesk, patient, params, blocked
    ):
        url = reverse("sessions:course_plan", args=[patient.public_id])
        r = frontdesk_client.post(url, {**params, **self.SESSIONS})
        assert r.status_code == 200
        assert "Screening must be cleared before treatment" in r.content.decode()
        assert not TreatmentPlan.objects.exists()
        r = frontdesk_client.post(url, {**params, **self.SESSIONS, "screening_acknowledged": "on"})
        assert r.status_code == 302
        course = TreatmentPlan.objects.get()
        assert course.appointments.count() == 3
        event = AuditEvent.objects.get(action="acknowledge", patient_id=patient.pk)
        assert event.actor == frontdesk and "Treatment blocked" in event.summary

    def test_a_clear_screening_books_without_it(self, frontdesk_client, patient, params):
        ScreeningFactory(patient=patient, taken_on=MON)
        url = reverse("sessions:course_plan", args=[patient.public_id])
        page = frontdesk_client.get(url, params).content.decode()
        assert "Clear to treat" in page and 'name="screening_acknowledged"' not in page
        r = frontdesk_client.post(url, {**params, **self.SESSIONS})
        assert r.status_code == 302
        assert not AuditEvent.objects.filter(action="acknowledge").exists()
