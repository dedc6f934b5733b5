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
def test_scheduling_many_at_once_is_scheduling_each(noon, django_assert_num_queries):
    """Two queries for any number of new messages; those that exist are re-timed while
    waiting or cancelled, and left alone once sent, as `message_schedule` does."""
    patient, other = PatientFactory(), PatientFactory()
    schedule(patient, noon, offset="cancelled")
    outbox.messages_cancel(subject=patient)
    schedule(patient, noon, offset="waiting")
    sent = schedule(patient, noon, offset="sent")
    OutboundMessage.objects.filter(pk=sent.pk).update(state=State.SENT)
    later = noon + timedelta(hours=2)

    def planned(subject, offset):
        return outbox.Planned(
            kind=outbox_kinds.KIND,
            subject=subject,
            due_at=later,
            recipient=subject.email,
            patient=subject,
            offset_key=offset,
        )

    with django_assert_num_queries(2):
        outbox.messages_schedule([planned(patient, "new"), planned(other, "new")])
    outbox.messages_schedule(
        [planned(patient, key) for key in ("waiting", "cancelled", "sent", "new")]
    )
    rows = {(m.patient_id, m.offset_key): m for m in OutboundMessage.objects.all()}
    assert len(rows) == 5
    assert rows[(other.pk, "new")].due_at == later
    assert rows[(patient.pk, "new")].due_at == later
    for key in ("waiting", "cancelled"):
        assert (rows[(patient.pk, key)].state, rows[(patient.pk, key)].due_at) == (
            State.PENDING,
            later,
        )
    assert (rows[(patient.pk, "sent")].state, rows[(patient.pk, "sent")].due_at) == (
        State.SENT,
        sent.due_at,
    )


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


# --- the same message every time, queued once ------------------------------


def test_message_id_is_derived_from_the_row():
    assert (
        outbox_rules.message_id(row_id=42, kind="appointment_reminder", generation=0, domain="c.io")
        == "<outbox-42-appointment_reminder@c.io>"
    )
    assert (
        outbox_rules.message_id(row_id=42, kind="appointment_reminder", generation=2, domain="c.io")
        == "<outbox-42-appointment_reminder.2@c.io>"
    )
    assert outbox_rules.sender_domain("Mesoclinic <Hello@Clinic.Example>") == "clinic.example"
    assert outbox_rules.sender_domain("noreply@clinic.example") == "clinic.example"


@pytest.mark.django_db
def test_a_resend_after_a_crash_is_the_same_email(noon, smtp, settings):
    """The server accepted the email, the worker died before marking the row: the
    recovered row sends again with the same Message-ID, so the patient sees one."""
    settings.DEFAULT_FROM_EMAIL = "Clinic <hello@clinic.example>"
    message = schedule(PatientFactory(), noon - timedelta(minutes=1))
    assert outbox.deliver(ids=[message.pk])["sent"] == 1
    # What the crash leaves behind: the row still "sending", claimed long ago.
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=State.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert outbox.recover_stuck(now=timezone.now()) == 1
    assert outbox.deliver(ids=[message.pk])["sent"] == 1
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"] == f"<outbox-{message.pk}-{outbox_kinds.KIND}@clinic.example>"
    # Staff sending it again on purpose is a new email, not dropped as a copy.
    message.refresh_from_db()
    outbox.message_resend(message=message)
    assert outbox.deliver(ids=[message.pk])["sent"] == 1
    assert smtp.messages[2]["Message-ID"] == (
        f"<outbox-{message.pk}-{outbox_kinds.KIND}.1@clinic.example>"
    )


@pytest.fixture
def queued(monkeypatch):
    """What the dispatcher hands to the broker, batch by batch."""
    from mesoclinic.core import tasks

    batches: list[list[int]] = []
    monkeypatch.setattr(tasks.deliver_messages, "delay", batches.append)
    return batches


