"""A screening is explicit: every question answered yes or no, or "none of these apply"
confirmed, and it says who answered. A blank questionnaire is never "all clear"."""

import pytest
from django.urls import reverse
from django.utils import timezone

from patients import selectors, services
from patients.models import Screening
from protocols import screening

pytestmark = pytest.mark.django_db

CODES = [q.code for q in screening.QUESTIONS]


def answers(value: bool | None, **overrides) -> dict[str, bool | None]:
    return {**dict.fromkeys(CODES, value), **overrides}


def record(patient, by, **kwargs):
    defaults = {
        "patient": patient,
        "taken_on": timezone.localdate(),
        "answers": answers(False),
        "answered_by": "patient",
        "by": by,
    }
    return services.screening_record(**{**defaults, **kwargs})


def test_a_blank_questionnaire_is_refused_not_read_as_no(patient, practitioner):
    with pytest.raises(services.PatientError) as refused:
        record(patient, practitioner, answers=answers(None))
    assert f"{len(CODES)} questions have no answer" in " ".join(refused.value.messages)
    assert set(CODES) <= set(refused.value.message_dict)
    assert not Screening.objects.exists()


def test_one_question_left_open_is_refused(patient, practitioner):
    with pytest.raises(services.PatientError, match="1 question has no answer"):
        record(patient, practitioner, answers=answers(False, smoker=None))
    assert not Screening.objects.exists()


def test_none_apply_records_every_answer_no_and_says_so(patient, practitioner):
    item = record(patient, practitioner, answers=answers(None), none_apply=True)
    assert item.none_apply and not item.positive_answers()
    assert item.answers() == dict.fromkeys(CODES, False)
    assert selectors.screening_evaluation(latest=item).status == screening.Status.CLEAR


def test_none_apply_with_a_yes_is_a_contradiction(patient, practitioner):
    with pytest.raises(services.PatientError, match="Blood or platelet disorder is yes"):
        record(
            patient,
            practitioner,
            answers=answers(None, platelet_disorder=True),
            none_apply=True,
        )
    assert not Screening.objects.exists()


@pytest.mark.parametrize(
    ("answered_by", "name", "message"),
    [
        ("", "", "Say who answered"),
        ("someone", "", "Say who answered"),
        ("guardian", "  ", "Give the name of the person who answered"),
    ],
)
def test_who_answered_is_required(patient, practitioner, answered_by, name, message):
    with pytest.raises(services.PatientError, match=message):
        record(patient, practitioner, answered_by=answered_by, answered_by_name=name)
    assert not Screening.objects.exists()


def test_someone_answering_for_the_patient_is_named(patient, practitioner):
    item = record(patient, practitioner, answered_by="guardian", answered_by_name="Ann Lee")
    assert item.answered_by_text == "a parent or guardian (Ann Lee)"
    assert item.recorded_by == practitioner
    # The patient answering for themselves needs no name (a stray one is not kept).
    item = record(patient, practitioner, answered_by="patient", answered_by_name="x")
    assert item.answered_by_text == "the patient"


def test_the_blank_form_shows_each_open_question_and_saves_nothing(practitioner_client, patient):
    url = reverse("patients:screening_create", args=[patient.public_id])
    response = practitioner_client.post(
        url, {"taken_on": timezone.localdate().isoformat(), "answered_by": "patient"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["platelet_disorder"] == ["Answer yes or no."]
    assert "None of these apply" in " ".join(form.non_field_errors())
    assert not Screening.objects.exists()
    # No answer is chosen for the person: every radio button starts unchecked.
    page = practitioner_client.get(url).content.decode()
    assert 'type="radio"' in page and " checked" not in page


def test_the_screening_page_says_who_answered_and_who_recorded(
    practitioner_client, patient, practitioner
):
    record(patient, practitioner, answered_by="interpreter", answered_by_name="Dana Cruz")
    page = practitioner_client.get(reverse("patients:screening", args=[patient.public_id]))
    text = page.content.decode()
    assert "answered by the patient, through an interpreter (Dana Cruz)" in text
    assert "recorded by Priya" in text
