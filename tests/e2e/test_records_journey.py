"""A manager asks for a patient's subject-access export (built by a real Celery worker),
downloads the ZIP and reads it back; then records an erasure request and sees, item by
item, what was erased and what is retained until when."""

import re
import zipfile

import pytest
from playwright.sync_api import expect

from mesoclinic.records.models import SubjectAccessExport
from tests.e2e.conftest import login
from tests.factories import PatientFactory
from tests.records.fhir_validation import validate_bundle
from tests.records.helpers import build_record
from tests.support.smtp import free_port
from tests.support.worker import Worker, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(queue, settings):
    private = settings.STORAGES["default"]["OPTIONS"]["location"]
    with Worker(
        broker_url=None,
        smtp_port=free_port(),
        extra_env={"CELERY_QUEUE": queue, "PRIVATE_MEDIA_ROOT": private},
    ) as running:
        yield running


def test_manager_exports_a_record_then_records_an_erasure(
    page, worker, manager, catalogue, practitioner, tmp_path
):
    patient = PatientFactory(first_name="Rita", last_name="Recorded")
    build_record(patient, catalogue, practitioner)
    login(page, "manager")
    page.goto(f"/patients/{patient.public_id}/")
    panel = page.get_by_role("region", name="Data rights")
    expect(panel.get_by_role("link", name="Export FHIR")).to_be_visible()

    panel.get_by_role("button", name="Subject-access export").click()
    expect(page.get_by_text("The subject-access export is being prepared")).to_be_visible()
    expect(page.get_by_role("heading", name="Data rights")).to_be_visible()
    assert wait_until(
        lambda: SubjectAccessExport.objects.filter(patient=patient, status="ready").exists(),
        timeout=90,
    ), "the worker did not build the export"
    page.reload()
    panel = page.get_by_role("region", name="Subject-access exports")
    with page.expect_download() as download_info:
        panel.get_by_role("link", name="Download ZIP").click()
    saved = tmp_path / "export.zip"
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
        assert {"summary.pdf", "fhir/bundle.json", "messages.csv"} <= set(names)
        assert archive.read("summary.pdf").startswith(b"%PDF")
        import json

        validate_bundle(json.loads(archive.read("fhir/bundle.json")))
    assert len([n for n in names if n.startswith("documents/")]) == 12
    expect(panel.get_by_role("button", name="Email the patient a link")).to_be_visible()

    page.get_by_role("link", name="Erasure request").click()
    expect(page.get_by_role("heading", name="Erasure request")).to_be_visible()
    expect(page.locator("#erase-now")).to_contain_text("Contact details")
    expect(page.locator("#retained")).to_contain_text("Clinical record")
    expect(page.locator("#retained")).to_contain_text("until")
    page.get_by_role("button", name="Record the erasure request").click()
    expect(page.get_by_text("Tick the box to confirm the request.")).to_be_visible()
    page.get_by_label("How the request was made").fill("Letter of 3 March, identity checked")
    page.get_by_label(re.compile("I have checked the patient's identity")).check()
    page.get_by_role("button", name="Record the erasure request").click()
    expect(page.get_by_text("Erasure request recorded and carried out.")).to_be_visible()
    expect(page.locator("#erase-now")).to_contain_text("Future bookings")
    expect(page.locator("#retained")).to_contain_text("Invoices, credit notes and payments")
    expect(page.get_by_text("Erased where allowed; records retained")).to_be_visible()
    patient.refresh_from_db()
    assert patient.email == "" and patient.is_archived
