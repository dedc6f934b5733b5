"""The public booking site through Django's test client: every step, the links from the
emails (tampered, expired, reused), screening routes, the honeypot and the rate limits."""

import datetime
import re

import pytest
from django.urls import reverse

from mesoclinic.core import outbox
from mesoclinic.core.models import AuditEvent, OutboundMessage
from patients.models import SignedConsent
from sessions.online import links
from sessions.online.models import Hold, OnlineBooking, RemoteConsent
from sessions.scheduling.models import Appointment
from tests.sessions.charting.helpers import signature_data_uri

pytestmark = pytest.mark.usefixtures("clock", "online", "policy")


def start(client, face, location, treatment=None):
    return client.post(
        reverse("book:start"),
        {"location": str(location.public_id), "treatment": treatment or str(face.pk)},
    )


def screen(client, **yes):
    data = {"none_apply": "on"} if not yes else dict.fromkeys(QUESTIONS, "no")
    data.update(dict.fromkeys(yes, "yes"))
    return client.post(reverse("book:screening"), data)


from protocols.screening import QUESTIONS as _Q  # noqa: E402

QUESTIONS = [q.code for q in _Q]


def first_slot(client):
    page = client.get(reverse("book:times"))
    assert page.status_code == 200
    day, slots = page.context["days"][0]
    return f"{slots[0].practitioner.pk}|{slots[0].starts_at.isoformat()}"


DETAILS = {
    "first_name": "Ann",
    "last_name": "Lee",
    "date_of_birth": "1980-05-04",
    "email": "ann@example.com",
    "phone": "07911 123456",
    "accept": "on",
}


def verification_link(booking) -> str:
    message = OutboundMessage.objects.get(kind="online_verify", subject_id=booking.pk)
    email = outbox._builders["online_verify"](message)
    return re.search(r"http://\S+/book/verify/\S+/", email.body).group(0)


def to_details(client, face, location):
    assert start(client, face, location).status_code == 302
    assert screen(client)["Location"] == reverse("book:times")
    response = client.post(reverse("book:times"), {"slot": first_slot(client)})
    assert response["Location"] == reverse("book:plan")
    plan = client.get(reverse("book:plan"))
    assert plan.status_code == 200 and len(plan.context["sessions"]) == 3
    assert client.post(reverse("book:plan"))["Location"] == reverse("book:details")
    return OnlineBooking.objects.get()


def test_the_whole_journey_books_the_course_from_the_email_link(client, face, location):
    booking = to_details(client, face, location)
    assert Hold.objects.filter(booking=booking).count() == 3
    response = client.post(reverse("book:details"), DETAILS)
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == reverse("book:sent")
    url = verification_link(booking)
    path = (
        url.split("testserver", 1)[-1] if "testserver" in url else re.sub(r"^http://[^/]+", "", url)
    )
    page = client.get(path)
    assert b"Confirm my booking" in page.content
    assert client.post(path).status_code == 302
    booked = client.get(path)
    assert booked.context["booking"].status == "booked"
    assert Appointment.objects.filter(booked_online=True).count() == 3
    # Reused link: nothing more is booked.
    client.post(path)
    assert Appointment.objects.count() == 3
    assert AuditEvent.objects.filter(actor_label="online booking").exists()


def test_a_changed_session_stays_inside_its_window(client, face, location):
    to_details_state = start(client, face, location)
    assert to_details_state.status_code == 302
    screen(client)
    client.post(reverse("book:times"), {"slot": first_slot(client)})
    page = client.get(reverse("book:plan_session", args=[2]))
    window = page.context["window"]
    values = [v for _, slots in page.context["days"] for v, _ in slots]
    assert values
    for value in values:
        day = datetime.datetime.fromisoformat(value).date()
        assert window[0] <= day <= window[1]
    # A time outside the window is refused in words and changes nothing.
    outside = (datetime.datetime.fromisoformat(values[0]) + datetime.timedelta(days=60)).isoformat()
    refused = client.post(reverse("book:plan_session", args=[2]), {"slot": outside})
    assert b"only times inside this session" in refused.content
    chosen = values[-1]
    assert client.post(reverse("book:plan_session", args=[2]), {"slot": chosen}).status_code == 302
    plan = client.get(reverse("book:plan"))
    assert plan.context["sessions"][1]["local"].isoformat() == (
        datetime.datetime.fromisoformat(chosen)
        .astimezone(plan.context["sessions"][1]["local"].tzinfo)
        .isoformat()
    )


def test_an_absolute_contraindication_refuses_and_keeps_nothing(client, face, location):
    start(client, face, location)
    page = screen(client, platelet_disorder=True)
    assert page.status_code == 200 and b"can't offer you" in page.content
    assert not OnlineBooking.objects.exists() and not Hold.objects.exists()
    assert client.get(reverse("book:times")).status_code == 302


def test_a_relative_contraindication_offers_a_consultation(client, face, location):
    start(client, face, location)
    page = screen(client, anticoagulants=True)
    assert b"talk with you before" in page.content
    times = client.get(reverse("book:times"))
    assert times.context["protocol"] is None  # consultation times
    slot = first_slot(client)
    assert client.post(reverse("book:times"), {"slot": slot})["Location"] == reverse("book:details")
    assert OnlineBooking.objects.get().kind == "consultation"


def test_screening_with_a_question_left_open_is_refused_in_words(client, face, location):
    start(client, face, location)
    page = client.post(reverse("book:screening"), {"platelet_disorder": "no"})
    assert page.status_code == 200 and b"answer every question" in page.content


