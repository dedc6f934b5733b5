"""Online booking fixtures: settings that open the PRP face course and consultations at
one location, a published policy, and helpers to hold and verify a booking."""

import datetime
from decimal import Decimal

import pytest

from protocols import screening as questionnaire
from sessions.online import services
from sessions.online.models import BookingPolicy, OnlineSettings
from tests.sessions.conftest import LONDON, NOW, add_hours, local  # noqa: F401

POLICY = (
    "Cancel or move up to 24 hours before your appointment at no cost. Later cancellations "
    "and missed appointments are charged. A deposit may be due for a course."
)
NO = {q.code: False for q in questionnaire.QUESTIONS}


@pytest.fixture
def online(location, face, working_practitioner):
    settings = OnlineSettings.objects.create(
        enabled=True, min_notice_hours=24, horizon_days=60, hold_minutes=15
    )
    settings.protocols.set([face])
    settings.locations.set([location])
    return settings


@pytest.fixture
def policy(db):
    return BookingPolicy.objects.create(number=1, text=POLICY)


@pytest.fixture
def deposit(online):
    online.course_deposit = Decimal("75.00")
    online.save()
    return online


def course_starts(first: datetime.datetime, days=(0, 28, 56)):
    return [first + datetime.timedelta(days=d) for d in days]


def hold_course(face, location, practitioner, first, **kwargs):
    return services.booking_hold(
        kind="course",
        protocol=face,
        location=location,
        practitioner=practitioner,
        starts=course_starts(first),
        screening_answers=NO,
        **kwargs,
    )


def give_details(booking, policy, *, email="ann@example.com", dob=datetime.date(1980, 5, 4)):
    return services.booking_details(
        booking=booking,
        first_name="Ann",
        last_name="Lee",
        date_of_birth=dob,
        email=email,
        phone="+447700900123",
        policy=policy,
        ip="203.0.113.9",
    )


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    """Each test counts its rate limits under its own cache prefix."""
    import uuid

    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches
