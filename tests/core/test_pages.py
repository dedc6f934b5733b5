"""Health check, friendly error pages, and the clinic's name, time zone, locale and
currency wherever dates, times and money are shown."""

import datetime
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


class _DeadConnection:
    def cursor(self):
        raise OperationalError("could not connect to server")


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr("mesoclinic.views.connection", _DeadConnection())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == "down: OperationalError"
    assert body["broker"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_needs_no_login_and_no_https(client, settings):
    # Load balancers and the compose health check probe over plain HTTP, without a
    # session, while every other page redirects to HTTPS.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["clinic.example.com"]
    response = client.get(reverse("healthz"), HTTP_HOST="clinic.example.com")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    other = client.get(reverse("home"), HTTP_HOST="clinic.example.com")
    assert other.status_code == 301 and other["Location"].startswith("https://")


def test_friendly_403_page_for_a_role_without_access(frontdesk_client):
    response = frontdesk_client.get(reverse("audit_log"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Not allowed" in page
    assert "ask a manager" in page
    assert 'href="/"' in page  # a way back, inside the normal layout with navigation
    assert "Log out" in page


def test_friendly_500_page_when_a_view_fails(frontdesk, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("patients.selectors.patient_search", broken)
    client = Client(raise_request_exception=False)
    client.force_login(frontdesk)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "Nothing you entered was saved" in page
    assert "boom" not in page and "Traceback" not in page


def test_friendly_404_for_an_unknown_protocol(manager_client):
    for name in ("detail", "edit", "consent_edit", "preview"):
        response = manager_client.get(reverse(f"protocols:{name}", args=[987654]))
        assert response.status_code == 404
        assert "There is nothing at this address" in response.content.decode()
    for name in ("clone", "set_active"):
        assert manager_client.post(reverse(f"protocols:{name}", args=[987654])).status_code == 404


def test_clinic_name_is_in_the_layout(settings, frontdesk_client):
    settings.CLINIC_NAME = "Harbour Skin Clinic"
    page = frontdesk_client.get(reverse("home")).content.decode()
    assert "Harbour Skin Clinic" in page


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Europe/London", "15 Jan 2026 23:30"), ("Pacific/Auckland", "16 Jan 2026 12:30")],
)
def test_times_are_shown_in_the_clinic_time_zone(settings, manager_client, zone, shown):
    settings.TIME_ZONE = zone
    patient = PatientFactory()
    AuditEvent.objects.create(
        at=datetime.datetime(2026, 1, 15, 23, 30, tzinfo=datetime.UTC),
        actor_label="practitioner",
        patient_id=patient.pk,
        action="view",
    )
    page = manager_client.get(reverse("audit_log")).content.decode()
    assert f"{shown}:00" in page
    # Filtering by day uses the clinic's calendar day too.
    local_day = shown.split(" ")[0]
    day = datetime.date(2026, 1, int(local_day))
    response = manager_client.get(reverse("audit_log"), {"date_from": day, "date_to": day})
    assert len(response.context["page"]) == 1


@pytest.mark.parametrize(
    ("currency", "locale", "expected"),
    [
        ("GBP", "en_GB", "£1,234.50"),
        ("EUR", "de_DE", "1.234,50\xa0€"),
        ("JPY", "ja_JP", "￥1,235"),
    ],
)
def test_money_uses_the_clinic_currency_and_locale(settings, currency, locale, expected):
    settings.CLINIC_CURRENCY = currency
    settings.CLINIC_LOCALE = locale
    rendered = Template("{% load clinic %}{{ amount|money }}").render(
        Context({"amount": Decimal("1234.5")})
    )
    assert rendered == expected


@pytest.mark.parametrize(
    ("url_name", "params"),
    [
        ("patients:list", {"q": "x" * 5000}),
        ("patients:list", {"q": "Smith\x00"}),
        ("patients:list", {"q": "31/02/1984"}),
        ("patients:list", {"q": "+44", "archived": "maybe"}),
        ("audit_log", {"date_from": "yesterday", "page": "abc"}),
        ("audit_log", {"user": "u" * 500, "action": "delete-everything", "page": "99999"}),
        ("protocols:catalogue", {"indication": "'; DROP TABLE protocols_protocol; --"}),
    ],
)
def test_odd_query_strings_never_fail(manager_client, catalogue, url_name, params):
    response = manager_client.get(reverse(url_name), params)
    assert response.status_code in (200, 400)


def test_dates_follow_the_clinic_locale():
    """CLINIC_LOCALE sets the language of month names unless LANGUAGE_CODE says otherwise."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    script = (
        "import django, datetime; django.setup();"
        "from django.conf import settings; from django.template import Template, Context;"
        "from django.utils import translation; translation.activate(settings.LANGUAGE_CODE);"
        "print(settings.LANGUAGE_CODE, Template('{{ d|date:\"j F Y\" }}')"
        ".render(Context({'d': datetime.date(2026, 3, 9)})))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mesoclinic.settings"}
    env.pop("LANGUAGE_CODE", None)
    german = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "CLINIC_LOCALE": "de_DE", "CLINIC_CURRENCY": "EUR"},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert german.stdout.strip() == "de-de 9 März 2026", german.stderr
    assert settings.LANGUAGE_CODE == "en-gb"


def test_manager_browses_the_audit_log_by_patient_across_pages(
    manager_client, django_assert_max_num_queries
):
    ada = PatientFactory(first_name="Ada", last_name="Lovelace")
    bob = PatientFactory(first_name="Bob", last_name="Stone")
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_label="practitioner", patient_id=ada.pk, action="view", summary=f"v{i}"
            )
            for i in range(60)
        ]
        + [
            AuditEvent(
                actor_label="frontdesk", patient_id=bob.pk, action="change", summary="Edited"
            )
        ]
    )
    with django_assert_max_num_queries(6):
        first = manager_client.get(reverse("audit_log"))
    assert len(first.context["page"]) == 50
    assert "Page 1 of 2" in first.content.decode()
    filtered = manager_client.get(reverse("audit_log"), {"patient": "lovelace"})
    assert {e.patient_id for e in filtered.context["page"]} == {ada.pk}
    page_two = manager_client.get(reverse("audit_log"), {"patient": "lovelace", "page": "2"})
    body = page_two.content.decode()
    assert len(page_two.context["page"]) == 10
    assert "Page 2 of 2" in body and "?patient=lovelace&page=1" in body
    bob_only = manager_client.get(reverse("audit_log"), {"patient": "Stone", "action": "change"})
    assert [e.summary for e in bob_only.context["page"]] == ["Edited"]
