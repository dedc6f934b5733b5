"""Erasure as the law allows: what goes now, what stays until when, the daily job."""

import datetime

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEvent, OutboundMessage
from mesoclinic.records import services
from mesoclinic.records.models import ErasureRequest, SubjectAccessExport
from mesoclinic.records.tasks import apply_retention
from patients.models import ClinicalPhoto, Patient, Screening, SignedConsent
from sessions.charting.models import SessionChart, SessionDocument
from sessions.scheduling.models import Appointment
from tests.factories import PatientFactory
from tests.records.helpers import build_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(patient, catalogue, practitioner):
    made = build_record(patient, catalogue, practitioner)
    # A future booking with a waiting reminder, and a photo from long before treatment.
    start = timezone.now() + datetime.timedelta(days=10)
    made["future"] = Appointment.objects.create(
        patient=patient,
        protocol=made["appointments"][0].protocol,
        kind=Appointment.Kind.MAINTENANCE,
        practitioner=practitioner,
        location=made["location"],
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
    )
    photo = made["photo"]
    made["old_photo"] = ClinicalPhoto.objects.create(
        patient=patient,
        kind="progress",
        area="neck",
        taken_on=photo.taken_on - datetime.timedelta(days=400),
        width=8,
        height=8,
        size_bytes=1,
        sha256="0" * 64,
        uploaded_by=practitioner,
        image=photo.image.name,
    )
    return made


def test_erasure_erases_what_it_may_and_keeps_the_clinical_record(
    patient, record, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        erasure = services.erasure_request(patient=patient, by=manager, note="Letter")
    patient.refresh_from_db()
    assert (patient.email, patient.phone, patient.address_line1) == ("", "", "")
    assert not patient.consents_to_marketing and patient.is_archived
    # Identity stays: the record must remain attributable while it is kept.
    assert patient.last_name != f"patient {patient.pk}"
    record["future"].refresh_from_db()
    assert record["future"].status == "cancelled" and not record["future"].cancelled_late
    assert not OutboundMessage.objects.filter(patient_id=patient.pk, state="pending").exists()
    assert not OutboundMessage.objects.filter(patient_id=patient.pk).exclude(recipient="").exists()
    # The old photo is not part of the clinical record; the treatment photo is.
    assert not ClinicalPhoto.objects.filter(pk=record["old_photo"].pk).exists()
    assert ClinicalPhoto.objects.filter(pk=record["photo"].pk).exists()
    assert SessionChart.objects.filter(appointment__patient=patient).count() == 12
    assert SessionDocument.objects.filter(appointment__patient=patient).count() == 6
    assert Screening.objects.filter(patient=patient).count() == 2
    plan = {i["key"]: i for i in erasure.plan}
    # The last clinical entry is the consents signed (and one withdrawn) today.
    today = timezone.localdate()
    assert plan["clinical"]["action"] == "retain"
    assert plan["clinical"]["until"] == today.replace(year=today.year + 8).isoformat()
    assert plan["billing"]["until"].endswith("-12-31")
    assert erasure.status == "retained" and erasure.retained_until
    assert AuditEvent.objects.filter(action="erasure", patient_id=patient.pk).exists()
    with pytest.raises(services.RecordsError, match="already recorded"):
        services.erasure_request(patient=patient, by=manager)


def test_a_patient_with_no_record_is_anonymised_at_once(manager):
    patient = PatientFactory(first_name="Zed", last_name="Nobody")
    erasure = services.erasure_request(patient=patient, by=manager, note="Email")
    patient.refresh_from_db()
    assert erasure.status == "complete"
    assert (patient.first_name, patient.last_name) == ("Erased", f"patient {patient.pk}")
    assert patient.date_of_birth == datetime.date(1900, 1, 1)


def test_the_daily_job_finishes_when_retention_ends_and_not_before(
    patient, record, manager, settings, django_capture_on_commit_callbacks
):
    services.erasure_request(patient=patient, by=manager)
    assert apply_retention.apply().get()["requests_advanced"] == 0
    patient.refresh_from_db()
    assert patient.first_name != "Erased"
    # Nine years on the clinical record has passed its time; the invoices have not.
    later = timezone.localdate() + datetime.timedelta(days=9 * 366)
    consent_file = SignedConsent.objects.filter(patient=patient).first().pdf.name
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.retention_apply(today=later)
    assert counts["requests_advanced"] == 1
    assert not SessionDocument.objects.filter(appointment__patient=patient).exists()
    assert not ClinicalPhoto.objects.filter(patient=patient).exists()
    assert not default_storage.exists(consent_file)
    erasure = ErasureRequest.objects.get(patient=patient)
    assert "clinical" in erasure.erased and erasure.status == "retained"
    patient.refresh_from_db()
    assert patient.first_name != "Erased"  # invoices still need the name
    # A second run the same day changes nothing.
    assert services.retention_apply(today=later)["requests_advanced"] == 0
    # After the tax period too: anonymised, complete.
    much_later = later + datetime.timedelta(days=3 * 366)
    services.retention_apply(today=much_later)
    patient.refresh_from_db()
    erasure.refresh_from_db()
    assert patient.first_name == "Erased" and erasure.status == "complete"
    assert AuditEvent.objects.filter(action="retention", patient_id=patient.pk).count() == 2


def test_the_daily_job_anonymises_patients_whose_time_has_passed(manager):
    old = PatientFactory()
    Patient.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=11 * 366)
    )
    recent = PatientFactory()
    counts = services.retention_apply()
    assert counts["patients_anonymised"] == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.first_name == "Erased" and recent.first_name != "Erased"
    assert services.retention_apply()["patients_anonymised"] == 0


def test_expired_export_files_are_deleted(patient, manager, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    export = SubjectAccessExport(
        patient=patient,
        requested_by=manager,
        status="ready",
        completed_at=timezone.now() - datetime.timedelta(days=30),
    )
    export.file.save("x.zip", ContentFile(b"zip"), save=False)
    export.save()
    name = export.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retention_apply()["exports_expired"] == 1
    export.refresh_from_db()
    assert export.status == "expired" and not default_storage.exists(name)


def test_manager_sees_the_list_then_records_the_request(manager_client, patient, record):
    url = reverse("records:erasure", args=[patient.public_id])
    page = manager_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Contact details" in body and "Clinical record" in body and "until" in body
    refused = manager_client.post(url, {"note": "Letter"})
    assert refused.status_code == 400 and "Tick the box" in refused.content.decode()
    assert not ErasureRequest.objects.exists()
    done = manager_client.post(url, {"note": "Letter", "confirm": "on"}, follow=True)
    assert "Erasure request recorded" in done.content.decode()
    assert ErasureRequest.objects.filter(patient=patient).exists()


def test_only_managers_open_the_erasure_page(practitioner_client, frontdesk_client, patient):
    url = reverse("records:erasure", args=[patient.public_id])
    assert practitioner_client.get(url).status_code == 403
    assert frontdesk_client.get(url).status_code == 403
