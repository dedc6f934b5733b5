"""A patient books online on a phone (390×844), in headless Chromium against the live
server: screening, the whole PRP face course with session 2 moved inside its window,
the verification link from the email (a real local SMTP server), the confirmation with
one .ics of three events; a relative contraindication routed to a consultation; an
absolute one refused with nothing left. axe-core (npm, node_modules) runs on every step
and fails on any serious or critical violation; no step scrolls sideways."""

import datetime
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from mesoclinic.core import outbox, roles
from sessions.online.models import (
    BookingPolicy,
    Hold,
    OnlineBooking,
    OnlineSettings,
    RemoteConsent,
)
from sessions.scheduling.models import Appointment, Location, WorkingHours
from tests.conftest import make_user
from tests.e2e.conftest import CSP_LISTENER, is_csp_violation
from tests.e2e.test_charting_journey import draw
from tests.support.smtp import SMTPSink

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
AXE = (Path(django_settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js").read_text()
AXE_RUN = """async () => {
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
  const result = await axe.run(document, {runOnly: tags});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
}"""


def accessible_on_a_phone(page) -> None:
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    violations = page.evaluate(AXE_RUN)
    assert violations == [], f"{page.url}: {violations}"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


@pytest.fixture
def phone(browser, live_server, csp_violations):
    contexts = []

    def make():
        context = browser.new_context(
            viewport=PHONE, base_url=live_server.url, has_touch=True, is_mobile=True
        )
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_LISTENER)
        context.on(
            "console",
            lambda m: csp_violations.append(m.text) if is_csp_violation(m) else None,
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    if csp_violations:
        pytest.fail("Content Security Policy violations:\n" + "\n".join(csp_violations))


@pytest.fixture
def clinic(catalogue, settings, tmp_path):
    # This run's rate-limit counters only (the cache is shared Redis).
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"e2e-{uuid.uuid4().hex}"
    settings.CACHES = caches
    face = catalogue["PRP face rejuvenation"]
    location = Location.objects.create(name="Harley Street", address="1 Harley Street")
    doctor = make_user("doc-online", roles.PRACTITIONER, first_name="Maya", last_name="Rossi")
    for weekday in range(7):
        WorkingHours.objects.create(
            practitioner=doctor,
            location=location,
            weekday=weekday,
            start=datetime.time(9),
            end=datetime.time(17),
        )
    config = OnlineSettings.objects.create(enabled=True, min_notice_hours=24, horizon_days=60)
    config.protocols.set([face])
    config.locations.set([location])
    BookingPolicy.objects.create(
        number=1,
        text="Cancel or move up to 24 hours ahead at no cost; later cancellations are charged.",
    )
    return face


def deliver_all() -> None:
    outbox.deliver(ids=outbox.due_message_ids(now=timezone.now()))


def choose_course(page, face):
    page.goto("/book/")
    accessible_on_a_phone(page)
    page.get_by_label(f"{face.name}: a course of 3 sessions").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/book/screening/")
    accessible_on_a_phone(page)


def answer(page, yes=()):
    for radio in page.locator("input[type=radio][value=no]").all():
        radio.check()
    for code in yes:
        page.locator(f"input[name={code}][value=yes]").check()
    page.get_by_role("button", name="Continue").click()


def test_a_patient_books_a_whole_course_on_a_phone(phone, clinic, settings):
    face = clinic
    page = phone()
    choose_course(page, face)
    page.get_by_label("None of these apply to me").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/book/times/")
    accessible_on_a_phone(page)
    page.get_by_test_id("slot").first.click()
    page.get_by_role("button", name="See my whole course").click()
    page.wait_for_url("**/book/plan/")
    accessible_on_a_phone(page)
    assert page.get_by_test_id("session").count() == 3
    before = page.get_by_test_id("session").nth(1).inner_text()

    page.get_by_role("link", name="Change session 2").click()
    page.wait_for_url("**/book/plan/2/")
    accessible_on_a_phone(page)
    page.get_by_test_id("alternative").last.click()
    page.get_by_role("button", name="Use this time").click()
    page.wait_for_url("**/book/plan/")
    moved = page.get_by_test_id("session").nth(1).inner_text()
    assert moved != before
    page.get_by_role("button", name="Hold these times").click()
    page.wait_for_url("**/book/details/")
    accessible_on_a_phone(page)
    assert Hold.objects.filter(released_at__isnull=True).count() == 3

    page.get_by_label("First name").fill("Ann")
    page.get_by_label("Last name").fill("Lee")
    page.get_by_label("Date of birth").fill("1980-05-04")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Mobile phone").fill("07911 123456")
    page.get_by_label("I have read and accept").check()
    with SMTPSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.SITE_URL = page.url.split("/book/")[0]
        page.get_by_role("button", name="Email me the link to confirm").click()
        page.wait_for_url("**/book/sent/")
        accessible_on_a_phone(page)
        deliver_all()
        sink.wait_for(1)
        verify = sink.messages[0]
        body = verify.get_body(preferencelist=("plain",)).get_content()
        link = re.search(r"http://\S+/book/verify/\S+/", body).group(0)

        page.goto(link)
        accessible_on_a_phone(page)
        page.get_by_role("button", name="Confirm my booking").click()
        page.get_by_test_id("booked").wait_for()
        accessible_on_a_phone(page)
        deliver_all()
        sink.wait_for(3)
        confirmations = [m for m in sink.messages if m.get_content_maintype() == "multipart"]
        calendars = [
            part.get_content()
            for m in confirmations
            for part in m.iter_attachments()
            if part.get_content_type() == "text/calendar"
        ]
    assert len(calendars) == 1
    text = calendars[0] if isinstance(calendars[0], str) else calendars[0].decode()
    assert text.count("BEGIN:VEVENT") == 3
    sessions = list(Appointment.objects.filter(booked_online=True).order_by("starts_at"))
    assert len(sessions) == 3
    local = timezone.localtime(sessions[1].starts_at)
    assert f"{local:%H:%M}" in moved

    # The consent, read and signed with a finger on the phone from the booked page's link.
    page.get_by_role("link", name="Read and sign the consent form").click()
    page.get_by_test_id("consent-text").wait_for()
    accessible_on_a_phone(page)
    draw(page, "patient-pad", seed=1)
    page.get_by_label("I have read this consent and agree").check()
    page.get_by_role("button", name="Sign").click()
    page.get_by_test_id("consent-signed").wait_for()
    accessible_on_a_phone(page)
    assert RemoteConsent.objects.filter(patient=sessions[0].patient).count() == 1


def test_a_relative_contraindication_is_routed_to_a_consultation(phone, clinic):
    page = phone()
    choose_course(page, clinic)
    answer(page, yes=("anticoagulants",))
    page.get_by_test_id("consultation-instead").wait_for()
    accessible_on_a_phone(page)
    page.get_by_role("link", name="Book a consultation").click()
    page.get_by_role("heading", name="Choose a time for your consultation").wait_for()
    accessible_on_a_phone(page)


def test_an_absolute_contraindication_is_refused_with_nothing_held(phone, clinic):
    page = phone()
    choose_course(page, clinic)
    answer(page, yes=("platelet_disorder",))
    page.get_by_test_id("refused").wait_for()
    accessible_on_a_phone(page)
    assert not OnlineBooking.objects.exists()
    assert not Hold.objects.exists()
    assert not Appointment.objects.exists()
