"""Billing services: quotes, acceptance, invoices, payments, refunds, credits, fees."""

import datetime
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import selectors, services
from billing.models import Credit, CreditUse, Invoice, Payment, Purchase, Quote
from mesoclinic.core.models import OutboundMessage
from tests.billing.helpers import (
    FACE,
    SCALP,
    accepted_purchase,
    course_appointments,
    price_list,
    scalp_package,
)

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_quote_with_package_snapshots_every_option(patient, catalogue, frontdesk):
    pl = price_list(catalogue)
    package = scalp_package(catalogue)
    quote = services.quote_create(
        patient=patient,
        price_list=pl,
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key=f"package:{package.public_id}",
        by=frontdesk,
        today=TODAY,
    )
    assert quote.status == Quote.Status.ISSUED
    assert quote.number == "Q-2026-00001"
    assert quote.valid_until == TODAY + datetime.timedelta(days=30)
    assert (quote.single_price_total, quote.total, quote.tax, quote.deposit) == (
        Decimal("1350.00"),
        Decimal("1150.00"),
        Decimal("191.67"),
        Decimal("230.00"),
    )
    keys = [o["key"] for o in quote.comparison]
    assert keys == ["single", f"package:{package.public_id}"]
    assert quote.comparison[1]["saving"] == "200.00"
    # A new, dearer price list does not change the quote.
    price_list(catalogue, effective_from=TODAY, scale=2)
    quote.refresh_from_db()
    assert quote.total == Decimal("1150.00")
    # The patient is reminded 48 hours before it expires.
    message = OutboundMessage.objects.get(kind="quote_expiring")
    assert message.recipient == patient.email


def test_discount_over_the_limit_waits_for_a_manager(patient, catalogue, frontdesk, manager):
    pl = price_list(catalogue)
    quote = services.quote_create(
        patient=patient,
        price_list=pl,
        wanted=[(catalogue[FACE].pk, FACE, 3)],
        option_key="single",
        by=frontdesk,
        today=TODAY,
        discount_percent=Decimal("25"),
        discount_reason="Staff family",
    )
    assert quote.status == Quote.Status.PENDING_APPROVAL
    assert quote.discount == Decimal("375.00")
    with pytest.raises(services.BillingError, match="approve"):
        services.quote_accept(quote=quote, by=frontdesk, today=TODAY)
    services.quote_approve(quote=quote, by=manager)
    purchase = services.quote_accept(quote=quote, by=frontdesk, today=TODAY)
    assert purchase.total == Decimal("1125.00")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discount_percent": Decimal("101"), "discount_reason": "x"}, "100%"),
        ({"discount_percent": Decimal("-1"), "discount_reason": "x"}, "negative"),
        ({"discount_percent": Decimal("5")}, "why"),
        ({"option_key": "package:nope"}, "not available"),
        ({"wanted": []}, "at least one"),
    ],
)
def test_bad_quotes_are_refused_and_nothing_saved(patient, catalogue, frontdesk, kwargs, message):
    pl = price_list(catalogue)
    args = {
        "patient": patient,
        "price_list": pl,
        "wanted": [(catalogue[SCALP].pk, SCALP, 3)],
        "option_key": "single",
        "by": frontdesk,
        "today": TODAY,
        **kwargs,
    }
    with pytest.raises(services.BillingError, match=message):
        services.quote_create(**args)
    assert not Quote.objects.exists()


def test_negative_prices_are_refused(catalogue):
    with pytest.raises(services.BillingError, match="negative"):
        services.price_list_create(
            name="Bad",
            effective_from=TODAY,
            consultation_fee=Decimal("-1"),
            maintenance_price=None,
            session_prices={},
        )
    with pytest.raises(services.BillingError, match="negative"):
        services.package_create(name="Bad", sessions={catalogue[SCALP]: 3}, price=Decimal("-5"))


