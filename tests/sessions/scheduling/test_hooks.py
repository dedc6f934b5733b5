"""Scheduling's lifecycle hooks: who registered what, and that a refusal undoes the change."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.scheduling import hooks, services
from sessions.scheduling.errors import SchedulingError
from sessions.scheduling.models import Appointment
from tests.sessions.charting.conftest import make_session


def test_charting_comms_and_billing_register_their_hooks_in_ready():
    assert hooks.registered() == {
        "booked": ["sessions.comms.hooks.booked"],
        "course_booked": ["sessions.comms.hooks.course_booked"],
        "moved": ["sessions.comms.hooks.moved"],
        "checked_in": ["sessions.comms.hooks.no_longer_coming"],
        "before_complete": ["sessions.charting.hooks.chart_gate"],
        "completed": [
            "sessions.comms.hooks.completed",
            "sessions.charting.hooks.aftercare_sheet",
            "billing.hooks.session_charge",
        ],
        "cancelled": ["sessions.comms.hooks.no_longer_coming", "billing.hooks.appointment_fee"],
        "no_show": ["sessions.comms.hooks.no_longer_coming", "billing.hooks.appointment_fee"],
    }


def test_registering_a_hook_twice_adds_it_once(monkeypatch):
    monkeypatch.setattr(hooks, "LIFECYCLE", {**hooks.LIFECYCLE, "moved": []})

    def hook(**_):
        pass

    hooks.register("moved", hook)
    hooks.register("moved", hook)
    assert hooks.LIFECYCLE["moved"] == [hook]


@pytest.mark.django_db
def test_a_hook_that_refuses_undoes_the_status_change(
    monkeypatch, patient, practitioner, catalogue
):
    appointment = make_session(
        patient,
        catalogue["PRP face rejuvenation"],
        practitioner,
        start=timezone.now() + timedelta(days=3),
        status=Appointment.Status.BOOKED,
    )
    calls = []

    def refuse(*, appointment, by, **_):
        calls.append(Appointment.objects.get(pk=appointment.pk).status)
        raise SchedulingError("The till is closed.")

    monkeypatch.setattr(hooks, "CANCELLED", [*hooks.CANCELLED, refuse])
    with pytest.raises(SchedulingError, match="The till is closed"):
        services.appointment_cancel(
            party="patient", appointment=appointment, reason="Ill", by=practitioner
        )
    assert calls == [Appointment.Status.CANCELLED]  # the hook saw the change, in the transaction
    assert Appointment.objects.get(pk=appointment.pk).status == Appointment.Status.BOOKED


def test_whatever_runs_when_one_appointment_is_booked_runs_for_a_course_booked_at_once():
    """A course booked in one step runs course_booked, not booked (decisions M8, L10):
    each module that reacts to a booking must react to both."""
    registered = hooks.registered()
    modules = {name: {path.rsplit(".", 1)[0] for path in registered[name]} for name in registered}
    assert modules["booked"] <= modules["course_booked"]
