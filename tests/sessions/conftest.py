"""Fixtures for courses and appointments: a location, rooms, a practitioner's hours, a clock."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from mesoclinic.core import roles
from sessions.scheduling.models import Location, Room, WorkingHours
from tests.conftest import make_user

LONDON = ZoneInfo("Europe/London")
# A Monday morning before the clinic opens.
NOW = datetime.datetime(2026, 3, 2, 7, 30, tzinfo=LONDON)


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=LONDON)


def add_hours(user, location, weekdays=range(5), start=9, end=17):
    for weekday in weekdays:
        WorkingHours.objects.create(
            practitioner=user,
            location=location,
            weekday=weekday,
            start=datetime.time(start),
            end=datetime.time(end),
        )


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def location(db):
    return Location.objects.create(name="Harley Street", address="1 Harley Street")


@pytest.fixture
def room(location):
    return Room.objects.create(location=location, name="Room 1")


@pytest.fixture
def room2(location):
    return Room.objects.create(location=location, name="Room 2")


@pytest.fixture
def working_practitioner(practitioner, location):
    add_hours(practitioner, location)
    return practitioner


@pytest.fixture
def second_practitioner(location):
    user = make_user("doc2", roles.PRACTITIONER, first_name="Dana", last_name="Okafor")
    add_hours(user, location)
    return user


@pytest.fixture
def face(catalogue):
    """PRP face rejuvenation: 3 sessions, 14 / 28 / 42 days."""
    return catalogue["PRP face rejuvenation"]