def test_accepting_makes_purchase_credits_invoice_and_plan(patient, catalogue, frontdesk):
    quote, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY, instalments=3)
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED
    credit = purchase.credits.get()
    assert (credit.quantity, credit.used, credit.single_price) == (3, 0, Decimal("450.00"))
    invoice = selectors.purchase_invoice(purchase)
    assert invoice.number == "INV-2026-00001"
    assert invoice.total == quote.total == Decimal("1150.00")
    plan = list(invoice.instalments.values_list("due_on", "amount", "is_deposit"))
    assert plan[0] == (TODAY, Decimal("230.00"), True)
    assert sum(a for _, a, _ in plan) == Decimal("1150.00")
    assert [d for d, _, _ in plan[1:]] == [
        datetime.date(2026, 4, 2),
        datetime.date(2026, 5, 2),
        datetime.date(2026, 6, 2),
    ]
    assert OutboundMessage.objects.filter(kind="instalment_due").count() == 3
    assert not OutboundMessage.objects.filter(kind="quote_expiring", state="pending").exists()
    with pytest.raises(services.BillingError, match="already been accepted"):
        services.quote_accept(quote=quote, by=frontdesk, today=TODAY)


def test_an_expired_quote_cannot_be_accepted(patient, catalogue, frontdesk):
    pl = price_list(catalogue)
    quote = services.quote_create(
        patient=patient,
        price_list=pl,
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key="single",
        by=frontdesk,
        today=TODAY,
    )
    with pytest.raises(services.BillingError, match="expired"):
        services.quote_accept(
            quote=quote, by=frontdesk, today=quote.valid_until + datetime.timedelta(days=1)
        )
    assert not Purchase.objects.exists()
    assert not Invoice.objects.exists()


def test_payments_deposits_and_double_submit(patient, catalogue, frontdesk):
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    token = uuid.uuid4()
    first, created = services.payment_record(
        invoice=invoice,
        amount=Decimal("230"),
        method="card",
        token=token,
        by=frontdesk,
        is_deposit=True,
    )
    again, created_again = services.payment_record(
        invoice=invoice, amount=Decimal("230"), method="card", token=token, by=frontdesk
    )
    assert created and not created_again and first.pk == again.pk
    assert selectors.invoice_balance(invoice).due == Decimal("920.00")
    with pytest.raises(
        services.PaymentRefused, match="NOT taken: £920.01 is more than the £920.00 still due"
    ):
        services.payment_record(
            invoice=invoice,
            amount=Decimal("920.01"),
            method="cash",
            token=uuid.uuid4(),
            by=frontdesk,
        )
    with pytest.raises(services.BillingError, match="more than zero"):
        services.payment_record(
            invoice=invoice, amount=Decimal("0"), method="cash", token=uuid.uuid4(), by=frontdesk
        )
    services.payment_record(
        invoice=invoice,
        amount=Decimal("920"),
        method="transfer",
        token=uuid.uuid4(),
        by=frontdesk,
    )
    assert selectors.invoice_balance(invoice).due == 0
    # Paid in full (say by a colleague a moment ago): a further payment is refused in words.
    with pytest.raises(services.PaymentRefused) as refused:
        services.payment_record(
            invoice=invoice, amount=Decimal("10"), method="cash", token=uuid.uuid4(), by=frontdesk
        )
    assert refused.value.message.startswith("Payment NOT taken: nothing is due")
    assert "£920.00 by bank transfer, was taken by Fran" in refused.value.message
    with pytest.raises(services.BillingError, match="can be refunded"):
        services.refund_record(
            invoice=invoice,
            amount=Decimal("1150.01"),
            method="card",
            token=uuid.uuid4(),
            by=frontdesk,
        )
    services.refund_record(
        invoice=invoice, amount=Decimal("150"), method="card", token=uuid.uuid4(), by=frontdesk
    )
    assert selectors.invoice_balance(invoice).due == Decimal("150.00")
    assert Payment.objects.count() == 3


