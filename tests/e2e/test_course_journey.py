"""Front desk plans a PRP face course over a holiday, books it, then drags sessions on the
calendar: too close to the previous session is refused in words; within the window, the
later session is offered a shift."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from sessions.scheduling.models import Appointment, Closure, Location, TreatmentPlan
from tests.e2e.conftest import VIEWPORT_IDS, VIEWPORTS, login
from tests.factories import PatientFactory
from tests.sessions.conftest import add_hours

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def clinic_clock():
    # A Monday morning; the clock keeps running so sessions and timeouts behave.
    with time_machine.travel(datetime.datetime(2027, 3, 1, 8, 0, tzinfo=LONDON), tick=True):
        yield


def drag(page, event, column_date: str, time: str) -> None:
    """Drag an event by the mouse to the day column and time slot given."""
    event.scroll_into_view_if_needed()
    source = event.bounding_box()
    column = page.locator(f'td.fc-timegrid-col[data-date="{column_date}"]').first.bounding_box()
    lane = page.locator(f'td.fc-timegrid-slot-lane[data-time="{time}"]').first.bounding_box()
    start_x, start_y = source["x"] + source["width"] / 2, source["y"] + 6
    target_x, target_y = column["x"] + column["width"] / 2, lane["y"] + 6
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + 5, start_y + 5, steps=3)
    page.mouse.move(target_x, target_y, steps=15)
    page.mouse.up()


@pytest.mark.parametrize("page", VIEWPORTS, indirect=True, ids=VIEWPORT_IDS)
def test_plan_book_and_move_a_course(clinic_clock, page, frontdesk, practitioner, catalogue):
    location = Location.objects.create(name="Harley Street", address="1 Harley Street")
    add_hours(practitioner, location)
    Closure.objects.create(
        name="Clinic training day",
        starts_on=datetime.date(2027, 3, 30),
        ends_on=datetime.date(2027, 3, 30),
    )
    patient = PatientFactory(first_name="Amelia", last_name="Hart")

    login(page, "frontdesk")
    page.goto(f"/patients/{patient.public_id}/")
    page.get_by_role("link", name="Plan a course").click()
    page.get_by_label("Protocol").select_option(label="PRP face rejuvenation")
    page.get_by_label("Practitioner").select_option(label="Priya")
    page.get_by_label("Location").select_option(label="Harley Street")
    page.get_by_label("First session from").fill("2027-03-02")
    page.get_by_role("button", name="Propose dates").click()

    # Session 2's target (28 days on: Tue 30 Mar) is the training day: the proposal skips it.
    expect(page.get_by_label("Session 1")).to_have_value("2027-03-02T09:00")
    expect(page.get_by_label("Session 2")).to_have_value("2027-03-31T09:00")
    expect(page.get_by_label("Session 3")).to_have_value("2027-04-28T09:00")

    # The patient can only come on Tuesdays at ten: staff adjust the dates, then book all.
    page.get_by_label("Session 1").fill("2027-03-02T10:00")
    page.get_by_label("Session 2").fill("2027-03-16T10:00")
    page.get_by_label("Session 3").fill("2027-04-13T10:00")
    page.get_by_role("button", name="Book the whole course").click()
    expect(page.get_by_test_id("course-progress")).to_contain_text("0 of 3 done")
    course = TreatmentPlan.objects.get()
    assert course.appointments.count() == 3

    # The week of session 2 on the calendar.
    page.goto(f"/schedule/calendar/?location={location.public_id}&view=week&date=2027-03-16")
    session_two = page.locator(".fc-timegrid-event", has_text="Amelia Hart").first
    expect(session_two).to_be_visible()

    # Monday 15 March is 13 days after session 1: refused, in words, and put back.
    drag(page, session_two, "2027-03-15", "10:00:00")
    expect(page.get_by_test_id("calendar-error")).to_contain_text("the minimum is 14 days")
    two = course.appointments.get(sequence=2)
    assert two.starts_at == datetime.datetime(2027, 3, 16, 10, 0, tzinfo=LONDON)

    # Thursday 18 March is inside the window: moved, and session 3 is offered a shift.
    session_two = page.locator(".fc-timegrid-event", has_text="Amelia Hart").first
    drag(page, session_two, "2027-03-18", "10:00:00")
    offer = page.get_by_test_id("shift-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("Session 3")
    expect(offer).to_contain_text("Thu 15 Apr 2027")
    two.refresh_from_db()
    assert two.starts_at == datetime.datetime(2027, 3, 18, 10, 0, tzinfo=LONDON)

    offer.get_by_role("button", name="Shift them").click()
    expect(page.get_by_role("status")).to_contain_text("Later sessions moved")
    three = Appointment.objects.get(course=course, sequence=3)
    assert three.starts_at == datetime.datetime(2027, 4, 15, 10, 0, tzinfo=LONDON)
