"""A manager clones the PRP face protocol, changes its spacing, edits its consent and
retires the original, all through the pages a manager uses."""

import re

import pytest
from playwright.sync_api import expect

from protocols.models import Protocol
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_clones_respaces_edits_consent_and_retires(page, manager, catalogue):
    original = catalogue["PRP face rejuvenation"]
    assert (original.min_interval_days, original.target_interval_days) == (14, 28)

    login(page, "manager")
    page.get_by_role("link", name="Protocols").click()
    page.get_by_role("link", name="PRP face rejuvenation", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PRP face rejuvenation")

    # Clone: the copy opens in the editor, ready to adjust.
    page.get_by_role("button", name="Clone").click()
    expect(page.get_by_text("Copied PRP face rejuvenation.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit PRP face rejuvenation (copy)")

    # A contradictory spacing is refused next to the field and nothing is saved.
    page.get_by_label("Name*", exact=True).fill("PRP face rejuvenation, 3-weekly")
    page.get_by_label("Minimum days between sessions").fill("25")
    page.get_by_label("Target days between sessions").fill("21")
    page.get_by_role("button", name="Save protocol").click()
    expect(
        page.get_by_text("The minimum (25 days) is more than the target (21 days).")
    ).to_be_visible()
    expect(page.get_by_label("Minimum days between sessions")).to_have_class(
        re.compile(r"\bis-invalid\b")
    )
    assert not Protocol.objects.filter(name="PRP face rejuvenation, 3-weekly").exists()

    # A sensible spacing is saved.
    page.get_by_label("Minimum days between sessions").fill("18")
    page.get_by_label("Target days between sessions").fill("21")
    page.get_by_label("Maximum days between sessions").fill("35")
    page.get_by_role("button", name="Save protocol").click()
    expect(page.get_by_text("PRP face rejuvenation, 3-weekly saved.")).to_be_visible()
    expect(page.get_by_test_id("spacing")).to_contain_text("target 21 (minimum 18, maximum 35)")
    copy = Protocol.objects.get(name="PRP face rejuvenation, 3-weekly")
    assert (copy.min_interval_days, copy.target_interval_days, copy.max_interval_days) == (
        18,
        21,
        35,
    )
    assert copy.care_instructions.filter(phase="after").count() == (
        original.care_instructions.filter(phase="after").count()
    )

    # Editing the consent makes version 2; version 1 stays as it was.
    versions = page.get_by_test_id("consent-versions")
    expect(versions.locator("tbody tr")).to_have_count(1)
    first_text = copy.consent_versions.get().text
    page.get_by_role("link", name="Edit consent").click()
    expect(page.get_by_text("Saving makes version 2.")).to_be_visible()
    consent = page.get_by_label("Consent text")
    expect(consent).to_have_value(first_text)
    consent.fill(
        first_text + "\n\nI agree that {clinic_name} may take photographs of {areas} "
        "for my clinical record."
    )
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("Consent version 2 saved.")).to_be_visible()
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions.locator("tbody tr").first).to_contain_text("v2")
    expect(versions.locator("tbody tr").first).to_contain_text("current")
    expect(versions.locator("tbody tr").first).to_contain_text("manager")
    v1, v2 = copy.consent_versions.order_by("number")
    assert (v1.number, v1.text) == (1, first_text)
    assert v2.number == 2 and v2.created_by == manager
    assert v2.text.endswith("may take photographs of {areas} for my clinical record.")
    assert v2.text_sha256 != v1.text_sha256

    # The patient view shows the new text with the placeholders filled in.
    page.get_by_role("link", name="Patient view").click()
    preview = page.get_by_test_id("consent-preview")
    expect(preview).to_contain_text("Mesoclinic Demo Clinic may take photographs of")
    expect(preview).not_to_contain_text("{clinic_name}")
    expect(preview).to_contain_text("[patient's name]")

    # Retire the original: it stays readable, marked retired, and cannot be booked.
    page.get_by_role("link", name="Protocols").click()
    page.get_by_role("link", name="PRP face rejuvenation", exact=True).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Retire").click()
    expect(page.get_by_text("PRP face rejuvenation is retired")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("retired — cannot be booked")
    original.refresh_from_db()
    assert not original.is_active and original.retired_at is not None
    assert not Protocol.objects.bookable().filter(pk=original.pk).exists()
    assert Protocol.objects.bookable().filter(pk=copy.pk).exists()

    page.get_by_role("link", name="Protocols").click()
    retired_card = page.get_by_test_id("protocol-card").filter(
        has=page.get_by_role("link", name="PRP face rejuvenation", exact=True)
    )
    expect(retired_card).to_contain_text("retired")
    copy_card = page.get_by_test_id("protocol-card").filter(
        has_text=re.compile(r"PRP face rejuvenation, 3-weekly")
    )
    expect(copy_card).to_contain_text("every 21 days")
    expect(copy_card).not_to_contain_text("retired")
