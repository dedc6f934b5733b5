"""`load_demo` adds locations, hours and courses, and running it twice changes nothing."""

import pytest
from django.core.management import call_command

from sessions.scheduling.models import Appointment, Location, TreatmentPlan, WorkingHours


@pytest.mark.django_db
def test_demo_schedule_is_idempotent(settings, clock, catalogue):
    settings.DEMO_DATA_ALLOWED = True
    call_command("load_demo", verbosity=0)
    counts = (
        Location.objects.count(),
        WorkingHours.objects.count(),
        TreatmentPlan.objects.count(),
        Appointment.objects.count(),
    )
    assert counts[0] == 2 and counts[2] == 2 and counts[3] >= 6
    call_command("load_demo", verbosity=0)
    assert counts == (
        Location.objects.count(),
        WorkingHours.objects.count(),
        TreatmentPlan.objects.count(),
        Appointment.objects.count(),
    )
