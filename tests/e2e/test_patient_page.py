"""The patient page answers the question staff ask first, on an iPad (1180×820) and at
1024×768: who is this, what's next, what's owed, is anything blocking treatment. The
messages are summarised with the list behind a click, nothing is cut off sideways (the
Resend buttons), and rows that link somewhere are one target."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FACE = "PRP face rejuvenation"
VIEWPORTS = [{"width": 1180, "height": 820}, {"width": 1024, "height": 768}]

# Anything wider than the window, and any scroll box whose content is cut off sideways.
OVERFLOW = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const found = [];
  const name = (el) => el.tagName + '.' + el.className;
  if (root.scrollWidth > width) found.push('page ' + root.scrollWidth);
  document.querySelectorAll('main *').forEach((el) => {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) return;
    if (box.right > width + 1) found.push(name(el) + ' right ' + Math.round(box.right));
    const clips = ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
    if (clips && el.scrollWidth > el.clientWidth + 1) {
      found.push(name(el) + ' scrolls ' + el.scrollWidth + '>' + el.clientWidth);
    }
  });
  return found;
}"""


@pytest.fixture
def busy_patient(practitioner, frontdesk, catalogue):
    """A patient with a booked session in three days, a blocked screening, a withdrawn
    consent to the booked protocol, an unpaid package invoice and a mailbox of messages
    (sent, waiting, failed with a long error)."""
    from mesoclinic.core import outbox
    from mesoclinic.core.models import OutboundMessage
    from patients import services as patient_services
    from sessions.scheduling.models import Appointment, Location
    from tests.billing.helpers import accepted_purchase
    from tests.factories import PatientFactory, ScreeningFactory
    from tests.sessions.charting.helpers import sign_consent

    patient = PatientFactory(
        first_name="Saoirse",
        last_name="Fitzgerald-Montgomery",
        email="saoirse.fitzgerald-montgomery.longaddress@example-clinic-mail.co.uk",
        phone="+447700900123",
    )
    ScreeningFactory(
        patient=patient,
        taken_on=timezone.localdate(),
        platelet_disorder=True,
        current_medications="Warfarin 5 mg",
        recorded_by=practitioner,
    )
    face = catalogue[FACE]
    sign_consent(patient, face, by=practitioner)
    patient_services.consent_withdraw(
        patient=patient, protocol=face, reason="Wants to think again", by=practitioner
    )
    start = (timezone.localtime() + datetime.timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0
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
    accepted_purchase(patient, catalogue, frontdesk, today=timezone.localdate())
    now = timezone.now()
    for n in range(8):
        outbox.message_schedule(
            kind="appointment_reminder",
            subject=appointment,
            due_at=now - datetime.timedelta(hours=n + 1),
            recipient=patient.email,
            patient=patient,
            offset_key=f"k{n}",
            respect_quiet_hours=False,
        )
    rows = OutboundMessage.objects.filter(patient_id=patient.pk).order_by("id")
    sent = [m.pk for m in rows[:5]]
    OutboundMessage.objects.filter(pk__in=sent).update(state="sent", sent_at=now)
    OutboundMessage.objects.filter(pk=rows[5].pk).update(
        state="failed",
        last_error="SMTPRecipientsRefused: 550 5.1.1 mailbox unavailable at the remote "
        "server; the address may be misspelt or the account closed",
    )
    return patient, appointment


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}px")
def test_front_desk_sees_who_next_owed_and_blockers(page, busy_patient, frontdesk, viewport):
    patient, appointment = busy_patient
    page.set_viewport_size(viewport)
    login(page, "frontdesk")
    page.goto(f"/patients/{patient.public_id}/")

    summary = page.get_by_test_id("patient-summary")
    expect(summary.get_by_role("heading", level=1)).to_contain_text("Saoirse Fitzgerald-Montgomery")
    expect(page.get_by_test_id("summary-identity")).to_contain_text(f"Age {patient.age}")
    expect(page.get_by_test_id("summary-contact")).to_contain_text("saoirse.fitzgerald")

    when = timezone.localtime(appointment.starts_at).strftime("%a %d %b %Y %H:%M")
    expect(page.get_by_test_id("summary-next")).to_contain_text(when)
    expect(page.get_by_test_id("summary-next")).to_contain_text(FACE)
    owed = page.get_by_test_id("summary-owed")
    expect(owed).to_contain_text(re.compile(r"£[\d,]+\.\d\d owed"))
    expect(owed).to_contain_text("1 unpaid invoice")
    blockers = page.get_by_test_id("summary-blockers")
    expect(blockers).to_contain_text("Screening: Treatment blocked")
    expect(blockers).to_contain_text(f"Consent to {FACE} withdrawn")
    expect(blockers).to_contain_text("Outstanding balance of £")
    # Front desk reads the screening's status, never the answers behind it.
    expect(summary).not_to_contain_text("Blood or platelet")
    expect(summary).not_to_contain_text("Warfarin")

    # Messages: counted (the eight reminders and the purchase's own), the failure
    # named, the list behind a click.
    from mesoclinic.core.models import OutboundMessage

    total = OutboundMessage.objects.filter(patient_id=patient.pk).count()
    assert total > 8
    expect(page.get_by_test_id("messages-counts")).to_contain_text(f"{total} messages")
    expect(page.get_by_test_id("messages-counts")).to_contain_text("5 sent")
    expect(page.get_by_test_id("messages-counts")).to_contain_text("1 failed")
    expect(page.get_by_test_id("messages-failed")).to_be_visible()
    table = page.get_by_test_id("messages-table")
    expect(table).to_be_hidden()
    page.get_by_test_id("messages-details").locator("summary").click()
    expect(table).to_be_visible()

    overflow = page.evaluate(OVERFLOW)
    print(f"\n{viewport['width']} px: {len(overflow)} cut off sideways {overflow[:5]}")
    assert not overflow
    resend = table.get_by_role("button", name="Resend")
    expect(resend).to_have_count(6)  # five sent and one failed; the waiting ones cannot be
    width = viewport["width"]
    for n in range(6):
        box = resend.nth(n).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box

    # The whole "Next appointment" tile is one target; so is each "Coming up" row.
    page.get_by_test_id("summary-next").scroll_into_view_if_needed()
    tile = page.get_by_test_id("summary-next").bounding_box()
    page.mouse.click(tile["x"] + tile["width"] - 8, tile["y"] + tile["height"] - 8)
    page.wait_for_url(f"**/appointments/{appointment.public_id}/**")
    page.go_back()
    row = page.get_by_test_id("coming-up-row").first
    row.scroll_into_view_if_needed()
    box = row.bounding_box()
    assert box["height"] >= 44
    page.mouse.click(box["x"] + box["width"] - 60, box["y"] + box["height"] / 2)
    page.wait_for_url(f"**/appointments/{appointment.public_id}/**")


