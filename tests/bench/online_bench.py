"""Online booking at clinic scale, on the sessions suite's dataset (10 locations, 60
practitioners, 170,000 appointments): free first-session times for one week at one
location with every practitioner, the whole course proposed with availability (holds
counted), and verification booking every session with its messages scheduled."""

from __future__ import annotations

import random
import time
from datetime import timedelta

NAME = "online"
SAMPLES = 100


def generate(ctx: dict) -> None:
    from protocols.models import Protocol
    from sessions.online.models import BookingPolicy, OnlineSettings
    from tests.bench import sessions_bench

    if "locations" not in ctx:
        sessions_bench.generate(ctx)
    config = OnlineSettings.objects.order_by("pk").first() or OnlineSettings.objects.create()
    config.enabled = True
    config.min_notice_hours = 24
    config.horizon_days = 120
    config.max_active_per_email = 1000
    config.save()
    config.locations.set(ctx["locations"])
    config.protocols.set(Protocol.objects.bookable())
    if not BookingPolicy.objects.exists():
        BookingPolicy.objects.create(number=1, text="Cancel up to 24 hours ahead at no cost.")


def measure(ctx: dict, samples: int = SAMPLES) -> dict[str, float]:
    from django.db import transaction
    from django.utils import timezone

    from protocols import screening as questionnaire
    from sessions.online import selectors, services

    percentile = ctx["percentile"]
    rng = random.Random(14)
    config = selectors.current_settings()
    protocols = selectors.bookable_protocols(config)
    policy = selectors.current_policy()
    no = {q.code: False for q in questionnaire.QUESTIONS}

    slot_times, propose_times, book_times = [], [], []
    for n in range(samples):
        now = timezone.now()
        bounds = selectors.bounds(config, now=now)
        location = rng.choice(ctx["locations"])
        first_day = bounds.first_day + timedelta(days=rng.randrange(0, 60))
        started = time.perf_counter()
        free = selectors.free_first_starts(
            location=location,
            practitioner=None,
            first_day=first_day,
            last_day=first_day + timedelta(days=6),
            minutes=60,
            bounds=bounds,
            now=now,
        )
        slot_times.append((time.perf_counter() - started) * 1000)
        if not free:
            continue
        choice = rng.choice(free)
        protocol = rng.choice(protocols)
        started = time.perf_counter()
        proposal = selectors.propose_course(
            protocol=protocol,
            practitioner=choice.practitioner,
            location=location,
            first_start=choice.starts_at,
            bounds=bounds,
            now=now,
        )
        propose_times.append((time.perf_counter() - started) * 1000)
        if not proposal.complete:
            continue
        with transaction.atomic():
            booking = services.booking_hold(
                kind="course",
                protocol=protocol,
                location=location,
                practitioner=choice.practitioner,
                starts=[s.starts_at for s in proposal.sessions],
                screening_answers=no,
                now=now,
            )
            services.booking_details(
                booking=booking,
                first_name="Bench",
                last_name=f"Patient {n}",
                date_of_birth=now.date() - timedelta(days=365 * 40 + n),
                email=f"bench-online-{n}@example.com",
                phone="+447911123456",
                policy=policy,
                ip="127.0.0.1",
                now=now,
            )
            started = time.perf_counter()
            services.booking_verify(booking=booking, now=now)
            book_times.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)

    return {
        "online_slots_p95_ms": round(percentile(slot_times, 95), 1),
        "online_propose_course_p95_ms": round(percentile(propose_times, 95), 1),
        "online_book_p95_ms": round(percentile(book_times, 95), 1),
    }
