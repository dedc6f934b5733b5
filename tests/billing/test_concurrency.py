"""Twenty invoices issued at once, each on its own connection: twenty consecutive numbers."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from billing import pricing, selectors, services
from billing.models import Invoice, Payment
from tests.billing.helpers import accepted_purchase
from tests.factories import PatientFactory, UserFactory

THREADS = 20


def run_together(target, args_list):
    barrier = threading.Barrier(len(args_list))
    outcomes: list = []
    lock = threading.Lock()

    def attempt(*args):
        try:
            barrier.wait()
            result = target(*args)
        except Exception as exc:  # reported by the assertions below
            result = exc
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=a) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_issues_get_twenty_consecutive_numbers():
    user = UserFactory()
    patients = [PatientFactory() for _ in range(THREADS)]

    def issue(patient):
        return services.invoice_issue(
            patient=patient, lines=[pricing.Line("Consultation", 1, Decimal("100"))], by=user
        ).number

    numbers = run_together(issue, [(p,) for p in patients])
    assert all(isinstance(n, str) for n in numbers), numbers
    assert len(set(numbers)) == THREADS
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, THREADS + 1))
    year = Invoice.objects.first().year
    assert sorted(numbers) == [f"INV-{year}-{n:05d}" for n in range(1, THREADS + 1)]


@pytest.mark.django_db(transaction=True)
def test_the_same_payment_submitted_twenty_times_at_once_is_taken_once(catalogue):
    from django.utils import timezone

    user = UserFactory()
    patient = PatientFactory()
    _, purchase = accepted_purchase(patient, catalogue, user, today=timezone.localdate())
    invoice = selectors.purchase_invoice(purchase)
    token = uuid.uuid4()

    def pay():
        payment, _ = services.payment_record(
            invoice=invoice, amount=Decimal("230"), method="card", token=token, by=user
        )
        return payment.pk

    outcomes = run_together(pay, [() for _ in range(THREADS)])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert len(set(outcomes)) == 1
    assert Payment.objects.count() == 1
    # Twenty different payments that together exceed the balance: never overpaid.
    outcomes = run_together(
        lambda: services.payment_record(
            invoice=invoice, amount=Decimal("100"), method="cash", token=uuid.uuid4(), by=user
        ),
        [() for _ in range(THREADS)],
    )
    taken = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, services.BillingError)]
    assert len(taken) == 9 and len(refused) == 11  # 920 due: nine of 100 fit
    assert selectors.invoice_balance(invoice).due == Decimal("20.00")
