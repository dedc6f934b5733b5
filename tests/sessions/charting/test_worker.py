"""PDFs through a real Celery worker: enqueued after commit, rendered and stored by the
worker, served by the app from the same private storage."""

import datetime

import pytest
from django.utils import timezone

from patients.models import SignedConsent
from sessions.charting.models import SessionDocument
from tests.factories import ScreeningFactory
from tests.sessions.charting.conftest import make_session
from tests.sessions.charting.helpers import ready_to_complete, sign_consent
from tests.support.smtp import free_port
from tests.support.worker import Worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(queue, settings):
    private = settings.STORAGES["default"]["OPTIONS"]["location"]
    with Worker(
        broker_url=None,
        smtp_port=free_port(),
        extra_env={"CELERY_QUEUE": queue, "PRIVATE_MEDIA_ROOT": private},
    ) as running:
        yield running


def test_the_worker_stores_the_consent_and_aftercare_pdfs(worker, catalogue, patient, practitioner):
    from sessions.scheduling import services

    face = catalogue["PRP face rejuvenation"]
    signed = sign_consent(patient, face, by=practitioner)
    assert wait_until(lambda: SignedConsent.objects.get(pk=signed.pk).pdf, timeout=60)
    with SignedConsent.objects.get(pk=signed.pk).pdf.open("rb") as handle:
        assert handle.read().startswith(b"%PDF")

    start = timezone.now() - datetime.timedelta(minutes=30)
    appointment = make_session(patient, face, practitioner, start=start)
    ScreeningFactory(patient=patient, taken_on=timezone.localdate())
    ready_to_complete(appointment, practitioner)
    services.appointment_complete(appointment=appointment, by=practitioner)
    assert wait_until(
        lambda: SessionDocument.objects.filter(appointment=appointment).count() == 2, timeout=60
    )
