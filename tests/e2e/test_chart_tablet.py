"""The chart on an iPad (1024 and 1180 px wide): a hair protocol opens on the scalp
diagram; every control is at least 44×44 px; Save and Sign stay on screen at the
bottom; the navbar is one row."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TABLETS = [{"width": 1024, "height": 768}, {"width": 1180, "height": 820}]

# Every visible control of the chart form and the navbar smaller than 44×44 px (the
# diagram's zones are shapes of the drawing; each also has its row in the areas table).
SMALL_CONTROLS = """() => {
  const found = [];
  const selector = 'button, a.btn, .nav-link, input:not([type=hidden]), select, textarea';
  document.querySelectorAll('#chart-form ' + selector.split(', ').join(', #chart-form ')
      + ', .mc-navbar button, .mc-navbar .nav-link').forEach((el) => {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || el.closest('template')) return;
    if (box.width < 44 || box.height < 44) {
      found.push((el.name || el.textContent.trim() || el.outerHTML.slice(0, 60))
        + ' ' + Math.round(box.width) + 'x' + Math.round(box.height));
    }
  });
  return found;
}"""


@pytest.fixture
def hair_session(practitioner, catalogue):
    from sessions.scheduling.models import Appointment, Location
    from tests.factories import PatientFactory, ScreeningFactory

    patient = PatientFactory(first_name="Hana", last_name="Ito")
    ScreeningFactory(patient=patient, taken_on=timezone.localdate(), recorded_by=practitioner)
    start = timezone.now() - datetime.timedelta(minutes=5)
    return Appointment.objects.create(
        patient=patient,
        protocol=catalogue["Hair mesotherapy"],
        kind=Appointment.Kind.MAINTENANCE,
        practitioner=practitioner,
        location=Location.objects.create(name="Harley Street"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=Appointment.Status.CHECKED_IN,
    )


@pytest.mark.parametrize("viewport", TABLETS, ids=lambda v: f"{v['width']}px")
def test_chart_on_a_tablet(page, hair_session, practitioner, viewport):
    page.set_viewport_size(viewport)
    login(page, "practitioner")
    page.goto(f"/charts/{hair_session.public_id}/")

    expect(page.get_by_test_id("diagram-tab-scalp")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("diagram-scalp")).to_be_visible()
    expect(page.get_by_test_id("diagram-face")).to_be_hidden()
    expect(page.get_by_test_id("area-rows")).to_contain_text("Crown (vertex)")

    for kind in ("spins", "events", "products"):  # rows added, so their controls are measured
        page.locator(f'[data-add-line="{kind}"]').click()
    small = page.evaluate(SMALL_CONTROLS)
    print(f"\n{viewport['width']} px: {len(small)} controls under 44x44 px {small}")
    assert not small

    navbar = page.locator(".mc-navbar").bounding_box()
    assert navbar["height"] <= 64, f"navbar {navbar['height']} px tall"

    # Save and Sign are on screen wherever the chart is scrolled to.
    for where in ("top", "middle", "bottom"):
        page.evaluate(
            "(w) => window.scrollTo(0, {top: 0, middle: document.body.scrollHeight / 2,"
            " bottom: document.body.scrollHeight}[w])",
            where,
        )
        for name in ("Save", "Sign and lock"):
            box = page.get_by_role("button", name=name, exact=True).bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (where, name)


@pytest.mark.parametrize("viewport", TABLETS, ids=lambda v: f"{v['width']}px")
def test_managers_navbar_is_one_row(page, manager, viewport):
    page.set_viewport_size(viewport)
    login(page, "manager")
    navbar = page.locator(".mc-navbar").bounding_box()
    print(f"\n{viewport['width']} px: manager's navbar {navbar['height']:.0f} px tall")
    assert navbar["height"] <= 64