def test_issued_invoices_and_payments_cannot_change_in_the_database(patient, catalogue, frontdesk):
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total=Decimal("1"))
    with pytest.raises(IntegrityError, match="issued"), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        invoice.lines.update(amount=Decimal("1"))
    payment, _ = services.payment_record(
        invoice=invoice, amount=Decimal("10"), method="cash", token=uuid.uuid4(), by=frontdesk
    )
    with pytest.raises(IntegrityError, match="never changed"), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount=Decimal("1"))


def test_credit_notes_correct_an_invoice(patient, catalogue, frontdesk, manager):
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    note = services.credit_note_issue(
        invoice=invoice, amount=Decimal("150"), reason="Goodwill", by=manager
    )
    assert note.number == "CN-2026-00001"
    assert note.kind == Invoice.Kind.CREDIT_NOTE
    assert (note.net, note.tax, note.total) == (
        Decimal("125.00"),
        Decimal("25.00"),
        Decimal("150.00"),
    )
    assert selectors.invoice_balance(invoice).due == Decimal("1000.00")
    with pytest.raises(services.BillingError, match="At most 1000.00"):
        services.credit_note_issue(
            invoice=invoice, amount=Decimal("1000.01"), reason="x", by=manager
        )


def test_completing_sessions_consumes_credits_across_two_purchases(
    patient, catalogue, frontdesk, practitioner
):
    scalp = catalogue[SCALP]
    package = scalp_package(catalogue, name="Scalp 2", sessions={scalp: 2}, price=Decimal("800"))
    _, older = accepted_purchase(patient, catalogue, frontdesk, today=TODAY, package=package)
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        _, newer = accepted_purchase(patient, catalogue, frontdesk, today=TODAY, package=package)
    sessions = course_appointments(
        patient, scalp, practitioner, first=NOW + datetime.timedelta(days=7), count=5
    )
    charges = [services.session_credit_consume(appointment=a, by=practitioner) for a in sessions]
    # Oldest purchase first, then the newer one, then per-session invoicing.
    assert [c.credit_use.credit.purchase_id for c in charges[:4]] == [older.pk] * 2 + [newer.pk] * 2
    assert charges[4].credit_use is None
    assert charges[4].invoice.total == Decimal("450.00")
    assert charges[4].invoice.lines.get().practitioner == practitioner
    # Idempotent per appointment.
    again = services.session_credit_consume(appointment=sessions[0], by=practitioner)
    assert again.credit_use.pk == charges[0].credit_use.pk
    again = services.session_credit_consume(appointment=sessions[4], by=practitioner)
    assert again.invoice.pk == charges[4].invoice.pk
    assert list(Credit.objects.values_list("used", flat=True).order_by("id")) == [2, 2]
    assert CreditUse.objects.count() == 4


def test_expired_purchase_credits_are_not_used(patient, catalogue, frontdesk, practitioner):
    scalp = catalogue[SCALP]
    package = scalp_package(catalogue, valid_months=1)
    accepted_purchase(patient, catalogue, frontdesk, today=TODAY, package=package)
    (late,) = course_appointments(
        patient, scalp, practitioner, first=NOW + datetime.timedelta(days=60), count=1
    )
    charge = services.session_credit_consume(appointment=late, by=practitioner)
    assert charge.invoice is not None and charge.credit_use is None


