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
from mesoclinic.core.tasks import dispatch_due_messages
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
