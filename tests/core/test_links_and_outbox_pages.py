from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import links, outbox
from mesoclinic.core.models import MessageSetting, OutboundMessage
from patients import links as patient_links
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_token_round_trip_and_action_binding():
    token = links.make_token("confirm", 42)
    assert links.read_token(token, "confirm") == 42
    with pytest.raises(links.LinkError) as wrong_action:
        links.read_token(token, "cancel")
    assert not wrong_action.value.expired


def test_tampered_and_expired_tokens():
    token = links.make_token("confirm", 42)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    with pytest.raises(links.LinkError) as bad:
        links.read_token(tampered, "confirm")
    assert not bad.value.expired
    with (
        time_machine.travel(timezone.now() + timedelta(days=15)),
        pytest.raises(links.LinkError) as old,
    ):
        links.read_token(token, "confirm")
    assert old.value.expired


def test_unsubscribe_link_valid_expired_and_tampered(client):
    patient = PatientFactory(consents_to_marketing=True)
    url = patient_links.unsubscribe_url(patient).split("://", 1)[1].split("/", 1)[1]
    url = "/" + url
    page = client.get(url)
    assert page.status_code == 200 and b"Stop marketing emails?" in page.content
    assert client.post(url).status_code == 200
    patient.refresh_from_db()
    assert patient.consents_to_marketing is False

    tampered = client.get(url[:-5] + "xxxx/")
    assert tampered.status_code == 400
    assert b"not valid" in tampered.content and patient.first_name.encode() not in tampered.content
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        expired = client.get(url)
    assert expired.status_code == 410 and b"expired" in expired.content


def test_outbox_page_lists_filters_and_resends(frontdesk_client):
    patient = PatientFactory()
    message = outbox.message_schedule(
        kind="appointment_reminder",
        subject=patient,
        due_at=timezone.now(),
        recipient=patient.email,
        patient=patient,
    )
    OutboundMessage.objects.filter(pk=message.pk).update(
        state="failed", last_error="SMTP 550 mailbox unavailable"
    )
    page = frontdesk_client.get(reverse("outbox:list"), {"state": "failed"})
    assert b"mailbox unavailable" in page.content
    assert b"1 failed" in page.content
    response = frontdesk_client.post(
        reverse("outbox:resend", args=[message.pk]), {"next": "https://evil.example.com/"}
    )
    assert response["Location"] == reverse("outbox:list")
    message.refresh_from_db()
    assert message.state == "pending" and message.attempts == 0
    detail = frontdesk_client.get(reverse("patients:detail", args=[patient.public_id]))
    assert b"Appointment reminder" in detail.content


def test_manager_changes_message_settings_and_bad_offsets_are_refused(manager_client):
    url = reverse("outbox:settings")
    assert manager_client.get(url).status_code == 200
    data = {}
    from mesoclinic.core.message_kinds import KINDS

    for kind in KINDS:
        data[f"{kind.code}-enabled"] = "on"
        data[f"{kind.code}-offsets"] = ", ".join(map(str, kind.default_offsets_hours))
        data[f"{kind.code}-respects_quiet_hours"] = "on"
    data["appointment_reminder-offsets"] = "-72, -3"
    del data["maintenance_due-enabled"]
    assert manager_client.post(url, data).status_code == 302
    assert MessageSetting.objects.get(kind="appointment_reminder").offsets_hours == [-72, -3]
    assert MessageSetting.objects.get(kind="maintenance_due").enabled is False

    data["appointment_reminder-offsets"] = "soon"
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert b"whole hours" in response.content
    assert MessageSetting.objects.get(kind="appointment_reminder").offsets_hours == [-72, -3]