def test_cancelling_a_package_refunds_per_policy(patient, catalogue, frontdesk, practitioner):
    _, purchase = accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    services.payment_record(
        invoice=invoice, amount=Decimal("1150"), method="card", token=uuid.uuid4(), by=frontdesk
    )
    (used,) = course_appointments(
        patient, catalogue[SCALP], practitioner, first=NOW + datetime.timedelta(days=3), count=1
    )
    services.session_credit_consume(appointment=used, by=practitioner)
    preview = services.purchase_cancel_preview(purchase=purchase)
    assert (preview.used, preview.unused) == (1, 2)
    assert preview.outcome.refund == Decimal("700.00")  # 1150 - 1 x 450
    services.purchase_cancel(purchase=purchase, by=frontdesk, method="card", token=uuid.uuid4())
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.CANCELLED
    balance = selectors.invoice_balance(invoice)
    assert (balance.credited, balance.refunded, balance.due) == (
        Decimal("700.00"),
        Decimal("700.00"),
        Decimal("0.00"),
    )
    with pytest.raises(services.BillingError, match="already cancelled"):
        services.purchase_cancel(purchase=purchase, by=frontdesk, method="card", token=uuid.uuid4())
    # No more credits from a cancelled purchase.
    (later,) = course_appointments(
        patient, catalogue[SCALP], practitioner, first=NOW + datetime.timedelta(days=40), count=1
    )
    assert services.session_credit_consume(appointment=later, by=practitioner).invoice is not None


def test_late_cancellation_and_no_show_fees(patient, catalogue, practitioner, settings):
    from sessions.scheduling.models import Appointment

    settings.BILLING_NO_SHOW_FEE = Decimal("100")
    settings.BILLING_LATE_CANCEL_FEE = Decimal("0")
    a, b = course_appointments(
        patient, catalogue[SCALP], practitioner, first=NOW + datetime.timedelta(days=1), count=2
    )
    Appointment.objects.filter(pk=a.pk).update(status=Appointment.Status.NO_SHOW)
    Appointment.objects.filter(pk=b.pk).update(
        status=Appointment.Status.CANCELLED, cancelled_late=True
    )
    fee = services.appointment_fee_charge(appointment=a, by=practitioner)
    assert fee.total == Decimal("100.00") and "no-show" in fee.lines.get().description
    assert services.appointment_fee_charge(appointment=a, by=practitioner).pk == fee.pk
    assert services.appointment_fee_charge(appointment=b, by=practitioner) is None


def test_location_price_list_wins(catalogue):
    from sessions.scheduling.models import Location

    kensington = Location.objects.create(name="Kensington")
    clinic = price_list(catalogue)
    own = price_list(catalogue, location=kensington, scale=2)
    assert selectors.price_list_current(on=TODAY, location=kensington) == own
    assert selectors.price_list_current(on=TODAY, location=None) == clinic
    assert selectors.price_list_current(on=datetime.date(2025, 1, 1)) is None
    assert timezone.now() == NOW


def test_session_without_price_list_or_price(patient, catalogue, practitioner):
    (first,) = course_appointments(
        patient, catalogue[SCALP], practitioner, first=NOW + datetime.timedelta(days=1), count=1
    )
    charge = services.session_credit_consume(appointment=first, by=None)
    assert charge.not_charged and charge.invoice is None and charge.credit_use is None
    price_list(catalogue)
    charge = services.session_credit_consume(appointment=first, by=None)
    assert charge.invoice.created_by == practitioner  # a task completed it: no user
    other = catalogue["Hair mesotherapy"]
    (unpriced,) = course_appointments(
        patient, other, practitioner, first=NOW + datetime.timedelta(days=2), count=1
    )
    with pytest.raises(services.BillingError, match="no price for Hair mesotherapy"):
        services.session_credit_consume(appointment=unpriced, by=practitioner)


def _consultation(patient, practitioner, starts_at):
    from sessions.scheduling.models import Appointment, Location

    return Appointment.objects.create(
        patient=patient,
        kind=Appointment.Kind.CONSULTATION,
        practitioner=practitioner,
        location=Location.objects.get_or_create(name="Harley Street")[0],
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=30),
        status=Appointment.Status.COMPLETED,
    )


