"""Register a patient: the "this is a different person" confirmation appears only when
possible duplicates exist, beside the list of them; never after an unrelated error."""

import datetime

import pytest
from django.urls import reverse

from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

VALID = {
    "first_name": "Josephine",
    "last_name": "Whitaker",
    "date_of_birth": "1984-03-09",
    "sex": "female",
    "phone": "07911 123456",
    "email": "jo.whitaker@example.com",
    "preferred_channel": "email",
    "consents_to_transactional": "on",
}
CONFIRMATION = "this is a different person"


def test_an_unrelated_error_asks_for_no_confirmation(frontdesk_client):
    # The page as first shown, then posted back with a typo in the phone number.
    assert CONFIRMATION not in frontdesk_client.get(reverse("patients:create")).content.decode()
    response = frontdesk_client.post(reverse("patients:create"), {**VALID, "phone": "12345"})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert CONFIRMATION not in response.content.decode()
    assert response.context["form"].duplicates == []


def test_duplicates_are_listed_with_the_confirmation_even_beside_other_errors(frontdesk_client):
    twin = PatientFactory(
        first_name="Josephine", last_name="Whitaker", date_of_birth=datetime.date(1984, 3, 9)
    )
    response = frontdesk_client.post(reverse("patients:create"), {**VALID, "phone": "12345"})
    text = response.content.decode()
    assert CONFIRMATION in text
    assert str(twin.public_id) in text
    assert Patient.objects.count() == 1


def test_a_stale_confirmation_does_not_skip_a_new_duplicate_check(frontdesk_client):
    """Ticking the box for one set of look-alikes registers; without look-alikes the
    box is not shown and its value changes nothing."""
    response = frontdesk_client.post(
        reverse("patients:create"), {**VALID, "confirm_not_duplicate": "on"}
    )
    assert response.status_code == 302
    response = frontdesk_client.post(reverse("patients:create"), VALID)
    assert response.status_code == 200
    assert CONFIRMATION in response.content.decode()
    assert Patient.objects.count() == 1
