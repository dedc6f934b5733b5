"""10,000 due appointment reminders through a real Celery worker to a local SMTP sink.

The reminders are the real `appointment_reminder` kind: the builder re-reads each
appointment and its patient and renders the branded HTML + text email with its
signed links, exactly as in production. The worker runs as the compose stack runs it
(the prefork pool with docker-compose.yml's --concurrency), beat's dispatcher is one real
task, and the outbox table already holds the tier's history of sent messages (50,000
at M, 190,000 at L: 200,000 rows with the 10,000 due ones).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from tests.bench import bulk, tiers

NAME = "reminders"
COUNT = 10_000


def compose_worker_args() -> tuple[str, ...]:
    """The worker's process count as docker-compose.yml starts it (prefork pool)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    found = re.search(r"celery -A mesoclinic worker[^\n]*--concurrency (\d+)", text)
    if found is None:
        raise SystemExit("docker-compose.yml's worker command has no --concurrency.")
    return ("--concurrency", found.group(1))


KIND = "appointment_reminder"
# The bench's own clinic and practitioner, with one consultation every 30 minutes from
# here on, so the appointments never clash with other suites and stay in the future.
FIRST_START = datetime(2100, 1, 4, 9, 0, tzinfo=UTC)


def _appointments(patients: list[int]) -> list[int]:
    from django.contrib.auth.models import User

    from sessions.scheduling.models import Appointment, Location

    location, _ = Location.objects.get_or_create(name="Bench reminders clinic")
    practitioner, _ = User.objects.get_or_create(
        username="bench-reminders", defaults={"first_name": "Bench", "last_name": "Doctor"}
    )
    mine = Appointment.objects.filter(location=location)
    if mine.count() != len(patients):
        mine.delete()
        Appointment.objects.bulk_create(
            [
                Appointment(
                    patient_id=patient_id,
                    kind=Appointment.Kind.CONSULTATION,
                    practitioner=practitioner,
                    location=location,
                    starts_at=FIRST_START + timedelta(minutes=30 * i),
                    ends_at=FIRST_START + timedelta(minutes=30 * i + 30),
                )
                for i, patient_id in enumerate(patients)
            ],
            batch_size=2_000,
        )
    return list(mine.order_by("id").values_list("id", "patient_id", "patient__email"))


HEADER = re.compile(rb"^X-Mesoclinic-Message: *(\d+)", re.MULTILINE | re.IGNORECASE)


def _sink():
    """The local SMTP server, recording only each message's outbox id.

    The shared test sink parses every message fully with the email package, which
    costs more CPU than the worker's own sending; the server is not what is measured.
    """
    from aiosmtpd.controller import Controller

    from tests.support.smtp import Recorder, SMTPSink

    class HeaderRecorder(Recorder):
        async def handle_DATA(self, server, session, envelope):
            head = envelope.content.split(b"\r\n\r\n", 1)[0]
            found = HEADER.search(head)
            with self._lock:
                self.messages.append(
                    {"X-Mesoclinic-Message": found.group(1).decode() if found else None}
                )
            return "250 Message accepted for delivery"

    sink = SMTPSink()
    sink.recorder = HeaderRecorder()
    sink.controller = Controller(sink.recorder, hostname="127.0.0.1", port=sink.port)
    return sink


def _history(patient_type) -> None:
    """Messages sent over the years before this run: the table the dispatcher and the
    patient pages read is the size of a real one."""
    from django.utils import timezone

    from mesoclinic.core.models import OutboundMessage
    from patients.models import Patient

    target = tiers.current().outbox_history
    existing = OutboundMessage.objects.filter(offset_key__startswith="hist-").count()
    if existing >= target:
        return
    patient_ids = list(Patient.objects.order_by("id").values_list("id", flat=True))
    now = timezone.now()
    rows = []
    for n in range(existing, target):
        patient_id = patient_ids[n % len(patient_ids)]
        due = now - timedelta(minutes=5 + (n * 7919) % (60 * 24 * 365 * 3))
        rows.append(
            OutboundMessage(
                kind=KIND,
                subject_type=patient_type,
                subject_id=patient_id,
                offset_key=f"hist-{n}",
                patient_id=patient_id,
                recipient=f"patient{patient_id}@example.com",
                due_at=due,
                state="sent",
                attempts=1,
                sent_at=due + timedelta(seconds=2),
                email_subject="Your appointment reminder",
                created_at=due - timedelta(days=2),
            )
        )
    bulk.copy_insert(OutboundMessage, rows)
    print(f"  outbox history: {target}", flush=True)


def generate(ctx: dict) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from mesoclinic.core.models import OutboundMessage
    from patients.models import Patient
    from sessions.scheduling.models import Appointment

    run = uuid.uuid4().hex[:8]
    ctx["reminder_run"] = run
    # Earlier runs' rows go (a run stopped half-way leaves due rows that must not feed
    # this one), so the table holds the tier's history plus this run's 10,000.
    OutboundMessage.objects.filter(offset_key__startswith="bench-").delete()
    _history(ContentType.objects.get_for_model(Patient))
    patients = list(
        Patient.objects.exclude(email="")
        .filter(archived_at__isnull=True, preferred_channel="email", consents_to_transactional=True)
        .order_by("id")
        .values_list("id", flat=True)[:COUNT]
    )
    appointments = _appointments(patients)
    appointment_type = ContentType.objects.get_for_model(Appointment)
    due = timezone.now() - timedelta(minutes=1)
    OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                kind=KIND,
                subject_type=appointment_type,
                subject_id=pk,
                offset_key=f"bench-{run}",
                patient_id=patient_id,
                recipient=email,
                due_at=due,
            )
            for pk, patient_id, email in appointments
        ],
        batch_size=5_000,
    )
    ctx["reminders_due"] = len(appointments)


def measure(ctx: dict) -> dict[str, float]:
    from django.conf import settings

    from mesoclinic.celery import app
    from mesoclinic.core.models import OutboundMessage
    from mesoclinic.core.tasks import dispatch_due_messages
    from tests.support.worker import database_url_for_tests

    run = ctx["reminder_run"]
    rows = OutboundMessage.objects.filter(offset_key=f"bench-{run}")
    queue = f"bench-{run}"
    db_url = database_url_for_tests()
    with _sink() as sink:
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
                *compose_worker_args(),
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
            time.sleep(5)  # worker start-up (two prefork children) is not part of the figure
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
        "dataset_outbox_rows": OutboundMessage.objects.count(),
        "reminders_due": ctx["reminders_due"],
        "reminders_delivered": delivered,
        "reminders_duplicates": len(received) - delivered,
        "reminders_per_s": round(delivered / elapsed, 1),
        "reminders_worker_processes": int(compose_worker_args()[1]),
    }
