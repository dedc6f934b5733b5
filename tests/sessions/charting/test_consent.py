"""Consent in the browser: signing, immutability, withdrawal, the stored PDF."""

import io
import re
import subprocess

import pytest
from django.db import IntegrityError, InternalError, transaction
from django.urls import reverse
from pypdf import PdfReader

from mesoclinic.core.models import AuditEvent
from patients import selectors, services
from patients.models import ConsentWithdrawal, SignedConsent
from patients.tasks import signed_consent_pdf
from protocols.services import consent_version_create, current_consent
from tests.sessions.charting.helpers import (
    empty_signature_data_uri,
    sign_consent,
    signature_data_uri,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def face(catalogue):
    return catalogue["PRP face rejuvenation"]


def pdf_text(data: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode()


def sign_post(client, patient, protocol, **overrides):
    data = {
        "version_id": current_consent(protocol).pk,
        "patient_signature": signature_data_uri(1),
        "practitioner_signature": signature_data_uri(2),
        "patient_has_read": "on",
        **overrides,
    }
    url = reverse("patients:consent_sign", args=[patient.public_id, protocol.pk])
    return client.post(url, data)


def test_signing_page_shows_the_rendered_consent(practitioner_client, patient, face):
    response = practitioner_client.get(
        reverse("patients:consent_sign", args=[patient.public_id, face.pk])
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert patient.full_name in body
    assert face.name in body
    assert "What the evidence says" in body
    assert f"{face.sessions_in_course} sessions" in body
    assert 'data-signature-input="id_patient_signature"' in body


def test_signing_stores_both_signatures_locks_the_version_and_audits(
    practitioner_client, patient, face
):
    version = current_consent(face)
    response = sign_post(practitioner_client, patient, face)
    assert response.status_code == 302
    signed = SignedConsent.objects.get()
    assert signed.consent_version == version
    assert patient.full_name in signed.text
    assert len(signed.text_sha256) == 64
    assert bytes(signed.patient_signature_png).startswith(b"\x89PNG")
    assert signed.patient_signature_sha256 != signed.practitioner_signature_sha256
    version.refresh_from_db()
    assert version.is_locked
    assert AuditEvent.objects.filter(action="sign", patient_id=patient.pk).exists()
    assert selectors.current_signed_consent(patient=patient, protocol=face) == signed


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("patient_signature", "", "Please sign"),
        ("patient_signature", "data:image/png;base64,not-base64!", "could not be read"),
        ("practitioner_signature", empty_signature_data_uri(), "box is empty"),
        ("patient_has_read", "", "Confirm that the patient has read"),
    ],
)
def test_bad_signatures_are_refused_and_nothing_is_saved(
    practitioner_client, patient, face, field, value, message
):
    response = sign_post(practitioner_client, patient, face, **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SignedConsent.objects.exists()
    assert not current_consent(face).is_locked


def test_a_new_version_published_while_reading_is_refused(
    practitioner_client, manager, patient, face
):
    shown = current_consent(face)
    consent_version_create(protocol=face, text=shown.text + "\n\nA new paragraph.", by=manager)
    response = sign_post(practitioner_client, patient, face, version_id=shown.pk)
    assert "consent text changed" in response.content.decode()
    assert not SignedConsent.objects.exists()


def test_a_new_consent_version_means_the_patient_must_sign_again(manager, patient, face):
    sign_consent(patient, face)
    version = current_consent(face)
    consent_version_create(protocol=face, text=version.text + "\n\nUpdated.", by=manager)
    assert selectors.current_signed_consent(patient=patient, protocol=face) is None


def test_signed_consent_is_immutable_in_code_and_in_the_database(patient, face):
    signed = sign_consent(patient, face)
    signed.text = "Something else"
    with pytest.raises(ValueError):
        signed.save()
    with pytest.raises(InternalError), transaction.atomic():
        SignedConsent.objects.filter(pk=signed.pk).update(text="rewritten")
    with pytest.raises(InternalError), transaction.atomic():
        SignedConsent.objects.filter(pk=signed.pk).update(patient_signature_sha256="0" * 64)
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
        SignedConsent.objects.filter(pk=signed.pk).delete()
    signed.refresh_from_db()
    assert signed.text != "rewritten"


def test_withdrawal_is_recorded_and_blocks(practitioner_client, patient, face):
    signed = sign_consent(patient, face)
    url = reverse("patients:consent_withdraw", args=[patient.public_id, signed.public_id])
    assert practitioner_client.post(url, {"reason": ""}).status_code == 302
    assert not ConsentWithdrawal.objects.exists()
    practitioner_client.post(url, {"reason": "Changed her mind, by phone"})
    withdrawal = ConsentWithdrawal.objects.get()
    assert withdrawal.signed_consent == signed
    assert selectors.current_signed_consent(patient=patient, protocol=face) is None
    with pytest.raises(InternalError), transaction.atomic():
        ConsentWithdrawal.objects.filter(pk=withdrawal.pk).delete()
    # Signing again after a withdrawal gives a new, live consent.
    again = sign_consent(patient, face)
    assert selectors.current_signed_consent(patient=patient, protocol=face) == again


def test_the_pdf_task_stores_the_pdf_once_with_name_version_hash_and_signatures(
    patient, face, settings
):
    signed = sign_consent(patient, face)
    assert signed_consent_pdf.apply(args=[signed.pk]).get() is True
    signed.refresh_from_db()
    stored_name = signed.pdf.name
    assert stored_name.startswith(f"consents/{patient.public_id}/")
    with signed.pdf.open("rb") as handle:
        data = handle.read()
    text = pdf_text(data)
    assert settings.CLINIC_NAME in text  # the clinic header
    assert patient.full_name in text
    assert face.name in text
    assert f"Version {signed.consent_version.number}" in text
    assert signed.text_sha256 in re.sub(r"\s+", "", text)
    images = [img for page in PdfReader(io.BytesIO(data)).pages for img in page.images]
    assert len(images) == 2  # patient's signature and the countersignature
    # Idempotent: a second run does nothing and the stored file stays.
    assert signed_consent_pdf.apply(args=[signed.pk]).get() is False
    signed.refresh_from_db()
    assert signed.pdf.name == stored_name


def test_the_pdf_is_served_from_storage_to_clinical_roles_only(
    practitioner_client, frontdesk, patient, face, settings
):
    from django.test import Client

    signed = sign_consent(patient, face)
    url = reverse("patients:consent_pdf", args=[patient.public_id, signed.public_id])
    # Not generated yet: the page that waits for it.
    assert practitioner_client.get(url).status_code == 302
    signed_consent_pdf.apply(args=[signed.pk])
    response = practitioner_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    desk = Client()
    desk.force_login(frontdesk)
    assert desk.get(url).status_code == 403
    signed.refresh_from_db()
    assert str(settings.STATIC_ROOT) not in signed.pdf.path
    assert "/static/" not in signed.pdf.path


def test_another_patients_consent_is_a_404(practitioner_client, patient, face):
    from tests.factories import PatientFactory

    signed = sign_consent(patient, face)
    other = PatientFactory()
    url = reverse("patients:consent_detail", args=[other.public_id, signed.public_id])
    assert practitioner_client.get(url).status_code == 404


def test_consent_service_refuses_an_archived_patient(patient, face, practitioner):
    from django.utils import timezone

    patient.archived_at = timezone.now()
    patient.save()
    with pytest.raises(services.PatientError):
        sign_consent(patient, face, by=practitioner)


def test_admin_lists_signed_consents_and_charts_read_only(admin_client, patient, face):
    signed = sign_consent(patient, face)
    for url in (
        "/admin/patients/signedconsent/",
        f"/admin/patients/signedconsent/{signed.pk}/change/",
        "/admin/clinic_sessions/sessionchart/",
        "/admin/clinic_sessions/chartproduct/",
        "/admin/clinic_sessions/sessiondocument/",
    ):
        assert admin_client.get(url).status_code == 200, url
    assert (
        admin_client.post(f"/admin/patients/signedconsent/{signed.pk}/delete/").status_code == 403
    )
