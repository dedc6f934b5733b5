"""The session lifecycle charges through billing in the same transaction.

Completing a session uses a package credit (or invoices the session); a late
cancellation or a no-show carries the clinic's fee; a billing refusal leaves the
appointment as it was.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine

from billing.models import Credit, Invoice
from sessions.scheduling import services
from sessions.scheduling.models import Appointment
from tests.billing.helpers import SCALP, accepted_purchase, price_list
from tests.factories import ScreeningFactory
from tests.sessions.charting.conftest import LONDON, make_session
from tests.sessions.charting.helpers import ready_to_complete

NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)
TODAY = NOW.date()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def screened(clock, patient, practitioner):
    """A clear screening today, so only charting and billing decide completion."""
    return ScreeningFactory(patient=patient, taken_on=TODAY, recorded_by=practitioner)


def scalp_session(patient, catalogue, practitioner, *, start, status=None):
    return make_session(patient, catalogue[SCALP], practitioner, start=start, status=status)


def test_completing_a_session_uses_a_package_credit(
    clock, patient, catalogue, frontdesk, practitioner
):
    accepted_purchase(patient, catalogue, frontdesk, today=TODAY)
    session = scalp_session(
        patient, catalogue, practitioner, start=NOW - datetime.timedelta(hours=1)
    )
    ready_to_complete(session, practitioner)

    services.appointment_complete(appointment=session, by=practitioner)

    credit = Credit.objects.get()
    assert (credit.quantity, credit.used) == (3, 1)
    session.refresh_from_db()
    assert session.status == Appointment.Status.COMPLETED


def test_a_session_without_credit_is_invoiced_at_the_single_price(
    clock, patient, catalogue, practitioner
):
    price_list(catalogue)
    session = scalp_session(
        patient, catalogue, practitioner, start=NOW - datetime.timedelta(hours=1)
    )
    ready_to_complete(session, practitioner)

    services.appointment_complete(appointment=session, by=practitioner)

    invoice = Invoice.objects.get()
    assert invoice.total == Decimal("450.00")


def test_a_billing_refusal_leaves_the_session_uncompleted(clock, patient, catalogue, practitioner):
    # A price list in force without a price for this protocol: a manager must fix it first.
    price_list(catalogue)
    mesotherapy = catalogue["Hair mesotherapy"]
    session = make_session(
        patient, mesotherapy, practitioner, start=NOW - datetime.timedelta(hours=1)
    )
    ready_to_complete(session, practitioner)

    with pytest.raises(services.SchedulingError):
        services.appointment_complete(appointment=session, by=practitioner)

    session.refresh_from_db()
    assert session.status == Appointment.Status.IN_TREATMENT
    assert not Invoice.objects.exists()


def test_late_cancellation_and_no_show_carry_the_clinic_fee(
    clock, settings, patient, catalogue, practitioner, frontdesk
):
    settings.BILLING_LATE_CANCEL_FEE = Decimal("50")
    settings.BILLING_NO_SHOW_FEE = Decimal("100")
    price_list(catalogue)
    soon = scalp_session(
        patient,
        catalogue,
        practitioner,
        start=NOW + datetime.timedelta(hours=3),
        status=Appointment.Status.BOOKED,
    )
    missed = scalp_session(
        patient,
        catalogue,
        practitioner,
        start=NOW - datetime.timedelta(hours=2),
        status=Appointment.Status.CONFIRMED,
    )

    services.appointment_cancel(
        party="patient", appointment=soon, reason="Car broke down", by=frontdesk
    )
    services.appointment_no_show(appointment=missed, by=frontdesk)

    soon.refresh_from_db()
    assert soon.cancelled_late
    assert sorted(Invoice.objects.values_list("total", flat=True)) == [
        Decimal("50.00"),
        Decimal("100.00"),
    ]


def test_an_early_cancellation_is_free(
    clock, settings, patient, catalogue, practitioner, frontdesk
):
    settings.BILLING_LATE_CANCEL_FEE = Decimal("50")
    price_list(catalogue)
    later = scalp_session(
        patient,
        catalogue,
        practitioner,
        start=NOW + datetime.timedelta(days=5),
        status=Appointment.Status.BOOKED,
    )
    services.appointment_cancel(party="patient", appointment=later, reason="Holiday", by=frontdesk)
    assert not Invoice.objects.exists()
