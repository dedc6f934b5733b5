"""Two clerks take the same balance a moment apart: the second is told plainly that
the payment was NOT taken and why, although the balance is now zero (the page used to
answer 400 with "Balance due £0.00" and no message, the form and its error hidden)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing import selectors
from billing.models import Payment
from mesoclinic.core import roles
from tests.billing.helpers import accepted_purchase
from tests.conftest import make_user
from tests.e2e.conftest import TABLET, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_second_clerk_reads_that_the_payment_was_not_taken_and_why(
    browser, live_server, page, frontdesk, patient, catalogue
):
    make_user("frontdesk2", roles.FRONT_DESK, first_name="Sam")
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=timezone.localdate())
    invoice = selectors.purchase_invoice(purchase)
    url = f"/billing/invoices/{invoice.public_id}/"

    other = browser.new_context(viewport=TABLET, base_url=live_server.url)
    other_page = other.new_page()
    try:
        login(page, "frontdesk")
        login(other_page, "frontdesk2")
        for clerk in (page, other_page):
            clerk.goto(url)
            expect(clerk.get_by_test_id("balance-due")).to_have_text("£1,150.00")
            form = clerk.get_by_test_id("payment-form")
            form.get_by_label("Amount").fill("1150.00")
            form.get_by_label("Method").select_option("card")

        page.get_by_test_id("payment-form").get_by_role("button", name="Take payment").click()
        expect(page.get_by_text("Payment of 1150.00 recorded.")).to_be_visible()

        other_page.get_by_test_id("payment-form").get_by_role("button", name="Take payment").click()
        refused = other_page.get_by_test_id("payment-refused")
        expect(refused).to_be_visible()
        expect(refused).to_contain_text("The payment was not taken.")
        expect(refused).to_contain_text(
            "Payment NOT taken: nothing is due on this invoice any more, it is paid in full."
        )
        expect(refused).to_contain_text("Do not charge the patient.")
        expect(refused).to_contain_text("£1,150.00 by card, was taken by Fran")
        expect(other_page.get_by_test_id("balance-due")).to_have_text("£0.00")
    finally:
        other.close()
    assert Payment.objects.count() == 1
