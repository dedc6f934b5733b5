"""Front desk books a course starting today, checks the patient in for session 1 before
the outbox's next dispatch, and the patient still receives the dates of sessions 2 and 3
(issue 11, item 4)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from mesoclinic.core import outbox
from sessions.scheduling.models import Location, TreatmentPlan
from tests.e2e.conftest import login
from tests.factories import PatientFactory, ScreeningFactory
from tests.sessions.conftest import add_hours

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def clinic_clock():
    # A Monday, 08:00; the clock keeps running so sessions and timeouts behave.
    with time_machine.travel(datetime.datetime(2027, 3, 1, 8, 0, tzinfo=LONDON), tick=True):
        yield


def test_checking_in_session_one_keeps_the_course_confirmation(
    clinic_clock, page, frontdesk, practitioner, catalogue, settings
):
    settings.CLINIC_MIN_NOTICE_MINUTES = 30
    location = Location.objects.create(name="Harley Street", address="1 Harley Street")
    add_hours(practitioner, location)
    patient = PatientFactory(first_name="Amelia", last_name="Hart")
    ScreeningFactory(patient=patient, taken_on=timezone.localdate(), recorded_by=practitioner)

    login(page, "frontdesk")
    page.goto(f"/patients/{patient.public_id}/")
    page.get_by_role("link", name="Plan a course").click()
    page.get_by_label("Protocol").select_option(label="PRP face rejuvenation")
    page.get_by_label("Practitioner").select_option(label="Priya")
    page.get_by_label("Location").select_option(label="Harley Street")
    page.get_by_label("First session from").fill("2027-03-01")
    page.get_by_role("button", name="Propose dates").click()
    # 08:00 now, half an hour's notice: the first time offered is 09:00 today (not earlier).
    expect(page.get_by_label("Session 1")).to_have_value("2027-03-01T09:00")
    page.get_by_role("button", name="Book the whole course").click()
    expect(page.get_by_test_id("course-progress")).to_contain_text("0 of 3 done")
    first, second, third = TreatmentPlan.objects.get().appointments.order_by("sequence")

    # The patient arrives before the outbox has sent anything: check in session 1.
    page.goto(f"/schedule/appointments/{first.public_id}/")
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(page.get_by_text("Marked checked in")).to_be_visible()

    # The worker's next dispatch: the confirmation goes out with the sessions still to come.
    outbox.deliver(ids=outbox.due_message_ids(now=timezone.now()))
    [confirmation] = [m for m in mail.outbox if "booked" in m.subject]
    assert confirmation.to == [patient.email]
    [(_, ics, _)] = confirmation.attachments
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [
        f"{second.public_id}@mesoclinic",
        f"{third.public_id}@mesoclinic",
    ]
    for session in (second, third):
        assert f"{timezone.localtime(session.starts_at):%d %B %Y}".lstrip("0") in (
            confirmation.body.replace(" 0", " ")
        )

    # Staff read it as sent in the outbox, not "Cancelled – no longer needed".
    page.goto("/messages/")
    row = page.get_by_test_id("messages-table").locator("tr", has_text="Booking confirmation")
    expect(row.first).to_contain_text("Sent")
    expect(page.get_by_test_id("messages-table")).not_to_contain_text("No longer needed")
