"""The pure chart and aftercare rules, exhaustively and with hypothesis."""

import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sessions.charting import aftercare
from sessions.charting.rules import Area, ChartInput, Product, Spin, chart_errors, signing_errors
from tests.sessions.charting.conftest import LONDON

DAY = datetime.date(2026, 3, 2)
amounts = st.decimals(min_value=0, max_value=99, places=1, allow_nan=False)


@given(blood=amounts, yield_=amounts)
def test_yield_above_blood_is_always_refused(blood, yield_):
    errors = chart_errors(ChartInput(blood_volume_ml=blood, prp_yield_ml=yield_), session_date=DAY)
    assert ("prp_yield_ml" in errors) == (yield_ > blood)


@given(volumes=st.lists(st.decimals(min_value="0.1", max_value=9, places=1), max_size=5))
def test_area_volumes_may_not_exceed_the_yield(volumes):
    zones = ["face_forehead", "face_chin", "face_nose", "face_cheek_left", "face_cheek_right"]
    data = ChartInput(
        blood_volume_ml=Decimal("60"),
        prp_yield_ml=Decimal("10"),
        areas=[Area(z, v) for z, v in zip(zones, volumes, strict=False)],
    )
    errors = chart_errors(data, session_date=DAY)
    assert ("areas" in errors) == (sum(volumes, Decimal(0)) > 10)


@given(offset=st.integers(min_value=-400, max_value=400))
def test_lot_expiry_against_the_session_day(offset):
    product = Product("kit", "RegenLab", "L1", DAY + datetime.timedelta(days=offset))
    errors = chart_errors(ChartInput(products=[product]), session_date=DAY)
    assert ("products" in errors) == (offset < 0)


def test_signing_lists_what_is_missing_for_prp_and_not_for_mesotherapy():
    empty = ChartInput()
    assert len(signing_errors(empty, is_prp=True)) == 8
    assert len(signing_errors(empty, is_prp=False)) == 4
    complete = ChartInput(
        check_screening_current=True,
        check_consent_signed=True,
        technique="nappage",
        areas=[Area("scalp_crown", None)],
        blood_volume_ml=Decimal(20),
        prp_yield_ml=Decimal(5),
        spins=[Spin(300, 10)],
        products=[Product("kit", "B", "L", DAY)],
    )
    assert signing_errors(complete, is_prp=True) == []


@given(hours=st.integers(min_value=1, max_value=24 * 60), minute=st.integers(0, 59))
def test_until_is_never_before_the_end_and_names_its_day(hours, minute):
    finished = datetime.datetime(2026, 3, 3, 14, minute, tzinfo=LONDON)
    [line] = aftercare.care_lines([("x", hours)], finished_at=finished)
    assert line.until > finished
    assert line.until_label.endswith(f"{line.until:%H:%M}")
    days = (line.until.date() - finished.date()).days
    if 2 <= days < 7:
        assert line.until_label == f"until {line.until:%A} {line.until:%H:%M}"
    if days >= 7:
        assert f" {line.until.day} {line.until:%B} " in line.until_label


def test_items_without_a_duration_have_no_date():
    [line] = aftercare.care_lines([("Use SPF", None)], finished_at=datetime.datetime.now(LONDON))
    assert line.until is None and line.until_label == ""


def test_next_session_texts():
    booked = datetime.datetime(2026, 3, 31, 10, 0, tzinfo=LONDON)
    common = {"session_day": DAY, "min_days": 14, "max_days": 42, "maintenance_months": 6}
    assert "booked for Tuesday 31 March 2026 at 10:00" in aftercare.next_session_text(
        booked=booked, sessions_left=2, **common
    )
    assert "between 16 March and 13 April 2026" in aftercare.next_session_text(
        booked=None, sessions_left=2, **common
    )
    assert "maintenance session is suggested in about 6 months" in aftercare.next_session_text(
        booked=None, sessions_left=0, **common
    )


def test_the_chart_opens_on_the_region_of_its_zones():
    from sessions.charting.rules import opening_region

    hair = ["scalp_frontal", "scalp_midscalp", "scalp_crown"]
    assert opening_region([], hair) == "scalp"
    assert opening_region(["abdomen"], hair) == "body"  # what was charted wins
    assert opening_region(["neck", "face_chin", "face_forehead"], []) == "face"
    assert opening_region([], []) == "face"
    assert opening_region(["not-a-zone"], ["also-not"]) == "face"
