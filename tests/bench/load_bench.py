"""Concurrent staff load: 50 simulated staff (Locust, headless) against gunicorn.

The app runs under gunicorn with the web command of docker-compose.yml (its
--workers), on loopback only, against the bench database. Forty front-desk users and
ten practitioners, each already signed in (sign-in is not what is measured; the
second factor is off for the server), work for LOAD_SECONDS (at most LOAD_REQUESTS
requests) with a think time of 0.5-1.5 s: the calendar week, patient search, the
patient page, planning and booking a course, a quote, and (practitioners) saving a
chart. Every course is booked with one practitioner from the same first day, so
bookings race for the same slots; afterwards the bench counts overlapping live
appointments of that practitioner (`load_double_bookings`, must be 0). A refusal in
words (the slot was just taken) is not an error; a 5xx or a broken connection is.

Figures: load_users, load_rps, load_p50_ms / load_p95_ms / load_p99_ms (all requests),
load_errors, load_double_bookings, load_bookings, load_refusals and
load_<request type>_p95_ms.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

NAME = "load"
USERS = 50
PRACTITIONER_USERS = 10
LOAD_SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
LOAD_REQUESTS = int(os.environ.get("LOAD_REQUESTS", "20000"))
SPAWN_RATE = 10
BASE_DIR = Path(__file__).resolve().parents[2]
OUT_DIR = BASE_DIR / "var" / "bench"
SCENARIO = OUT_DIR / "load-scenario.json"
CONTESTED = "bench-load-contested"


def compose_web_args() -> list[str]:
    """gunicorn's options as docker-compose.yml's web service starts it (but loopback)."""
    text = (BASE_DIR / "docker-compose.yml").read_text()
    found = re.search(r"gunicorn mesoclinic\.wsgi([^\n\"]*)", text)
    if found is None:
        raise SystemExit("docker-compose.yml's web command does not start gunicorn.")
    args = found.group(1).split()
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("--bind", "-b", "--access-logfile"):
            skip = True
            continue
        kept.append(arg)
    return kept


def _session_cookie(user) -> str:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "mesoclinic.core.accounts.backends.StaffBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def _staff(ctx) -> tuple[list, list]:
    from django.contrib.auth.models import Group, User

    from mesoclinic.core import roles

    desk_group = Group.objects.get(name=roles.FRONT_DESK)
    desks = []
    for n in range(USERS - PRACTITIONER_USERS):
        user, created = User.objects.get_or_create(
            username=f"bench-load-desk-{n:02d}",
            defaults={"first_name": "Desk", "last_name": f"{n:02d}"},
        )
        if created:
            user.groups.add(desk_group)
        desks.append(user)
    return desks, ctx["doctors"][:PRACTITIONER_USERS]


def _contested(ctx):
    """The practitioner every simulated booking goes to, with an empty calendar."""
    from django.contrib.auth.models import Group, User

    from mesoclinic.core import roles
    from sessions.scheduling.models import Appointment, TreatmentPlan, WorkingHours

    location = ctx["locations"][0]
    user, created = User.objects.get_or_create(
        username=CONTESTED, defaults={"first_name": "Contested", "last_name": "Doctor"}
    )
    if created:
        user.groups.add(Group.objects.get(name=roles.PRACTITIONER))
        WorkingHours.objects.bulk_create(
            WorkingHours(
                practitioner=user, location=location, weekday=day, start=clock(8), end=clock(20)
            )
            for day in range(7)
        )
    Appointment.objects.filter(practitioner=user).delete()
    TreatmentPlan.objects.filter(practitioner=user).delete()
    return user, location


def _charts(doctors) -> dict[str, list[str]]:
    """Per practitioner, appointments checked in today-ish with an open chart."""
    from django.utils import timezone

    from sessions.charting import services as charting
    from sessions.scheduling.models import Appointment

    now = timezone.now()
    charts: dict[str, list[str]] = {}
    for doctor in doctors:
        rows = list(
            Appointment.objects.filter(
                practitioner=doctor, protocol__isnull=False, starts_at__gt=now
            )
            .exclude(status="cancelled")
            .order_by("starts_at")[:5]
        )
        ready = []
        for appointment in rows:
            if appointment.status != "checked_in":
                Appointment.objects.filter(pk=appointment.pk).update(
                    status="checked_in", checked_in_at=now
                )
                appointment.refresh_from_db()
            try:
                charting.chart_open(appointment=appointment, by=doctor)
            except Exception as exc:  # a protocol the chart cannot open for: skip it
                print(f"  chart not opened for {appointment.pk}: {exc}", flush=True)
                continue
            ready.append(str(appointment.public_id))
        charts[str(doctor.pk)] = ready
    return charts


def generate(ctx: dict) -> None:
    from patients.models import Patient
    from protocols.models import Protocol
    from tests.bench import billing_bench, sessions_bench

    if "doctors" not in ctx:
        sessions_bench.generate(ctx)
    if "scalp" not in ctx:
        billing_bench.generate(ctx)
    desks, doctors = _staff(ctx)
    charts = _charts(doctors)
    contested, location = _contested(ctx)
    rng = random.Random(17)
    patients = list(
        Patient.objects.filter(archived_at__isnull=True)
        .order_by("?")
        .values_list("public_id", "first_name", "last_name")[:600]
    )
    protocol = (
        Protocol.objects.bookable().filter(sessions_in_course__gte=2).order_by("name").first()
    )
    scenario = {
        "desk_sessions": [_session_cookie(u) for u in desks],
        "doctors": [[_session_cookie(u), charts[str(u.pk)]] for u in doctors],
        "patients": [str(p[0]) for p in patients],
        "searches": [f"{first} {last[:-1]}" for _, first, last in patients],
        "locations": [str(loc.public_id) for loc in ctx["locations"]],
        "first_day": ctx["first_day"].isoformat(),
        "days": ctx["days"],
        "course": {
            "protocol": protocol.pk,
            "practitioner": contested.pk,
            "location": location.pk,
            "earliest": (ctx["first_day"] + timedelta(days=ctx["days"] // 2 + 30)).isoformat(),
        },
        "quote_field": f"sessions_{ctx['scalp'].pk}",
        "seed": rng.randrange(1_000_000),
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    SCENARIO.write_text(json.dumps(scenario))
    ctx["load_contested"] = contested


def _wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The app did not answer on {url}.")


def _double_bookings(practitioner) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM clinic_sessions_appointment a
            JOIN clinic_sessions_appointment b
              ON a.practitioner_id = b.practitioner_id AND a.id < b.id
             AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
            WHERE a.practitioner_id = %s
              AND a.status <> 'cancelled' AND b.status <> 'cancelled'
            """,
            [practitioner.pk],
        )
        return cursor.fetchone()[0]


