"""A checked-in PRP face session with a course, a signed consent helper, a frozen clock."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sessions.scheduling.models import Appointment, Location, TreatmentPlan

LONDON = ZoneInfo("Europe/London")
# Monday 2 March 2026, 10:00 in the clinic; the session runs 09:00–10:00.
NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def face(catalogue):
    return catalogue["PRP face rejuvenation"]


def make_session(patient, protocol, practitioner, *, start, sequence=1, course=None, status=None):
    location = Location.objects.get_or_create(name="Harley Street")[0]
    course = course or TreatmentPlan.objects.create(
        patient=patient,
        protocol=protocol,
        practitioner=practitioner,
        location=location,
        sessions_planned=protocol.sessions_in_course,
        min_interval_days=protocol.min_interval_days,
        target_interval_days=protocol.target_interval_days,
        max_interval_days=protocol.max_interval_days,
        maintenance_interval_months=protocol.maintenance_interval_months,
    )
    return Appointment.objects.create(
        patient=patient,
        protocol=protocol,
        course=course,
        sequence=sequence,
        kind=Appointment.Kind.COURSE_SESSION,
        practitioner=practitioner,
        location=location,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=status or Appointment.Status.IN_TREATMENT,
    )


@pytest.fixture
def session(clock, patient, face, practitioner):
    return make_session(
        patient, face, practitioner, start=datetime.datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)
    )


def good_post(**overrides) -> dict:
    """A complete, valid chart as the form posts it."""
    data = {
        "check_screening_current": "on",
        "check_consent_signed": "on",
        "check_before_photos": "on",
        "blood_volume_ml": "20",
        "tubes": "2",
        "prp_yield_ml": "5",
        "activation": "none",
        "anaesthetic_cream": "EMLA 5%",
        "anaesthetic_minutes": "30",
        "technique": "point_by_point",
        "needle_gauge": "30",
        "microneedling_depth_mm": "",
        "combined_procedures": "",
        "immediate_reactions": "Mild redness",
        "notes": "",
        "product_kind": ["kit", "activator"],
        "product_brand": ["RegenLab", "Generic"],
        "product_name": ["A-PRP", "CaCl"],
        "product_lot": ["lot-123", "L999"],
        "product_expiry": ["2027-01-31", "2026-12-31"],
        "spin_g": ["300", "700"],
        "spin_minutes": ["5", "15"],
        "zone": ["face_cheek_left", "face_cheek_right"],
        "volume_face_cheek_left": "2",
        "volume_face_cheek_right": "2.5",
    }
    data.update(overrides)
    return data


VOLUME = Decimal("4.5")
