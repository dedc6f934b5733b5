"""The outbox with a real Celery worker process, a broker and a local SMTP server."""

import shutil
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from mesoclinic.celery import app
from mesoclinic.core import outbox
from mesoclinic.core.models import OutboundMessage
from mesoclinic.core.tasks import (
    deliver_messages,
    dispatch_due_messages,
    recover_stuck_messages,
)
from tests.factories import PatientFactory
from tests.support import outbox_kinds
from tests.support.smtp import SMTPSink, free_port
from tests.support.worker import Worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
State = OutboundMessage.State


def due_messages(count: int) -> list[int]:
    now = timezone.now() - timedelta(seconds=5)
    return [
        outbox.message_schedule(
            kind=outbox_kinds.KIND,
            subject=p,
            due_at=now,
            recipient=p.email,
            patient=p,
            respect_quiet_hours=False,
        ).pk
        for p in PatientFactory.create_batch(count)
    ]


def trigger_dispatch(queue: str, broker_url: str | None = None) -> None:
    with app.connection_for_write(broker_url) as conn:
        dispatch_due_messages.apply_async(connection=conn, queue=queue)


def sent_count() -> int:
    return OutboundMessage.objects.filter(state=State.SENT).count()


@pytest.fixture
def queue():
    return f"test-{uuid.uuid4().hex[:10]}"


def test_a_worker_delivers_due_messages(queue):
    ids = due_messages(30)
    with (
        SMTPSink() as sink,
        Worker(broker_url=None, smtp_port=sink.port, extra_env={"CELERY_QUEUE": queue}),
    ):
        trigger_dispatch(queue)
        assert wait_until(lambda: sent_count() == 30, timeout=60)
        assert sorted(sink.recorder.ids()) == sorted(map(str, ids))


def test_worker_killed_mid_batch_loses_nothing_and_duplicates_at_most_the_one_in_flight(queue):
    ids = due_messages(40)
    with SMTPSink(delay=0.05) as sink:
        worker = Worker(
            broker_url=None, smtp_port=sink.port, extra_env={"CELERY_QUEUE": queue}
        ).start()
        try:
            trigger_dispatch(queue)
            assert wait_until(lambda: len(sink.messages) >= 10, timeout=60)
            worker.kill()
            stuck = OutboundMessage.objects.filter(state=State.SENDING).count()
            assert 0 < stuck < 40  # the kill really happened mid-batch
            # The sweeper (every 5 minutes in production) gives the rows back.
            assert outbox.recover_stuck(now=timezone.now(), older_than=timedelta(0)) == stuck
            worker = Worker(
                broker_url=None, smtp_port=sink.port, extra_env={"CELERY_QUEUE": queue}
            ).start()
            trigger_dispatch(queue)
            assert wait_until(lambda: sent_count() == 40, timeout=60)
        finally:
            worker.stop()
        received = sink.recorder.ids()
        assert set(received) == set(map(str, ids))
        assert len(received) - len(set(received)) <= 1
        # The one allowed re-send is the same email: one Message-ID per row.
        message_ids: dict[str, set[str]] = {}
        for email in sink.messages:
            message_ids.setdefault(email["X-Mesoclinic-Message"], set()).add(email["Message-ID"])
        assert all(len(found) == 1 for found in message_ids.values())
        assert len({found.pop() for found in message_ids.values()}) == 40


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_redis_restart_loses_no_message(queue, tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    redis = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    ids = due_messages(25)
    try:
        wait_until(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True
                ).returncode
                == 0
            )
        )
        # Work is queued, then Redis dies with it before any worker ran.
        trigger_dispatch(queue, url)
        redis.kill()
        redis.wait()
        redis = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True
                ).returncode
                == 0
            )
        )
        with (
            SMTPSink() as sink,
            Worker(broker_url=url, smtp_port=sink.port, extra_env={"CELERY_QUEUE": queue}),
        ):
            # Nothing is in the new Redis; the next beat tick finds the rows again.
            trigger_dispatch(queue, url)
            assert wait_until(lambda: sent_count() == 25, timeout=60)
            received = sink.recorder.ids()
            assert sorted(received) == sorted(map(str, ids))
    finally:
        redis.kill()
        redis.wait()
    assert settings.CELERY_TASK_ACKS_LATE


def test_the_stuck_row_sweeper_does_not_wait_behind_deliveries(queue):
    """A long line of deliveries is queued before the sweeper; one solo worker still
    runs the sweeper before the line is through (it has a queue of its own)."""
    ids = due_messages(120)
    stuck = due_messages(1)[0]
    OutboundMessage.objects.filter(pk=stuck).update(
        state=State.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    with app.connection_for_write() as conn:
        for start in range(0, len(ids), 4):
            deliver_messages.apply_async(
                args=[ids[start : start + 4]], connection=conn, queue=queue
            )
        recover_stuck_messages.apply_async(connection=conn, queue=f"{queue}-control")
    with (
        SMTPSink(delay=0.02) as sink,
        Worker(broker_url=None, smtp_port=sink.port, extra_env={"CELERY_QUEUE": queue}),
    ):
        assert wait_until(
            lambda: OutboundMessage.objects.filter(pk=stuck, state=State.PENDING).exists(),
            timeout=90,
        )
        # Recovered while most of the 30 delivery tasks were still waiting in line.
        assert sent_count() < len(ids) // 2
        assert wait_until(lambda: sent_count() == len(ids), timeout=120)


def test_routing_sends_beat_tasks_to_the_control_queue():
    routes = settings.CELERY_TASK_ROUTES
    control = settings.CELERY_CONTROL_QUEUE
    assert routes[dispatch_due_messages.name]["queue"] == control
    assert routes[recover_stuck_messages.name]["queue"] == control
    # A worker started without -Q consumes both queues.
    assert {q.name for q in app.amqp.queues.values()} >= {
        settings.CELERY_TASK_DEFAULT_QUEUE,
        control,
    }
