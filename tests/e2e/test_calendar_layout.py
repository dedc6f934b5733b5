"""The calendar fits the screen: at 1024 px the day view's practitioner columns and one
practitioner's week show whole, with readable events; a tap on a free time books there;
on a phone (390 px) it is an agenda list, with nothing off to the side.

Figures printed with `pytest -s` (visible fraction = the width shown / the width drawn).
"""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIT = """() => {
  const row = document.getElementById('calendar-columns');
  const page = document.scrollingElement;
  return {row: row.clientWidth / Math.max(row.scrollWidth, 1),
          page: page.clientWidth / Math.max(page.scrollWidth, 1)};
}"""


@pytest.fixture
def clinic(practitioner, catalogue):
    from sessions.scheduling.models import Appointment, Location
    from tests.conftest import make_user
    from tests.factories import PatientFactory
    from tests.sessions.conftest import add_hours

    location = Location.objects.create(name="Harley Street")
    doctors = [practitioner] + [
        make_user(f"doc{i}", "practitioner", first_name=f"Doc{i}", last_name="Longname-Example")
        for i in range(3)
    ]
    for doctor in doctors:
        add_hours(doctor, location, weekdays=range(7), start=8, end=20)
    today = timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time(10)))
    patient = PatientFactory(first_name="Maximiliana", last_name="Featherstonehaugh")
    Appointment.objects.create(
        patient=patient,
        protocol=catalogue["PRP face rejuvenation"],
        kind=Appointment.Kind.CONSULTATION,
        practitioner=practitioner,
        location=location,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
    )
    return location


def test_day_and_week_fit_a_tablet_and_a_tap_books(page, clinic, frontdesk, practitioner):
    page.set_viewport_size({"width": 1024, "height": 768})
    login(page, "frontdesk")
    page.goto(f"/schedule/calendar/?location={clinic.public_id}&view=day")
    expect(page.locator(".calendar-column")).to_have_count(4)
    event = page.locator(".fc-timegrid-event", has_text="Featherstonehaugh")
    expect(event).to_be_visible()
    fit = page.evaluate(FIT)
    print(f"\n1024 px day, 4 practitioners: {fit['row']:.0%} of the columns visible")
    assert fit["row"] >= 0.999 and fit["page"] >= 0.999

    page.get_by_role("link", name="Week").click()
    picker = page.get_by_test_id("column-picker")
    expect(picker).to_be_visible()
    picker.select_option(label="Priya")  # display name of the practitioner fixture
    expect(page.locator(".calendar-column")).to_have_count(1)
    event = page.locator(".fc-timegrid-event", has_text="Featherstonehaugh")
    expect(event).to_be_visible()
    fit = page.evaluate(FIT)
    box = event.bounding_box()
    size = event.locator(".ev-what").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    name = event.locator(".ev-name").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    print(
        f"1024 px week: {fit['row']:.0%} visible, event {box['width']:.0f} px wide,"
        f" text {name:.1f}/{size:.1f} px"
    )
    assert fit["row"] >= 0.999 and fit["page"] >= 0.999
    assert box["width"] >= 100 and size >= 12 and name >= 13

    # A tap on a free time opens the booking form for that practitioner and time.
    today = timezone.localdate().isoformat()
    column = page.locator(f'td.fc-timegrid-col[data-date="{today}"]').first.bounding_box()
    lane = page.locator('td.fc-timegrid-slot-lane[data-time="15:00:00"]').first
    lane.scroll_into_view_if_needed()
    lane_box = lane.bounding_box()
    page.mouse.click(column["x"] + column["width"] / 2, lane_box["y"] + 4)
    page.wait_for_url("**/schedule/appointments/new**")
    assert f"practitioner={practitioner.pk}" in page.url
    assert f"start={today}T15%3A00" in page.url or f"start={today}T15:00" in page.url


def test_a_phone_gets_an_agenda(page, clinic, frontdesk):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "frontdesk")
    page.goto(f"/schedule/calendar/?location={clinic.public_id}&view=week")
    agenda = page.get_by_test_id("calendar-agenda")
    expect(agenda).to_be_visible()
    expect(agenda).to_contain_text("Maximiliana Featherstonehaugh")
    expect(agenda).to_contain_text("Priya")  # whose session it is
    expect(page.locator("#calendar-columns")).to_be_hidden()
    width = page.evaluate("document.scrollingElement.scrollWidth")
    print(f"\n390 px: page {width} px wide, agenda {390 / max(width, 390):.0%} visible")
    assert width <= 390
    agenda.get_by_text("Maximiliana Featherstonehaugh").click()
    page.wait_for_url("**/schedule/appointments/**")
