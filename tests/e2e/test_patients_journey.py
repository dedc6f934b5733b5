"""Front desk registers and finds a patient; a practitioner screens and sees treatment blocked."""

import pytest
from playwright.sync_api import expect

from protocols.screening import QUESTIONS
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_front_desk_registers_and_finds_patient_then_practitioner_screens(
    page, frontdesk, practitioner
):
    login(page, "frontdesk")
    page.get_by_role("link", name="Register a patient").first.click()
    page.get_by_label("First name").fill("Josephine")
    page.get_by_label("Last name").fill("Whitaker")
    page.get_by_label("Date of birth").fill("1984-03-09")
    page.get_by_label("Phone").fill("07911 123456")
    page.get_by_label("Email").fill("jo.whitaker@example.com")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Josephine Whitaker")

    page.get_by_role("link", name="Patients").click()
    page.get_by_role("searchbox", name="Find a patient").fill("Josefine Whittaker")
    results = page.get_by_test_id("patient-results")
    expect(results).to_contain_text("Whitaker")
    results.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Josephine Whitaker")
    patient_url = page.url
    page.get_by_role("button", name="Log out").click()

    login(page, "practitioner")
    page.goto(patient_url)
    page.get_by_role("link", name="New screening").click()
    page.get_by_label("Who answered").select_option(label="The patient")
    for question in QUESTIONS:
        answer = "Yes" if question.code == "platelet_disorder" else "No"
        page.get_by_role("group", name=question.label).get_by_label(answer).check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_test_id("screening-status")).to_contain_text("Treatment blocked")
    expect(
        page.get_by_text("Blood or platelet disorder: treatment must not go ahead.")
    ).to_be_visible()


def test_the_different_person_confirmation_appears_only_beside_possible_duplicates(page, frontdesk):
    """A typo gets its message and nothing else; a look-alike is listed with the
    confirmation, and ticking it registers the second person."""
    login(page, "frontdesk")

    def fill(phone: str) -> None:
        page.goto("/patients/new/")
        page.get_by_label("First name").fill("Josephine")
        page.get_by_label("Last name").fill("Whitaker")
        page.get_by_label("Date of birth").fill("1984-03-09")
        page.get_by_label("Phone").fill(phone)
        page.get_by_label("Email").fill("jo.whitaker@example.com")

    confirmation = page.get_by_label("this is a different person")
    fill("12345")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("not valid")).to_be_visible()
    expect(confirmation).to_have_count(0)
    page.get_by_label("Phone").fill("07911 123456")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Josephine Whitaker")
    first_url = page.url

    # Her twin sister: same name and birth date, another phone and email.
    fill("07911 123457")
    page.get_by_label("Email").fill("josie.whitaker@example.com")
    page.get_by_role("button", name="Register").click()
    warning = page.get_by_test_id("duplicate-warning")
    expect(warning).to_contain_text("Josephine Whitaker, born 09 Mar 1984")
    expect(warning.get_by_role("link", name="Josephine Whitaker")).to_have_attribute(
        "href", first_url.removeprefix(page.url.split("/patients/")[0])
    )
    confirmation.check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Josephine Whitaker")
    assert page.url != first_url
