"""Twenty patients race for the same first slot: the database lets exactly one hold it."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from mesoclinic.core import roles
from sessions.online import selectors, services
from sessions.online.models import Hold, OnlineBooking, OnlineSettings
from sessions.scheduling.models import Location, WorkingHours
from tests.conftest import make_user

from .conftest import NO, local

MONDAY = datetime.date(2026, 3, 9)


@pytest.mark.django_db(transaction=True)
def test_twenty_patients_race_for_one_first_slot_and_one_holds_it(catalogue):
    face = catalogue["PRP face rejuvenation"]
    location = Location.objects.create(name="Race Street")
    practitioner = make_user("racer", roles.PRACTITIONER)
    for weekday in range(7):
        WorkingHours.objects.create(
            practitioner=practitioner,
            location=location,
            weekday=weekday,
            start=datetime.time(9),
            end=datetime.time(17),
        )
    settings = OnlineSettings.objects.create(enabled=True, min_notice_hours=0, horizon_days=400)
    settings.protocols.set([face])
    settings.locations.set([location])
    today = datetime.datetime.now(datetime.UTC).date()
    first = local(today + datetime.timedelta(days=7), 10)
    starts = [first, first + datetime.timedelta(days=28), first + datetime.timedelta(days=56)]
    barrier = threading.Barrier(20)

    def attempt(_):
        try:
            barrier.wait()
            services.booking_hold(
                kind="course",
                protocol=face,
                location=location,
                practitioner=practitioner,
                starts=starts,
                screening_answers=NO,
            )
            return "held"
        except services.TimeTaken as exc:
            return " ".join(exc.messages)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))

    assert results.count("held") == 1
    refusals = [r for r in results if r != "held"]
    assert len(refusals) == 19
    assert all("taken by someone else" in r or "no longer free" in r for r in refusals)
    assert OnlineBooking.objects.count() == 1
    assert Hold.objects.filter(released_at__isnull=True).count() == 3
    # The others are offered other times: the held one is no longer among them.
    bounds = selectors.bounds(settings)
    offered = selectors.free_first_starts(
        location=location,
        practitioner=None,
        first_day=first.date(),
        last_day=first.date(),
        minutes=face.session_minutes,
        bounds=bounds,
        now=datetime.datetime.now(datetime.UTC),
    )
    assert offered and first not in [o.starts_at for o in offered]
