"""Expired holds are released by the periodic task in a real Celery worker, and the times
can be held again."""

import datetime

import pytest
from django.utils import timezone

from mesoclinic.core import roles
from sessions.online import services
from sessions.online.models import Hold, OnlineBooking, OnlineSettings
from sessions.online.tasks import expire_holds
from sessions.scheduling.models import Location, WorkingHours
from tests.conftest import make_user
from tests.support.smtp import free_port
from tests.support.worker import Worker, wait_until

from .conftest import NO, local

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_releases_expired_holds(queue, catalogue):
    face = catalogue["PRP face rejuvenation"]
    location = Location.objects.create(name="Worker Street")
    doctor = make_user("worker-doc", roles.PRACTITIONER)
    for weekday in range(7):
        WorkingHours.objects.create(
            practitioner=doctor,
            location=location,
            weekday=weekday,
            start=datetime.time(9),
            end=datetime.time(17),
        )
    config = OnlineSettings.objects.create(enabled=True, min_notice_hours=0, hold_minutes=15)
    config.protocols.set([face])
    config.locations.set([location])
    first = local(timezone.localdate() + datetime.timedelta(days=7), 10)
    starts = [first + datetime.timedelta(days=d) for d in (0, 28, 56)]

    def hold(now):
        return services.booking_hold(
            kind="course",
            protocol=face,
            location=location,
            practitioner=doctor,
            starts=starts,
            screening_answers=NO,
            now=now,
        )

    # Held 20 minutes ago for 15 minutes: expired, but still in the table.
    old = hold(timezone.now() - datetime.timedelta(minutes=20))
    assert Hold.objects.filter(booking=old, released_at__isnull=True).count() == 3
    with Worker(broker_url=None, smtp_port=free_port(), extra_env={"CELERY_QUEUE": queue}):
        expire_holds.apply_async(queue=queue)
        assert wait_until(
            lambda: not Hold.objects.filter(booking=old, released_at__isnull=True).exists(),
            timeout=60,
        )
    old.refresh_from_db()
    assert old.status == OnlineBooking.Status.EXPIRED
    assert hold(timezone.now()).holds.count() == 3
