"""Front desk reads a screening's status (blocked / needs review / clear), never its
answers: walk every page the front desk may open, the patient's timeline, search
results, the calendar feed, PDFs and CSVs, and a refused check-in, and look for the
answers, the reasons built from them, medications and recorded decisions.

The same walk as a practitioner finds them, so the walk can see a leak."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from patients.models import ScreeningAcknowledgement
from tests.core import test_permissions
from tests.core.test_permissions import all_patterns, parse_matrix, url_for
from tests.factories import ScreeningFactory

pytestmark = pytest.mark.django_db

sample_kwargs = test_permissions.sample_kwargs  # the permission walk's objects, as a fixture

CLINICAL_TEXT = (
    "Blood or platelet disorder",  # an absolute contraindication answered yes
    "Takes blood thinners",  # a relative one
    "Smokes or vapes",  # a relative one, acknowledged
    "must not go ahead",  # the reasons built from the answers
    "must review and record",
    "Warfarin 5 mg",  # medications
    "Keloid on the left shoulder",  # other information
    "Stopped smoking in March",  # the practitioner's recorded decision
)


def body_text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"%PDF") and b"%%EOF" in content[-1024:]:
        return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    return content.decode("utf-8", "replace")  # a stand-in file in the samples is read as is


@pytest.fixture
def blocked_patient(patient, practitioner, sample_kwargs):
    screening = ScreeningFactory(
        patient=patient,
        taken_on=timezone.localdate(),
        platelet_disorder=True,
        anticoagulants=True,
        smoker=True,
        current_medications="Warfarin 5 mg",
        other_information="Keloid on the left shoulder",
        recorded_by=practitioner,
    )
    ScreeningAcknowledgement.objects.create(
        screening=screening,
        code="smoker",
        reason="Stopped smoking in March",
        acknowledged_by=practitioner,
    )
    return patient


# The catalogue lists each protocol's contraindications (the questions, to everyone):
# about protocols, not about a patient.
NOT_ABOUT_A_PATIENT = {"protocols:catalogue", "protocols:detail", "protocols:preview"}


def walk(client, column: str, patient, sample_kwargs) -> dict[str, str]:
    """Every page this role may open, plus the views that show a patient in other ways."""
    matrix = parse_matrix()
    pages = {}
    for name, pattern in all_patterns():
        if matrix[name]["Anonymous"] == "public" or matrix[name][column] != "yes":
            continue
        if name in NOT_ABOUT_A_PATIENT:
            continue
        response = client.get(url_for(name, pattern, sample_kwargs))
        if response.status_code == 200:
            pages[name] = body_text(response)
    week = timezone.localdate() + datetime.timedelta(days=3)
    extras = {
        "timeline, all": (
            reverse("patients:detail", args=[patient.public_id]),
            {"timeline": "all"},
        ),
        "search": (reverse("patients:list"), {"q": patient.last_name}),
        "calendar feed": (
            reverse("sessions:calendar_events"),
            {
                "location": str(sample_kwargs["location_id"]),
                "start": f"{week - datetime.timedelta(days=3)}T00:00",
                "end": f"{week + datetime.timedelta(days=3)}T00:00",
            },
        ),
        "today": (reverse("sessions:today"), {"day": week.isoformat()}),
        "invoice pdf": (
            reverse("billing:invoice_pdf", args=[sample_kwargs["invoice_id"]]),
            {},
        ),
    }
    for label, (url, params) in extras.items():
        response = client.get(url, params)
        if response.status_code == 200:
            pages[label] = body_text(response)
    htmx = client.get(reverse("patients:list"), {"q": patient.last_name}, HTTP_HX_REQUEST="true")
    pages["search (htmx)"] = body_text(htmx)
    # Check in a treatment the screening blocks: the refusal is a message on the page.
    refused = client.post(
        reverse("sessions:appointment_status", args=[sample_kwargs["appointment_id"]]),
        {"action": "check_in"},
        follow=True,
    )
    pages["refused check-in"] = body_text(refused)
    return pages


def test_front_desk_reads_the_status_and_never_the_answers(
    client, frontdesk, blocked_patient, sample_kwargs
):
    client.force_login(frontdesk)
    pages = walk(client, "Front desk", blocked_patient, sample_kwargs)
    assert len(pages) > 30
    leaks = {
        name: [text for text in CLINICAL_TEXT if text in body]
        for name, body in pages.items()
        if any(text in body for text in CLINICAL_TEXT)
    }
    assert not leaks, f"front desk can read screening answers on: {leaks}"
    # The status itself is there, where they book and check in.
    assert "Treatment blocked" in pages["patients:detail"]
    assert "Treatment blocked" in pages["refused check-in"]
    assert "a practitioner must review it with the patient" in pages["refused check-in"]


def test_a_practitioner_reads_the_answers_on_the_same_walk(
    client, practitioner, blocked_patient, sample_kwargs
):
    client.force_login(practitioner)
    pages = walk(client, "Practitioner", blocked_patient, sample_kwargs)
    assert "Blood or platelet disorder: treatment must not go ahead." in pages["patients:detail"]
    assert "Warfarin 5 mg" in pages["patients:screening"]
    assert "Takes blood thinners" in pages["refused check-in"]
