"""A manager keeps prices in the app (they could only be edited in the Django admin):
a new list for one location from a date, refused in words when a price is negative,
a package priced against the list, then front desk quotes at that location with it."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mesoclinic.core.models import AuditEvent
from tests.billing.helpers import SCALP, price_list
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_keeps_a_location_price_list_and_a_package_then_it_is_quoted(
    page, manager, frontdesk, patient, catalogue
):
    from sessions.models import Location

    price_list(catalogue)  # the whole clinic's list, from 1 Jan 2026
    Location.objects.create(name="Kensington")
    today = timezone.localdate()

    login(page, "manager")
    page.goto("/billing/prices/")
    page.get_by_role("link", name="New price list").click()
    page.get_by_label("Name", exact=True).fill("Kensington prices")
    page.get_by_label("Applies from").fill(today.isoformat())
    page.get_by_label("Location").select_option(label="Kensington")
    page.get_by_label("Consultation fee").fill("120")
    page.get_by_label("Maintenance session").fill("380")
    page.get_by_label(SCALP).fill("-500")
    page.get_by_role("button", name="Save price list").click()
    expect(page.get_by_text(f"The price of {SCALP} cannot be negative.")).to_be_visible()

    page.get_by_label(SCALP).fill("500")
    page.get_by_label("Add-on name").first.fill("Numbing cream")
    page.get_by_label("Add-on price").first.fill("25")
    page.get_by_role("button", name="Save price list").click()
    expect(page.get_by_text("Price list “Kensington prices")).to_be_visible()
    kensington = page.get_by_test_id("price-list").filter(has_text="Kensington prices")
    expect(kensington).to_contain_text("in force")
    expect(kensington).to_contain_text("£500.00")

    # A package: asked for a price and a percentage at once, it says which to give.
    page.get_by_role("link", name="New package").click()
    page.get_by_label("Name", exact=True).fill("Kensington scalp 3")
    page.get_by_label("Package price").fill("1400")
    page.get_by_label("Or % off").fill("10")
    page.get_by_label(SCALP).fill("3")
    page.get_by_role("button", name="Save package").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text(
        "Give either a package price or a percentage off, not both."
    )
    page.get_by_label("Or % off").fill("")
    page.get_by_role("button", name="Save package").click()
    package = page.get_by_test_id("package").filter(has_text="Kensington scalp 3")
    expect(package).to_contain_text(
        "On Kensington prices (Kensington): £1,400.00 instead of £1,500.00 one by one, "
        "saves £100.00 (6.7%)"
    )
    # The whole clinic's list prices the same sessions lower: dearer there, and said so.
    expect(page.get_by_text("On “Standard from 01 Jan 2026” it costs more")).to_be_visible()
    expect(package).to_contain_text("dearer than per session")
    audited = set(AuditEvent.objects.values_list("object_type", "actor__username"))
    assert {("billing.PriceList", "manager"), ("billing.Package", "manager")} <= audited
    page.get_by_role("button", name="Log out").click()

    # Front desk quotes at Kensington: its own list and the new package.
    login(page, "frontdesk")
    page.goto(f"/billing/quotes/new/{patient.public_id}/")
    page.get_by_label("Location").select_option(label="Kensington")
    page.get_by_label(SCALP).fill("3")
    expect(page.locator('[data-option="single"]').get_by_test_id("total")).to_have_text("£1,500.00")
    offered = page.locator('[data-option^="package:"]').filter(has_text="Kensington scalp 3")
    expect(offered.get_by_test_id("total")).to_have_text("£1,400.00")
