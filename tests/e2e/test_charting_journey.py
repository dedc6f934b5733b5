"""On a tablet: check the patient in, sign the consent on the pad, chart the session on
the face diagram, sign the chart, complete, and find the aftercare PDF on the patient page."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import VIEWPORT_IDS, VIEWPORTS, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def draw(page, test_id: str, seed: int) -> None:
    """A finger-like stroke across the signature pad."""
    pad = page.get_by_test_id(test_id)
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    x, y = box["x"] + 30, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + step * 14, y + ((step + seed) % 4 - 2) * 18, steps=2)
    page.mouse.up()


@pytest.fixture
def eager_celery():
    """PDF tasks run in the request's on_commit, as a worker would run them."""
    from mesoclinic.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.mark.parametrize("page", VIEWPORTS, indirect=True, ids=VIEWPORT_IDS)
def test_chart_consent_sign_complete_and_aftercare(page, practitioner, catalogue, eager_celery):
    from sessions.scheduling.models import Appointment, Location, TreatmentPlan
    from tests.factories import PatientFactory, ScreeningFactory

    face = catalogue["PRP face rejuvenation"]
    patient = PatientFactory(first_name="Amelia", last_name="Hart")
    ScreeningFactory(patient=patient, taken_on=timezone.localdate(), recorded_by=practitioner)
    location = Location.objects.create(name="Harley Street")
    course = TreatmentPlan.objects.create(
        patient=patient,
        protocol=face,
        practitioner=practitioner,
        location=location,
        sessions_planned=3,
        min_interval_days=14,
        target_interval_days=28,
        max_interval_days=42,
    )
    # The patient is in the chair: the session started a minute ago (today, by the clinic's
    # clock), so it may be checked in and completed without an override.
    today_starts = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(timezone.now() - datetime.timedelta(minutes=1), today_starts)
    appointment = Appointment.objects.create(
        patient=patient,
        protocol=face,
        course=course,
        sequence=1,
        kind=Appointment.Kind.COURSE_SESSION,
        practitioner=practitioner,
        location=location,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
    )

    login(page, "practitioner")
    # Check in.
    page.goto(f"/schedule/appointments/{appointment.public_id}/")
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_text("Marked checked in")).to_be_visible()

    # Open the chart: the patient has not signed the consent yet.
    page.goto(f"/charts/{appointment.public_id}/")
    expect(page.get_by_test_id("blockers")).to_contain_text("no signed consent")
    page.get_by_role("link", name="Sign the consent on this tablet").click()
    expect(page.get_by_test_id("consent-text")).to_contain_text("Amelia Hart")
    expect(page.get_by_test_id("consent-text")).to_contain_text("What the evidence says")
    # An empty pad is refused.
    page.get_by_label("The patient has read this consent").check()
    page.get_by_role("button", name="Sign consent").click()
    expect(page.get_by_text("Please sign in the box before saving.")).to_have_count(2)
    draw(page, "patient-pad", 1)
    draw(page, "practitioner-pad", 2)
    page.get_by_label("The patient has read this consent").check()
    page.get_by_role("button", name="Sign consent").click()
    # Back on the chart, which now knows the consent is signed.
    expect(page.get_by_text("Consent to PRP face rejuvenation signed.")).to_be_visible()
    expect(page.get_by_label("Consent is signed")).to_be_checked()

    # Chart on the face diagram.
    page.get_by_label("Screening is current").check()
    page.get_by_label("PRP yield (mL)").fill("6")
    areas = page.get_by_test_id("area-rows")
    defaults = [r.get_attribute("data-zone-row") for r in areas.locator("[data-zone-row]").all()]
    assert "face_forehead" in defaults  # the protocol's areas come pre-selected
    for code in defaults:  # a tap on a selected zone takes it off
        page.locator(f'#diagram-face [data-zone="{code}"]').click()
    expect(areas.locator("[data-zone-row]")).to_have_count(0)
    page.locator('#diagram-face [data-zone="face_cheek_left"]').click()
    page.locator('#diagram-face [data-zone="face_cheek_right"]').click()
    expect(page.locator('#diagram-face [data-zone="face_cheek_left"]')).to_have_class(
        "zone selected"
    )
    page.get_by_label("Volume for Left cheek (mL)").fill("2")
    page.get_by_label("Volume for Right cheek (mL)").fill("2.5")
    page.get_by_role("button", name="Add product").click()
    row = page.locator('[data-lines="products"] tbody tr').last
    row.locator('[name="product_kind"]').select_option("kit")
    row.locator('[name="product_brand"]').fill("RegenLab")
    row.locator('[name="product_lot"]').fill("RL-2291")
    row.locator('[name="product_expiry"]').fill("2020-01-31")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("chart-errors")).to_contain_text("expired on 31 Jan 2020")
    row = page.locator('[data-lines="products"] tbody tr').last
    row.locator('[name="product_expiry"]').fill("2030-01-31")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_test_id("chart-locked")).to_be_visible()
    expect(page.get_by_test_id("chart-summary")).to_contain_text("Left cheek 2.00 mL")
    expect(page.get_by_test_id("chart-summary")).to_contain_text("RL-2291")

    # Complete; the aftercare sheet appears on the patient page.
    page.get_by_role("button", name="Complete session").click()
    expect(page.get_by_text("Marked completed")).to_be_visible()
    page.goto(f"/patients/{patient.public_id}/")
    panel = page.get_by_test_id("session-documents")
    expect(panel.get_by_test_id("document-aftercare")).to_be_visible()
    link = panel.get_by_test_id("document-aftercare").get_by_role("link")
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
