import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEvent
from patients import selectors, services
from patients.models import Patient, Screening
from protocols import screening as screening_rules
from tests.factories import PatientFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

VALID = {
    "first_name": "Josephine",
    "last_name": "Whitaker",
    "preferred_name": "",
    "date_of_birth": "1984-03-09",
    "sex": "female",
    "phone": "07911 123456",
    "email": "Jo.Whitaker@Example.com",
    "preferred_channel": "email",
    "consents_to_transactional": "on",
}


def all_answered(answer: str) -> dict[str, str]:
    """Every question answered `answer` ("yes"/"no"), by the patient."""
    return {**{q.code: answer for q in screening_rules.QUESTIONS}, "answered_by": "patient"}


def test_register_normalises_and_audits(frontdesk_client, frontdesk):
    response = frontdesk_client.post(reverse("patients:create"), VALID)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.public_id])
    assert patient.phone == "+447911123456"
    assert patient.email == "jo.whitaker@example.com"
    assert patient.search_name == "josephine whitaker"
    assert patient.created_by == frontdesk
    assert AuditEvent.objects.filter(
        patient_id=patient.pk, action="create", actor=frontdesk
    ).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth", "before 1900"),
        ({"date_of_birth": "not-a-date"}, "date_of_birth", "Enter a valid date"),
        ({"phone": "12345"}, "phone", "not valid"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"first_name": ""}, "first_name", "required"),
        ({"last_name": "x" * 81}, "last_name", "at most 80"),
        ({"notes": "x" * 4001}, "notes", "at most 4000"),
        ({"email": "", "preferred_channel": "email"}, "email", "needed"),
        ({"phone": "", "preferred_channel": "sms"}, "phone", "needed"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_saves_nothing(
    frontdesk_client, change, field, message
):
    response = frontdesk_client.post(reverse("patients:create"), {**VALID, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert not Patient.objects.exists()


def test_duplicate_warning_then_confirmed_creation(frontdesk_client):
    PatientFactory(
        first_name="Josephine", last_name="Whitaker", date_of_birth=datetime.date(1984, 3, 9)
    )
    response = frontdesk_client.post(reverse("patients:create"), VALID)
    assert response.status_code == 200
    assert len(response.context["form"].duplicates) == 1
    assert b"Possible duplicate" in response.content
    assert Patient.objects.count() == 1
    response = frontdesk_client.post(
        reverse("patients:create"), {**VALID, "confirm_not_duplicate": "on"}
    )
    assert response.status_code == 302
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(
    "existing",
    [
        {
            "first_name": "josephine",
            "last_name": "WHITAKER",
            "date_of_birth": datetime.date(1984, 3, 9),
        },
        {"phone": "+447911123456"},
        {"email": "jo.whitaker@example.com"},
    ],
)
def test_possible_duplicates_by_name_and_birth_date_phone_or_email(existing):
    match = PatientFactory(**existing)
    PatientFactory(
        first_name="Josephine", last_name="Whitaker", date_of_birth=datetime.date(1990, 1, 1)
    )
    found = selectors.possible_duplicates(
        first_name="Josephine",
        last_name="Whitaker",
        date_of_birth=datetime.date(1984, 3, 9),
        phone="+447911123456",
        email="Jo.Whitaker@example.com",
    )
    assert found == [match]


def test_no_duplicate_for_a_different_person():
    PatientFactory(
        first_name="Josephine", last_name="Whitaker", date_of_birth=datetime.date(1990, 1, 1)
    )
    assert not selectors.possible_duplicates(
        first_name="Josephine", last_name="Whitaker", date_of_birth=datetime.date(1984, 3, 9)
    )


@pytest.mark.parametrize(
    "query",
    [
        "Josefine Whittaker",
        "whitaker",
        "Whitacker Josephine",
        "+44 7911 123456",
        "07911123456",
        "09/03/1984",
        "1984-03-09",
        "jo.whit",
        "Whit\x00aker",
    ],
)
def test_search_is_typo_tolerant_and_understands_phone_email_and_birth_date(query):
    target = PatientFactory(
        first_name="Josephine",
        last_name="Whitaker",
        date_of_birth=datetime.date(1984, 3, 9),
        phone="+447911123456",
        email="jo.whitaker@example.com",
    )
    PatientFactory.create_batch(
        5, first_name="Mark", last_name="Brown", date_of_birth=datetime.date(1970, 1, 1)
    )
    results = list(selectors.patient_search(query=query))
    assert results and results[0] == target


def test_archived_patients_are_hidden_unless_asked_for(frontdesk, frontdesk_client):
    patient = PatientFactory(last_name="Archer")
    services.patient_archive(patient=patient, by=frontdesk)
    assert not list(selectors.patient_search(query="Archer"))
    assert list(selectors.patient_search(query="Archer", include_archived=True)) == [patient]
    response = frontdesk_client.post(reverse("patients:archive", args=[patient.public_id]))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.is_archived  # archiving twice is refused with a message, nothing changes


def test_unknown_patient_id_is_404(frontdesk_client):
    import uuid

    assert frontdesk_client.get(reverse("patients:detail", args=[uuid.uuid4()])).status_code == 404
    assert frontdesk_client.get("/patients/12/").status_code == 404


def test_viewing_a_patient_page_writes_one_audit_row(practitioner_client, practitioner, patient):
    before = AuditEvent.objects.count()
    practitioner_client.get(
        reverse("patients:detail", args=[patient.public_id]), REMOTE_ADDR="10.1.2.3"
    )
    event = AuditEvent.objects.get(pk__gt=0, action="view")
    assert AuditEvent.objects.count() == before + 1
    assert (event.actor, event.patient_id, event.ip_address) == (
        practitioner,
        patient.pk,
        "10.1.2.3",
    )


def test_audit_log_is_append_only_in_the_database(practitioner, patient):
    from django.db import InternalError, transaction

    event = AuditEvent.objects.create(
        actor=practitioner, actor_label="x", patient_id=patient.pk, action="view"
    )
    for statement in (
        "UPDATE core_auditevent SET summary = 'x' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(InternalError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])


def test_manager_filters_the_audit_log(manager_client, practitioner, patient):
    AuditEvent.objects.create(
        actor=practitioner, actor_label="practitioner", patient_id=patient.pk, action="view"
    )
    AuditEvent.objects.create(
        actor=practitioner, actor_label="practitioner", patient_id=patient.pk, action="change"
    )
    response = manager_client.get(
        reverse("audit_log"), {"action": "change", "user": "practitioner"}
    )
    assert [e.action for e in response.context["page"]] == ["change"]
    response = manager_client.get(
        reverse("audit_log"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert "start date is after" in response.content.decode()


def test_practitioner_records_screening_and_acknowledges(practitioner_client, patient):
    url = reverse("patients:screening_create", args=[patient.public_id])
    today = timezone.localdate()
    response = practitioner_client.post(
        url, {**all_answered("no"), "taken_on": today.isoformat(), "smoker": "yes"}
    )
    assert response.status_code == 302
    screening = Screening.objects.get()
    assert screening.smoker and not screening.platelet_disorder
    assert screening.answered_by == "patient" and not screening.none_apply
    page = practitioner_client.get(reverse("patients:screening", args=[patient.public_id]))
    assert page.context["evaluation"].status == "needs_acknowledgement"
    practitioner_client.post(
        reverse("patients:screening", args=[patient.public_id]),
        {"code": "smoker", "reason": "Stopped a month ago; discussed healing."},
    )
    page = practitioner_client.get(reverse("patients:screening", args=[patient.public_id]))
    assert page.context["evaluation"].status == "clear"


def test_future_screening_is_refused(practitioner_client, patient):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = practitioner_client.post(
        reverse("patients:screening_create", args=[patient.public_id]),
        {**all_answered("no"), "taken_on": tomorrow.isoformat()},
    )
    assert response.status_code == 200
    assert "future" in str(response.context["form"].errors)
    assert not Screening.objects.exists()


def test_acknowledging_something_not_reported_is_refused(practitioner):
    screening = ScreeningFactory(recorded_by=practitioner)
    with pytest.raises(services.PatientError, match="did not report"):
        services.screening_acknowledge(
            screening=screening, code="smoker", reason="fine really", by=practitioner
        )


def test_query_counts_do_not_grow_with_patients(practitioner_client):
    """List, search and patient page: the same number of queries at 3 and at 60 patients,
    with screenings, acknowledgements and audit rows growing alongside."""
    from django.test.utils import CaptureQueriesContext

    target = PatientFactory(first_name="Tamsin", last_name="Taylor")

    def grow(count):
        for p in PatientFactory.create_batch(count, last_name="Taylor"):
            ScreeningFactory(patient=p, smoker=True)
        ScreeningFactory(patient=target, smoker=True, anticoagulants=True)

    def counts():
        pages = {
            "list": (reverse("patients:list"), {}),
            "search": (reverse("patients:list"), {"q": "Tailor"}),
            "detail": (reverse("patients:detail", args=[target.public_id]), {}),
        }
        result = {}
        for name, (url, params) in pages.items():
            with CaptureQueriesContext(connection) as queries:
                assert practitioner_client.get(url, params).status_code == 200
            result[name] = len(queries)
        return result

    grow(3)
    small = counts()
    grow(57)
    large = counts()
    assert large == small, (small, large)
    assert small["list"] <= 4 and small["search"] <= 4
    # The panels and the timeline share one read per app (issue 17): at most 12 for
    # every role (tests/patients/test_timeline.py counts each role with a long history).
    assert small["detail"] <= 12


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
        ({"phone": "+44 79"}, "phone", "not valid"),
        ({"email": "jo@@example"}, "email", "valid email"),
        ({"allergies": "x" * 2001}, "allergies", "at most 2000"),
        ({"fitzpatrick_type": "7"}, "fitzpatrick_type", "valid choice"),
        ({"sex": "unicorn"}, "sex", "valid choice"),
    ],
)
def test_editing_with_bad_input_changes_nothing(frontdesk_client, change, field, message):
    patient = PatientFactory(first_name="Edith", phone="+447911000111")
    before = Patient.objects.filter(pk=patient.pk).values().get()
    response = frontdesk_client.post(
        reverse("patients:edit", args=[patient.public_id]), {**VALID, **change}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Patient.objects.filter(pk=patient.pk).values().get() == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"other_information": "x" * 4001}, "other_information", "at most 4000"),
        ({"current_medications": "x" * 2001}, "current_medications", "at most 2000"),
        ({"taken_on": ""}, "taken_on", "required"),
        ({"taken_on": "31/02/2026"}, "taken_on", "valid date"),
    ],
)
def test_bad_screening_input_saves_nothing(practitioner_client, patient, change, field, message):
    data = {**all_answered("no"), "taken_on": timezone.localdate().isoformat(), **change}
    response = practitioner_client.post(
        reverse("patients:screening_create", args=[patient.public_id]), data
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Screening.objects.exists()


def test_a_tampered_patient_id_never_reaches_another_record(practitioner_client, patient):
    other = PatientFactory()
    url = reverse("patients:edit", args=[patient.public_id])
    tampered = url.replace(str(patient.public_id), str(patient.public_id)[:-1] + "0")
    if tampered == url:
        tampered = url.replace(str(patient.public_id), str(patient.public_id)[:-1] + "1")
    assert practitioner_client.post(tampered, {**VALID}).status_code == 404
    assert practitioner_client.get(f"/patients/{other.pk}/").status_code == 404
    assert practitioner_client.get("/patients/not-a-uuid/screening/").status_code == 404
    patient.refresh_from_db()
    assert patient.first_name != "Josephine"
