"""Front desk plans a course for a patient whose screening blocks it (issue 11, item 8):
the planner shows the status (never the answers) before booking, refuses to book without
the acknowledgement, books with it, and the treatment gate still stops check-in."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from sessions.scheduling.models import Location, TreatmentPlan
from tests.e2e.conftest import login
from tests.factories import PatientFactory, ScreeningFactory
from tests.sessions.conftest import add_hours

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def clinic_clock():
    with time_machine.travel(datetime.datetime(2027, 3, 1, 8, 0, tzinfo=LONDON), tick=True):
        yield


def test_blocked_screening_is_shown_and_acknowledged_before_booking(
    clinic_clock, page, frontdesk, practitioner, catalogue
):
    location = Location.objects.create(name="Harley Street", address="1 Harley Street")
    add_hours(practitioner, location)
    patient = PatientFactory(first_name="Amelia", last_name="Hart")
    ScreeningFactory(
        patient=patient,
        taken_on=datetime.date(2027, 3, 1),
        platelet_disorder=True,
        recorded_by=practitioner,
    )

    login(page, "frontdesk")
    page.goto(f"/patients/{patient.public_id}/")
    page.get_by_role("link", name="Plan a course").click()
    page.get_by_label("Protocol").select_option(label="PRP face rejuvenation")
    page.get_by_label("Practitioner").select_option(label="Priya")
    page.get_by_label("Location").select_option(label="Harley Street")
    page.get_by_label("First session from").fill("2027-03-02")
    page.get_by_role("button", name="Propose dates").click()

    status = page.get_by_test_id("plan-screening")
    expect(status).to_contain_text("Screening for PRP face rejuvenation: Treatment blocked.")
    expect(status).to_contain_text("Screening must be cleared before treatment.")
    expect(status).not_to_contain_text("platelet")

    # Booking without the acknowledgement is refused, in words, and nothing is booked.
    page.get_by_role("button", name="Book the whole course").click()
    expect(page.get_by_test_id("plan-error")).to_contain_text(
        "Screening must be cleared before treatment"
    )
    assert not TreatmentPlan.objects.exists()

    page.get_by_label("I understand: screening must be cleared before treatment.").check()
    page.get_by_role("button", name="Book the whole course").click()
    expect(page.get_by_test_id("course-progress")).to_contain_text("0 of 3 done")
    assert TreatmentPlan.objects.get().appointments.count() == 3