def measure(ctx: dict) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from mesoclinic.core.models import OutboundMessage
    from sessions.scheduling.models import Appointment
    from tests.support.smtp import free_port
    from tests.support.worker import database_url_for_tests

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "TWO_FACTOR_REQUIRED_ROLES": "",
        "EMAIL_URL": "consolemail://",  # the web sends no email: the outbox does
    }
    started_at = timezone.now()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "mesoclinic.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            *compose_web_args(),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(OUT_DIR / "load-gunicorn.log", "w"),  # noqa: SIM115 - the server's log
    )
    prefix = OUT_DIR / "load"
    try:
        _wait_for(f"{host}/healthz")
        connection.close()  # the bench's own connection must not hold locks meanwhile
        locust = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(Path(__file__).with_name("locustfile.py")),
                "--headless",
                "--users",
                str(USERS),
                "--spawn-rate",
                str(SPAWN_RATE),
                "--run-time",
                f"{LOAD_SECONDS}s",
                "--host",
                host,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=settings.BASE_DIR,
            env={**env, "LOAD_SCENARIO": str(SCENARIO), "LOAD_REQUESTS": str(LOAD_REQUESTS)},
            capture_output=True,
            text=True,
        )
        if locust.returncode not in (0, 1):  # 1: some requests failed (reported below)
            print(locust.stdout[-3000:], locust.stderr[-3000:], flush=True)
            raise SystemExit(f"Locust stopped with exit code {locust.returncode}.")
    finally:
        web.terminate()
        web.wait(timeout=30)
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    total = rows.pop("Aggregated")
    contested = ctx["load_contested"]
    booked = Appointment.objects.filter(practitioner=contested, created_at__gte=started_at).exclude(
        status="cancelled"
    )
    extra = json.loads((OUT_DIR / "load-extra.json").read_text())
    # The bookings queued confirmation emails; no worker runs here, so they are not sent.
    OutboundMessage.objects.filter(created_at__gte=started_at, state="pending").update(
        state="cancelled", last_error="Left by the load bench"
    )
    figures = {
        "load_users": USERS,
        "load_seconds": LOAD_SECONDS,
        "load_requests": int(total["Request Count"]),
        "load_rps": round(float(total["Requests/s"]), 1),
        "load_p50_ms": float(total["50%"]),
        "load_p95_ms": float(total["95%"]),
        "load_p99_ms": float(total["99%"]),
        "load_errors": int(total["Failure Count"]),
        "load_double_bookings": _double_bookings(contested),
        "load_bookings": booked.count(),
        "load_refusals": extra["refusals"],
    }
    for name, row in sorted(rows.items()):
        figures[f"load_{name}_p50_ms"] = float(row["50%"])
        figures[f"load_{name}_p95_ms"] = float(row["95%"])
        figures[f"load_{name}_p99_ms"] = float(row["99%"])
    return figures
