"""Front desk quotes a 3-session PRP scalp course next to a package, emails the quote,
the patient accepts, the deposit is taken; the PDF carries the totals the page showed."""

import io
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

from billing import tasks
from billing.models import Payment, Quote
from tests.billing.helpers import SCALP, price_list, scalp_package
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_front_desk_quotes_compares_emails_accepts_and_takes_deposit(
    page, frontdesk, patient, catalogue, monkeypatch
):
    price_list(catalogue)
    scalp_package(catalogue)
    # The email task runs in place of a worker, in the live server's thread.
    monkeypatch.setattr(
        tasks.quote_email_send, "delay", lambda pk: tasks.quote_email_send.apply(args=[pk])
    )
    login(page, "frontdesk")
    page.goto(f"/patients/{patient.public_id}/")
    page.get_by_test_id("billing-panel").get_by_role("link", name="New quote").click()

    page.get_by_label(SCALP).fill("3")
    options = page.get_by_test_id("option")
    expect(options).to_have_count(2)
    single = page.locator('[data-option="single"]')
    package = page.locator('[data-option^="package:"]')
    expect(single.get_by_test_id("total")).to_have_text("£1,350.00")
    expect(package).to_contain_text("Scalp course of 3")
    expect(package.get_by_test_id("saving")).to_contain_text("£200.00 (14.8%)")
    expect(package.get_by_test_id("total")).to_have_text("£1,150.00")

    package.get_by_role("button", name="Quote: Scalp course of 3").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Quote Q-")
    totals = page.get_by_test_id("quote-totals")
    page_total = totals.get_by_test_id("total").inner_text()
    page_deposit = totals.get_by_test_id("deposit").inner_text()
    page_tax = totals.get_by_test_id("tax").inner_text()
    assert (page_total, page_deposit) == ("£1,150.00", "£230.00")

    page.get_by_role("button", name="Email to patient").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"on its way to {patient.email}")
    (email,) = mail.outbox
    quote = Quote.objects.get()
    assert quote.number in email.subject and email.attachments[0][0] == f"{quote.number}.pdf"

    pdf = page.request.get(f"/billing/quotes/{quote.public_id}/pdf/")
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert f"Total {page_total}" in text
    assert f"Deposit {page_deposit}" in text
    assert page_tax in text

    page.get_by_role("button", name="Accept quote").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Scalp course of 3")
    expect(page.get_by_test_id("credits")).to_contain_text("3")
    form = page.get_by_test_id("payment-form")
    expect(form.get_by_label("Amount")).to_have_value("230.00")
    form.get_by_label("Method").select_option("card")
    # A double click sends the same form (same one-time token) twice: one payment.
    form.get_by_role("button", name="Take payment").evaluate("b => { b.click(); b.click(); }")
    expect(page.get_by_test_id("paid")).to_have_text("£230.00")
    expect(page.get_by_test_id("balance-due")).to_have_text("£920.00")
    expect(page.get_by_test_id("payments")).to_contain_text("Payment (deposit) · Card")
    payment = Payment.objects.get()
    assert payment.amount == Decimal("230.00") and payment.is_deposit
