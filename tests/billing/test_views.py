"""Billing pages: the quote builder, acceptance, payments, PDFs, email, reports."""

import datetime
import io
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from billing import selectors, services, tasks
from billing.models import Invoice, Payment, Price, Purchase, Quote
from mesoclinic.core import outbox
from mesoclinic.core.models import OutboundMessage
from tests.billing.helpers import SCALP, accepted_purchase, price_list, scalp_package

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def priced(catalogue):
    return {"list": price_list(catalogue), "package": scalp_package(catalogue)}


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_builder_compares_live_and_saves_the_chosen_package(
    frontdesk_client, patient, catalogue, priced
):
    url = reverse("billing:quote_new", args=[patient.public_id])
    field = f"sessions_{catalogue[SCALP].pk}"
    page = frontdesk_client.get(url)
    assert page.status_code == 200 and field.encode() in page.content
    partial = frontdesk_client.get(url, {field: "3"}, HTTP_HX_REQUEST="true")
    text = partial.content.decode()
    assert "<html" not in text
    assert "Pay per session" in text and "Scalp course of 3" in text
    assert "£1,350.00" in text and "£1,150.00" in text and "£200.00 (14.8%)" in text
    addon = Price.objects.get(kind=Price.Kind.ADDON)
    with_addon = frontdesk_client.get(
        url, {field: "3", f"addon_{addon.pk}": "2"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "+ 2 × Exosome serum" in with_addon and "£1,650.00" in with_addon  # 1350 + 300
    package_key = f"package:{priced['package'].public_id}"
    response = frontdesk_client.post(url, {field: "3", "choose": package_key})
    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:quote_detail", args=[quote.public_id])
    assert quote.total == Decimal("1150.00") and quote.package == priced["package"]
    detail = frontdesk_client.get(response["Location"]).content.decode()
    assert "Q-2026-00001" in detail and "£230.00" in detail


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"discount_percent": "150", "discount_reason": "x"}, "more than 100%"),
        ({"discount_percent": "-5"}, "cannot be negative"),
        ({"discount_percent": "5"}, "Say why the discount is given"),
    ],
)
def test_bad_quote_input_is_a_form_message(
    frontdesk_client, patient, catalogue, priced, extra, message
):
    url = reverse("billing:quote_new", args=[patient.public_id])
    data = {f"sessions_{catalogue[SCALP].pk}": "3", "choose": "single", **extra}
    response = frontdesk_client.post(url, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Quote.objects.exists()


def test_discount_above_limit_needs_manager(
    frontdesk_client, manager, client, patient, catalogue, priced
):
    url = reverse("billing:quote_new", args=[patient.public_id])
    data = {
        f"sessions_{catalogue[SCALP].pk}": "3",
        "choose": "single",
        "discount_percent": "20",
        "discount_reason": "Loyal patient",
    }
    frontdesk_client.post(url, data)
    quote = Quote.objects.get()
    assert quote.status == Quote.Status.PENDING_APPROVAL
    approve = reverse("billing:quote_approve", args=[quote.public_id])
    assert frontdesk_client.post(approve).status_code == 403
    client.force_login(manager)
    client.post(approve)
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ISSUED and quote.approved_by == manager


def test_expired_quote_is_refused_with_a_message(frontdesk_client, patient, catalogue, priced):
    quote = services.quote_create(
        patient=patient,
        price_list=priced["list"],
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key="single",
        by=patient.created_by or _user(),
        today=TODAY - datetime.timedelta(days=40),
    )
    response = frontdesk_client.post(
        reverse("billing:quote_accept", args=[quote.public_id]), {"instalments": "0"}, follow=True
    )
    assert "expired" in response.content.decode()
    assert not Purchase.objects.exists()


def _user():
    from tests.factories import UserFactory

    return UserFactory()


def test_accept_then_deposit_double_submit_and_overpayment(
    frontdesk_client, frontdesk, patient, catalogue, priced
):
    quote = services.quote_create(
        patient=patient,
        price_list=priced["list"],
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key=f"package:{priced['package'].public_id}",
        by=frontdesk,
        today=TODAY,
    )
    response = frontdesk_client.post(
        reverse("billing:quote_accept", args=[quote.public_id]), {"instalments": "3"}
    )
    purchase = Purchase.objects.get()
    assert response["Location"] == reverse("billing:purchase_detail", args=[purchase.public_id])
    page = frontdesk_client.get(response["Location"]).content.decode()
    assert 'value="230.00"' in page  # the deposit is suggested
    invoice = selectors.purchase_invoice(purchase)
    pay = reverse("billing:payment_create", args=[invoice.public_id])
    form = {"token": str(uuid.uuid4()), "amount": "230.00", "method": "card", "is_deposit": "on"}
    first = frontdesk_client.post(pay, form, follow=True)
    second = frontdesk_client.post(pay, form, follow=True)
    assert "Payment of 230.00 recorded" in first.content.decode()
    assert "already recorded" in second.content.decode()
    assert Payment.objects.count() == 1
    too_much = {"token": str(uuid.uuid4()), "amount": "5000", "method": "cash"}
    response = frontdesk_client.post(pay, too_much)
    assert response.status_code == 400
    assert "Payment NOT taken: £5,000.00 is more than the £920.00 still due" in (
        response.content.decode()
    )
    negative = {"token": str(uuid.uuid4()), "amount": "-5", "method": "cash"}
    assert frontdesk_client.post(pay, negative).status_code == 400
    refund = reverse("billing:refund_create", args=[invoice.public_id])
    response = frontdesk_client.post(
        refund, {"token": str(uuid.uuid4()), "amount": "300", "method": "card"}
    )
    assert response.status_code == 400 and "can be refunded" in response.content.decode()
    assert Payment.objects.count() == 1


def test_quote_pdf_and_email_show_the_page_totals(
    django_capture_on_commit_callbacks, frontdesk_client, frontdesk, patient, catalogue, priced
):
    quote = services.quote_create(
        patient=patient,
        price_list=priced["list"],
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key=f"package:{priced['package'].public_id}",
        by=frontdesk,
        today=TODAY,
    )
    response = frontdesk_client.get(reverse("billing:quote_pdf", args=[quote.public_id]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for figure in ("Total £1,150.00", "Deposit £230.00", "£191.67", "£1,350.00", quote.number):
        assert figure in text
    with pytest.MonkeyPatch.context() as mp:
        queued = []
        mp.setattr(tasks.quote_email_send, "delay", lambda pk: queued.append(pk))
        with django_capture_on_commit_callbacks(execute=True):
            frontdesk_client.post(reverse("billing:quote_email", args=[quote.public_id]))
    assert queued == [quote.pk]
    tasks.quote_email_send.apply(kwargs={"quote_id": quote.pk})
    (email,) = mail.outbox
    assert email.to == [patient.email] and quote.number in email.subject
    assert "£1,150.00" in email.body and "£1,150.00" in email.alternatives[0][0]
    assert email.attachments[0][0] == f"{quote.number}.pdf"
    quote.refresh_from_db()
    assert quote.emailed_at == NOW


def test_invoice_pdf_and_credit_note(manager_client, frontdesk, patient, catalogue, priced):
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    text = pdf_text(
        manager_client.get(reverse("billing:invoice_pdf", args=[invoice.public_id])).content
    )
    assert invoice.number in text and "Total £1,150.00" in text and "Balance £1,150.00" in text
    url = reverse("billing:credit_note_create", args=[invoice.public_id])
    response = manager_client.post(url, {"amount": "2000", "reason": "x"})
    assert response.status_code == 400 and "At most" in response.content.decode()
    response = manager_client.post(url, {"amount": "50", "reason": "Goodwill"})
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response["Location"] == reverse("billing:invoice_detail", args=[note.public_id])
    assert "Credit note" in pdf_text(
        manager_client.get(reverse("billing:invoice_pdf", args=[note.public_id])).content
    )


def test_cancel_shows_the_refund_before_confirming(
    frontdesk_client, frontdesk, patient, catalogue, priced
):
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    services.payment_record(
        invoice=invoice, amount=Decimal("1150"), method="card", token=uuid.uuid4(), by=frontdesk
    )
    url = reverse("billing:purchase_cancel", args=[purchase.public_id])
    page = frontdesk_client.get(url).content.decode()
    assert "£1,150.00" in page  # nothing used yet: everything back
    response = frontdesk_client.post(url, {"token": str(uuid.uuid4()), "method": "card"})
    assert "This field is required" in response.content.decode()  # the confirmation box
    frontdesk_client.post(url, {"token": str(uuid.uuid4()), "method": "card", "confirm": "on"})
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CANCELLED
    assert selectors.invoice_balance(invoice).refunded == Decimal("1150.00")


def test_instalment_reminder_is_sent_only_while_unpaid(frontdesk, patient, catalogue, priced):
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY, instalments=2)
    invoice = selectors.purchase_invoice(purchase)
    message = OutboundMessage.objects.filter(kind="instalment_due").order_by("due_at").first()
    with time_machine.travel(message.due_at, tick=False):
        outbox.deliver(ids=[message.pk])
    (email,) = mail.outbox
    assert "£460.00" in email.subject and invoice.number in email.body
    services.payment_record(
        invoice=invoice, amount=Decimal("1150"), method="card", token=uuid.uuid4(), by=frontdesk
    )
    later = OutboundMessage.objects.filter(kind="instalment_due").order_by("due_at").last()
    with time_machine.travel(later.due_at, tick=False):
        outbox.deliver(ids=[later.pk])
    later.refresh_from_db()
    assert later.state == OutboundMessage.State.CANCELLED
    assert len(mail.outbox) == 1


def test_reports_page_and_csv(manager_client, frontdesk, patient, catalogue, priced):
    accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    page = manager_client.get(reverse("billing:reports"), {"start": "2026-01-01"})
    text = page.content.decode()
    assert page.status_code == 200 and "chart.umd.min.js" in text and "billing-chart-data" in text
    assert "£1,150.00" in text  # revenue, outstanding and liability
    csv = manager_client.get(
        reverse("billing:report_csv"), {"report": "month", "start": "2026-01-01"}
    )
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines() == [
        "Month,Invoiced,Credited,Revenue,Tax",
        "Mar 2026,1150.00,0,1150.00,191.67",
    ]
    conversion = manager_client.get(reverse("billing:report_csv"), {"report": "conversion"})
    assert "Mar 2026,1,1,100.0" in conversion.content.decode()
    bad = manager_client.get(
        reverse("billing:reports"), {"start": "2026-05-01", "end": "2026-01-01"}
    )
    assert bad.status_code == 200 and "start date must be before" in bad.content.decode()
    other = Client()
    other.force_login(frontdesk)
    assert other.get(reverse("billing:reports")).status_code == 403


def test_patient_page_billing_panel(
    frontdesk_client, practitioner, frontdesk, patient, catalogue, priced
):
    accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    url = reverse("patients:detail", args=[patient.public_id])
    text = frontdesk_client.get(url).content.decode()
    assert 'data-testid="billing-panel"' in text and "£1,150.00 due" in text
    other = Client()
    other.force_login(practitioner)
    assert 'data-testid="billing-panel"' not in other.get(url).content.decode()


def test_unknown_ids_are_404(frontdesk_client):
    assert (
        frontdesk_client.get(reverse("billing:quote_detail", args=[uuid.uuid4()])).status_code
        == 404
    )
    assert (
        frontdesk_client.get(reverse("billing:invoice_pdf", args=[uuid.uuid4()])).status_code == 404
    )


def test_billing_panel_queries_do_not_grow_with_invoices(
    frontdesk_client, frontdesk, patient, catalogue, priced
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing import pricing

    url = reverse("patients:detail", args=[patient.public_id])

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert frontdesk_client.get(url).status_code == 200
        return len(queries)

    line = [pricing.Line("Consultation", 1, Decimal("100"))]
    services.invoice_issue(patient=patient, lines=line, by=frontdesk)
    one = count()
    for _ in range(5):
        invoice = services.invoice_issue(patient=patient, lines=line, by=frontdesk)
        services.payment_record(
            invoice=invoice, amount=Decimal("40"), method="cash", token=uuid.uuid4(), by=frontdesk
        )
    assert count() == one
    assert "£60.00 due" in frontdesk_client.get(url).content.decode()
