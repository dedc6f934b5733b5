"""Child rows read in their parent's query (mesoclinic.core.nested): exact values,
no extra queries."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import selectors, services
from billing.models import Credit, Invoice, Payment
from tests.billing.helpers import accepted_purchase

pytestmark = pytest.mark.django_db


def test_nested_rows_come_back_as_exact_instances(
    patient, catalogue, frontdesk, django_assert_num_queries
):
    _quote, purchase = accepted_purchase(patient, catalogue, frontdesk, today=timezone.localdate())
    invoice = purchase.invoices.get(kind=Invoice.Kind.INVOICE)
    services.payment_record(
        invoice=invoice,
        amount=Decimal("10.01"),
        method="card",
        token=uuid.uuid4(),
        by=frontdesk,
    )
    with django_assert_num_queries(3):  # quotes, invoices with payments, purchases with credits
        money = selectors.patient_money(patient)
        credits = [c for p in money.purchases for c in p.credits.all()]
        payments = money.payments
        remaining = [c.remaining for c in credits]
        numbers = [p.invoice.number for p in payments]
    with django_assert_num_queries(0):  # read once per patient object
        selectors.patient_money(patient)
    stored = list(Credit.objects.filter(purchase=purchase).order_by("id"))
    assert [(c.pk, c.value, c.unit_value, c.single_price, c.used) for c in credits] == [
        (c.pk, c.value, c.unit_value, c.single_price, c.used) for c in stored
    ]
    assert remaining == [c.remaining for c in stored]
    payment = Payment.objects.get(invoice=invoice)
    assert [(p.pk, p.amount, p.taken_at, p.method) for p in payments] == [
        (payment.pk, Decimal("10.01"), payment.taken_at, "card")
    ]
    assert numbers == [invoice.number]
