"""Courses and the calendar at clinic scale.

Tier M: 10 locations, 60 practitioners and 170,000 appointments over five years; tier L:
25 locations, 150 practitioners and 700,000 appointments over ten years (half past,
half ahead), about a third of them sessions of 3-session courses, for the patients of
the patients suite. Times the calendar week view (page and its event feed together),
course planning, booking a session, and the patient page of a patient with courses.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

from tests.bench import bulk, tiers

NAME = "sessions"
TIER = tiers.current()
LOCATIONS = TIER.locations
PRACTITIONERS = TIER.practitioners
TARGET_APPOINTMENTS = TIER.appointments
YEARS = TIER.years
COURSES_PER_PRACTITIONER = TIER.courses_per_practitioner
SAMPLES = 100


def _users(ctx):
    from django.contrib.auth.models import Group, User

    from mesoclinic.core import roles

    roles.sync_groups()
    group = Group.objects.get(name=roles.PRACTITIONER)
    doctors = []
    for n in range(PRACTITIONERS):
        user, created = User.objects.get_or_create(
            username=f"bench-doctor-{n:02d}",
            defaults={"first_name": "Doctor", "last_name": f"{n:02d}"},
        )
        if created:
            user.groups.add(group)
        doctors.append(user)
    desk, created = User.objects.get_or_create(username="bench-frontdesk")
    if created:
        desk.groups.add(Group.objects.get(name=roles.FRONT_DESK))
    ctx["doctors"] = doctors
    ctx["frontdesk"] = desk


def _places(ctx):
    from datetime import time as clock

    from sessions.scheduling.models import Location, Room, WorkingHours

    locations = []
    for n in range(LOCATIONS):
        location, created = Location.objects.get_or_create(name=f"Bench clinic {n:02d}")
        if created:
            Room.objects.bulk_create(
                [Room(location=location, name=f"Room {r + 1}") for r in range(3)]
            )
        locations.append(location)
    per_location = PRACTITIONERS // LOCATIONS
    if not WorkingHours.objects.filter(practitioner=ctx["doctors"][0]).exists():
        WorkingHours.objects.bulk_create(
            [
                WorkingHours(
                    practitioner=doctor,
                    location=locations[i // per_location],
                    weekday=day,
                    start=clock(8),
                    end=clock(20),
                )
                for i, doctor in enumerate(ctx["doctors"])
                for day in range(7)
            ]
        )
    ctx["locations"] = locations
    ctx["location_of"] = {d.pk: locations[i // per_location] for i, d in enumerate(ctx["doctors"])}
    ctx["rooms"] = {loc.pk: list(loc.rooms.order_by("name")) for loc in locations}


def generate(ctx: dict) -> None:
    from django.db import connection
    from django.utils import timezone

    from patients.models import Patient
    from protocols.models import Protocol
    from sessions.scheduling.models import Appointment, TreatmentPlan

    _users(ctx)
    _places(ctx)
    zone = timezone.get_default_timezone()
    today = timezone.localdate()
    first_day = today - timedelta(days=365 * YEARS // 2)
    days = 365 * YEARS
    ctx["first_day"], ctx["days"] = first_day, days
    existing = Appointment.objects.filter(location__in=ctx["locations"]).count()
    if existing < TARGET_APPOINTMENTS:
        Appointment.objects.filter(location__in=ctx["locations"]).delete()
        TreatmentPlan.objects.filter(location__in=ctx["locations"]).delete()
        rng = random.Random(20261123)
        patient_ids = list(Patient.objects.values_list("id", flat=True))
        protocols = list(Protocol.objects.bookable())
        now = timezone.now()
        per_doctor_regular = TARGET_APPOINTMENTS // PRACTITIONERS - 3 * COURSES_PER_PRACTITIONER
        remainder = TARGET_APPOINTMENTS - PRACTITIONERS * (
            per_doctor_regular + 3 * COURSES_PER_PRACTITIONER
        )

        def status_for(start):
            if start < now:
                roll = rng.random()
                return "cancelled" if roll < 0.05 else "no_show" if roll < 0.07 else "completed"
            return "confirmed" if rng.random() < 0.4 else "booked"

        def at(day_index, hour):
            day = first_day + timedelta(days=day_index)
            return datetime(day.year, day.month, day.day, hour, tzinfo=zone)

        for index, doctor in enumerate(ctx["doctors"]):
            location = ctx["location_of"][doctor.pk]
            own_room = ctx["rooms"][location.pk][index % 6] if index % 6 < 3 else None
            rows = []
            regular = per_doctor_regular + (1 if index < remainder else 0)
            # Everyday appointments: spread evenly, 08:00-17:00, one hour each.
            for k in range(regular):
                start = at(k * days // regular, 8 + k % 10)
                protocol = rng.choice(protocols) if rng.random() < 0.7 else None
                rows.append(
                    Appointment(
                        patient_id=rng.choice(patient_ids),
                        protocol=protocol,
                        kind="maintenance" if protocol else "consultation",
                        practitioner=doctor,
                        location=location,
                        room=own_room,
                        starts_at=start,
                        ends_at=start + timedelta(minutes=50),
                        status=status_for(start),
                    )
                )
            # Course sessions at 18:00: course j starts on day 9j, sessions 28 days apart
            # (never two on one day for one practitioner).
            courses = []
            for j in range(COURSES_PER_PRACTITIONER):
                protocol = rng.choice(protocols)
                courses.append(
                    TreatmentPlan(
                        patient_id=rng.choice(patient_ids),
                        protocol=protocol,
                        practitioner=doctor,
                        location=location,
                        sessions_planned=3,
                        min_interval_days=min(protocol.min_interval_days, 28),
                        target_interval_days=28,
                        max_interval_days=max(protocol.max_interval_days, 28),
                        maintenance_interval_months=protocol.maintenance_interval_months,
                        status="completed" if at(9 * j + 56, 18) < now else "active",
                    )
                )
            TreatmentPlan.objects.bulk_create(courses, batch_size=1000)
            for j, course in enumerate(courses):
                for s in range(3):
                    start = at(9 * j + 28 * s, 18)
                    rows.append(
                        Appointment(
                            patient_id=course.patient_id,
                            protocol=course.protocol,
                            course=course,
                            sequence=s + 1,
                            kind="course_session",
                            practitioner=doctor,
                            location=location,
                            room=own_room,
                            starts_at=start,
                            ends_at=start + timedelta(minutes=60),
                            status="completed" if start < now else "booked",
                        )
                    )
            bulk.copy_insert(Appointment, rows)
            if index % 10 == 9:
                print(f"  practitioners with appointments: {index + 1}", flush=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE clinic_sessions_appointment; ANALYZE clinic_sessions_treatmentplan;"
            )
    ctx["dataset_appointments"] = Appointment.objects.count()


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
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from protocols.models import Protocol
    from sessions.scheduling import rules as scheduling
    from sessions.scheduling import selectors, services
    from sessions.scheduling.models import TreatmentPlan

    percentile = ctx["percentile"]
    rng = random.Random(11)
    client = Client()
    client.force_login(ctx["frontdesk"])
    today = timezone.localdate()

    week_times, week_queries = [], []
    for _ in range(SAMPLES):
        location = rng.choice(ctx["locations"])
        monday = ctx["first_day"] + timedelta(days=rng.randrange(0, ctx["days"] - 7))
        monday -= timedelta(days=monday.weekday())
        page_ms, page_q = _timed(
            client,
            reverse("sessions:calendar"),
            {"location": location.public_id, "view": "week", "date": monday.isoformat()},
        )
        feed_ms, feed_q = _timed(
            client,
            reverse("sessions:calendar_events"),
            {
                "location": location.public_id,
                "start": f"{monday.isoformat()}T00:00:00",
                "end": f"{(monday + timedelta(days=7)).isoformat()}T00:00:00",
            },
        )
        week_times.append(page_ms + feed_ms)
        week_queries.append(page_q + feed_q)

    protocols = list(Protocol.objects.bookable())
    plan_times = []
    for _ in range(SAMPLES):
        doctor = rng.choice(ctx["doctors"])
        started = time.perf_counter()
        services.course_plan(
            protocol=rng.choice(protocols),
            practitioner=doctor,
            location=ctx["location_of"][doctor.pk],
            earliest=today + timedelta(days=rng.randrange(1, 200)),
        )
        plan_times.append((time.perf_counter() - started) * 1000)

    book_times = []
    patient = TreatmentPlan.objects.filter(location__in=ctx["locations"]).first().patient
    for _ in range(SAMPLES):
        doctor = rng.choice(ctx["doctors"])
        location = ctx["location_of"][doctor.pk]
        day = today + timedelta(days=rng.randrange(1, 300))
        availability = selectors.availability_for(
            practitioner=doctor,
            location=location,
            room=None,
            first_day=day,
            last_day=day + timedelta(days=7),
        )
        slot = scheduling.next_free_slots(
            first_day=day,
            last_day=day + timedelta(days=7),
            duration=timedelta(minutes=30),
            availability=availability,
            limit=1,
        )[0]
        with transaction.atomic():
            started = time.perf_counter()
            services.appointment_book(
                patient=patient,
                practitioner=doctor,
                location=location,
                starts_at=slot,
                by=ctx["frontdesk"],
            )
            book_times.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)

    page_times, page_queries = [], []
    courses = list(
        TreatmentPlan.objects.filter(location__in=ctx["locations"])
        .select_related("patient")
        .order_by("?")[:SAMPLES]
    )
    for course in courses:
        elapsed, queries = _timed(
            client, reverse("patients:detail", args=[course.patient.public_id])
        )
        page_times.append(elapsed)
        page_queries.append(queries)

    return {
        "dataset_appointments": ctx["dataset_appointments"],
        "calendar_week_p50_ms": round(percentile(week_times, 50), 1),
        "calendar_week_p95_ms": round(percentile(week_times, 95), 1),
        "calendar_week_queries": max(week_queries),
        "plan_course_p50_ms": round(percentile(plan_times, 50), 1),
        "plan_course_p95_ms": round(percentile(plan_times, 95), 1),
        "book_session_p50_ms": round(percentile(book_times, 50), 1),
        "book_session_p95_ms": round(percentile(book_times, 95), 1),
        "patient_with_courses_page_p95_ms": round(percentile(page_times, 95), 1),
        "patient_with_courses_page_queries": max(page_queries),
    }
