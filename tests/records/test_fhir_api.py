"""The read-only FHIR API: tokens, scopes, searches, 404s as OperationOutcome, rate
limit, audit; and the managers' token page."""

import datetime

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from mesoclinic.core import roles
from mesoclinic.core.models import AuditEvent
from mesoclinic.records import services
from mesoclinic.records.models import ApiToken
from tests.conftest import make_user
from tests.factories import PatientFactory
from tests.records.fhir_validation import validate_bundle
from tests.records.helpers import build_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(patient, catalogue, practitioner):
    return build_record(patient, catalogue, practitioner)


def _token(manager, scope="clinic", practitioner=None):
    return services.api_token_create(
        name=f"Integration {scope}", scope=scope, practitioner=practitioner, by=manager
    )[1]


def _get(client, path, raw=None, **params):
    headers = {"Authorization": f"Bearer {raw}"} if raw else {}
    return client.get(path, params, headers=headers)


def test_metadata_is_a_capability_statement(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    types = {r.type for r in statement.rest[0].resource}
    assert types == {"Patient", "Appointment", "Practitioner", "Location"}


def test_no_or_bad_token_is_401_operation_outcome(client, manager, patient):
    raw = _token(manager)
    url = f"/fhir/Patient/{patient.public_id}"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = client.get(url, headers=headers)
        assert response.status_code == 401
        OperationOutcome.model_validate(response.json())
    assert _get(client, url, raw).status_code == 200


def test_read_each_resource_type(client, manager, patient, record, practitioner):
    raw = _token(manager)
    appointment = record["appointments"][0]
    for path in (
        f"/fhir/Patient/{patient.public_id}",
        f"/fhir/Appointment/{appointment.public_id}",
        f"/fhir/Practitioner/{practitioner.staff_account.public_id}",
        f"/fhir/Location/{record['location'].public_id}",
    ):
        response = _get(client, path, raw)
        assert response.status_code == 200, path
        body = response.json()
        assert path.endswith(f"{body['resourceType']}/{body['id']}")
    events = AuditEvent.objects.filter(action="api_read")
    assert events.count() == 4
    assert events.filter(patient_id=patient.pk).count() == 2  # the patient and the booking
    assert all(e.actor_label.startswith("API token Integration clinic") for e in events)


def test_unknown_and_malformed_ids_are_404_operation_outcomes(client, manager):
    raw = _token(manager)
    import uuid

    for path in (
        f"/fhir/Patient/{uuid.uuid4()}",
        "/fhir/Patient/1",
        "/fhir/Appointment/../../etc",
        "/fhir/Observation/1",
        "/fhir/Observation",
    ):
        response = _get(client, path, raw)
        assert response.status_code == 404, path
        assert response.json()["resourceType"] == "OperationOutcome"


def test_appointment_search_by_date_patient_and_practitioner(
    client, manager, patient, record, practitioner
):
    raw = _token(manager)
    other = PatientFactory()
    first = record["appointments"][0]
    day = first.starts_at.date()
    response = _get(
        client,
        "/fhir/Appointment",
        raw,
        patient=f"Patient/{patient.public_id}",
        practitioner=str(practitioner.staff_account.public_id),
        date=[f"ge{day}", f"lt{day + datetime.timedelta(days=1)}"],
    )
    assert response.status_code == 200
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["id"] == str(first.public_id)
    all_of_patient = _get(client, "/fhir/Appointment", raw, patient=str(patient.public_id))
    assert all_of_patient.json()["total"] == 12
    assert _get(client, "/fhir/Appointment", raw, patient=str(other.public_id)).json()["total"] == 0
    on_day = _get(client, "/fhir/Appointment", raw, date=str(day)).json()
    assert on_day["total"] == 1
    paged = _get(client, "/fhir/Appointment", raw, patient=str(patient.public_id), _count=5)
    links = {link["relation"]: link["url"] for link in paged.json()["link"]}
    assert len(paged.json()["entry"]) == 5 and "page=2" in links["next"]
    audit = AuditEvent.objects.filter(action="api_read", patient_id=patient.pk)
    assert audit.exists()


@pytest.mark.parametrize(
    "params",
    [
        {"date": "yesterday"},
        {"date": "ge2026-13-01"},
        {"patient": "Patient/1"},
        {"_count": "1000"},
        {"date": "2026-03-01T10:00:00"},
    ],
)
def test_bad_search_parameters_are_400(client, manager, params):
    response = _get(client, "/fhir/Appointment", _token(manager), **params)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_practitioner_token_sees_only_their_patients_and_bookings(
    client, manager, patient, record, practitioner
):
    colleague = make_user("colleague", roles.PRACTITIONER)
    colleague_raw = _token(manager, "practitioner", colleague)
    own_raw = _token(manager, "practitioner", practitioner)
    patient_url = f"/fhir/Patient/{patient.public_id}"
    booking_url = f"/fhir/Appointment/{record['appointments'][0].public_id}"
    assert _get(client, patient_url, own_raw).status_code == 200
    assert _get(client, booking_url, own_raw).status_code == 200
    assert _get(client, patient_url, colleague_raw).status_code == 404
    assert _get(client, booking_url, colleague_raw).status_code == 404
    assert _get(client, "/fhir/Patient", colleague_raw).json()["total"] == 0
    assert _get(client, "/fhir/Patient", own_raw).json()["total"] == 1
    search = _get(client, "/fhir/Appointment", colleague_raw, patient=str(patient.public_id))
    assert search.json()["total"] == 0


def test_patient_search_by_name_returns_a_valid_searchset(client, manager, patient, record):
    bundle = _get(client, "/fhir/Patient", _token(manager), name=patient.last_name).json()
    validate_bundle(bundle)
    assert bundle["total"] >= 1


def test_revoked_token_stops_working(client, manager, patient):
    token, raw = services.api_token_create(name="Lab", scope="clinic", by=manager)
    assert _get(client, f"/fhir/Patient/{patient.public_id}", raw).status_code == 200
    assert services.api_token_revoke(token=token, by=manager) is True
    assert services.api_token_revoke(token=token, by=manager) is False
    assert _get(client, f"/fhir/Patient/{patient.public_id}", raw).status_code == 401


def test_rate_limit_answers_429_then_recovers(client, manager, patient, settings):
    settings.FHIR_API_RATE_PER_MINUTE = 3
    token, raw = services.api_token_create(name="Busy", scope="clinic", by=manager)
    url = f"/fhir/Patient/{patient.public_id}"
    assert [_get(client, url, raw).status_code for _ in range(4)] == [200, 200, 200, 429]
    limited = _get(client, url, raw)
    assert limited["Retry-After"] == "60"
    assert limited.json()["issue"][0]["code"] == "throttled"
    # A minute later the window starts again.
    ApiToken.objects.filter(pk=token.pk).update(
        window_start=token.created_at - datetime.timedelta(minutes=2)
    )
    assert _get(client, url, raw).status_code == 200


def test_api_is_read_only(client, manager, patient):
    raw = _token(manager)
    response = client.post(
        f"/fhir/Patient/{patient.public_id}", {}, headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 405


def test_only_a_hash_is_stored(manager):
    token, raw = services.api_token_create(name="Lab", scope="clinic", by=manager)
    assert raw not in (token.token_hash, token.prefix) and raw.startswith(token.prefix)
    assert token.token_hash == services.hash_token(raw)


def test_manager_creates_shows_once_and_revokes(manager_client, practitioner):
    response = manager_client.post(
        reverse("records:api_tokens"),
        {"name": "GP portal", "scope": "practitioner", "practitioner": practitioner.pk},
    )
    assert response.status_code == 200
    raw = response.context["created"]["raw"]
    assert raw in response.content.decode()
    token = ApiToken.objects.get(name="GP portal")
    assert token.practitioner == practitioner
    assert raw not in manager_client.get(reverse("records:api_tokens")).content.decode()
    assert AuditEvent.objects.filter(action="create", object_id=str(token.pk)).exists()
    manager_client.post(reverse("records:api_token_revoke", args=[token.public_id]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="revoke", object_id=str(token.pk)).exists()


def test_token_form_explains_mistakes(manager_client):
    response = manager_client.post(
        reverse("records:api_tokens"), {"name": "", "scope": "practitioner"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose the practitioner whose patients it may read." in body
    assert not ApiToken.objects.exists()


def test_other_roles_cannot_manage_tokens(practitioner_client, frontdesk_client):
    for client in (practitioner_client, frontdesk_client):
        assert client.get(reverse("records:api_tokens")).status_code == 403