@pytest.mark.django_db
def test_the_dispatcher_queues_each_due_id_once(noon, queued, monkeypatch):
    from mesoclinic.core import tasks

    monkeypatch.setattr(tasks, "BATCH", 4)
    ids = [schedule(p, noon - timedelta(minutes=1)).pk for p in PatientFactory.create_batch(10)]
    later = schedule(PatientFactory(), noon + timedelta(hours=1))
    assert tasks.dispatch_due_messages() == 10
    assert tasks.dispatch_due_messages() == 0  # the next minute: all still queued
    assert [len(b) for b in queued] == [4, 4, 2]
    assert sorted(i for b in queued for i in b) == sorted(ids)
    assert later.pk not in {i for b in queued for i in b}


@pytest.mark.django_db
def test_in_flight_and_queued_rows_are_not_queued_again_until_they_wait_again(noon):
    patients = PatientFactory.create_batch(3)
    first, second, third = (schedule(p, noon - timedelta(minutes=1)) for p in patients)
    now = timezone.now()
    assert outbox.mark_queued(now=now) == sorted([first.pk, second.pk, third.pk])
    assert outbox.claim(ids=[first.pk], now=now) == [first.pk]  # a worker holds it
    assert outbox.mark_queued(now=now) == []
    # A row whose mark is cleared (see the retry test below) is queued at the next dispatch.
    OutboundMessage.objects.filter(pk=second.pk).update(queued_at=None)
    assert outbox.mark_queued(now=now) == [second.pk]
    # Re-timing a waiting message clears the mark.
    schedule(patients[2], noon - timedelta(seconds=30))
    assert outbox.mark_queued(now=timezone.now()) == [third.pk]
    # Past the lease, the broker is taken to have lost the task: queued once more.
    later = now + outbox.QUEUED_LEASE + timedelta(seconds=1)
    assert outbox.mark_queued(now=later) == sorted([second.pk, third.pk])
    # The worker that held the first died: recovery gives it back, and it is queued again.
    assert outbox.recover_stuck(now=later) == 1
    assert outbox.mark_queued(now=later) == [first.pk]


@pytest.mark.django_db
def test_a_failed_attempt_waits_unqueued_for_its_retry(noon, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    message = schedule(PatientFactory(), noon - timedelta(minutes=1))
    assert outbox.mark_queued(now=timezone.now()) == [message.pk]
    assert outbox.deliver(ids=[message.pk])["retry"] == 1
    message.refresh_from_db()
    assert message.queued_at is None and message.state == State.PENDING
    assert outbox.mark_queued(now=message.due_at) == [message.pk]


@pytest.mark.django_db(transaction=True)
def test_a_worker_starting_at_once_finds_the_dispatched_rows_unlocked(settings, monkeypatch):
    """With several worker processes, a batch can start before the dispatcher has
    finished queueing; its claim must not skip rows the dispatcher still holds."""
    from mesoclinic.core import tasks

    settings.CLINIC_QUIET_HOURS = ""
    with SMTPSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        ids = [
            schedule(p, timezone.now() - timedelta(seconds=1)).pk
            for p in PatientFactory.create_batch(6)
        ]
        results = []

        def worker_now(batch):
            # Another process (its own connection) runs the batch as soon as it is queued.
            def run():
                try:
                    results.append(outbox.deliver(ids=batch)["sent"])
                finally:
                    connections.close_all()

            thread = threading.Thread(target=run)
            thread.start()
            thread.join()

        monkeypatch.setattr(tasks, "BATCH", 2)
        monkeypatch.setattr(tasks.deliver_messages, "delay", worker_now)
        assert tasks.dispatch_due_messages() == 6
        assert results == [2, 2, 2]
        assert sorted(sink.recorder.ids()) == sorted(map(str, ids))


@pytest.mark.django_db
def test_a_refused_batch_is_queued_again_at_the_next_dispatch(noon, monkeypatch):
    from mesoclinic.core import tasks

    ids = [schedule(p, noon - timedelta(minutes=1)).pk for p in PatientFactory.create_batch(4)]
    handed: list[list[int]] = []

    def broker(batch):
        if handed:
            raise ConnectionError("broker down")
        handed.append(batch)

    monkeypatch.setattr(tasks, "BATCH", 2)
    monkeypatch.setattr(tasks.deliver_messages, "delay", broker)
    with pytest.raises(ConnectionError):
        tasks.dispatch_due_messages()
    assert outbox.mark_queued(now=timezone.now()) == sorted(ids[2:])
