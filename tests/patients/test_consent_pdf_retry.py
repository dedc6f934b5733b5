"""A lost consent-PDF task is asked for again by beat, never by someone viewing the page."""

from datetime import timedelta
from unittest import mock

import time_machine
from django.urls import reverse
from django.utils import timezone

from patients import tasks
from tests.sessions.charting.helpers import sign_consent


def _signed_long_ago(patient, protocol):
    """Signed an hour ago, and its PDF task lost (never ran)."""
    with (
        time_machine.travel(timezone.now() - timedelta(hours=1)),
        mock.patch.object(tasks.signed_consent_pdf, "delay"),
    ):
        return sign_consent(patient, protocol)


def test_viewing_a_consent_without_its_pdf_writes_and_queues_nothing(
    practitioner_client, patient, catalogue, django_capture_on_commit_callbacks
):
    signed = _signed_long_ago(patient, catalogue["PRP face rejuvenation"])
    url = reverse("patients:consent_detail", args=[patient.public_id, signed.public_id])
    with (
        mock.patch.object(tasks.signed_consent_pdf, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        assert practitioner_client.get(url).status_code == 200
    assert callbacks == []
    delay.assert_not_called()


def test_beat_asks_again_for_pdfs_still_missing(patient, catalogue):
    signed = _signed_long_ago(patient, catalogue["PRP face rejuvenation"])
    with mock.patch.object(tasks.signed_consent_pdf, "delay"):
        sign_consent(patient, catalogue["PRP scalp (hair loss)"])  # just signed: its task runs
    with mock.patch.object(tasks.signed_consent_pdf, "delay") as delay:
        assert tasks.retry_missing_consent_pdfs.apply().get() == 1
    delay.assert_called_once_with(signed.pk)
