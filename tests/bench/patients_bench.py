"""Patients at clinic scale: 60,000 patients (tier L: 250,000) with screenings; search and
patient page."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from tests.bench import bulk, tiers

NAME = "patients"
SAMPLES = 200

FIRST = (
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Emily Ella "
    "Poppy Evie Charlotte Sienna Daisy Oliver George Noah Arthur Leo Muhammad Harry Oscar Archie "
    "Henry Theodore Freddie Jack Charlie Thomas Jacob Alfie Finley Isaac Josephine Priya Aisha "
    "Mateo Sofia Lucas Chloe Hannah Zara Ethan Maya Aria Nora Elena Mohammed Yusuf Amir Leila"
).split()
LAST = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson "
    "Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner "
    "Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott "
    "Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter "
    "Richardson "
    "Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis "
    "Adams "
    "Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell "
    "Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens "
    "Whitaker Nguyen Kowalski Okafor Novak Fernandes Rossi Schmidt Murray"
).split()


def _typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def generate(ctx: dict) -> None:
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from mesoclinic.core import roles
    from patients.models import Patient, Screening

    roles.sync_groups()
    user, _ = User.objects.get_or_create(username="bench-practitioner")
    user.groups.add(Group.objects.get(name=roles.PRACTITIONER))
    ctx["practitioner"] = user
    target = tiers.current().patients
    existing = Patient.objects.count()
    rng = random.Random(20261122 + existing)
    batch = 25_000
    while existing < target:
        size = min(batch, target - existing)
        patients = []
        for n in range(existing, existing + size):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            patients.append(
                Patient(
                    first_name=first,
                    last_name=last,
                    date_of_birth=date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55)),
                    phone=f"+447{rng.randrange(400000000, 999999999)}",
                    email=f"{first}.{last}.{n}@example.com".lower(),
                    search_name=f"{first} {last}".lower(),
                    consents_to_marketing=rng.random() < 0.3,
                )
            )
        last_id = Patient.objects.order_by("-id").values_list("id", flat=True).first() or 0
        bulk.copy_insert(Patient, patients)
        created = Patient.objects.filter(id__gt=last_id).order_by("id").values_list("id", flat=True)
        today = timezone.localdate()
        bulk.copy_insert(
            Screening,
            [
                Screening(
                    patient_id=p,
                    taken_on=today - timedelta(days=rng.randrange(0, 400)),
                    recorded_by=user,
                    smoker=rng.random() < 0.15,
                    nsaids_recent=rng.random() < 0.05,
                )
                for p in created
            ],
        )
        existing += size
        print(f"  patients: {existing}", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient; ANALYZE patients_screening;")
    ctx["dataset_patients"] = Patient.objects.count()


def _timed(client, url, params=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, len(queries)


def measure(ctx: dict) -> dict[str, float]:
    from django.test import Client
    from django.urls import reverse

    from patients.models import Patient

    percentile = ctx["percentile"]
    rng = random.Random(7)
    client = Client()
    client.force_login(ctx["practitioner"])
    sample = list(Patient.objects.order_by("?")[:SAMPLES])
    search_times, search_queries = [], []
    for patient in sample:
        query = f"{_typo(patient.first_name, rng)} {patient.last_name}"
        elapsed, queries = _timed(client, reverse("patients:list"), {"q": query})
        search_times.append(elapsed)
        search_queries.append(queries)
    page_times, page_queries = [], []
    for patient in sample:
        elapsed, queries = _timed(client, reverse("patients:detail", args=[patient.public_id]))
        page_times.append(elapsed)
        page_queries.append(queries)
    return {
        "dataset_patients": ctx["dataset_patients"],
        "patient_search_p50_ms": round(percentile(search_times, 50), 1),
        "patient_search_p95_ms": round(percentile(search_times, 95), 1),
        "patient_search_queries": max(search_queries),
        "patient_page_p95_ms": round(percentile(page_times, 95), 1),
        "patient_page_queries": max(page_queries),
    }