def test_practitioner_sees_the_screening_reasons_and_no_money(page, busy_patient, practitioner):
    patient, _appointment = busy_patient
    page.set_viewport_size({"width": 1024, "height": 768})
    login(page, "practitioner")
    page.goto(f"/patients/{patient.public_id}/")

    blockers = page.get_by_test_id("summary-blockers")
    expect(blockers).to_contain_text("Screening: Treatment blocked")
    expect(blockers).to_contain_text(f"Consent to {FACE} withdrawn")
    expect(blockers).not_to_contain_text("Outstanding balance")
    expect(page.get_by_test_id("summary-owed")).to_have_count(0)
    # The blocker is a link to what lifts it: the screening review.
    blockers.get_by_role("link", name="Screening: Treatment blocked").click()
    page.wait_for_url(f"**/patients/{patient.public_id}/screening/")
    page.go_back()
    assert not page.evaluate(OVERFLOW)


def test_nothing_blocking_says_so(page, practitioner, frontdesk):
    from tests.factories import PatientFactory, ScreeningFactory

    patient = PatientFactory(first_name="Clara", last_name="Clear")
    ScreeningFactory(patient=patient, taken_on=timezone.localdate(), recorded_by=practitioner)
    page.set_viewport_size({"width": 1180, "height": 820})
    login(page, "frontdesk")
    page.goto(f"/patients/{patient.public_id}/")
    expect(page.get_by_test_id("summary-next")).to_contain_text("Nothing booked")
    expect(page.get_by_test_id("summary-owed")).to_contain_text("Nothing owed")
    expect(page.get_by_test_id("summary-blockers")).to_contain_text("Nothing blocking treatment")
    expect(page.get_by_test_id("messages-summary")).to_contain_text("No messages.")
