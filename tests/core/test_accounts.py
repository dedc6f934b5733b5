import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def attempt(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_login_and_logout(client, frontdesk):
    response = attempt(client, "frontdesk", "pw-for-tests-1")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_lockout_by_username_after_five_failures(client, frontdesk):
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "frontdesk", "wrong", ip=f"10.0.0.{i + 1}").status_code == 200
    assert attempt(client, "frontdesk", "wrong", ip="10.0.0.99").status_code == 429
    # Right password, yet another IP: the username is locked.
    response = attempt(client, "frontdesk", "pw-for-tests-1", ip="10.9.9.9")
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content


def test_one_persons_typos_do_not_lock_out_colleagues_behind_the_same_ip(
    client, frontdesk, practitioner
):
    """Issue 11.3: the lock is on the account, not on the clinic's public address."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "frontdesk", "wrong", ip="10.7.7.7")
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"someone{i}", "wrong", ip="10.7.7.7")
    assert attempt(client, "frontdesk", "pw-for-tests-1", ip="10.7.7.7").status_code == 429
    assert attempt(client, "practitioner", "pw-for-tests-1", ip="10.7.7.7").status_code == 302


def test_password_reset_email_has_text_and_html_in_clinic_branding(client, frontdesk):
    response = client.post(reverse("password_reset"), {"email": "frontdesk@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["frontdesk@example.com"]
    assert settings.CLINIC_NAME in message.subject
    html = message.alternatives[0][0]
    link = re.search(r"(http://testserver/accounts/reset/\S+/)", message.body).group(1)
    assert link in html and settings.CLINIC_NAME in html
    # The link works: it leads to the set-password form.
    follow = client.get(link.replace("http://testserver", ""), follow=True)
    assert b"Choose a new password" in follow.content


def test_password_reset_for_unknown_email_sends_nothing(client):
    client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert mail.outbox == []


def test_password_change(client, frontdesk):
    client.force_login(frontdesk)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests-1",
            "new_password1": "A-much-better-pass-9",
            "new_password2": "A-much-better-pass-9",
        },
    )
    assert response.status_code == 302
    frontdesk.refresh_from_db()
    assert frontdesk.check_password("A-much-better-pass-9")


def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    from mesoclinic.celery import app

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(app, "connection_for_write", refuse)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")


def test_friendly_404_page(client, frontdesk):
    client.force_login(frontdesk)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"There is nothing at this address" in response.content


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CLINIC_TIME_ZONE", "Mars/Olympus", "CLINIC_TIME_ZONE"),
        ("CLINIC_CURRENCY", "XYZ", "CLINIC_CURRENCY"),
        ("DATABASE_URL", "sqlite:///x.db", "PostgreSQL"),
        ("DEBUG", "perhaps", "DEBUG"),
        ("SCREENING_VALID_DAYS", "0", "SCREENING_VALID_DAYS"),
    ],
)
def test_settings_fail_loudly_on_bad_values(name, value, message):
    env = {**os.environ, name: value}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; settings.INSTALLED_APPS",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "mesoclinic.settings"},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_demo_data_is_refused_outside_the_run_command():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="never in production"):
        call_command("load_demo")
