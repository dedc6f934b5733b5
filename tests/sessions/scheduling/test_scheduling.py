"""The pure scheduling engine: exhaustive cases and hypothesis properties."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions.scheduling import rules as s

LONDON = ZoneInfo("Europe/London")
WEEKDAYS_9_TO_5 = {d: [(time(9), time(17))] for d in range(5)}
HOUR = timedelta(hours=1)
FACE = s.Spacing(14, 28, 42)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def avail(**kwargs) -> s.Availability:
    kwargs.setdefault("hours", WEEKDAYS_9_TO_5)
    return s.Availability(zone=LONDON, **kwargs)


MONDAY = date(2026, 3, 2)


class TestSpacing:
    def test_rejects_disordered_rules(self):
        with pytest.raises(ValueError):
            s.Spacing(10, 5, 20)
        with pytest.raises(ValueError):
            s.Spacing(0, 5, 20)


class TestFreeStarts:
    def test_grid_of_a_working_day(self):
        starts = s.free_starts_on(MONDAY, duration=HOUR, availability=avail())
        assert starts[0] == at(MONDAY, 9)
        assert starts[-1] == at(MONDAY, 16)
        assert len(starts) == 29  # 09:00 … 16:00 every 15 minutes

    def test_weekend_and_closure_have_none(self):
        assert (
            s.free_starts_on(MONDAY + timedelta(days=5), duration=HOUR, availability=avail()) == []
        )
        closed = avail(closures=[(MONDAY, MONDAY)])
        assert s.free_starts_on(MONDAY, duration=HOUR, availability=closed) == []

    def test_busy_and_absence_are_skipped(self):
        a = avail(
            busy=[(at(MONDAY, 9), at(MONDAY, 12))], absences=[(at(MONDAY, 14), at(MONDAY, 17))]
        )
        starts = s.free_starts_on(MONDAY, duration=HOUR, availability=a)
        assert starts[0] == at(MONDAY, 12)
        assert starts[-1] == at(MONDAY, 13)

    def test_preferred_time_window(self):
        prefs = s.Preferences(time_from=time(15), time_to=time(17))
        starts = s.free_starts_on(MONDAY, duration=HOUR, availability=avail(), preferences=prefs)
        assert starts == [
            at(MONDAY, 15),
            at(MONDAY, 15, 15),
            at(MONDAY, 15, 30),
            at(MONDAY, 15, 45),
            at(MONDAY, 16),
        ]


class TestSlotProblems:
    def test_free_slot_has_none(self):
        assert s.slot_problems(at(MONDAY, 10), at(MONDAY, 11), avail()) == []

    def test_each_problem_in_words(self):
        a = avail(
            closures=[(MONDAY, MONDAY)],
            busy=[(at(MONDAY + timedelta(days=1), 10), at(MONDAY + timedelta(days=1), 11))],
            absences=[(at(MONDAY + timedelta(days=2), 0), at(MONDAY + timedelta(days=3), 0))],
        )
        assert "closed" in s.slot_problems(at(MONDAY, 10), at(MONDAY, 11), a)[0]
        tuesday = MONDAY + timedelta(days=1)
        assert "already booked" in s.slot_problems(at(tuesday, 10, 30), at(tuesday, 11, 30), a)[0]
        assert (
            "away"
            in s.slot_problems(
                at(tuesday + timedelta(days=1), 10), at(tuesday + timedelta(days=1), 11), a
            )[0]
        )
        assert "working hours" in s.slot_problems(at(tuesday, 16, 30), at(tuesday, 17, 30), a)[0]
        assert s.slot_problems(at(tuesday, 11), at(tuesday, 10), a) == [
            "The end must be after the start."
        ]


class TestProposeCourse:
    def test_target_interval_when_everything_is_free(self):
        p = s.propose_course(
            sessions=3, spacing=FACE, duration=HOUR, availability=avail(), earliest=MONDAY
        )
        assert p.complete
        days = [x.starts_at.date() for x in p.sessions]
        assert days == [MONDAY, MONDAY + timedelta(days=28), MONDAY + timedelta(days=56)]
        assert all(x.starts_at.time() == time(9) for x in p.sessions)

    def test_skips_a_holiday_to_the_next_working_day(self):
        holiday = MONDAY + timedelta(days=28)
        a = avail(closures=[(holiday, holiday)])
        p = s.propose_course(
            sessions=3, spacing=FACE, duration=HOUR, availability=a, earliest=MONDAY
        )
        assert p.sessions[1].starts_at.date() == holiday + timedelta(days=1)
        # Spacing is counted from the session actually proposed.
        assert p.sessions[2].starts_at.date() == holiday + timedelta(days=29)

    def test_weekend_target_moves_to_monday(self):
        p = s.propose_course(
            sessions=2,
            spacing=s.Spacing(7, 12, 14),
            duration=HOUR,
            availability=avail(),
            earliest=MONDAY,
        )
        # Target is Saturday; the first working day after it is Monday (day 14).
        assert p.sessions[1].starts_at.date() == MONDAY + timedelta(days=14)

    def test_moves_earlier_when_later_days_are_full(self):
        full = [
            (at(MONDAY + timedelta(days=d), 9), at(MONDAY + timedelta(days=d), 17))
            for d in range(28, 43)
        ]
        p = s.propose_course(
            sessions=2, spacing=FACE, duration=HOUR, availability=avail(busy=full), earliest=MONDAY
        )
        assert p.sessions[1].starts_at.date() == MONDAY + timedelta(days=25)  # Friday before

    def test_says_which_session_cannot_fit_and_why(self):
        a = avail(closures=[(MONDAY + timedelta(days=14), MONDAY + timedelta(days=42))])
        p = s.propose_course(
            sessions=3, spacing=FACE, duration=HOUR, availability=a, earliest=MONDAY
        )
        assert not p.complete
        second = p.sessions[1]
        assert second.starts_at is None
        assert "session 2" in second.problem
        assert "closed on 29" in second.problem
        assert p.sessions[2].starts_at is None and "session 2" in p.sessions[2].note

    def test_first_session_at_a_chosen_time(self):
        chosen = at(MONDAY + timedelta(days=1), 14)
        p = s.propose_course(
            sessions=2,
            spacing=FACE,
            duration=HOUR,
            availability=avail(),
            earliest=MONDAY,
            first_start=chosen,
        )
        assert p.sessions[0].starts_at == chosen
        # Later sessions keep the same time of day when it is free.
        assert p.sessions[1].starts_at == at(MONDAY + timedelta(days=29), 14)

    def test_chosen_first_time_that_is_taken_is_refused(self):
        chosen = at(MONDAY, 10)
        p = s.propose_course(
            sessions=2,
            spacing=FACE,
            duration=HOUR,
            availability=avail(busy=[(chosen, chosen + HOUR)]),
            earliest=MONDAY,
            first_start=chosen,
        )
        assert "already booked" in p.sessions[0].problem

    def test_preferred_weekday_then_fallback_with_a_note(self):
        prefs = s.Preferences(weekdays=frozenset({3}))  # Thursday
        p = s.propose_course(
            sessions=2,
            spacing=s.Spacing(7, 7, 7),
            duration=HOUR,
            availability=avail(),
            earliest=MONDAY,
            preferences=prefs,
        )
        assert p.sessions[0].starts_at.date().weekday() == 3
        assert p.sessions[1].starts_at.date().weekday() == 3
        p = s.propose_course(
            sessions=2,
            spacing=s.Spacing(1, 1, 1),
            duration=HOUR,
            availability=avail(),
            earliest=MONDAY,
            preferences=prefs,
        )
        assert "preferred" in p.sessions[1].note

    def test_continues_a_course_under_way(self):
        p = s.propose_course(
            sessions=1,
            spacing=FACE,
            duration=HOUR,
            availability=avail(),
            earliest=MONDAY,
            previous_start=at(MONDAY - timedelta(days=7), 11),
            start_sequence=2,
        )
        assert p.sessions[0].sequence == 2
        assert p.sessions[0].starts_at == at(MONDAY + timedelta(days=21), 9)

    def test_window_already_passed(self):
        p = s.propose_course(
            sessions=1,
            spacing=FACE,
            duration=HOUR,
            availability=avail(),
            earliest=MONDAY,
            previous_start=at(MONDAY - timedelta(days=60), 11),
            start_sequence=2,
        )
        assert "has passed" in p.sessions[0].problem


class TestCheckSpacing:
    def test_within_window(self):
        c = s.check_spacing(
            sequence=2,
            start=at(MONDAY + timedelta(days=20), 9),
            previous_start=at(MONDAY, 9),
            next_start=None,
            spacing=FACE,
            zone=LONDON,
        )
        assert c.allowed and not c.needs_override

    def test_exactly_min_and_max_are_fine(self):
        for days in (14, 42):
            c = s.check_spacing(
                sequence=2,
                start=at(MONDAY + timedelta(days=days), 9),
                previous_start=at(MONDAY, 16),
                next_start=None,
                spacing=FACE,
                zone=LONDON,
            )
            assert c.allowed and not c.needs_override, days

    def test_too_soon_after_previous(self):
        c = s.check_spacing(
            sequence=2,
            start=at(MONDAY + timedelta(days=13), 9),
            previous_start=at(MONDAY, 9),
            next_start=None,
            spacing=FACE,
            zone=LONDON,
        )
        assert not c.allowed
        assert "13 days after session 1" in c.too_soon and "minimum is 14" in c.too_soon

    def test_too_close_to_next(self):
        c = s.check_spacing(
            sequence=2,
            start=at(MONDAY + timedelta(days=20), 9),
            previous_start=at(MONDAY, 9),
            next_start=at(MONDAY + timedelta(days=30), 9),
            spacing=FACE,
            zone=LONDON,
        )
        assert not c.allowed and "before session 3" in c.too_soon

    def test_beyond_max_needs_override(self):
        c = s.check_spacing(
            sequence=2,
            start=at(MONDAY + timedelta(days=43), 9),
            previous_start=at(MONDAY, 9),
            next_start=None,
            spacing=FACE,
            zone=LONDON,
        )
        assert c.allowed and c.needs_override and "beyond the maximum" in c.beyond_max

    def test_first_session_has_no_previous(self):
        c = s.check_spacing(
            sequence=1,
            start=at(MONDAY, 9),
            previous_start=None,
            next_start=None,
            spacing=FACE,
            zone=LONDON,
        )
        assert c.allowed and not c.needs_override


class TestProposeShift:
    def test_later_sessions_offered_the_same_shift(self):
        later = [(3, at(MONDAY + timedelta(days=56), 11))]
        shifts = s.propose_shift(
            moved_sequence=2,
            old_start=at(MONDAY + timedelta(days=28), 11),
            new_start=at(MONDAY + timedelta(days=31), 11),
            later=later,
            spacing=FACE,
            duration=HOUR,
            availability=avail(),
        )
        assert shifts[0].proposed_start == at(MONDAY + timedelta(days=59), 11)
        assert not shifts[0].required  # 25 days after the moved one: still within the rules

    def test_required_when_left_too_close(self):
        later = [(3, at(MONDAY + timedelta(days=42), 11))]
        shifts = s.propose_shift(
            moved_sequence=2,
            old_start=at(MONDAY + timedelta(days=28), 11),
            new_start=at(MONDAY + timedelta(days=35), 11),
            later=later,
            spacing=FACE,
            duration=HOUR,
            availability=avail(),
        )
        assert shifts[0].required
        assert shifts[0].proposed_start.date() == MONDAY + timedelta(days=49)


class TestNextFreeSlots:
    def test_first_free_after_busy(self):
        a = avail(busy=[(at(MONDAY, 9), at(MONDAY, 17))])
        found = s.next_free_slots(
            first_day=MONDAY,
            last_day=MONDAY + timedelta(days=7),
            duration=HOUR,
            availability=a,
            limit=2,
        )
        assert found == [at(MONDAY + timedelta(days=1), 9), at(MONDAY + timedelta(days=1), 9, 15)]

    def test_not_before(self):
        found = s.next_free_slots(
            first_day=MONDAY,
            last_day=MONDAY,
            duration=HOUR,
            availability=avail(),
            not_before=at(MONDAY, 15, 50),
            limit=3,
        )
        assert found == [at(MONDAY, 16)]


class TestProgress:
    def test_two_of_three_with_next_window(self):
        p = s.course_progress(
            planned=3,
            completed_days=[MONDAY, MONDAY + timedelta(days=28)],
            next_booked_on=None,
            spacing=FACE,
            maintenance_months=6,
            today=MONDAY + timedelta(days=30),
        )
        assert p.summary == "2 of 3 done"
        assert p.next_window == (MONDAY + timedelta(days=42), MONDAY + timedelta(days=70))
        assert not p.interrupted

    def test_interrupted_after_window_without_booking(self):
        p = s.course_progress(
            planned=3,
            completed_days=[MONDAY],
            next_booked_on=None,
            spacing=FACE,
            maintenance_months=None,
            today=MONDAY + timedelta(days=43),
        )
        assert p.interrupted
        booked = s.course_progress(
            planned=3,
            completed_days=[MONDAY],
            next_booked_on=MONDAY + timedelta(days=50),
            spacing=FACE,
            maintenance_months=None,
            today=MONDAY + timedelta(days=43),
        )
        assert not booked.interrupted

    def test_finished_proposes_maintenance(self):
        p = s.course_progress(
            planned=2,
            completed_days=[date(2026, 1, 31), date(2026, 2, 28)],
            next_booked_on=None,
            spacing=FACE,
            maintenance_months=6,
            today=date(2026, 3, 1),
        )
        assert p.finished and p.maintenance_due_on == date(2026, 8, 28)

    def test_add_months_clamps(self):
        assert s.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
        assert s.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
        assert s.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


# --- Properties -----------------------------------------------------------------

spacings = st.tuples(st.integers(1, 20), st.integers(0, 15), st.integers(0, 20)).map(
    lambda t: s.Spacing(t[0], t[0] + t[1], t[0] + t[1] + t[2])
)
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1, max_size=7)


@st.composite
def availabilities(draw):
    days = draw(weekday_sets)
    start_hour = draw(st.integers(7, 11))
    end_hour = draw(st.integers(start_hour + 2, 20))
    hours = {d: [(time(start_hour), time(end_hour))] for d in days}
    closures = []
    for _ in range(draw(st.integers(0, 4))):
        first = MONDAY + timedelta(days=draw(st.integers(0, 150)))
        closures.append((first, first + timedelta(days=draw(st.integers(0, 6)))))
    busy = []
    for _ in range(draw(st.integers(0, 40))):
        day = MONDAY + timedelta(days=draw(st.integers(0, 150)))
        start = at(day, draw(st.integers(7, 19)), draw(st.sampled_from([0, 15, 30, 45])))
        busy.append((start, start + timedelta(minutes=draw(st.sampled_from([30, 60, 90, 240])))))
    absences = []
    for _ in range(draw(st.integers(0, 2))):
        day = MONDAY + timedelta(days=draw(st.integers(0, 150)))
        absences.append((at(day, 0), at(day + timedelta(days=draw(st.integers(1, 10))), 0)))
    return s.Availability(zone=LONDON, hours=hours, closures=closures, busy=busy, absences=absences)


@settings(max_examples=150, deadline=None)
@given(
    availability=availabilities(),
    spacing=spacings,
    sessions=st.integers(1, 6),
    minutes=st.sampled_from([30, 45, 60, 90]),
    weekdays=st.frozensets(st.integers(0, 6), max_size=3),
)
def test_every_proposal_respects_rules(availability, spacing, sessions, minutes, weekdays):
    duration = timedelta(minutes=minutes)
    prefs = s.Preferences(weekdays=weekdays)
    kwargs = {
        "sessions": sessions,
        "spacing": spacing,
        "duration": duration,
        "availability": availability,
        "earliest": MONDAY,
        "preferences": prefs,
    }
    proposal = s.propose_course(**kwargs)
    # Deterministic.
    assert proposal == s.propose_course(**kwargs)
    assert [p.sequence for p in proposal.sessions] == list(range(1, sessions + 1))
    placed = [p for p in proposal.sessions if p.fits]
    # Sessions are placed in order, and once one fails, none after it is guessed.
    assert proposal.sessions[: len(placed)] == tuple(placed)
    if not proposal.complete:
        assert proposal.sessions[len(placed)].problem
    for p in placed:
        # Within working hours, not on a closure, clear of bookings and absences.
        assert s.slot_problems(p.starts_at, p.ends_at, availability) == []
        assert p.ends_at - p.starts_at == duration
    for before, after in zip(placed, placed[1:], strict=False):
        gap = (
            after.starts_at.astimezone(LONDON).date() - before.starts_at.astimezone(LONDON).date()
        ).days
        assert spacing.min_days <= gap <= spacing.max_days
        assert after.starts_at >= before.ends_at


@settings(max_examples=100, deadline=None)
@given(
    availability=availabilities(),
    minutes=st.sampled_from([15, 60, 120]),
    offset=st.integers(0, 150),
)
def test_free_starts_never_overlap_and_stay_in_hours(availability, minutes, offset):
    day = MONDAY + timedelta(days=offset)
    duration = timedelta(minutes=minutes)
    for start in s.free_starts_on(day, duration=duration, availability=availability):
        assert s.slot_problems(start, start + duration, availability) == []


@settings(max_examples=200, deadline=None)
@given(spacing=spacings, gap_prev=st.integers(0, 80), gap_next=st.integers(0, 80))
def test_spacing_check_matches_the_rule(spacing, gap_prev, gap_next):
    start = at(MONDAY + timedelta(days=100), 10)
    check = s.check_spacing(
        sequence=2,
        start=start,
        previous_start=start - timedelta(days=gap_prev),
        next_start=start + timedelta(days=gap_next),
        spacing=spacing,
        zone=LONDON,
    )
    too_soon = gap_prev < spacing.min_days or gap_next < spacing.min_days
    assert check.allowed is not too_soon
    beyond = gap_prev > spacing.max_days or gap_next > spacing.max_days
    assert check.needs_override is (beyond and not too_soon)


class TestTreatmentTiming:
    """Check-in on the appointment's day in the clinic's zone; completion not before it."""

    def test_check_in_on_the_day_only(self):
        start = at(MONDAY, 10)
        assert s.check_in_problem(starts_at=start, now=at(MONDAY, 8), zone=LONDON) == ""
        assert s.check_in_problem(starts_at=start, now=at(MONDAY, 23, 59), zone=LONDON) == ""
        early = s.check_in_problem(starts_at=start, now=at(MONDAY, 0) - HOUR, zone=LONDON)
        assert (
            early
            == "This appointment is on Monday 02 March 2026; patients are checked in on the day."
        )
        late = s.check_in_problem(
            starts_at=start, now=at(MONDAY + timedelta(days=1), 9), zone=LONDON
        )
        assert late.startswith("This appointment was on Monday 02 March 2026")

    def test_the_day_is_the_clinics_not_utcs(self):
        # British Summer Time: 00:30 in London is still the day before in UTC.
        summer = date(2026, 7, 1)
        start = at(summer, 0, 30)
        evening_before = at(summer - timedelta(days=1), 23, 45)
        assert (
            start.astimezone(ZoneInfo("UTC")).date()
            == evening_before.astimezone(ZoneInfo("UTC")).date()
        )
        assert s.check_in_problem(starts_at=start, now=evening_before, zone=LONDON)
        assert not s.check_in_problem(starts_at=start, now=at(summer, 0, 5), zone=LONDON)

    def test_completion_not_before_the_start(self):
        start = at(MONDAY, 10)
        assert s.completion_problem(starts_at=start, now=at(MONDAY, 10), zone=LONDON) == ""
        assert s.completion_problem(starts_at=start, now=at(MONDAY, 11), zone=LONDON) == ""
        assert s.completion_problem(starts_at=start, now=at(MONDAY, 9, 59), zone=LONDON) == (
            "This appointment starts at 10:00 on 02 March 2026; "
            "it cannot be completed before it starts."
        )


class TestLateCancellation:
    """Only the patient's own cancellation, close to the start, before check-in, is late."""

    START = at(MONDAY, 15)

    def test_by_the_patient_within_24_hours(self):
        assert s.cancellation_is_late(starts_at=self.START, now=at(MONDAY, 9))
        assert not s.cancellation_is_late(starts_at=self.START, now=self.START - 25 * HOUR)

    def test_never_when_the_clinic_cancels(self):
        assert not s.cancellation_is_late(starts_at=self.START, now=at(MONDAY, 9), by_patient=False)

    def test_never_once_the_patient_is_checked_in(self):
        assert not s.cancellation_is_late(starts_at=self.START, now=at(MONDAY, 14), checked_in=True)


