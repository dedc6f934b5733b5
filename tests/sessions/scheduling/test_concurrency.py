"""Twenty requests race for the same practitioner's slot: exactly one wins."""

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection

from sessions.scheduling import services
from sessions.scheduling.models import Appointment
from tests.factories import PatientFactory
from tests.sessions.conftest import NOW, local

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_one_slot(clock, working_practitioner, location, room):
    patients = [PatientFactory() for _ in range(THREADS)]
    start = local(NOW.date() + timedelta(days=1), 10)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(patient):
        try:
            barrier.wait()
            services.appointment_book(
                patient=patient,
                practitioner=working_practitioner,
                location=location,
                room=room,
                starts_at=start,
                by=working_practitioner,
            )
            result = "booked"
        except services.SlotTaken as exc:
            result = f"taken: {exc.messages[0]}"
        except Exception as exc:  # the test reports anything else as a failure
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(outcomes) == THREADS
    assert outcomes.count("booked") == 1, outcomes
    refused = [o for o in outcomes if o != "booked"]
    assert all(o.startswith("taken: ") for o in refused), refused
    assert all("already" in o for o in refused)
    assert Appointment.objects.filter(starts_at=start).count() == 1


def _race(attempts) -> list[str]:
    """Run each callable in its own thread (its own connection), released together."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(attempt):
        try:
            barrier.wait()
            attempt()
            result = "booked"
        except services.SlotTaken as exc:
            result = f"taken: {exc.messages[0]}"
        except Exception as exc:  # the test reports anything else (a deadlock) as a failure
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(a,)) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def _one_winner(outcomes: list[str]) -> None:
    assert len(outcomes) == THREADS
    assert outcomes.count("booked") == 1, outcomes
    refused = [o for o in outcomes if o != "booked"]
    # Every refusal is the readable "slot taken" message: no deadlock, no other error.
    errors = [o for o in refused if not (o.startswith("taken: ") and "already" in o)]
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_one_room_two_practitioners(
    clock, working_practitioner, second_practitioner, location, room
):
    """Clashing on both the practitioner and the room constraints never deadlocks."""
    patients = [PatientFactory() for _ in range(THREADS)]
    doctors = [working_practitioner, second_practitioner]
    start = local(NOW.date() + timedelta(days=1), 10)

    def booking(i):
        return lambda: services.appointment_book(
            patient=patients[i],
            practitioner=doctors[i % 2],
            location=location,
            room=room,
            starts_at=start,
            by=doctors[i % 2],
        )

    _one_winner(_race([booking(i) for i in range(THREADS)]))
    assert Appointment.objects.filter(room=room, starts_at=start).count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_course_bookings_one_room_two_practitioners(
    clock, working_practitioner, second_practitioner, location, room, face
):
    patients = [PatientFactory() for _ in range(THREADS)]
    doctors = [working_practitioner, second_practitioner]
    first = local(NOW.date() + timedelta(days=1), 10)
    starts = [first + timedelta(days=28 * n) for n in range(face.sessions_in_course)]

    def booking(i):
        return lambda: services.course_book(
            patient=patients[i],
            protocol=face,
            practitioner=doctors[i % 2],
            location=location,
            room=room,
            starts=starts,
            by=doctors[i % 2],
        )

    _one_winner(_race([booking(i) for i in range(THREADS)]))
    booked = Appointment.objects.filter(room=room)
    assert booked.count() == face.sessions_in_course
    assert len({a.course_id for a in booked}) == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_moves_into_one_room_two_practitioners(
    clock, working_practitioner, second_practitioner, location, room
):
    """Twenty appointments at different times are dragged into one slot of one room."""
    doctors = [working_practitioner, second_practitioner]
    day = NOW.date() + timedelta(days=2)
    target = local(NOW.date() + timedelta(days=1), 10)
    appointments = [
        services.appointment_book(
            patient=PatientFactory(),
            practitioner=doctors[i % 2],
            location=location,
            starts_at=local(day, 9) + timedelta(minutes=30 * (i // 2)),
            by=doctors[i % 2],
        )
        for i in range(THREADS)
    ]

    def move(appointment):
        return lambda: services.appointment_move(
            appointment=appointment, starts_at=target, room=room, by=appointment.practitioner
        )

    _one_winner(_race([move(a) for a in appointments]))
    assert Appointment.objects.filter(room=room, starts_at=target).count() == 1


class _PostgresDeadlock(Exception):
    pgcode = "40P01"  # what psycopg2 carries for "deadlock detected"


class _DeadlockOnce:
    """Stands in for a model whose first save meets a deadlock (a writer without locks)."""

    def __init__(self):
        self.saves = 0

    def save(self, **kwargs):
        self.saves += 1
        if self.saves == 1:
            raise OperationalError("deadlock detected") from _PostgresDeadlock()


@pytest.mark.django_db
def test_a_deadlock_is_retried_once():
    instance = _DeadlockOnce()
    services._save(instance)
    assert instance.saves == 2
