"""Cancelling on the day (issue 11, item 6): the form asks who cancelled and shows the fee
first; the clinic cancelling charges nothing, the patient cancelling late is invoiced,
and a waived fee needs a reason."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_front_desk_cancels_on_the_day(page, frontdesk, practitioner):
    from billing.models import Invoice
    from sessions.scheduling.models import Appointment, Location
    from tests.factories import PatientFactory

    location = Location.objects.create(name="Harley Street")
    patient = PatientFactory(first_name="Nora", last_name="Vance")

    def appointment_in(hours):
        start = timezone.now() + datetime.timedelta(hours=hours)
        return Appointment.objects.create(
            patient=patient,
            kind=Appointment.Kind.CONSULTATION,
            practitioner=practitioner,
            location=location,
            starts_at=start,
            ends_at=start + datetime.timedelta(minutes=30),
        )

    ill, flu, work = appointment_in(3), appointment_in(4), appointment_in(5)
    login(page, "frontdesk")

    def open_cancel(appointment):
        page.goto(f"/schedule/appointments/{appointment.public_id}/")
        page.get_by_text("Cancel this appointment").click()
        expect(page.get_by_test_id("cancel-fee")).to_contain_text(
            "If the patient cancelled, a late-cancellation fee of £50.00 is invoiced to them. "
            "If the clinic cancelled, there is no fee."
        )

    # The practitioner is ill: the clinic cancels, and the patient owes nothing.
    open_cancel(ill)
    page.get_by_label("Reason for cancelling").fill("Practitioner ill")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_text("Say who cancelled: the patient or the clinic.")).to_be_visible()
    page.get_by_label("The clinic cancelled").check()
    page.get_by_label("Reason for cancelling").fill("Practitioner ill")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_test_id("cancelled")).to_contain_text("by the clinic")
    expect(page.get_by_test_id("cancelled")).not_to_contain_text("late")
    assert not Invoice.objects.filter(appointment=ill).exists()

    # The patient has flu: a late cancellation, fee waived with a reason.
    open_cancel(flu)
    page.get_by_label("The patient cancelled").check()
    page.get_by_label("Reason for cancelling").fill("Flu")
    page.get_by_label("Waive the late-cancellation fee").check()
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_text("Give a reason for waiving the fee.")).to_be_visible()
    page.get_by_label("Reason for waiving the fee").fill("Doctor's note")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_test_id("cancelled")).to_contain_text(
        "Late-cancellation fee waived: Doctor's note"
    )
    assert not Invoice.objects.filter(appointment=flu).exists()

    # The patient is stuck at work: a late cancellation, and the fee is invoiced.
    open_cancel(work)
    page.get_by_label("The patient cancelled").check()
    page.get_by_label("Reason for cancelling").fill("Stuck at work")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_test_id("cancelled")).to_contain_text("by the patient late")
    [invoice] = Invoice.objects.filter(appointment=work)
    assert invoice.total == 50
    page.goto(f"/patients/{patient.public_id}/")
    expect(page.get_by_text("Late cancellation").first).to_be_visible()