def test_tampered_and_expired_verification_links(client, face, location, clock):
    booking = to_details(client, face, location)
    client.post(reverse("book:details"), DETAILS)
    path = re.sub(r"^http://[^/]+", "", verification_link(booking))
    assert client.get(path[:-3] + "xx/").status_code == 400
    clock.shift(datetime.timedelta(minutes=16))
    expired = client.get(path)
    assert expired.status_code == 410
    assert client.post(path).status_code == 410
    assert not Appointment.objects.exists()


def test_the_honeypot_books_nothing(client, face, location):
    booking = to_details(client, face, location)
    response = client.post(reverse("book:details"), {**DETAILS, "website": "http://spam"})
    assert response["Location"] == reverse("book:sent")
    booking.refresh_from_db()
    assert booking.details_at is None
    assert not OutboundMessage.objects.filter(kind="online_verify").exists()


def test_bad_details_get_messages_and_change_nothing(client, face, location):
    booking = to_details(client, face, location)
    page = client.post(reverse("book:details"), {**DETAILS, "email": "nope", "accept": ""})
    assert page.status_code == 200
    assert b"valid email" in page.content and b"tick the box" in page.content
    booking.refresh_from_db()
    assert booking.details_at is None


def test_rate_limit_gives_a_429_page_in_words(client, face, location, settings):
    settings.ONLINE_BOOKING_RATE_IP = "3/m"
    for _ in range(3):
        assert start(client, face, location).status_code == 302
    limited = start(client, face, location)
    assert limited.status_code == 429
    assert b"Too many attempts" in limited.content and b"Nothing was booked" in limited.content


def test_rate_limit_per_email(client, face, location, settings):
    settings.ONLINE_BOOKING_RATE_EMAIL = "1/h"
    to_details(client, face, location)
    bad = {**DETAILS, "accept": ""}
    assert client.post(reverse("book:details"), bad).status_code == 200
    assert client.post(reverse("book:details"), bad).status_code == 429


def test_consent_signed_on_the_phone_then_countersigned(
    client, practitioner_client, face, location
):
    booking = to_details(client, face, location)
    client.post(reverse("book:details"), DETAILS)
    path = re.sub(r"^http://[^/]+", "", verification_link(booking))
    client.post(path)
    booking.refresh_from_db()
    consent_path = re.sub(r"^http://[^/]+", "", links.consent_url(booking))
    assert client.get(consent_path[:-4] + "abc/").status_code == 400
    page = client.get(consent_path)
    version = page.context["version"]
    refused = client.post(consent_path, {"version_id": version.pk, "signature": "", "agreed": "on"})
    assert refused.status_code == 200 and not RemoteConsent.objects.exists()
    client.post(
        consent_path, {"version_id": version.pk, "signature": signature_data_uri(), "agreed": "on"}
    )
    remote = RemoteConsent.objects.get()
    again = client.get(consent_path)
    assert b"You signed this consent" in again.content
    client.post(
        consent_path, {"version_id": version.pk, "signature": signature_data_uri(1), "agreed": "on"}
    )
    assert RemoteConsent.objects.count() == 1
    # At the visit: the practitioner sees "signed remotely" and countersigns.
    patient_page = practitioner_client.get(
        reverse("patients:detail", kwargs={"patient_id": booking.patient.public_id})
    )
    assert b"signed remotely on" in patient_page.content
    url = reverse("online:countersign", kwargs={"remote_consent_id": remote.public_id})
    no_id = practitioner_client.post(url, {"practitioner_signature": signature_data_uri(2)})
    assert no_id.status_code == 200 and not SignedConsent.objects.exists()
    practitioner_client.post(
        url, {"practitioner_signature": signature_data_uri(2), "identity_confirmed": "on"}
    )
    signed = SignedConsent.objects.get()
    assert signed.patient_signed_remotely_at == remote.signed_at
    assert signed.patient_signature_sha256 == remote.signature_sha256


def test_a_session_that_cannot_fit_is_named_before_anything_is_held(
    client, face, location, working_practitioner
):
    from sessions.scheduling.models import Absence

    from .conftest import local

    # Away for the whole of session 2's window after a first session on 9 March.
    Absence.objects.create(
        practitioner=working_practitioner,
        starts_at=local(datetime.date(2026, 3, 10), 0),
        ends_at=local(datetime.date(2026, 5, 1), 0),
    )
    start(client, face, location)
    screen(client)
    first = local(datetime.date(2026, 3, 9), 10)
    slot = f"{working_practitioner.pk}|{first.isoformat()}"
    assert client.post(reverse("book:times"), {"slot": slot})["Location"] == reverse("book:plan")
    plan = client.get(reverse("book:plan"))
    assert b"No free time for session 2" in plan.content
    assert b"Hold these times" not in plan.content
    client.post(reverse("book:plan"))
    assert not Hold.objects.exists() and not OnlineBooking.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        reverse("book:screening"),
        reverse("book:times"),
        reverse("book:plan"),
        reverse("book:plan_session", args=[1]),
    ],
)
def test_a_step_without_a_choice_starts_again(client, url):
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"] == reverse("book:start")


@pytest.mark.parametrize(
    "url", [reverse("book:screening"), reverse("book:plan"), reverse("book:plan_session", args=[1])]
)
def test_a_course_step_after_choosing_a_consultation_starts_again(client, face, location, url):
    assert start(client, face, location, "consultation")["Location"] == reverse("book:times")
    response = client.get(url)
    assert response["Location"] == reverse("book:start")
    assert "online_booking" not in client.session


def test_times_for_a_course_not_yet_screened_goes_back_to_screening(client, face, location):
    assert start(client, face, location)["Location"] == reverse("book:screening")
    assert client.get(reverse("book:times"))["Location"] == reverse("book:screening")
    assert client.get(reverse("book:plan"))["Location"] == reverse("book:times")
