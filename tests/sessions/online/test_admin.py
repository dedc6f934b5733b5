"""Online booking's models have a read-only admin that opens."""

import datetime

import pytest
from django.urls import reverse

from .conftest import give_details, hold_course, local

MODELS = (
    "onlinebooking",
    "hold",
    "remoteconsent",
    "onlinesettings",
    "bookingpolicy",
    "onlinepatientreview",
)


@pytest.mark.usefixtures("clock")
def test_admin_pages_open_read_only(
    admin_client, online, policy, face, location, working_practitioner
):
    booking = hold_course(
        face, location, working_practitioner, local(datetime.date(2026, 3, 9), 10)
    )
    give_details(booking, policy)
    for model in MODELS:
        response = admin_client.get(reverse(f"admin:clinic_sessions_{model}_changelist"))
        assert response.status_code == 200, model
        assert admin_client.get(reverse(f"admin:clinic_sessions_{model}_add")).status_code == 403
    page = admin_client.get(
        reverse("admin:clinic_sessions_onlinebooking_change", args=[booking.pk])
    )
    assert page.status_code == 200
