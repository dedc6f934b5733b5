"""Patient emails end to end: services write outbox rows, a real Celery worker on Redis
sends them to a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import datetime
import io

import pytest
from django.utils import timezone
from icalendar import Calendar
from pypdf import PdfReader

from mesoclinic.celery import app
from mesoclinic.core.models import OutboundMessage
from mesoclinic.core.tasks import dispatch_due_messages
from sessions.scheduling import services
from sessions.scheduling.models import Location, WorkingHours
from tests.sessions.comms.conftest import book, complete_session, messages_of
from tests.support.smtp import SMTPSink
from tests.support.worker import Worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
State = OutboundMessage.State


@pytest.fixture
def sink():
    with SMTPSink() as server:
        yield server


@pytest.fixture
def worker(queue, sink):
    env = {"CELERY_QUEUE": queue, "SITE_URL": "https://clinic.example"}
    with Worker(broker_url=None, smtp_port=sink.port, extra_env=env) as w:
        yield w


@pytest.fixture
def setting_up(settings, catalogue, practitioner):
    settings.CLINIC_QUIET_HOURS = ""  # the test must not depend on the hour it runs at
    settings.SITE_URL = "https://clinic.example"
    location = Location.objects.create(name="Harley Street", address="1 Harley Street")
    for weekday in range(7):
        WorkingHours.objects.create(
            practitioner=practitioner,
            location=location,
            weekday=weekday,
            start=datetime.time(9),
            end=datetime.time(17),
        )
    return location


def in_days(days: int, hour: int = 10) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_default_timezone()
    )


def dispatch(queue: str) -> None:
    with app.connection_for_write() as conn:
        dispatch_due_messages.apply_async(connection=conn, queue=queue)


def received(sink, words: str) -> list:
    return [m for m in list(sink.messages) if words in str(m["Subject"])]


def attachments(message) -> dict[str, object]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def test_booking_sends_the_confirmation_with_a_valid_ics(
    setting_up, patient, practitioner, catalogue, queue, sink, worker
):
    face = catalogue["PRP face rejuvenation"]
    appointment = book(
        patient, practitioner, setting_up, in_days(4), kind="maintenance", protocol=face
    )
    dispatch(queue)
    assert wait_until(
        lambda: messages_of(appointment, "booking_confirmation").get().state == State.SENT,
        timeout=60,
    )
    [email] = received(sink, "is booked")
    assert email["To"] == patient.email
    assert email.get_body(("html",)) is not None and email.get_body(("plain",)) is not None
    ics = attachments(email)["appointment.ics"]
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("dtstart") == appointment.starts_at
    assert event.decoded("dtend") == appointment.ends_at
    assert str(event["uid"]) == f"{appointment.public_id}@mesoclinic"
    # Pre-care went at booking too; the reminders wait for their time.
    assert wait_until(lambda: received(sink, "Preparing"), timeout=30)
    reminders = messages_of(appointment, "appointment_reminder")
    assert set(reminders.values_list("state", flat=True)) == {State.PENDING}


def test_completing_a_session_delivers_the_aftercare_email_with_its_pdf(
    setting_up, patient, practitioner, catalogue, queue, sink, worker
):
    face = catalogue["PRP face rejuvenation"]
    appointment = book(
        patient, practitioner, setting_up, in_days(1), kind="maintenance", protocol=face
    )
    # The worker runs on the real clock: tomorrow's session is completed today, overridden.
    complete_session(appointment, practitioner, override_reason="Seen early at their request")
    dispatch(queue)
    assert wait_until(
        lambda: messages_of(appointment, "aftercare").get().state == State.SENT, timeout=90
    )
    [email] = received(sink, "aftercare")
    files = attachments(email)
    [name] = [n for n in files if n.endswith(".pdf")]
    reader = PdfReader(io.BytesIO(files[name]))
    text = "".join(page.extract_text() for page in reader.pages)
    assert patient.first_name in text and "PRP face rejuvenation" in text
    assert "https://clinic.example/p/aftercare/" in email.get_body(("plain",)).get_content()
    followup = messages_of(appointment, "aftercare_followup").get()
    assert followup.state == State.PENDING and followup.due_at > timezone.now()


def test_cancelling_removes_pending_reminders_so_none_is_sent(
    setting_up, patient, practitioner, catalogue, queue, sink, worker
):
    face = catalogue["PRP face rejuvenation"]
    appointment = book(
        patient, practitioner, setting_up, in_days(12), kind="maintenance", protocol=face
    )
    waiting = messages_of(appointment).filter(
        kind__in=["appointment_reminder", "precare"], due_at__gt=timezone.now()
    )
    assert waiting.count() == 3  # reminders 48 h and 3 h before, pre-care 8 days before
    services.appointment_cancel(
        party="patient", appointment=appointment, reason="Moving away", by=practitioner
    )
    assert set(waiting.values_list("state", flat=True)) == {State.CANCELLED}
    # Time passes: the rows' moments arrive. Cancelled rows are never dispatched...
    messages_of(appointment).update(due_at=timezone.now() - datetime.timedelta(seconds=5))
    # ...and one that slipped back to "pending" is re-checked and dropped at send time.
    slipped = messages_of(appointment, "appointment_reminder").get(offset_key="-3")
    OutboundMessage.objects.filter(pk=slipped.pk).update(state=State.PENDING)
    dispatch(queue)
    assert wait_until(
        lambda: OutboundMessage.objects.get(pk=slipped.pk).state == State.CANCELLED, timeout=60
    )
    assert not received(sink, "Reminder")
    assert not received(sink, "Preparing for")
    assert OutboundMessage.objects.get(pk=slipped.pk).last_error == "No longer applies"


def test_moving_re_times_reminders_and_they_go_out_with_the_new_time(
    setting_up, patient, practitioner, catalogue, queue, sink, worker
):
    face = catalogue["PRP face rejuvenation"]
    appointment = book(
        patient, practitioner, setting_up, in_days(12), kind="maintenance", protocol=face
    )
    reminder = messages_of(appointment, "appointment_reminder").get(offset_key="-48")
    old_due = reminder.due_at
    new_start = in_days(6, hour=14)
    services.appointment_move(appointment=appointment, starts_at=new_start, by=practitioner)
    reminder.refresh_from_db()
    assert reminder.state == State.PENDING
    assert reminder.due_at == new_start - datetime.timedelta(hours=48) != old_due
    # The re-timed moment arrives.
    OutboundMessage.objects.filter(pk=reminder.pk).update(
        due_at=timezone.now() - datetime.timedelta(seconds=5)
    )
    dispatch(queue)
    assert wait_until(
        lambda: OutboundMessage.objects.get(pk=reminder.pk).state == State.SENT, timeout=60
    )
    [email] = received(sink, "Reminder")
    local_start = timezone.localtime(new_start)
    assert f"{local_start:%A} {local_start.day} {local_start:%B} at 14:00" in str(email["Subject"])
    # The 3-hour reminder is still waiting for its own (new) time.
    three = messages_of(appointment, "appointment_reminder").get(offset_key="-3")
    assert three.state == State.PENDING
    assert three.due_at == new_start - datetime.timedelta(hours=3)
