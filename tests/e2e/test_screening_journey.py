"""Screening in the browser: a blank questionnaire is refused (it used to save as "No
contraindications reported"), explicit answers are recorded with who gave them, and the
front desk then reads the status alone, never the answers."""

import pytest
from playwright.sync_api import expect

from patients.models import Screening
from protocols.screening import QUESTIONS
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_blank_screening_is_refused_then_answers_are_recorded_with_who_answered(
    page, practitioner, frontdesk, patient
):
    login(page, "practitioner")
    page.goto(f"/patients/{patient.public_id}/")
    page.get_by_role("link", name="New screening").click()
    page.get_by_role("button", name="Save screening").click()

    errors = page.get_by_test_id("screening-errors")
    expect(errors).to_contain_text(f"{len(QUESTIONS)} questions have no answer")
    expect(page.get_by_text("Say who answered the questions.")).to_be_visible()
    first = page.get_by_role("group", name=QUESTIONS[0].label)
    expect(first).to_contain_text("Answer yes or no.")
    assert not Screening.objects.exists()

    # "None of these apply" with one answer yes is a contradiction, said so.
    page.get_by_label("Who answered").select_option(label="A parent or guardian")
    page.get_by_label("Their name").fill("Ann Lee")
    page.get_by_label("None of these apply").check()
    page.get_by_role("group", name="Takes blood thinners").get_by_label("Yes").check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("the answer to Takes blood thinners is yes")).to_be_visible()
    assert not Screening.objects.exists()

    page.get_by_role("group", name="Takes blood thinners").get_by_label("No").check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_test_id("screening-status")).to_contain_text("Clear to treat")
    expect(page.get_by_test_id("screening-provenance")).to_contain_text(
        "answered by a parent or guardian (Ann Lee); recorded by Priya"
    )
    expect(page.get_by_text("confirmed that none of the questions applies")).to_be_visible()


def test_front_desk_reads_the_screening_status_but_not_the_answers(
    page, practitioner, frontdesk, patient
):
    from tests.factories import ScreeningFactory

    ScreeningFactory(patient=patient, platelet_disorder=True, smoker=True, recorded_by=practitioner)
    login(page, "frontdesk")
    page.goto(f"/patients/{patient.public_id}/")
    expect(page.get_by_test_id("screening-status")).to_contain_text("Treatment blocked")
    expect(page.get_by_text("a practitioner must review it with the patient")).to_be_visible()
    body = page.locator("body")
    for label in ("Blood or platelet disorder", "Smokes or vapes", "must not go ahead"):
        expect(body).not_to_contain_text(label)