def test_nothing_is_free_before_not_before():
    evening = avail(not_before=at(MONDAY, 22, 30))
    assert s.free_starts_on(MONDAY, duration=HOUR, availability=evening) == []
    assert s.free_starts_on(MONDAY + timedelta(days=1), duration=HOUR, availability=evening)[
        0
    ] == at(MONDAY + timedelta(days=1), 9)
    midday = avail(not_before=at(MONDAY, 12, 5))
    assert s.free_starts_on(MONDAY, duration=HOUR, availability=midday)[0] == at(MONDAY, 12, 15)
    assert s.slot_problems(at(MONDAY, 11), at(MONDAY, 12), midday) == [
        "That time is too soon: the first time that can be offered is Mon 02 Mar 2026 12:05."
    ]
    assert midday.with_busy([]).not_before == midday.not_before


class TestConsentGaps:
    """Which booked treatments have no consent in force (the patient page's header)."""

    FACE, SCALP = 1, 2

    def test_a_consent_in_force_leaves_nothing(self):
        booked = [(self.FACE, True), (self.FACE, True)]
        assert s.consent_gaps(booked=booked, newest={self.FACE: s.CONSENT_IN_FORCE}) == []

    def test_none_signed_is_reported_at_the_soonest_treatment(self):
        booked = [(self.FACE, False), (self.FACE, True), (self.FACE, True)]
        assert s.consent_gaps(booked=booked, newest={}) == [
            s.ConsentGap(index=1, protocol_id=self.FACE, why=s.CONSENT_MISSING)
        ]

    def test_a_withdrawn_newest_consent_is_reported(self):
        booked = [(self.FACE, True)]
        assert s.consent_gaps(booked=booked, newest={self.FACE: s.CONSENT_WITHDRAWN}) == [
            s.ConsentGap(index=0, protocol_id=self.FACE, why=s.CONSENT_WITHDRAWN)
        ]

    def test_a_consent_to_a_replaced_version_is_reported(self):
        booked = [(self.FACE, True)]
        assert s.consent_gaps(booked=booked, newest={self.FACE: s.CONSENT_OUTDATED}) == [
            s.ConsentGap(index=0, protocol_id=self.FACE, why=s.CONSENT_OUTDATED)
        ]

    def test_consultations_and_bookings_without_a_protocol_need_none(self):
        booked = [(None, True), (None, False), (self.FACE, False)]
        assert s.consent_gaps(booked=booked, newest={}) == []

    def test_one_per_protocol_in_booking_order(self):
        booked = [(self.SCALP, True), (self.FACE, True), (self.SCALP, True), (self.FACE, True)]
        gaps = s.consent_gaps(booked=booked, newest={self.FACE: s.CONSENT_WITHDRAWN})
        assert gaps == [
            s.ConsentGap(index=0, protocol_id=self.SCALP, why=s.CONSENT_MISSING),
            s.ConsentGap(index=1, protocol_id=self.FACE, why=s.CONSENT_WITHDRAWN),
        ]

    def test_nothing_booked(self):
        assert s.consent_gaps(booked=[], newest={self.FACE: s.CONSENT_WITHDRAWN}) == []


CONSENT_STATES = st.sampled_from([s.CONSENT_IN_FORCE, s.CONSENT_WITHDRAWN, s.CONSENT_OUTDATED])


@settings(max_examples=200, deadline=None)
@given(
    booked=st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 4)), st.booleans()), max_size=8),
    newest=st.dictionaries(st.integers(1, 4), CONSENT_STATES),
)
def test_consent_gaps_name_each_unconsented_treatment_protocol_once(booked, newest):
    gaps = s.consent_gaps(booked=booked, newest=newest)
    treated = {p for p, treatment in booked if treatment and p is not None}
    unconsented = {p for p in treated if newest.get(p) != s.CONSENT_IN_FORCE}
    assert [g.protocol_id for g in gaps] == sorted(
        unconsented, key=lambda p: booked.index((p, True))
    )
    for gap in gaps:
        assert gap.index == booked.index((gap.protocol_id, True))
        assert gap.why == newest.get(gap.protocol_id, s.CONSENT_MISSING)
