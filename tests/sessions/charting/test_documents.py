"""Aftercare sheet and printable chart: rendered in a task, stored, read back; lots and
recalls; photos across a course; documents on the patient page."""

import datetime
import subprocess
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import outbox
from mesoclinic.core.models import OutboundMessage
from patients.models import ClinicalPhoto
from sessions.charting import aftercare, documents
from sessions.charting import services as charting
from sessions.charting.models import SessionDocument
from sessions.scheduling.models import Appointment
from sessions.tasks import session_document_pdf
from tests.sessions.charting.conftest import LONDON, make_session
from tests.sessions.charting.helpers import ready_to_complete

pytestmark = pytest.mark.django_db

# Tuesday 3 March 2026: the session runs 13:00–14:00 and is completed at 14:00.
TUESDAY_2PM = datetime.datetime(2026, 3, 3, 14, 0, tzinfo=LONDON)


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True)
    return " ".join(out.stdout.decode().split())


def read(document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


@pytest.fixture
def completed(patient, face, practitioner):
    with time_machine.travel(TUESDAY_2PM, tick=False):
        appointment = make_session(
            patient, face, practitioner, start=TUESDAY_2PM - datetime.timedelta(hours=1)
        )
        ready_to_complete(appointment, practitioner)
        Appointment.objects.filter(pk=appointment.pk).update(
            status="completed", completed_at=timezone.now()
        )
        appointment.refresh_from_db()
        yield appointment


def test_aftercare_pdf_lists_each_instruction_with_its_date_and_the_window(completed, face):
    with time_machine.travel(TUESDAY_2PM, tick=False):
        assert session_document_pdf.apply(args=[completed.pk, "aftercare"]).get() is True
    document = SessionDocument.objects.get(appointment=completed, kind="aftercare")
    text = pdf_text(read(document))
    assert completed.patient.first_name in text
    assert face.name in text
    assert "Left cheek" in text or "cheek" in text.lower()
    assert "No make-up until tomorrow 14:00" in text
    assert "Avoid sweating and hard exercise until Thursday 14:00" in text
    assert "No retinoids or acids until Tuesday 10 March 14:00" in text
    assert "Use SPF 30 or higher every day until Tuesday 17 March 14:00" in text
    # Course of 3, none booked: the due window from the course's min/max days.
    assert "due between 17 March and 14 April 2026" in text
    assert "What is normal" in text
    assert "+44 20 7946 0000" in text  # the clinic's phone for warning signs


def test_aftercare_names_the_booked_next_session(completed, face, practitioner):
    make_session(
        completed.patient,
        face,
        practitioner,
        start=datetime.datetime(2026, 3, 31, 10, 0, tzinfo=LONDON),
        sequence=2,
        course=completed.course,
        status="booked",
    )
    content = documents.session_document_render(appointment=completed, kind="aftercare")
    assert "booked for Tuesday 31 March 2026 at 10:00" in pdf_text(content)


def test_regenerating_replaces_the_file_and_keeps_one_row(completed):
    session_document_pdf.apply(args=[completed.pk, "aftercare"])
    first = SessionDocument.objects.get(appointment=completed, kind="aftercare")
    session_document_pdf.apply(args=[completed.pk, "aftercare"])
    assert SessionDocument.objects.filter(appointment=completed, kind="aftercare").count() == 1
    assert read(SessionDocument.objects.get(pk=first.pk)).startswith(b"%PDF")


def test_no_aftercare_for_a_session_that_is_not_completed(session, practitioner):
    ready_to_complete(session, practitioner)
    assert session_document_pdf.apply(args=[session.pk, "aftercare"]).get() is False
    assert not SessionDocument.objects.filter(kind="aftercare").exists()


def test_the_printable_chart_pdf_has_lots_areas_and_amendments(completed, practitioner):
    charting.chart_amend(
        chart=completed.chart, what="Left cheek 0.5 mL more", why="Late entry", by=practitioner
    )
    session_document_pdf.apply(args=[completed.pk, "chart"])
    text = pdf_text(read(SessionDocument.objects.get(appointment=completed, kind="chart")))
    assert "KIT-READY" in text
    assert "Left cheek 0.5 mL more" in text and "Late entry" in text
    assert completed.chart.signed_sha256 in text.replace(" ", "")


def test_completing_through_the_sessions_service_queues_the_aftercare(
    session, practitioner, django_capture_on_commit_callbacks
):
    from sessions.scheduling import services
    from tests.factories import ScreeningFactory

    ScreeningFactory(patient=session.patient, taken_on=timezone.localdate())
    with pytest.raises(services.SchedulingError, match="no chart yet"):
        services.appointment_complete(appointment=session, by=practitioner)
    ready_to_complete(session, practitioner)
    with (
        mock.patch("sessions.charting.tasks.session_document_pdf.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.appointment_complete(appointment=session, by=practitioner)
    delay.assert_any_call(session.pk, "aftercare")


def test_completion_refused_without_current_consent(session, practitioner, manager, face):
    from protocols.services import consent_version_create, current_consent
    from sessions.scheduling import services
    from tests.factories import ScreeningFactory

    ScreeningFactory(patient=session.patient, taken_on=timezone.localdate())
    ready_to_complete(session, practitioner)
    consent_version_create(protocol=face, text=current_consent(face).text + "\nNew.", by=manager)
    with pytest.raises(services.SchedulingError, match="no signed consent"):
        services.appointment_complete(appointment=session, by=practitioner)
    session.refresh_from_db()
    assert session.status != "completed"


def test_documents_appear_on_the_patient_page_for_clinical_roles_only(
    completed, practitioner_client, frontdesk
):
    session_document_pdf.apply(args=[completed.pk, "aftercare"])
    document = SessionDocument.objects.get(appointment=completed)
    page = practitioner_client.get(reverse("patients:detail", args=[completed.patient.public_id]))
    assert reverse("charting:document", args=[document.public_id]) in page.content.decode()
    response = practitioner_client.get(reverse("charting:document", args=[document.public_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    b"".join(response.streaming_content)
    desk = Client()
    desk.force_login(frontdesk)
    desk_page = desk.get(reverse("patients:detail", args=[completed.patient.public_id]))
    assert "charting:document" not in desk_page.content.decode()
    assert reverse("charting:document", args=[document.public_id]) not in (
        desk_page.content.decode()
    )
    assert desk.get(reverse("charting:document", args=[document.public_id])).status_code == 403


def test_lot_lookup_lists_sessions_and_schedules_recall_emails(
    completed, practitioner_client, settings
):
    url = reverse("charting:lot_lookup")
    page = practitioner_client.get(url, {"lot": "kit-ready"}).content.decode()
    assert completed.patient.full_name in page
    assert "Email these patients (1)" in page
    practitioner_client.post(url, {"lot": "KIT-READY", "email": "1"})
    practitioner_client.post(url, {"lot": "KIT-READY", "email": "1"})  # idempotent
    message = OutboundMessage.objects.get(kind="recall_notice")
    assert message.recipient == completed.patient.email
    outbox.deliver(ids=[message.pk])
    assert len(mail.outbox) == 1
    assert "KIT-READY" in mail.outbox[0].body
    assert "3 March 2026" in mail.outbox[0].body
    assert "No session used lot" in practitioner_client.get(url, {"lot": "NOPE"}).content.decode()


def test_course_photos_line_up_by_session(completed, practitioner_client, practitioner):
    from django.core.files.base import ContentFile

    for kind in ("before", "after"):
        photo = ClinicalPhoto(
            patient=completed.patient,
            kind=kind,
            area="cheeks",
            taken_on=datetime.date(2026, 3, 3),
            width=1,
            height=1,
            size_bytes=1,
            sha256="0" * 64,
            uploaded_by=practitioner,
        )
        photo.image.save("p.jpg", ContentFile(b"\xff\xd8\xff\xd9"))
    response = practitioner_client.get(
        reverse("charting:course_photos", args=[completed.course.public_id])
    )
    body = response.content.decode()
    assert body.count("cheeks before") == 1 and body.count("cheeks after") == 1


@pytest.mark.parametrize(
    ("hours", "label"),
    [
        (3, "until today 17:00"),
        (24, "until tomorrow 14:00"),
        (48, "until Thursday 14:00"),
        (24 * 6, "until Monday 14:00"),
        (24 * 7, "until Tuesday 10 March 14:00"),
    ],
)
def test_until_labels(hours, label):
    [line] = aftercare.care_lines([("x", hours)], finished_at=TUESDAY_2PM)
    assert line.until_label == label


def test_until_keeps_the_clock_time_across_the_spring_clock_change():
    saturday = datetime.datetime(2026, 3, 28, 14, 0, tzinfo=LONDON)
    [line] = aftercare.care_lines([("x", 24)], finished_at=saturday)
    assert line.until_label == "until tomorrow 14:00"


def test_demo_data_charts_completed_sessions_with_their_documents(
    patient, face, practitioner, manager, frontdesk
):
    from mesoclinic.core import roles
    from sessions.charting.demo import load_demo_charting
    from tests.sessions.charting.conftest import make_session

    appointment = make_session(
        patient,
        face,
        practitioner,
        start=timezone.now() - datetime.timedelta(days=14),
        status="completed",
    )
    users = {roles.PRACTITIONER: practitioner, roles.MANAGER: manager, roles.FRONT_DESK: frontdesk}
    load_demo_charting(users=users)
    load_demo_charting(users=users)  # idempotent
    appointment.refresh_from_db()
    assert appointment.chart.is_signed
    assert set(appointment.documents.values_list("kind", flat=True)) == {"aftercare", "chart"}
    assert patient.signed_consents.get().pdf
