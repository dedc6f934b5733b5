"""The consent signed from the chart returns to that chart, and the chart then shows
the consent as signed (it used to stay on the consent page, and the chart kept
"Consent is signed" off with its "Sign the consent on this tablet" link)."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.e2e.test_charting_journey import draw

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_signing_the_consent_from_the_chart_returns_to_it_showing_the_consent_signed(
    page, practitioner, catalogue
):
    from sessions.models import Appointment, Location
    from tests.factories import PatientFactory, ScreeningFactory

    face = catalogue["PRP face rejuvenation"]
    patient = PatientFactory(first_name="Amelia", last_name="Hart")
    ScreeningFactory(patient=patient, taken_on=timezone.localdate(), recorded_by=practitioner)
    start = timezone.now() + datetime.timedelta(minutes=10)
    appointment = Appointment.objects.create(
        patient=patient,
        protocol=face,
        kind=Appointment.Kind.MAINTENANCE,
        practitioner=practitioner,
        location=Location.objects.create(name="Harley Street"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=Appointment.Status.CHECKED_IN,
    )
    chart_path = f"/charts/{appointment.public_id}/"

    login(page, "practitioner")
    page.goto(chart_path)
    consent_switch = page.get_by_label("Consent is signed")
    expect(consent_switch).not_to_be_checked()
    page.get_by_role("link", name="Sign the consent on this tablet").click()
    expect(page.get_by_test_id("consent-text")).to_contain_text("Amelia Hart")
    # Changing one's mind leads back to the chart too.
    expect(page.get_by_role("link", name="Back without signing")).to_have_attribute(
        "href", chart_path
    )

    draw(page, "patient-pad", 1)
    draw(page, "practitioner-pad", 2)
    page.get_by_label("The patient has read this consent").check()
    page.get_by_role("button", name="Sign consent").click()

    page.wait_for_url(f"**{chart_path}")
    expect(page.get_by_text("Consent to PRP face rejuvenation signed.")).to_be_visible()
    expect(consent_switch).to_be_checked()
    expect(page.get_by_role("link", name="Sign the consent on this tablet")).to_have_count(0)
    expect(page.get_by_test_id("blockers")).not_to_contain_text("consent")
    # Saving stores the tick: the chart itself now records the consent check.
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    appointment.chart.refresh_from_db()
    assert appointment.chart.check_consent_signed
