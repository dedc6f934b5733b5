"""Real appointment reminders, two Celery workers and two dispatchers at once: each once.

tests/core/test_outbox_worker.py proves the same for a killed worker and a Redis
restart; this one uses the appointment kinds the clinic actually sends.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter

import pytest
from django.utils import timezone

from mesoclinic.celery import app
from mesoclinic.core.models import OutboundMessage
from mesoclinic.core.tasks import dispatch_due_messages
from sessions.scheduling.models import Location, WorkingHours
from tests.factories import PatientFactory
from tests.sessions.comms.conftest import book
from tests.support.smtp import SMTPSink
from tests.support.worker import Worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
State = OutboundMessage.State


def test_two_workers_and_two_dispatchers_deliver_each_reminder_once(settings, practitioner):
    settings.CLINIC_QUIET_HOURS = ""
    location = Location.objects.create(name="Harley Street")
    for weekday in range(7):
        WorkingHours.objects.create(
            practitioner=practitioner,
            location=location,
            weekday=weekday,
            start=datetime.time(9),
            end=datetime.time(17),
        )
    zone = timezone.get_default_timezone()
    first_day = timezone.localdate() + datetime.timedelta(days=4)
    for i, patient in enumerate(PatientFactory.create_batch(30)):
        day = first_day + datetime.timedelta(days=i // 10)
        start = datetime.datetime.combine(day, datetime.time(9), tzinfo=zone)
        book(patient, practitioner, location, start + datetime.timedelta(minutes=30 * (i % 10)))
    # The reminders' moments arrive.
    reminders = OutboundMessage.objects.filter(kind="appointment_reminder")
    assert reminders.count() == 60
    reminders.update(due_at=timezone.now() - datetime.timedelta(seconds=5))
    due = set(
        OutboundMessage.objects.filter(state=State.PENDING, due_at__lte=timezone.now()).values_list(
            "id", flat=True
        )
    )
    queue = f"comms-{uuid.uuid4().hex[:10]}"
    with SMTPSink(delay=0.01) as sink:
        env = {"CELERY_QUEUE": queue}
        with (
            Worker(broker_url=None, smtp_port=sink.port, extra_env=env),
            Worker(broker_url=None, smtp_port=sink.port, extra_env=env),
        ):
            with app.connection_for_write() as conn:
                for _ in range(2):  # two beat ticks racing: every id is enqueued twice
                    dispatch_due_messages.apply_async(connection=conn, queue=queue)
            assert wait_until(
                lambda: (
                    not OutboundMessage.objects.filter(
                        pk__in=due, state__in=[State.PENDING, State.SENDING]
                    ).exists()
                ),
                timeout=90,
            )
        counts = Counter(sink.recorder.ids())
    sent = OutboundMessage.objects.filter(pk__in=due, state=State.SENT)
    assert set(counts) == {str(pk) for pk in sent.values_list("id", flat=True)}
    assert max(counts.values()) == 1  # none twice
    assert sent.filter(kind="appointment_reminder").count() == 60
    assert sent.filter(kind="booking_confirmation").count() == 30
    # Pre-care for a consultation has nothing to say: its builder cancels it.
    cancelled = OutboundMessage.objects.filter(pk__in=due, state=State.CANCELLED)
    assert set(cancelled.values_list("kind", flat=True)) <= {"precare"}
    assert sent.count() + cancelled.count() == len(due)
    assert sum(1 for m in sink.messages if str(m["Subject"]).startswith("Reminder:")) == 60
