"""10,000 due messages through one real Celery worker to a local SMTP sink."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

NAME = "reminders"
COUNT = 10_000
KIND = "test_note"  # tests.support.outbox_kinds: renders and sends a full HTML + text email


def generate(ctx: dict) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from mesoclinic.models import OutboundMessage
    from patients.models import Patient

    run = uuid.uuid4().hex[:8]
    ctx["reminder_run"] = run
    patients = list(Patient.objects.order_by("id").values_list("id", "email")[:COUNT])
    patient_type = ContentType.objects.get_for_model(Patient)
    due = timezone.now() - timedelta(minutes=1)
    OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                kind=KIND,
                subject_type=patient_type,
                subject_id=pk,
                offset_key=f"bench-{run}",
                patient_id=pk,
                recipient=email,
                due_at=due,
            )
            for pk, email in patients
        ],
        batch_size=5_000,
    )
    ctx["reminders_due"] = len(patients)


def measure(ctx: dict) -> dict[str, float]:
    from django.conf import settings

    from mesoclinic.celery import app
    from mesoclinic.models import OutboundMessage
    from mesoclinic.tasks import dispatch_due_messages
    from tests.support.smtp import SMTPSink
    from tests.support.worker import database_url_for_tests

    run = ctx["reminder_run"]
    rows = OutboundMessage.objects.filter(offset_key=f"bench-{run}")
    queue = f"bench-{run}"
    db_url = database_url_for_tests()
    with SMTPSink() as sink:
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
            "CELERY_QUEUE": queue,
        }
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mesoclinic",
                "worker",
                "--include",
                "tests.support.outbox_kinds",
                "--concurrency",
                "1",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )
        try:
            time.sleep(3)  # worker start-up is not part of the figure
            started = time.perf_counter()
            with app.connection_for_write() as conn:
                dispatch_due_messages.apply_async(connection=conn, queue=queue)
            deadline = time.monotonic() + 600
            while (
                rows.filter(state__in=["pending", "sending"]).exists()
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        received = sink.recorder.ids()
    delivered = len(set(received))
    return {
        "reminders_due": ctx["reminders_due"],
        "reminders_delivered": delivered,
        "reminders_duplicates": len(received) - delivered,
        "reminders_per_s": round(delivered / elapsed, 1),
    }
