"""What staff see: a patient's messages (sent, failed, resend) and requests from their links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from mesoclinic.core import links as signed_links
from mesoclinic.core import outbox
from mesoclinic.core.models import OutboundMessage
from sessions.comms import links
from tests.sessions.comms.conftest import NOW, book, local, messages_of

pytestmark = pytest.mark.usefixtures("clock")
State = OutboundMessage.State


@pytest.fixture
def appointment(patient, working_practitioner, location, face):
    return book(
        patient,
        working_practitioner,
        location,
        local(NOW.date() + timedelta(days=9), 10),
        kind="maintenance",
        protocol=face,
    )


def test_patient_page_shows_what_was_sent_failed_and_offers_resend(
    frontdesk_client, appointment, patient, settings
):
    outbox.deliver(ids=outbox.due_message_ids(now=outbox.timezone.now()))
    confirmation = messages_of(appointment, "booking_confirmation").get()
    assert confirmation.state == State.SENT
    reminder = messages_of(appointment, "appointment_reminder").get(offset_key="-3")
    OutboundMessage.objects.filter(pk=reminder.pk).update(
        state=State.FAILED, attempts=5, last_error="SMTPRecipientsRefused: mailbox full"
    )
    page = frontdesk_client.get(reverse("patients:detail", args=[patient.public_id]))
    body = page.content.decode()
    assert "Booking confirmation" in body and confirmation.email_subject in body
    assert patient.email in body
    assert "mailbox full" in body
    assert reverse("outbox:resend", args=[reminder.pk]) in body
    response = frontdesk_client.post(
        reverse("outbox:resend", args=[reminder.pk]),
        {"next": reverse("patients:detail", args=[patient.public_id])},
    )
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert reminder.state == State.PENDING and reminder.attempts == 0


def test_a_reschedule_request_appears_on_the_patient_page(
    client, practitioner_client, appointment, patient
):
    token = signed_links.make_token(links.RESCHEDULE, appointment.pk)
    client.post(reverse("public:appointment_reschedule", kwargs={"token": token}))
    body = practitioner_client.get(
        reverse("patients:detail", args=[patient.public_id])
    ).content.decode()
    assert 'data-testid="patient-requests"' in body
    assert reverse("sessions:appointment_detail", args=[appointment.public_id]) in body
    assert "still to rearrange" in body


def test_no_request_no_panel(practitioner_client, appointment, patient):
    body = practitioner_client.get(
        reverse("patients:detail", args=[patient.public_id])
    ).content.decode()
    assert 'data-testid="patient-requests"' not in body
