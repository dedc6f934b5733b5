"""Signed patient links: each action valid, expired and tampered; nothing changes on a bad one."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from mesoclinic.core import links as signed_links
from mesoclinic.core.models import AuditEvent, OutboundMessage
from sessions.charting.models import SessionDocument
from sessions.comms import links
from sessions.scheduling.models import Appointment
from tests.sessions.comms.conftest import NOW, book, local, messages_of

pytestmark = pytest.mark.usefixtures("clock")
WED_NEXT = NOW.date() + timedelta(days=9)
PDF = b"%PDF-1.4\n% a tiny test file\n%%EOF\n"


@pytest.fixture
def appointment(patient, working_practitioner, location, face):
    return book(
        patient,
        working_practitioner,
        location,
        local(WED_NEXT, 10),
        kind="maintenance",
        protocol=face,
    )


@pytest.fixture
def aftercare_document(appointment):
    name = default_storage.save("sessions/test-aftercare.pdf", ContentFile(PDF))
    return SessionDocument.objects.create(
        appointment=appointment,
        kind=SessionDocument.Kind.AFTERCARE,
        file=name,
        sha256=hashlib.sha256(PDF).hexdigest(),
    )


@pytest.fixture
def consent(patient, face):
    from patients.documents import signed_consent_pdf_generate
    from tests.sessions.charting.helpers import sign_consent

    signed = sign_consent(patient, face)
    signed_consent_pdf_generate(signed_consent_id=signed.pk)
    signed.refresh_from_db()
    return signed


ACTIONS = {
    # name: (URL name, link action, which object the token names)
    "confirm": ("public:appointment_confirm", links.CONFIRM, "appointment"),
    "cancel": ("public:appointment_cancel", links.CANCEL, "appointment"),
    "reschedule": ("public:appointment_reschedule", links.RESCHEDULE, "appointment"),
    "aftercare": ("public:aftercare_pdf", links.AFTERCARE_PDF, "aftercare_document"),
    "consent": ("public:consent_pdf", links.CONSENT_PDF, "consent"),
}


def methods(client, action):
    """Documents are downloaded (GET only); actions are also posted to."""
    return (client.get,) if action in ("aftercare", "consent") else (client.get, client.post)


def url(name: str, token: str) -> str:
    return reverse(name, kwargs={"token": token})


def object_for(request, which):
    obj = request.getfixturevalue(which)
    return obj.appointment if which == "aftercare_document" else obj


def snapshot(appointment: Appointment) -> tuple:
    appointment.refresh_from_db()
    return (
        appointment.status,
        appointment.starts_at,
        OutboundMessage.objects.filter(kind="reschedule_request").count(),
    )


@pytest.mark.parametrize("action", list(ACTIONS))
class TestEveryAction:
    def test_valid_link_opens_the_page(self, client, request, action, appointment):
        name, salt, which = ACTIONS[action]
        obj = object_for(request, which)
        response = client.get(url(name, signed_links.make_token(salt, obj.pk)))
        assert response.status_code == 200
        if action in ("aftercare", "consent"):
            assert response["Content-Type"] == "application/pdf"
            assert b"".join(response.streaming_content).startswith(b"%PDF")
            assert response["Cache-Control"] == "private, no-store"
            assert AuditEvent.objects.filter(action="download").exists()
        else:
            assert "Harley Street" in response.content.decode()

    def test_expired_link_shows_a_clear_page_and_changes_nothing(
        self, client, request, action, appointment, clock, patient
    ):
        name, salt, which = ACTIONS[action]
        obj = object_for(request, which)
        token = signed_links.make_token(salt, obj.pk)
        before = snapshot(appointment)
        clock.move_to(NOW + timedelta(days=15))
        for method in methods(client, action):
            response = method(url(name, token))
            assert response.status_code == 410
            body = response.content.decode()
            assert "This link has expired" in body
            assert patient.last_name not in body and "Harley Street" not in body
        assert snapshot(appointment) == before

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
            lambda t: "x" + t,  # payload altered
            lambda t: t[: len(t) // 2],  # cut short by a mail program
            lambda t: "not-a-token",
        ],
    )
    def test_tampered_link_shows_a_clear_page_and_changes_nothing(
        self, client, request, action, appointment, patient, mangle
    ):
        # A surname no page text contains by chance (a generated "Li" is in "Link").
        patient.last_name = "Quorndale-Xu"
        patient.save(update_fields=["last_name"])
        name, salt, which = ACTIONS[action]
        obj = object_for(request, which)
        before = snapshot(appointment)
        for method in methods(client, action):
            response = method(url(name, mangle(signed_links.make_token(salt, obj.pk))))
            assert response.status_code == 400
            body = response.content.decode()
            assert "This link is not valid" in body and patient.last_name not in body
        assert snapshot(appointment) == before

    def test_a_token_for_another_action_is_refused(self, client, request, action, appointment):
        name, salt, which = ACTIONS[action]
        obj = object_for(request, which)
        other = links.CANCEL if salt != links.CANCEL else links.CONFIRM
        before = snapshot(appointment)
        for method in methods(client, action):
            response = method(url(name, signed_links.make_token(other, obj.pk)))
            assert response.status_code == 400
        assert snapshot(appointment) == before


class TestConfirm:
    def test_get_changes_nothing_and_post_confirms_once(self, client, appointment):
        target = url(
            "public:appointment_confirm", signed_links.make_token(links.CONFIRM, appointment.pk)
        )
        client.get(target)
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED  # mail scanners follow links
        response = client.post(target)
        assert "your appointment is confirmed" in response.content.decode()
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CONFIRMED and appointment.confirmed_at
        audited = AuditEvent.objects.get(object_id=str(appointment.pk), action="change")
        assert audited.summary == "Confirmed by the patient (email link)"
        assert audited.actor is None and audited.actor_label == "patient link"
        assert client.post(target).status_code == 200  # a second click is harmless

    def test_a_signed_link_to_an_appointment_that_is_gone_reveals_nothing(self, client, db):
        response = client.get(
            url("public:appointment_confirm", signed_links.make_token(links.CONFIRM, 987654))
        )
        assert response.status_code == 400


class TestCancel:
    def test_in_time_cancellation_shows_the_policy_without_a_fee(self, client, appointment):
        target = url(
            "public:appointment_cancel", signed_links.make_token(links.CANCEL, appointment.pk)
        )
        body = client.get(target).content.decode()
        assert "cancellation policy" in body and "at least 24 hours" in body
        assert "there is no fee" in body
        client.post(target, {"reason": "Travelling"})
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CANCELLED
        assert not appointment.cancelled_late
        assert "Travelling" in appointment.cancel_reason
        assert not messages_of(appointment).filter(state="pending").exists()

    def test_late_cancellation_shows_the_fee_first(self, client, appointment, clock):
        clock.move_to(appointment.starts_at - timedelta(hours=5))
        target = url(
            "public:appointment_cancel", signed_links.make_token(links.CANCEL, appointment.pk)
        )
        body = client.get(target).content.decode()
        assert "late-cancellation fee" in body and "£50.00" in body
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED
        body = client.post(target).content.decode()
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CANCELLED and appointment.cancelled_late
        assert "Your appointment is cancelled" in body and "£50.00" in body

    def test_too_long_a_reason_is_a_form_error_and_nothing_changes(self, client, appointment):
        target = url(
            "public:appointment_cancel", signed_links.make_token(links.CANCEL, appointment.pk)
        )
        response = client.post(target, {"reason": "x" * 1000})
        assert response.status_code == 200
        assert "at most 250 characters" in response.content.decode()
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED

    def test_a_past_appointment_cannot_be_cancelled_online(self, client, appointment, clock):
        clock.move_to(appointment.starts_at + timedelta(hours=1))
        target = url(
            "public:appointment_cancel", signed_links.make_token(links.CANCEL, appointment.pk)
        )
        body = client.post(target).content.decode()
        assert "cannot be cancelled online" in body
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED


class TestReschedule:
    def test_post_records_the_request_for_staff(self, client, appointment, manager_client):
        target = url(
            "public:appointment_reschedule",
            signed_links.make_token(links.RESCHEDULE, appointment.pk),
        )
        client.get(target)
        assert not messages_of(appointment, "reschedule_request").exists()
        body = client.post(target).content.decode()
        assert "we have your request" in body
        request_row = messages_of(appointment, "reschedule_request").get()
        assert request_row.patient_id == appointment.patient_id
        assert AuditEvent.objects.filter(
            object_id=str(appointment.pk), summary="Patient asked to reschedule (email link)"
        ).exists()
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED  # stays booked meanwhile


class TestDocuments:
    def test_missing_aftercare_sheet_is_a_clear_404(self, client, appointment):
        token = signed_links.make_token(links.AFTERCARE_PDF, appointment.pk)
        response = client.get(url("public:aftercare_pdf", token))
        assert response.status_code == 404
        assert "not available yet" in response.content.decode()

    def test_documents_refuse_post(self, client, aftercare_document):
        token = signed_links.make_token(links.AFTERCARE_PDF, aftercare_document.appointment_id)
        assert client.post(url("public:aftercare_pdf", token)).status_code == 405
