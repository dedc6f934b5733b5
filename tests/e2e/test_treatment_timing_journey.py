"""Treatment a day early (issue 11, item 7): tomorrow's session cannot be checked in or
completed today without a reason, and the manager reads who overrode it and why."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_tomorrows_session_needs_a_reason_today_and_the_manager_sees_it(
    page, new_page, practitioner, manager, catalogue
):
    from sessions.scheduling.models import Appointment, Location
    from tests.factories import PatientFactory, ScreeningFactory
    from tests.sessions.charting.helpers import ready_to_complete

    face = catalogue["PRP face rejuvenation"]
    patient = PatientFactory(first_name="Iris", last_name="Quayle")
    ScreeningFactory(patient=patient, taken_on=timezone.localdate(), recorded_by=practitioner)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    start = datetime.datetime.combine(
        tomorrow, datetime.time(10), tzinfo=timezone.get_default_timezone()
    )
    appointment = Appointment.objects.create(
        patient=patient,
        protocol=face,
        kind=Appointment.Kind.MAINTENANCE,
        practitioner=practitioner,
        location=Location.objects.create(name="Harley Street"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
    )

    login(page, "practitioner")
    page.goto(f"/schedule/appointments/{appointment.public_id}/")
    # No plain "Check in" today: the page says why and asks for a reason.
    expect(page.get_by_role("button", name="Check in", exact=True)).to_have_count(0)
    override = page.get_by_test_id("override-check_in")
    expect(override).to_contain_text(
        f"This appointment is on {start:%A %d %B %Y}; patients are checked in on the day."
    )
    override.get_by_label("Reason for the override").fill("Flying abroad tomorrow")
    override.get_by_role("button", name="Check in anyway").click()
    expect(page.get_by_text("Marked checked in")).to_be_visible()

    # Charted and signed; completing before 10:00 tomorrow needs its own reason.
    appointment.refresh_from_db()
    ready_to_complete(appointment, practitioner)
    page.goto(f"/charts/{appointment.public_id}/")
    completion = page.get_by_test_id("override-complete")
    expect(completion).to_contain_text("it cannot be completed before it starts")
    expect(page.get_by_role("button", name="Complete session")).to_have_count(0)
    completion.get_by_label("Reason for the override").fill("Treated early, travelling")
    page.get_by_role("button", name="Complete anyway").click()
    expect(page.get_by_text("Marked completed")).to_be_visible()

    # The manager reads both overrides in the audit log: who, and why.
    boss = new_page()
    login(boss, "manager")
    boss.goto("/audit/")
    rows = boss.locator("tr", has_text="Override")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Flying abroad tomorrow")).to_contain_text("practitioner")
    expect(rows.filter(has_text="Treated early, travelling")).to_contain_text("practitioner")
