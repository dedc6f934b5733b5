"""The online rules, and a property test over random calendars: no proposal or offered
alternative ever breaks a session's window or lands on a booking, a hold or a closure."""

import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.screening import Status
from sessions.online import rules
from sessions.scheduling import rules as scheduling

ZONE = ZoneInfo("Europe/London")
NOW = datetime.datetime(2026, 3, 2, 7, 30, tzinfo=ZONE)
SPACING = scheduling.Spacing(14, 28, 42)
DURATION = datetime.timedelta(minutes=60)


def test_screening_routes():
    assert rules.screening_route(Status.CLEAR) == rules.Route.CLEAR
    assert rules.screening_route(Status.NEEDS_ACKNOWLEDGEMENT) == rules.Route.CONSULTATION
    assert rules.screening_route(Status.BLOCKED) == rules.Route.REFUSED


def test_bounds_and_movable_window():
    bounds = rules.first_session_bounds(now=NOW, zone=ZONE, min_notice_hours=24, horizon_days=60)
    assert bounds.first_day == datetime.date(2026, 3, 3)
    assert bounds.last_day == datetime.date(2026, 5, 1)
    day = datetime.date(2026, 3, 10)
    window = rules.movable_window(
        previous_day=day,
        next_day=day + datetime.timedelta(56),
        spacing=SPACING,
        first_bounds=bounds,
    )
    assert window == (day + datetime.timedelta(14), day + datetime.timedelta(42))
    tight = rules.movable_window(
        previous_day=day,
        next_day=day + datetime.timedelta(30),
        spacing=SPACING,
        first_bounds=bounds,
    )
    assert tight == (day + datetime.timedelta(14), day + datetime.timedelta(16))


def test_spacing_problems_name_the_session():
    starts = [NOW, NOW + datetime.timedelta(days=10)]
    assert (
        "Session 2 would be 10 days after session 1"
        in rules.spacing_problems(starts, spacing=SPACING, zone=ZONE)[0]
    )


def test_emails_compare_trimmed_and_lower_case():
    assert rules.normal_email("  Ann@Example.COM ") == "ann@example.com"


spans = st.lists(
    st.tuples(st.integers(0, 140), st.integers(9 * 4, 16 * 4), st.integers(1, 8)), max_size=60
)


@settings(max_examples=60, deadline=None)
@given(
    bookings=spans,
    holds=spans,
    closed=st.lists(st.integers(0, 140), max_size=15),
    workdays=st.sets(st.integers(0, 6), min_size=1),
    first_offset=st.integers(1, 50),
)
def test_no_proposal_breaks_a_window_or_collides(bookings, holds, closed, workdays, first_offset):
    start_day = datetime.date(2026, 3, 3)

    def span(day, quarter, length):
        start = datetime.datetime.combine(
            start_day + datetime.timedelta(days=day),
            datetime.time(quarter // 4, quarter % 4 * 15),
            tzinfo=ZONE,
        )
        return (start, start + datetime.timedelta(minutes=15 * length))

    busy = [span(*b) for b in bookings] + [span(*h) for h in holds]
    closures = [(start_day + datetime.timedelta(d),) * 2 for d in closed]
    availability = scheduling.Availability(
        zone=ZONE,
        hours={d: [(datetime.time(9), datetime.time(17))] for d in workdays},
        closures=closures,
        busy=busy,
    )
    bounds = rules.first_session_bounds(now=NOW, zone=ZONE, min_notice_hours=24, horizon_days=60)
    first = scheduling.next_free_slots(
        first_day=start_day + datetime.timedelta(first_offset),
        last_day=bounds.last_day,
        duration=DURATION,
        availability=availability,
        limit=1,
    )
    if not first:
        return
    proposal = scheduling.propose_course(
        sessions=3,
        spacing=SPACING,
        duration=DURATION,
        availability=availability,
        earliest=bounds.first_day,
        first_start=first[0],
    )
    placed = [s.starts_at for s in proposal.sessions if s.fits]

    def sound(starts):
        for start in starts:
            end = start + DURATION
            assert not scheduling.slot_problems(start, end, availability)
            assert not any(b[0] < end and b[1] > start for b in busy)
            assert not availability.is_closed(start.astimezone(ZONE).date())
        assert not rules.spacing_problems(starts, spacing=SPACING, zone=ZONE)
        assert not rules.overlaps([(s, s + DURATION) for s in starts])

    sound(placed)
    if not proposal.complete:
        assert proposal.problems and all(p.startswith("Session") for p in proposal.problems)
        return
    # Every alternative offered for each session keeps the whole course sound.
    for index in range(len(placed)):
        days = [s.astimezone(ZONE).date() for s in placed]
        window = rules.movable_window(
            previous_day=days[index - 1] if index else None,
            next_day=days[index + 1] if index + 1 < len(days) else None,
            spacing=SPACING,
            first_bounds=bounds,
        )
        others = [(s, s + DURATION) for n, s in enumerate(placed) if n != index]
        if window[0] > window[1]:
            continue
        for alternative in scheduling.next_free_slots(
            first_day=window[0],
            last_day=window[1],
            duration=DURATION,
            availability=availability.with_busy(others),
            not_before=bounds.not_before,
            limit=5,
        ):
            moved = list(placed)
            moved[index] = alternative
            sound(moved)
