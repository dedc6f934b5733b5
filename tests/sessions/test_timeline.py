"""The sessions part of the patient timeline, driven through the real services."""

from datetime import timedelta

import pytest

from mesoclinic.core import roles
from sessions import timeline
from sessions.scheduling import services
from tests.sessions.conftest import NOW, local

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
MON = NOW.date()


def test_booking_moving_and_cancelling_through_the_services_reach_the_timeline(
    patient, working_practitioner, location
):
    a = services.appointment_book(
        patient=patient,
        practitioner=working_practitioner,
        location=location,
        starts_at=local(MON + timedelta(days=10), 10),
        by=working_practitioner,
    )
    services.appointment_move(
        appointment=a, starts_at=local(MON + timedelta(days=10), 14), by=working_practitioner
    )
    services.appointment_cancel(
        party="patient", appointment=a, reason="Unwell", by=working_practitioner
    )
    entries = timeline.timeline_entries_for(patient, roles=frozenset({roles.FRONT_DESK}))
    by_kind = {e.kind: e for e in entries}
    assert set(by_kind) == {"appointment_booked", "appointment_moved", "appointment_cancelled"}
    # The move is read from the audit row sessions.scheduling.services writes ("Moved from ...").
    assert by_kind["appointment_moved"].title == "Moved: Consultation"
    assert by_kind["appointment_moved"].detail.startswith("From 12 Mar 2026 10:00 to 12 Mar")
    assert by_kind["appointment_cancelled"].title == "Cancelled: Consultation"
    assert "Reason: Unwell" in by_kind["appointment_cancelled"].detail
    assert by_kind["appointment_moved"].url == by_kind["appointment_booked"].url


def test_front_desk_gets_no_chart_queries(patient, django_assert_num_queries):
    # Appointments (with their moves) and courses; charts are not read for front desk.
    with django_assert_num_queries(2) as desk:
        timeline.timeline_entries_for(patient, roles=frozenset({roles.FRONT_DESK}), limit=30)
    sql = " ".join(q["sql"] for q in desk.captured_queries)
    assert "sessionchart" not in sql and "adverseevent" not in sql
    assert "chartamendment" not in sql
    # Clinical readers: the charts, amendments and adverse events come in the same rows.
    with django_assert_num_queries(2) as clinical:
        timeline.timeline_entries_for(patient, roles=frozenset({roles.PRACTITIONER}), limit=30)
    sql = " ".join(q["sql"] for q in clinical.captured_queries)
    assert "sessionchart" in sql and "adverseevent" in sql and "chartamendment" in sql
