"""The outbox: scheduling, claiming, sending exactly once, retries and recovery."""

import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from django.utils import timezone

from mesoclinic.core import outbox, outbox_rules
from mesoclinic.core.models import OutboundMessage
from tests.factories import PatientFactory
from tests.support import outbox_kinds
from tests.support.smtp import SMTPSink

State = OutboundMessage.State
LONDON = ZoneInfo("Europe/London")


# --- pure rules ------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 22, 12, 0), datetime(2026, 11, 22, 12, 0)),
        (datetime(2026, 11, 22, 22, 30), datetime(2026, 11, 23, 8, 0)),
        (datetime(2026, 11, 22, 3, 15), datetime(2026, 11, 22, 8, 0)),
        (datetime(2026, 11, 22, 21, 0), datetime(2026, 11, 23, 8, 0)),
        (datetime(2026, 11, 22, 8, 0), datetime(2026, 11, 22, 8, 0)),
    ],
)
def test_quiet_hours_spanning_midnight(local, expected):
    quiet = outbox_rules.parse_quiet_hours("21:00-08:00")
    due = local.replace(tzinfo=LONDON).astimezone(UTC)
    result = outbox_rules.defer_past_quiet_hours(due, zone=LONDON, quiet=quiet)
    assert result.astimezone(LONDON).replace(tzinfo=None) == expected


def test_quiet_hours_within_a_day_and_none():
    quiet = (time(12, 0), time(14, 0))
    due = datetime(2026, 6, 1, 12, 30, tzinfo=LONDON)
    assert outbox_rules.defer_past_quiet_hours(due, zone=LONDON, quiet=quiet).hour == 14
    assert outbox_rules.defer_past_quiet_hours(due, zone=LONDON, quiet=None) == due


@pytest.mark.parametrize("text", ["nine-five", "21:00", "25:00-08:00", "08:00-08:00"])
def test_bad_quiet_hours_are_refused(text):
    with pytest.raises(ValueError, match="Quiet hours"):
        outbox_rules.parse_quiet_hours(text)


def test_retry_backoff_grows_then_gives_up():
    delays = [outbox_rules.retry_delay(n) for n in range(1, outbox_rules.MAX_ATTEMPTS + 1)]
    assert delays[:-1] == sorted(delays[:-1])
    assert delays[-1] is None


# --- scheduling -----------------------------------------------------------


@pytest.fixture
def noon(settings):
    settings.CLINIC_QUIET_HOURS = ""
    return timezone.now()


def schedule(patient, due, offset=""):
    return outbox.message_schedule(
        kind=outbox_kinds.KIND,
        subject=patient,
        due_at=due,
        recipient=patient.email,
        patient=patient,
        offset_key=offset,
    )


@pytest.mark.django_db
def test_scheduling_is_idempotent_and_retimes_waiting_messages(noon):
    patient = PatientFactory()
    first = schedule(patient, noon + timedelta(hours=1))
    again = schedule(patient, noon + timedelta(hours=5))
    assert first.pk == again.pk
    assert OutboundMessage.objects.get().due_at == noon + timedelta(hours=5)
    schedule(patient, noon, offset="3h")
    assert OutboundMessage.objects.count() == 2
    assert outbox.messages_cancel(subject=patient) == 2
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {State.CANCELLED}


@pytest.mark.django_db
def test_quiet_hours_apply_when_scheduling(settings):
    settings.CLINIC_QUIET_HOURS = "21:00-08:00"
    settings.TIME_ZONE = "Europe/London"
    patient = PatientFactory()
    late = datetime(2026, 11, 22, 23, 0, tzinfo=LONDON)
    message = schedule(patient, late)
    assert message.due_at.astimezone(LONDON) == datetime(2026, 11, 23, 8, 0, tzinfo=LONDON)


# --- delivery -------------------------------------------------------------


@pytest.fixture
def smtp(settings):
    with SMTPSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield sink


@pytest.mark.django_db
def test_deliver_sends_due_messages_once_and_marks_them(noon, smtp):
    patients = PatientFactory.create_batch(3)
    messages = [schedule(p, noon - timedelta(minutes=1)) for p in patients]
    future = schedule(PatientFactory(), noon + timedelta(hours=2))
    ids = [m.pk for m in messages] + [future.pk]
    assert outbox.deliver(ids=ids)["sent"] == 3
    assert outbox.deliver(ids=ids)["sent"] == 0  # a second run finds nothing to do
    assert sorted(smtp.recorder.ids()) == sorted(str(m.pk) for m in messages)
    sent = OutboundMessage.objects.filter(state=State.SENT)
    assert sent.count() == 3
    assert all(m.sent_at and m.email_subject for m in sent)
    assert OutboundMessage.objects.get(pk=future.pk).state == State.PENDING
    email = smtp.messages[0]
    assert email.get_body(("plain",)) is not None and email.get_body(("html",)) is not None


@pytest.mark.django_db
def test_a_message_that_no_longer_applies_is_cancelled(noon, smtp):
    patient = PatientFactory(archived_at=timezone.now())
    message = schedule(patient, noon)
    assert outbox.deliver(ids=[message.pk])["cancelled"] == 1
    assert OutboundMessage.objects.get().state == State.CANCELLED
    assert smtp.messages == []


@pytest.mark.django_db
def test_failures_retry_with_backoff_then_fail_visibly(noon, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    message = schedule(PatientFactory(), noon)
    for attempt in range(1, outbox_rules.MAX_ATTEMPTS + 1):
        OutboundMessage.objects.filter(pk=message.pk).update(due_at=timezone.now())
        outbox.deliver(ids=[message.pk])
        message.refresh_from_db()
        assert message.attempts == attempt
        assert message.last_error
    assert message.state == State.FAILED
    outbox.message_resend(message=message)
    message.refresh_from_db()
    assert (message.state, message.attempts) == (State.PENDING, 0)


@pytest.mark.django_db
def test_stuck_sending_rows_are_recovered():
    message = schedule(PatientFactory(), timezone.now())
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=State.SENDING, claimed_at=timezone.now() - timedelta(minutes=30)
    )
    assert outbox.recover_stuck(now=timezone.now()) == 1
    assert OutboundMessage.objects.get().state == State.PENDING
    assert outbox.recover_stuck(now=timezone.now()) == 0


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_deliver_each_message_once(settings):
    settings.CLINIC_QUIET_HOURS = ""
    with SMTPSink(delay=0.002) as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        patients = PatientFactory.create_batch(120)
        ids = [schedule(p, timezone.now() - timedelta(seconds=1)).pk for p in patients]
        barrier = threading.Barrier(2)
        results = []

        def dispatcher():
            try:
                barrier.wait()
                for start in range(0, len(ids), 20):
                    results.append(outbox.deliver(ids=ids[start : start + 20])["sent"])
            finally:
                connections.close_all()

        threads = [threading.Thread(target=dispatcher) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        received = sink.recorder.ids()
        assert sum(results) == 120
        assert len(received) == 120
        assert sorted(received) == sorted(str(i) for i in ids)
        assert OutboundMessage.objects.filter(state=State.SENT).count() == 120
