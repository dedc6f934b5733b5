"""Twenty requests race for the same practitioner's slot: exactly one wins."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

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
