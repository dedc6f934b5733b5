"""Issue 15: TOTP second factor (django-otp) with recovery codes, required per role,
covered by the lockout; the idle lock."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mesoclinic import roles
from mesoclinic.models import AuditEvent
from tests.accounts.helpers import enrolled, totp_for
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = frozenset({roles.MANAGER, roles.PRACTITIONER})


def sign_in(client, username, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip
    )


def test_required_role_enrols_at_first_sign_in_and_sees_recovery_codes_once(
    client, practitioner, required
):
    response = sign_in(client, "practitioner")
    assert response["Location"] == reverse("accounts:two_factor_enrol")
    # Not signed in yet: no page opens.
    assert client.get(reverse("patients:list")).status_code == 302
    page = client.get(reverse("accounts:two_factor_enrol")).content.decode()
    assert "<svg" in page and 'data-testid="secret-key"' in page
    device = TOTPDevice.objects.get(user=practitioner, confirmed=False)
    response = client.post(reverse("accounts:two_factor_enrol"), {"code": "000000"})
    assert "That code does not match" in response.content.decode()
    response = client.post(reverse("accounts:two_factor_enrol"), {"code": totp_for(device)})
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", response.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("patients:list")).status_code == 200
    # Shown once: the two-factor page counts them, it does not show them.
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert codes[0] not in page and 'data-testid="codes-left">10<' in page
    actions = list(AuditEvent.objects.filter(actor=practitioner).values_list("action", flat=True))
    assert "2fa_enrol" in actions and "sign_in" in actions


def test_enrolled_user_signs_in_with_a_code_and_a_recovery_code_works_once(client, frontdesk):
    device = enrolled(frontdesk)
    static = frontdesk.staticdevice_set.create(name="Recovery codes", confirmed=True)
    static.token_set.create(token="abcdefghjk")
    # Front desk does not require it, but an enrolled account is always asked.
    response = sign_in(client, "frontdesk")
    assert response["Location"] == reverse("accounts:second_factor")
    response = client.post(reverse("accounts:second_factor"), {"code": totp_for(device)})
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    event = AuditEvent.objects.filter(action="sign_in", actor=frontdesk).latest("at")
    assert event.summary == "Signed in with authenticator app"
    client.post(reverse("logout"))

    sign_in(client, "frontdesk")
    response = client.post(reverse("accounts:second_factor"), {"code": "ABCDE-FGHJK"})
    assert response.status_code == 302
    assert not StaticToken.objects.filter(device=static).exists()
    client.post(reverse("logout"))
    sign_in(client, "frontdesk")
    response = client.post(reverse("accounts:second_factor"), {"code": "abcde-fghjk"})
    assert "That code is not right" in response.content.decode()


def test_wrong_codes_count_towards_the_lockout(client, practitioner, required):
    device = enrolled(practitioner)
    sign_in(client, "practitioner")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("accounts:second_factor"), {"code": "123456"})
    assert response.status_code == 429
    # The right code no longer helps, nor does the password again.
    response = client.post(reverse("accounts:second_factor"), {"code": totp_for(device)})
    assert response.status_code == 429
    assert sign_in(Client(), "practitioner").status_code == 429
    failures = AuditEvent.objects.filter(
        action="sign_in_failed",
        actor_label="practitioner",
        summary="Sign-in failed: wrong second-factor code",
    )
    assert failures.count() == settings.AXES_FAILURE_LIMIT


def test_a_correct_password_does_not_reset_the_code_failures(client, practitioner, required):
    """Attackers with the password cannot alternate password and code guesses."""
    enrolled(practitioner)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "practitioner")
        client.post(reverse("accounts:second_factor"), {"code": "123456"})
    sign_in(client, "practitioner")
    response = client.post(reverse("accounts:second_factor"), {"code": "123456"})
    assert response.status_code == 429


def test_session_without_second_factor_ends_when_the_role_requires_it(
    client, practitioner, required
):
    client.force_login(practitioner)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_manager_resets_a_colleagues_authenticator(client, manager, practitioner, required):
    device = enrolled(practitioner)
    theirs = Client()
    sign_in(theirs, "practitioner")
    theirs.post(reverse("accounts:second_factor"), {"code": totp_for(device)})
    assert theirs.get(reverse("patients:list")).status_code == 200
    client.force_login(manager)
    from django_otp import login as otp_login  # noqa: F401 - manager session verified below

    manager_device = enrolled(manager)
    session = client.session
    session["otp_device_id"] = manager_device.persistent_id
    session.save()
    response = client.post(
        reverse("staff:two_factor_reset", args=[practitioner.staff_account.public_id])
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=practitioner).exists()
    event = AuditEvent.objects.get(action="2fa_reset")
    assert event.actor == manager and event.object_id == str(practitioner.pk)
    # Their session no longer counts as verified; the next sign-in enrols again.
    assert theirs.get(reverse("patients:list")).status_code == 302
    assert sign_in(theirs, "practitioner")["Location"] == reverse("accounts:two_factor_enrol")


def test_optional_role_may_switch_it_off_but_a_required_one_may_not(
    client, frontdesk, practitioner, required
):
    enrolled(frontdesk)
    client.force_login(frontdesk)
    client.post(reverse("accounts:two_factor"), {"action": "switch_off"})
    assert not TOTPDevice.objects.filter(user=frontdesk).exists()
    device = enrolled(practitioner)
    other = Client()
    sign_in(other, "practitioner")
    other.post(reverse("accounts:second_factor"), {"code": totp_for(device)})
    response = other.post(reverse("accounts:two_factor"), {"action": "switch_off"}, follow=True)
    assert "cannot be switched off" in response.content.decode()
    assert TOTPDevice.objects.filter(user=practitioner).exists()


def test_second_step_without_a_password_goes_to_login(client):
    response = client.get(reverse("accounts:second_factor"))
    assert response["Location"] == reverse("login")
    response = client.post(reverse("accounts:two_factor_enrol"), {"code": "123456"})
    assert response["Location"] == reverse("login")


def test_pending_sign_in_expires(client, practitioner, required):
    enrolled(practitioner)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "practitioner")
        traveller.shift(datetime.timedelta(minutes=6))
        response = client.get(reverse("accounts:second_factor"))
    assert response["Location"] == reverse("login")


# --- Idle lock ---------------------------------------------------------------------


def test_idle_session_ends_and_sign_in_returns_to_the_page(client, frontdesk, patient):
    url = reverse("patients:detail", args=[patient.public_id])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "frontdesk")
        assert client.get(url).status_code == 200
        traveller.shift(datetime.timedelta(minutes=14))
        assert client.get(url).status_code == 200  # activity restarts the clock
        traveller.shift(datetime.timedelta(minutes=14, seconds=50))
        assert client.get(url).status_code == 200
        traveller.shift(datetime.timedelta(minutes=15, seconds=5))
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"
        assert "_auth_user_id" not in client.session
        page = client.get(response["Location"])
        assert "signed out after 15 minutes without activity" in page.content.decode()
        response = client.post(
            response["Location"],
            {"username": "frontdesk", "password": PASSWORD, "next": url},
        )
        assert response["Location"] == url
    event = AuditEvent.objects.get(action="sign_out")
    assert event.summary == "Signed out after 15 minutes without activity"


def test_idle_time_per_role_and_keepalive(client, settings, frontdesk):
    settings.IDLE_TIMEOUT_MINUTES_BY_ROLE = {roles.FRONT_DESK: 5}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "frontdesk")
        page = client.get(reverse("home")).content.decode()
        assert 'data-idle-timeout="300"' in page
        traveller.shift(datetime.timedelta(minutes=4))
        assert client.post(reverse("accounts:keepalive")).json() == {"seconds_left": 300}
        traveller.shift(datetime.timedelta(minutes=4))
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(datetime.timedelta(minutes=5, seconds=1))
        assert client.get(reverse("home")).status_code == 302


def test_idle_htmx_request_redirects_the_whole_page(client, frontdesk):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "frontdesk")
        traveller.shift(datetime.timedelta(minutes=16))
        response = client.get(
            reverse("patients:list"),
            {"q": "x"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_CURRENT_URL="http://testserver/patients/?q=x",
        )
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/patients/%3Fq%3Dx"


def test_idle_setting_is_validated():
    from mesoclinic.accounts import rules

    assert rules.parse_role_minutes("front desk=30, manager=10") == {
        "front desk": 30,
        "manager": 10,
    }
    for bad in ("boss=10", "manager", "manager=0", "manager=abc"):
        with pytest.raises(ValueError):
            rules.parse_role_minutes(bad)
    assert (
        rules.idle_timeout_seconds(
            {"manager", "practitioner"}, default_minutes=15, by_role={"manager": 10}
        )
        == 600
    )
    assert rules.idle_timeout_seconds(set(), default_minutes=15, by_role={}) == 900
    with pytest.raises(ValueError):
        rules.parse_roles("manager,boss")


def test_production_default_requires_two_factor_for_managers_and_practitioners():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TWO_FACTOR_REQUIRED_ROLES"}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='mesoclinic.settings'; "
        "from django.conf import settings; print(sorted(settings.TWO_FACTOR_REQUIRED_ROLES))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['manager', 'practitioner']"


def test_make_user_helper_still_signs_in_when_not_required(client):
    make_user("plain", roles.FRONT_DESK)
    assert sign_in(client, "plain")["Location"] == reverse("home")


def test_the_admin_login_goes_through_the_second_factor(client, manager):
    enrolled(manager)
    response = client.get("/admin/login/?next=/admin/")
    assert response["Location"] == f"{reverse('login')}?next=%2Fadmin%2F"
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "manager", "password": PASSWORD}
    )
    assert "_auth_user_id" not in client.session
