"""In the browser: two-factor enrolment and sign-in with codes computed from the
secret, a manager adding a colleague and unlocking a locked-out one, and the idle lock
with its warning and the way back to the page."""

import datetime
import re
from base64 import b32encode

import pyotp
import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from playwright.sync_api import expect

from mesoclinic.core import roles
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests-1"


def password_step(page, username, password=PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_practitioner_enrols_with_a_qr_code_then_signs_in_with_a_recovery_code(
    page, practitioner, settings
):
    settings.TWO_FACTOR_REQUIRED_ROLES = frozenset({roles.MANAGER, roles.PRACTITIONER})
    password_step(page, "practitioner")
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    secret = page.get_by_test_id("secret-key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_text("That code does not match")).to_be_visible()
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Confirm and continue").click()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("link", name="Patients")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    # Next sign-in asks for the code; a recovery code works once.
    password_step(page, "practitioner")
    page.get_by_label("Code").fill("123456")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You signed in with a recovery code; 9 left.")).to_be_visible()


def test_enrolled_user_signs_in_with_the_apps_code(page, frontdesk):
    from tests.core.accounts.helpers import enrolled

    device = enrolled(frontdesk)
    password_step(page, "frontdesk")
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    secret = b32encode(device.bin_key).decode()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Patients")).to_be_visible()
    page.get_by_test_id("account-menu").click()
    page.get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_text("On: you sign in with your password")).to_be_visible()


def test_manager_adds_a_colleague_and_unlocks_them(page, new_page, manager):
    manager.is_staff = True  # as the demo's and app-created managers are
    manager.save()
    login(page, "manager")
    page.get_by_role("button", name="More").click()
    page.get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Add a colleague").click()
    page.get_by_label("Username").fill("nina")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Role").select_option(label="Practitioner")
    page.get_by_label("Give them a temporary password now").check()
    page.get_by_role("button", name="Create the account").click()
    temporary = page.get_by_test_id("temporary-password").inner_text()

    # Nina signs in with it and must choose her own password first.
    nina = new_page()
    password_step(nina, "nina", temporary)
    expect(nina.get_by_role("heading", name="Change your password")).to_be_visible()
    nina.goto("/patients/")
    expect(nina.get_by_text("You signed in with a temporary password")).to_be_visible()
    nina.locator("#id_old_password").fill(temporary)
    nina.locator("#id_new_password1").fill("Nina-chooses-her-own-7")
    nina.locator("#id_new_password2").fill("Nina-chooses-her-own-7")
    nina.get_by_role("button", name="Save new password").click()
    nina.goto("/patients/")
    expect(nina.get_by_role("heading", name="Patients")).to_be_visible()
    nina.get_by_role("button", name="Log out").click()

    # Typos lock her account; the message tells her to ask a manager.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(nina, "nina", "not-her-password")
    expect(nina.get_by_text("ask a manager to unlock it")).to_be_visible()

    page.goto("/staff/")
    page.get_by_role("link", name=re.compile("Locked accounts")).click()
    page.get_by_role("button", name="Unlock nina").click()
    expect(page.get_by_text("nina can sign in again.")).to_be_visible()
    expect(page.get_by_text("No account is locked.")).to_be_visible()

    password_step(nina, "nina", "Nina-chooses-her-own-7")
    expect(nina.get_by_role("link", name="Patients")).to_be_visible()

    # The admin shows accounts to a manager read-only, under the same policy.
    page.goto("/admin/auth/user/")
    page.get_by_role("link", name="nina").click()
    expect(page.get_by_text("Superuser status")).to_be_visible()
    expect(page.locator("input[name=is_superuser]")).to_have_count(0)


def _age_session(page, seconds):
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    session = SessionStore(session_key=cookie["value"])
    session["mc_last_seen"] = session["mc_last_seen"] - seconds
    session.save()


def test_idle_lock_warns_then_signs_out_and_returns_to_the_chart(page, practitioner, catalogue):
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
    start = timezone.now() + datetime.timedelta(minutes=10)
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
        status=Appointment.Status.CHECKED_IN,
    )
    page.clock.install()
    login(page, "practitioner")
    chart = f"/charts/{appointment.public_id}/"
    page.goto(chart)
    page.get_by_label("PRP yield (mL)").fill("6")  # an unsaved change

    page.clock.fast_forward("14:05")
    warning = page.get_by_role("alertdialog")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("You will be signed out in")
    expect(
        warning.get_by_text("Changes on this page that are not saved will be lost.")
    ).to_be_visible()
    warning.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()

    # Leaving the page with the unsaved chart asks first.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.get_by_role("link", name="Patients").click()
    assert dialogs == ["beforeunload"]
    assert page.url.endswith(chart)

    # Nobody touches the tablet: the server's clock agrees, the page goes to sign-in.
    _age_session(page, 20 * 60)
    page.clock.fast_forward("16:00")
    expect(
        page.get_by_text("You were signed out after 15 minutes without activity")
    ).to_be_visible()
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("practitioner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{chart}")
    expect(page.get_by_label("PRP yield (mL)")).to_be_visible()


def test_calendar_and_report_charts_work_under_the_policy(
    page, manager, practitioner, frontdesk, patient, catalogue
):
    """FullCalendar (nonce'd stylesheet) and Chart.js draw with no CSP violation."""
    from sessions.models import Location
    from tests.billing.helpers import accepted_purchase
    from tests.sessions.conftest import add_hours

    add_hours(practitioner, Location.objects.create(name="Harley Street"))
    today = timezone.localdate()
    accepted_purchase(patient, catalogue, frontdesk, today=today)
    login(page, "manager")
    page.goto("/schedule/calendar/")
    expect(page.locator(".fc-view-harness")).to_be_visible()
    page.goto(f"/billing/reports/?start={today.replace(day=1).isoformat()}")
    expect(page.locator("canvas").first).to_be_visible()
    assert page.evaluate("Object.keys(Chart.instances).length") >= 1