def test_consultation_fee_is_taken_off_the_first_treatment_once(
    patient, catalogue, frontdesk, practitioner
):
    pl = price_list(catalogue)
    package = scalp_package(catalogue)
    visit = _consultation(patient, practitioner, NOW - datetime.timedelta(days=10))
    consultation = services.session_credit_consume(appointment=visit, by=practitioner).invoice
    assert consultation.total == Decimal("100.00")
    quote = services.quote_create(
        patient=patient,
        price_list=pl,
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key=f"package:{package.public_id}",
        by=frontdesk,
        today=TODAY,
    )
    assert quote.consultation_deduction == Decimal("100.00")
    assert quote.total == Decimal("1050.00")
    purchase = services.quote_accept(quote=quote, by=frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    assert invoice.total == Decimal("1050.00") and invoice.deduction == Decimal("100.00")
    assert invoice.consultation_deducted == consultation
    # Used once: the next quote pays in full.
    assert selectors.consultation_credit(patient=patient, on=TODAY) is None


def test_consultation_too_long_ago_or_deducted_from_a_single_session(
    patient, catalogue, practitioner
):
    price_list(catalogue)
    old = _consultation(patient, practitioner, NOW - datetime.timedelta(days=45))
    services.session_credit_consume(appointment=old, by=practitioner)
    assert selectors.consultation_credit(patient=patient, on=TODAY) is None
    recent = _consultation(patient, practitioner, NOW - datetime.timedelta(days=3))
    services.session_credit_consume(appointment=recent, by=practitioner)
    (session,) = course_appointments(
        patient, catalogue[SCALP], practitioner, first=NOW + datetime.timedelta(days=1), count=1
    )
    invoice = services.session_credit_consume(appointment=session, by=practitioner).invoice
    assert (invoice.subtotal, invoice.deduction, invoice.total) == (
        Decimal("450.00"),
        Decimal("100.00"),
        Decimal("350.00"),
    )


def test_credit_values_and_liability_add_up_to_the_price_exactly(
    patient, catalogue, frontdesk, practitioner
):
    from billing import reports

    accepted_purchase(patient, catalogue, frontdesk, today=TODAY)  # 1150 for 3 sessions
    assert reports.unused_credits(today=TODAY)["liability"] == Decimal("1150.00")
    sessions = course_appointments(
        patient, catalogue[SCALP], practitioner, first=NOW + datetime.timedelta(days=1), count=3
    )
    services.session_credit_consume(appointment=sessions[0], by=practitioner)
    assert reports.unused_credits(today=TODAY)["liability"] == Decimal("766.67")
    for appointment in sessions[1:]:
        services.session_credit_consume(appointment=appointment, by=practitioner)
    values = sorted(CreditUse.objects.values_list("value", flat=True))
    assert values == [Decimal("383.33"), Decimal("383.33"), Decimal("383.34")]
    assert reports.unused_credits(today=TODAY)["liability"] == 0


def test_add_ons_are_quoted_and_invoiced_but_give_no_credit(patient, catalogue, frontdesk):
    from billing import pricing

    pl = price_list(catalogue)
    package = scalp_package(catalogue)
    quote = services.quote_create(
        patient=patient,
        price_list=pl,
        wanted=[(catalogue[SCALP].pk, SCALP, 3)],
        option_key=f"package:{package.public_id}",
        by=frontdesk,
        today=TODAY,
        extras=[pricing.Line("Exosome serum", 1, Decimal("150.00"))],
    )
    assert quote.total == Decimal("1300.00")
    assert [o["total"] for o in quote.comparison] == ["1500.00", "1300.00"]
    purchase = services.quote_accept(quote=quote, by=frontdesk, today=TODAY)
    invoice = selectors.purchase_invoice(purchase)
    assert invoice.total == Decimal("1300.00")
    assert [(li.description, li.amount) for li in invoice.lines.all()] == [
        ("Package: Scalp course of 3", Decimal("1150.00")),
        ("Exosome serum", Decimal("150.00")),
    ]
    credit = purchase.credits.get()
    assert credit.value == Decimal("1150.00") and credit.quantity == 3
