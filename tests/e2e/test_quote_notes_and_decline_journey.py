"""The notes written on a quote reach the patient in the emailed PDF (they used to stay
on the page), and declining is an action the clerk confirms, "Mark as declined", not a
button that reads like a status."""

import io

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

from billing import tasks
from billing.models import Quote
from tests.billing.helpers import SCALP, price_list, scalp_package
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTES = "Includes numbing cream. Please bring your GP's letter to the first session."


def test_quote_notes_are_in_the_emailed_pdf_and_declining_is_confirmed(
    page, frontdesk, patient, catalogue, monkeypatch
):
    price_list(catalogue)
    scalp_package(catalogue)
    monkeypatch.setattr(
        tasks.quote_email_send, "delay", lambda pk: tasks.quote_email_send.apply(args=[pk])
    )
    login(page, "frontdesk")
    page.goto(f"/billing/quotes/new/{patient.public_id}/")
    page.get_by_label(SCALP).fill("3")
    page.get_by_label("Notes on the quote").fill(NOTES)
    expect(page.get_by_text("The patient reads these on the quote and its PDF.")).to_be_visible()
    page.locator('[data-option="single"]').get_by_role("button").click()
    expect(page.get_by_test_id("quote-notes")).to_have_text(NOTES)

    page.get_by_role("button", name="Email to patient").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"on its way to {patient.email}")
    (email,) = mail.outbox
    name, content, mimetype = email.attachments[0]
    assert mimetype == "application/pdf"
    pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert NOTES in " ".join(pdf_text.split())

    # Declining asks first; keeping the quote open changes nothing.
    expect(page.get_by_role("button", name="Declined", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Mark as declined…").click()
    number = Quote.objects.get().number
    dialog = page.get_by_role("dialog", name=f"Mark quote {number} as declined?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("can then no longer be emailed or accepted")
    dialog.get_by_role("button", name="Keep the quote open").click()
    expect(dialog).to_be_hidden()
    assert Quote.objects.get().status == Quote.Status.ISSUED

    page.get_by_role("button", name="Mark as declined…").click()
    dialog.get_by_role("button", name="Mark as declined", exact=True).click()
    expect(page.get_by_text("is marked as declined; it can no longer be accepted")).to_be_visible()
    expect(page.get_by_test_id("quote-declined")).to_contain_text("marked on")
    expect(page.get_by_test_id("quote-declined")).to_contain_text("by Fran")
    expect(page.get_by_role("button", name="Accept quote")).to_have_count(0)
    expect(page.get_by_role("button", name="Email to patient")).to_have_count(0)
    quote = Quote.objects.get()
    assert quote.status == Quote.Status.DECLINED and quote.declined_by == frontdesk
