"""Subject-access export: the ZIP built by a Celery task holds the Bundle, a readable
PDF summary, every stored PDF, quotes and invoices, photos and the messages; managers
download it or email the patient a signed, expiring link; everything is audited."""

import datetime
import io
import json
import re
import zipfile

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from mesoclinic.core import outbox
from mesoclinic.core.models import AuditEvent, OutboundMessage
from mesoclinic.records import services
from mesoclinic.records.messages import download_url
from mesoclinic.records.models import SubjectAccessExport
from mesoclinic.records.tasks import build_subject_access_export
from tests.records.fhir_validation import validate_bundle
from tests.records.helpers import build_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(patient, catalogue, practitioner):
    return build_record(patient, catalogue, practitioner)


def _built(patient, manager) -> SubjectAccessExport:
    export = SubjectAccessExport.objects.create(patient=patient, requested_by=manager)
    assert build_subject_access_export.apply(kwargs={"export_id": export.pk}).get() is True
    export.refresh_from_db()
    return export


def _zip(content: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(content))


def test_the_zip_holds_the_whole_record(patient, record, manager):
    export = _built(patient, manager)
    assert export.status == "ready" and export.sha256 and export.size_bytes
    with export.file.open("rb") as handle:
        archive = _zip(handle.read())
    names = archive.namelist()
    assert export.files_included == len(names)
    assert {"summary.pdf", "fhir/bundle.json", "messages.csv", "README.txt"} <= set(names)
    assert len([n for n in names if n.startswith("documents/consents/")]) == 3
    assert len([n for n in names if n.startswith("documents/sessions/")]) == 6
    assert len([n for n in names if n.startswith("documents/invoices/")]) == 3
    assert len([n for n in names if n.startswith("photos/")]) == 1
    bundle = json.loads(archive.read("fhir/bundle.json"))
    validate_bundle(bundle)
    # Each DocumentReference points at its file inside the ZIP.
    urls = [
        e["resource"]["content"][0]["attachment"]["url"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]
    assert len(urls) == 9 and all(u in names for u in urls)
    summary = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(archive.read("summary.pdf"))).pages
    )
    assert patient.last_name in summary and "PRP face rejuvenation" in summary
    invoice_pdf = archive.read(next(n for n in names if n.startswith("documents/invoices/")))
    assert invoice_pdf.startswith(b"%PDF")
    messages_csv = archive.read("messages.csv").decode()
    assert patient.email in messages_csv and "Booking confirmation" in messages_csv
    assert AuditEvent.objects.filter(
        action="export", patient_id=patient.pk, summary__startswith="Subject-access export built"
    ).exists()


def test_building_twice_changes_nothing(patient, record, manager):
    export = _built(patient, manager)
    first = export.file.name
    assert services.sar_build(export_id=export.pk) is False
    export.refresh_from_db()
    assert export.file.name == first


def test_manager_requests_from_the_patient_page_and_downloads(
    manager_client, patient, record, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = manager_client.post(reverse("records:sar_request", args=[patient.public_id]))
    assert response.status_code == 302
    export = SubjectAccessExport.objects.get(patient=patient)
    assert export.status == "pending" and len(callbacks) == 1  # the task is queued on commit
    build_subject_access_export.apply(kwargs={"export_id": export.pk})
    export.refresh_from_db()
    assert export.status == "ready"
    assert response["Location"] == reverse("records:data_rights", args=[patient.public_id])
    page = manager_client.get(response["Location"])
    assert reverse("records:sar_download", args=[export.public_id]) in page.content.decode()
    download = manager_client.get(reverse("records:sar_download", args=[export.public_id]))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    content = b"".join(download.streaming_content)
    assert "summary.pdf" in _zip(content).namelist()
    assert AuditEvent.objects.filter(action="download", object_id=str(export.pk)).exists()
    assert AuditEvent.objects.filter(
        action="export", summary="Subject-access export requested"
    ).exists()


def test_a_download_is_audited_as_staff_or_as_the_patient_link(patient, manager):
    export = SubjectAccessExport.objects.create(patient=patient, requested_by=manager)
    services.sar_downloaded(export=export, by=manager)
    services.sar_downloaded(export=export)
    rows = AuditEvent.objects.filter(action="download", object_id=str(export.pk)).order_by("pk")
    assert [(r.actor_id, r.actor_label, r.patient_id, r.summary) for r in rows] == [
        (
            manager.pk,
            manager.get_username(),
            patient.pk,
            "Subject-access export downloaded by staff",
        ),
        (
            None,
            "patient link",
            patient.pk,
            "Subject-access export downloaded by the patient from their link",
        ),
    ]


def test_patient_gets_a_signed_link_that_expires(manager_client, patient, record, manager):
    client = Client()  # the patient: no login
    export = _built(patient, manager)
    response = manager_client.post(reverse("records:sar_send_link", args=[export.public_id]))
    assert response.status_code == 302
    message = OutboundMessage.objects.get(kind="subject_access_link")
    assert message.recipient == patient.email
    outbox.deliver(ids=[message.pk])
    email = mail.outbox[-1]
    # The token carries its signing time, so read the link from the email itself.
    found = re.search(r"http://127\.0\.0\.1:8000/p/my-data/[^/\s\"]+/", email.body)
    assert found, email.body
    url = found.group(0)
    assert url in email.alternatives[0][0]
    assert url.rsplit("/", 2)[0] == download_url(export).rsplit("/", 2)[0]
    path = url.removeprefix("http://127.0.0.1:8000")
    got = client.get(path)
    assert got.status_code == 200
    assert "summary.pdf" in _zip(b"".join(got.streaming_content)).namelist()
    assert AuditEvent.objects.filter(
        action="download", actor_label="patient link", patient_id=patient.pk
    ).exists()
    # A second send is refused in words; the tampered and the expired link are refused.
    again = manager_client.post(
        reverse("records:sar_send_link", args=[export.public_id]), follow=True
    )
    assert "already sent" in again.content.decode()
    assert client.get(path[:-3] + "xyz/").status_code == 400
    with time_machine.travel(datetime.timedelta(days=8)):
        assert client.get(path).status_code == 410


def test_no_email_address_is_explained(manager_client, patient, record, manager):
    patient.email = ""
    patient.save()
    export = _built(patient, manager)
    response = manager_client.post(
        reverse("records:sar_send_link", args=[export.public_id]), follow=True
    )
    assert "no email address" in response.content.decode()
    assert not OutboundMessage.objects.filter(kind="subject_access_link").exists()


def test_only_managers_request_or_download(practitioner_client, frontdesk_client, patient, manager):
    export = _built(patient, manager)
    for client in (practitioner_client, frontdesk_client):
        assert (
            client.post(reverse("records:sar_request", args=[patient.public_id])).status_code == 403
        )
        assert (
            client.get(reverse("records:sar_download", args=[export.public_id])).status_code == 403
        )
