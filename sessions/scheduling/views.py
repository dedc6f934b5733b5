"""Thin views: parse, call a service or selector, render. Every view declares its roles
and loads objects through the access helpers in selectors (404 for unknown ids)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_POST

from mesoclinic.core import roles
from patients.selectors import patient_for_staff, patient_search, screening_as_seen_by
from protocols.models import Protocol
from sessions.scheduling import forms, ical, selectors, services
from sessions.scheduling import rules as scheduling
from sessions.scheduling.models import Appointment, CalendarFeed, Room, TreatmentPlan, WorkingHours

Status = Appointment.Status
PALETTE = [
    "#2f6db5",
    "#7a4fb0",
    "#1e8a6e",
    "#b5562f",
    "#b0336f",
    "#5c7a1e",
    "#2f8fb5",
    "#8a6d1e",
]
CONSULTATION_COLOUR = "#6c757d"
# What the calendar's event feed reads (keeps each row small at clinic scale).


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


# Dates typed into the address bar: outside these years they are typos, and the
# calendar's arithmetic (a day or a week either side) must not leave datetime's range.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)


def _parse_day(text: str | None) -> date | None:
    """A date from the query string, or None when it is malformed or absurd."""
    try:
        day = parse_date(text or "")
    except ValueError:  # well formed but impossible, e.g. 2026-13-45
        return None
    if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
        return None
    return day


def _parse_local(text: str | None) -> datetime | None:
    """An ISO time from the calendar: clinic time unless it carries an offset."""
    if not text:
        return None
    try:
        value = parse_datetime(text.replace(" ", "+"))
    except ValueError:
        return None
    if value is None:
        day = _parse_day(text[:10]) if len(text) >= 10 else None
        if day is None:
            return None
        value = datetime.combine(day, time.min)
    if not EARLIEST_DAY <= value.date() <= LATEST_DAY:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


def _error_text(exc: services.SchedulingError) -> str:
    return " ".join(exc.messages)


# --- Setup: places, rooms, hours, absences, closures (managers)


@roles.role_required(roles.MANAGERS)
def setup(request):
    locations = list(selectors.Location.objects.prefetch_related("rooms").order_by("name"))
    hours = WorkingHours.objects.select_related("practitioner", "location").order_by(
        "practitioner__first_name", "practitioner_id", "weekday", "start"
    )
    by_practitioner: dict = defaultdict(list)
    for block in hours:
        by_practitioner[block.practitioner].append(block)
    today = timezone.localdate()
    start, _ = selectors.local_day_bounds(today, today)
    return render(
        request,
        "sessions/setup.html",
        {
            "locations": locations,
            "hours_by_practitioner": dict(by_practitioner),
            "absences": selectors.Absence.objects.filter(ends_at__gte=start)
            .select_related("practitioner")
            .order_by("starts_at")[:100],
            "closures": selectors.Closure.objects.filter(ends_on__gte=today)
            .select_related("location")
            .order_by("starts_on")[:100],
        },
    )


def _edit(request, form, *, title: str, back: str, saved: str):
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, saved)
        return redirect(back)
    return render(request, "sessions/form.html", {"form": form, "title": title, "back": back})


@roles.role_required(roles.MANAGERS)
def location_create(request):
    form = forms.LocationForm(request.POST or None)
    return _edit(
        request,
        form,
        title="New location",
        back=reverse("sessions:setup"),
        saved="Location added.",
    )


@roles.role_required(roles.MANAGERS)
def location_edit(request, location_id):
    location = selectors.location_for_staff(location_id)
    form = forms.LocationForm(request.POST or None, instance=location)
    return _edit(
        request, form, title=f"Edit {location}", back=reverse("sessions:setup"), saved="Saved."
    )


@roles.role_required(roles.MANAGERS)
def room_create(request, location_id):
    location = selectors.location_for_staff(location_id)
    form = forms.RoomForm(request.POST or None, location=location)
    return _edit(
        request,
        form,
        title=f"New room at {location}",
        back=reverse("sessions:setup"),
        saved="Room added.",
    )


@roles.role_required(roles.MANAGERS)
def room_edit(request, room_id):
    room = selectors.room_for_staff(room_id)
    form = forms.RoomForm(request.POST or None, instance=room, location=room.location)
    return _edit(
        request, form, title=f"Edit {room}", back=reverse("sessions:setup"), saved="Saved."
    )


@roles.role_required(roles.MANAGERS)
def hours_create(request):
    initial = {}
    if request.GET.get("practitioner", "").isdigit():
        initial["practitioner"] = request.GET["practitioner"]
    form = forms.WorkingHoursForm(request.POST or None, initial=initial)
    return _edit(
        request,
        form,
        title="Add working hours",
        back=reverse("sessions:setup"),
        saved="Working hours added.",
    )


@roles.role_required(roles.MANAGERS)
def hours_edit(request, hours_id):
    block = selectors.working_hours_for_staff(hours_id)
    form = forms.WorkingHoursForm(request.POST or None, instance=block)
    return _edit(
        request, form, title="Edit working hours", back=reverse("sessions:setup"), saved="Saved."
    )


@roles.role_required(roles.MANAGERS)
@require_POST
def hours_delete(request, hours_id):
    selectors.working_hours_for_staff(hours_id).delete()
    messages.success(request, "Working hours removed. Booked appointments are unchanged.")
    return redirect("sessions:setup")


@roles.role_required(roles.MANAGERS)
def absence_create(request):
    form = forms.AbsenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        absence = form.save()
        clashing = selectors.bookings_during(
            practitioner=absence.practitioner, start=absence.starts_at, end=absence.ends_at
        )
        messages.success(request, "Absence recorded.")
        if clashing:
            messages.warning(
                request,
                f"{clashing} booked appointment(s) fall in this absence: move or cancel them "
                f"from the calendar.",
            )
        return redirect("sessions:setup")
    return render(
        request,
        "sessions/form.html",
        {"form": form, "title": "Record an absence", "back": reverse("sessions:setup")},
    )


@roles.role_required(roles.MANAGERS)
@require_POST
def absence_delete(request, absence_id):
    selectors.absence_for_staff(absence_id).delete()
    messages.success(request, "Absence removed.")
    return redirect("sessions:setup")


@roles.role_required(roles.MANAGERS)
def closure_create(request):
    form = forms.ClosureForm(request.POST or None)
    return _edit(
        request,
        form,
        title="Add a closure",
        back=reverse("sessions:setup"),
        saved="Closure added.",
    )


@roles.role_required(roles.MANAGERS)
@require_POST
def closure_delete(request, closure_id):
    selectors.closure_for_staff(closure_id).delete()
    messages.success(request, "Closure removed.")
    return redirect("sessions:setup")


# --- Calendar


def _colour(protocol_id: int | None) -> str:
    if protocol_id is None:
        return CONSULTATION_COLOUR
    return PALETTE[protocol_id % len(PALETTE)]


# The calendar a person last looked at (their session): staff work at one location.
CALENDAR_LOCATION = "calendar_location"


def _pick_location(request, *, recall: bool = False, remember: bool = False):
    """The location asked for. With `recall` (calendar, booking form), else the one
    this person last looked at on the calendar, else the first where they have working
    hours; with `remember` (the calendar), the choice is kept for next time. Otherwise
    the first by name."""
    locations = list(selectors.active_locations())
    by_id = {str(loc.public_id): loc for loc in locations}
    chosen = by_id.get(request.GET.get("location", ""))
    if recall and chosen is None:
        chosen = by_id.get(request.session.get(CALENDAR_LOCATION, ""))
        if chosen is None:
            own = selectors.working_location_ids(request.user)
            chosen = next((loc for loc in locations if loc.pk in own), None)
    kept = str(chosen.public_id) if chosen is not None else None
    if remember and kept and request.session.get(CALENDAR_LOCATION) != kept:
        request.session[CALENDAR_LOCATION] = kept
    return locations, chosen or (locations[0] if locations else None)


def _business_hours(blocks) -> list[dict]:
    # FullCalendar counts Sunday as 0; the model counts Monday as 0.
    return [
        {
            "daysOfWeek": [(b.weekday + 1) % 7],
            "startTime": b.start.strftime("%H:%M"),
            "endTime": b.end.strftime("%H:%M"),
        }
        for b in blocks
    ]


CALENDAR_VIEWS = ("day", "week", "agenda")


@roles.role_required(roles.STAFF)
def calendar(request):
    """Day: a column per practitioner (or room) side by side. Week: one practitioner's
    (or room's) week across the screen, chosen with a picker (yourself first). Agenda:
    the events as a list (what a phone shows whatever view was asked for)."""
    locations, location = _pick_location(request, recall=True, remember=True)
    wanted_view = request.GET.get("view")
    view = wanted_view if wanted_view in CALENDAR_VIEWS else "day"
    mode = "rooms" if request.GET.get("by") == "rooms" else "practitioners"
    day = _parse_day(request.GET.get("date")) or timezone.localdate()
    columns = []
    if location is not None:
        if mode == "rooms":
            columns = [
                {"id": str(r.pk), "title": r.name, "businessHours": True}
                for r in Room.objects.filter(location=location, is_active=True)
            ]
        else:
            blocks: dict[int, list] = defaultdict(list)
            for block in WorkingHours.objects.filter(location=location):
                blocks[block.practitioner_id].append(block)
            columns = [
                {
                    "id": str(p.pk),
                    "title": selectors.display_name(p),
                    "businessHours": _business_hours(blocks[p.pk]),
                }
                for p in selectors.practitioners().filter(pk__in=list(blocks))
            ]
    ids = [c["id"] for c in columns]
    wanted_column = request.GET.get("column", "")
    if wanted_column not in ids:
        own = str(request.user.pk)
        wanted_column = own if mode == "practitioners" and own in ids else (ids or [""])[0]
    shown = [c for c in columns if c["id"] == wanted_column] if view == "week" else columns
    config = {
        "view": view,
        "mode": mode,
        "date": day.isoformat(),
        "timeZone": timezone.get_default_timezone_name(),
        "location": str(location.public_id) if location else "",
        "columns": shown,
        "allColumns": [{"id": c["id"], "title": c["title"]} for c in columns],
        "eventsUrl": reverse("sessions:calendar_events"),
        "bookUrl": reverse("sessions:appointment_create"),
        "moveUrl": reverse(
            "sessions:appointment_move", args=["00000000-0000-0000-0000-000000000000"]
        ),
        "shiftUrl": reverse("sessions:course_shift", args=["00000000-0000-0000-0000-000000000000"]),
        "canEdit": True,
    }
    return render(
        request,
        "sessions/calendar.html",
        {
            "locations": locations,
            "location": location,
            "view": view,
            "mode": mode,
            "day": day,
            "columns": columns,
            "column": wanted_column,
            "view_choices": [("day", "Day"), ("week", "Week"), ("agenda", "Agenda")],
            "config": config,
            "palette": {p.name: _colour(p.pk) for p in Protocol.objects.bookable()},
        },
    )


def event_json(a: Appointment, *, url: str) -> dict:
    title = a.patient.full_name
    what = a.protocol.name if a.protocol_id else "Consultation"
    if a.sequence and a.course_id:
        what += f" ({a.sequence})"
    if a.booked_online:
        what += " · booked online"
    return {
        "id": str(a.public_id),
        "title": f"{title} · {what}",
        "start": _local(a.starts_at).replace(tzinfo=None).isoformat(),
        "end": _local(a.ends_at).replace(tzinfo=None).isoformat(),
        "backgroundColor": _colour(a.protocol_id),
        "borderColor": _colour(a.protocol_id),
        "classNames": [f"st-{a.status}"] + ["booked-online"] * a.booked_online,
        "editable": a.is_upcoming,
        "extendedProps": {
            "practitioner": str(a.practitioner_id),
            "room": str(a.room_id or ""),
            "status": a.get_status_display(),
            "url": url,
            "course": str(a.course.public_id) if a.course_id else "",
        },
    }


@roles.role_required(roles.STAFF)
def calendar_events(request):
    """The calendar's event feed for one location and range: one query for the appointments."""
    _, location = _pick_location(request)
    start = _parse_local(request.GET.get("start"))
    end = _parse_local(request.GET.get("end"))
    if start is None or end is None or end <= start or end - start > timedelta(days=42):
        today = timezone.localdate()
        start, end = selectors.local_day_bounds(today, today + timedelta(days=6))
    if location is None:
        return JsonResponse([], safe=False)
    rows = selectors.calendar_appointments(location=location, start=start, end=end)
    detail = reverse("sessions:appointment_detail", args=["00000000-0000-0000-0000-000000000000"])
    events = [
        event_json(a, url=detail.replace("00000000-0000-0000-0000-000000000000", str(a.public_id)))
        for a in rows
    ]
    closures = selectors.Closure.objects.filter(
        Q(location=location) | Q(location__isnull=True),
        starts_on__lte=_local(end).date(),
        ends_on__gte=_local(start).date(),
    )
    for closure in closures:
        events.append(
            {
                "start": closure.starts_on.isoformat(),
                "end": (closure.ends_on + timedelta(days=1)).isoformat(),
                "display": "background",
                "title": f"Closed: {closure.name}",
                "classNames": ["closure"],
                "allDay": True,
            }
        )
    return JsonResponse(events, safe=False)


@roles.role_required(roles.STAFF)
def today(request):
    day = _parse_day(request.GET.get("day")) or timezone.localdate()
    rows = selectors.day_list(day=day)
    by_practitioner: dict = defaultdict(list)
    for a in rows:
        by_practitioner[a.practitioner].append(a)
    return render(
        request,
        "sessions/today.html",
        {
            "day": day,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "by_practitioner": dict(by_practitioner),
        },
    )


@roles.role_required(roles.STAFF)
def find_slot(request):
    first = _parse_day(request.GET.get("first_day")) or timezone.localdate()
    defaults = {
        "first_day": first.isoformat(),
        "last_day": (first + timedelta(days=14)).isoformat(),
    }
    form = forms.FindSlotForm({**defaults, **request.GET.dict()} if request.GET else None)
    patient = None
    if request.GET.get("patient"):
        try:
            patient = patient_for_staff(request.GET["patient"])
        except (Http404, ValidationError):
            patient = None
    results = []
    if request.GET and form.is_valid():
        data = form.cleaned_data
        protocol = data["protocol"]
        minutes = protocol.session_minutes if protocol else services.CONSULTATION_MINUTES
        people = (
            [data["practitioner"]]
            if data["practitioner"]
            else selectors.practitioners_at(data["location"])
        )
        for person in people:
            availability = selectors.availability_for(
                practitioner=person,
                location=data["location"],
                room=None,
                first_day=data["first_day"],
                last_day=data["last_day"],
                offering=True,
            )
            for start in scheduling.next_free_slots(
                first_day=data["first_day"],
                last_day=data["last_day"],
                duration=timedelta(minutes=minutes),
                availability=availability,
                not_before=selectors.earliest_offer(),
                limit=5,
            ):
                results.append((start, person))
        results.sort(key=lambda r: (r[0], r[1].pk))
        results = results[:15]
    return render(
        request,
        "sessions/find_slot.html",
        {"form": form, "results": results, "patient": patient},
    )


# --- Appointments


@roles.role_required(roles.STAFF)
def appointment_create(request):
    source = request.POST if request.method == "POST" else request.GET
    patient = None
    if source.get("patient"):
        try:
            patient = patient_for_staff(source["patient"])
        except (Http404, ValidationError):  # an unknown or malformed id: search again
            patient = None
    start = _parse_local(request.GET.get("start"))
    initial = {
        "patient": patient.public_id if patient else None,
        "practitioner": request.GET.get("practitioner") or None,
        "day": _local(start).date() if start else timezone.localdate(),
        "start": _local(start).time() if start else None,
    }
    if request.GET.get("kind") in ("consultation", "maintenance"):
        initial["kind"] = request.GET["kind"]
    if request.GET.get("protocol", "").isdigit():
        initial["protocol"] = request.GET["protocol"]
    _, location = _pick_location(request, recall=True)
    if location is not None:
        initial["location"] = location.pk
    if request.GET.get("room", "").isdigit():
        initial["room"] = request.GET["room"]
    form = forms.BookingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = patient_for_staff(data["patient"])
            appointment = services.appointment_book(
                patient=patient,
                practitioner=data["practitioner"],
                location=data["location"],
                room=data["room"],
                starts_at=data["starts_at"],
                ends_at=data.get("ends_at"),
                kind=data["kind"],
                protocol=data["protocol"] if data["kind"] != "consultation" else None,
                notes=data["notes"],
                by=request.user,
            )
        except services.SchedulingError as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, "Appointment booked.")
            return redirect("sessions:appointment_detail", appointment_id=appointment.public_id)
    query = request.GET.get("q", "").strip()
    found = patient_search(query=query) if query else []
    return render(
        request,
        "sessions/appointment_form.html",
        {"form": form, "patient": patient, "query": query, "found": found},
    )


def _lifecycle_actions(request, a: Appointment) -> tuple[list, list]:
    """The status buttons, and the ones that need an override now: (code, label, problem)."""
    clinical = roles.has_role(request.user, roles.CLINICAL)
    allowed = services.TRANSITIONS[a.status]
    problems = selectors.timing_problems(a, now=timezone.now())
    actions, overrides = [], []
    if Status.CONFIRMED in allowed:
        actions.append(("confirm", "Confirm", "outline-primary"))
    if Status.CHECKED_IN in allowed:
        if problems["check_in"]:
            overrides.append(("check_in", "Check in anyway", problems["check_in"]))
        else:
            actions.append(("check_in", "Check in", "primary"))
    if Status.IN_TREATMENT in allowed and clinical:
        actions.append(("start", "Start treatment", "primary"))
    if Status.COMPLETED in allowed and clinical:
        if problems["complete"]:
            overrides.append(("complete", "Complete anyway", problems["complete"]))
        else:
            actions.append(("complete", "Complete", "success"))
    if Status.NO_SHOW in allowed and a.starts_at <= timezone.now():
        actions.append(("no_show", "Did not come", "outline-danger"))
    return actions, overrides


@roles.role_required(roles.STAFF)
def appointment_detail(request, appointment_id, move_form=None, cancel_form=None):
    a = selectors.appointment_for_staff(appointment_id)
    shifts = []
    moved_from = _parse_local(request.GET.get("moved_from"))
    if moved_from is not None and a.is_upcoming:
        shifts = services.shifts_offered(appointment=a, old_start=moved_from)
    local_start = _local(a.starts_at)
    move_form = move_form or forms.MoveForm(
        location=a.location,
        initial={
            "day": local_start.date(),
            "start": local_start.time(),
            "minutes": int(a.duration.total_seconds() // 60),
            "practitioner": a.practitioner_id,
            "room": a.room_id,
        },
    )
    course_sessions = selectors.course_sessions(a.course) if a.course_id else []
    actions, overrides = _lifecycle_actions(request, a)
    return render(
        request,
        "sessions/appointment_detail.html",
        {
            "a": a,
            "actions": actions,
            "overrides": overrides,
            "chart_open": (
                (a.is_chartable or (a.is_treatment and a.status == Status.COMPLETED))
                and roles.has_role(request.user, roles.CLINICAL)
            ),
            "movable": a.is_upcoming,
            "cancellable": Status.CANCELLED in services.TRANSITIONS[a.status],
            "move_form": move_form,
            "cancel_form": cancel_form or forms.CancelForm(),
            "cancel_fee": selectors.cancellation_fee(a, now=timezone.now()),
            "shifts": shifts,
            "course_sessions": course_sessions,
        },
    )


@roles.role_required(roles.STAFF)
@require_POST
def appointment_move(request, appointment_id):
    """Drag, resize (JSON, from the calendar) or the move form on the appointment page."""
    a = selectors.appointment_for_staff(appointment_id)
    old_start = a.starts_at
    if _wants_json(request):
        form = forms.CalendarMoveForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"ok": False, "error": "That time could not be read."}, status=400)
        data = form.cleaned_data
        try:
            result = services.appointment_move(
                appointment=a,
                starts_at=data["start"],
                ends_at=data["end"],
                override_reason=data["override_reason"],
                by=request.user,
            )
        except services.SchedulingError as exc:
            return JsonResponse(
                {
                    "ok": False,
                    "error": _error_text(exc),
                    "needsOverride": isinstance(exc, services.OverrideNeeded),
                },
                status=409,
            )
        return JsonResponse({"ok": True, "shifts": _shifts_json(result.shifts), **_course_ref(a)})
    form = forms.MoveForm(request.POST, location=a.location)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.appointment_move(
                appointment=a,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                practitioner=data["practitioner"],
                room=data["room"],
                override_reason=data["override_reason"],
                by=request.user,
            )
        except services.SchedulingError as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, "Appointment moved.")
            url = reverse("sessions:appointment_detail", args=[a.public_id])
            return redirect(f"{url}?moved_from={_local(old_start).strftime('%Y-%m-%dT%H:%M')}")
    a.refresh_from_db()
    return appointment_detail(request, appointment_id=a.public_id, move_form=form)


def _course_ref(a: Appointment) -> dict:
    return {"course": str(a.course.public_id) if a.course_id else ""}


def _shifts_json(shifts) -> list[dict]:
    return [
        {
            "sequence": s.sequence,
            "current": _local(s.current_start).strftime("%a %d %b %Y %H:%M"),
            "proposed": _local(s.proposed_start).strftime("%a %d %b %Y %H:%M")
            if s.proposed_start
            else "",
            "proposedIso": _local(s.proposed_start).strftime("%Y-%m-%dT%H:%M")
            if s.proposed_start
            else "",
            "required": s.required,
            "problem": s.problem,
        }
        for s in shifts
    ]


@roles.role_required(roles.STAFF)
@require_POST
def appointment_status(request, appointment_id):
    a = selectors.appointment_for_staff(appointment_id)
    form = forms.StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown action.")
        return redirect("sessions:appointment_detail", appointment_id=a.public_id)
    action = form.cleaned_data["action"]
    if action in ("start", "complete"):
        roles.check_role(request.user, roles.CLINICAL)
    try:
        if action == "cancel":
            cancel_form = forms.CancelForm(request.POST)
            if not cancel_form.is_valid():
                return appointment_detail(
                    request, appointment_id=a.public_id, cancel_form=cancel_form
                )
            data = cancel_form.cleaned_data
            services.appointment_cancel(
                appointment=a,
                reason=data["reason"],
                party=data["party"],
                fee_waived_reason=data["fee_waived_reason"],
                by=request.user,
            )
        else:
            service = {
                "confirm": services.appointment_confirm,
                "check_in": services.appointment_check_in,
                "start": services.appointment_start,
                "complete": services.appointment_complete,
                "no_show": services.appointment_no_show,
            }[action]
            if action in ("check_in", "complete"):
                reason = form.cleaned_data["override_reason"]
                service(appointment=a, by=request.user, override_reason=reason)
            else:
                service(appointment=a, by=request.user)
    except services.SchedulingError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Marked {a.get_status_display().lower()}.")
    return redirect("sessions:appointment_detail", appointment_id=a.public_id)


# --- Courses


def _preferences(data) -> scheduling.Preferences:
    return scheduling.Preferences(
        weekdays=frozenset(data.get("preferred_weekdays") or ()),
        time_from=data.get("preferred_from"),
        time_to=data.get("preferred_to"),
    )


def _proposal_initial(proposal: scheduling.Proposal) -> dict:
    return {
        f"session_{p.sequence}": _local(p.starts_at).strftime("%Y-%m-%dT%H:%M")
        for p in proposal.sessions
        if p.starts_at
    }


def _rows(proposal, times_form) -> list:
    if proposal is None or times_form is None:
        return []
    return [(p, times_form[f"session_{p.sequence}"]) for p in proposal.sessions]


@roles.role_required(roles.STAFF)
def course_plan(request, patient_id):
    """Choose protocol, practitioner and place; review the proposal; book every session."""
    patient = patient_for_staff(patient_id)
    source = request.POST if request.method == "POST" else request.GET
    plan_form = forms.CoursePlanForm(
        source if "protocol" in source else None,
        initial={
            "earliest": timezone.localdate() + timedelta(days=1),
            "location": selectors.active_locations().values_list("pk", flat=True).first(),
        },
    )
    proposal = times_form = screening = None
    if plan_form.is_bound and plan_form.is_valid():
        data = plan_form.cleaned_data
        protocol = data["protocol"]
        # Read as the viewer may: front desk sees the status, never the answers.
        screening = screening_as_seen_by(
            services.course_screening(patient=patient, protocol=protocol),
            roles=roles.roles_of(request.user),
        )
        proposal = services.course_plan(
            protocol=protocol,
            practitioner=data["practitioner"],
            location=data["location"],
            room=data["room"],
            earliest=data["earliest"],
            preferences=_preferences(data),
        )
        sequences = list(range(1, protocol.sessions_in_course + 1))
        if request.method == "POST":
            times_form = forms.SessionTimesForm(request.POST, sequences=sequences)
            if times_form.is_valid():
                try:
                    course = services.course_book(
                        patient=patient,
                        protocol=protocol,
                        practitioner=data["practitioner"],
                        location=data["location"],
                        room=data["room"],
                        starts=[start for _, start in times_form.starts()],
                        preferences=_preferences(data),
                        override_reason=times_form.cleaned_data["override_reason"],
                        screening_acknowledged=times_form.cleaned_data["screening_acknowledged"],
                        by=request.user,
                    )
                except services.SchedulingError as exc:
                    times_form.add_error(None, _error_text(exc))
                else:
                    messages.success(request, f"Course booked: {course.sessions_planned} sessions.")
                    return redirect("sessions:course_detail", course_id=course.public_id)
        else:
            times_form = forms.SessionTimesForm(
                sequences=sequences, initial=_proposal_initial(proposal)
            )
    return render(
        request,
        "sessions/course_plan.html",
        {
            "patient": patient,
            "plan_form": plan_form,
            "proposal": proposal,
            "times_form": times_form,
            "rows": _rows(proposal, times_form),
            "course": None,
            "screening": screening,
        },
    )


@roles.role_required(roles.STAFF)
def course_detail(request, course_id):
    course = selectors.course_for_staff(course_id)
    sessions = selectors.course_sessions(course)
    return render(
        request,
        "sessions/course_detail.html",
        {
            "course": course,
            "sessions": sessions,
            "progress": selectors.course_progress(course, sessions, today=timezone.localdate()),
            "cancel_form": forms.CourseStopForm(),
        },
    )


@roles.role_required(roles.STAFF)
def course_continue(request, course_id):
    """Plan and book the sessions of a course still to be booked (e.g. after an interruption)."""
    course = selectors.course_for_staff(course_id)
    if course.status != TreatmentPlan.Status.ACTIVE:
        messages.error(request, "This course is no longer active.")
        return redirect("sessions:course_detail", course_id=course.public_id)
    proposal = services.course_plan(
        protocol=course.protocol,
        practitioner=course.practitioner,
        location=course.location,
        room=course.room,
        earliest=timezone.localdate() + timedelta(days=1),
        preferences=scheduling.Preferences(
            weekdays=frozenset(course.preferred_weekdays),
            time_from=course.preferred_time_from,
            time_to=course.preferred_time_to,
        ),
        course=course,
    )
    sequences = [p.sequence for p in proposal.sessions]
    if request.method == "POST":
        times_form = forms.SessionTimesForm(request.POST, sequences=sequences)
        if times_form.is_valid():
            try:
                services.course_sessions_book(
                    course=course,
                    starts=times_form.starts(),
                    override_reason=times_form.cleaned_data["override_reason"],
                    by=request.user,
                )
            except services.SchedulingError as exc:
                times_form.add_error(None, _error_text(exc))
            else:
                messages.success(request, "Sessions booked.")
                return redirect("sessions:course_detail", course_id=course.public_id)
    else:
        times_form = forms.SessionTimesForm(
            sequences=sequences, initial=_proposal_initial(proposal)
        )
    return render(
        request,
        "sessions/course_plan.html",
        {
            "patient": course.patient,
            "plan_form": None,
            "proposal": proposal,
            "times_form": times_form,
            "rows": _rows(proposal, times_form),
            "course": course,
        },
    )


@roles.role_required(roles.STAFF)
@require_POST
def course_cancel(request, course_id):
    course = selectors.course_for_staff(course_id)
    form = forms.CourseStopForm(request.POST)
    if form.is_valid():
        try:
            services.course_cancel(
                course=course, reason=form.cleaned_data["reason"], by=request.user
            )
        except services.SchedulingError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, "Course stopped; its booked sessions are cancelled.")
    else:
        messages.error(request, "Give a reason for stopping the course.")
    return redirect("sessions:course_detail", course_id=course.public_id)


@roles.role_required(roles.STAFF)
@require_POST
def course_shift(request, course_id):
    """Accept the offered shift: move the later sessions together."""
    course = selectors.course_for_staff(course_id)
    starts = []
    for key, value in request.POST.items():
        if key.startswith("session_") and key[8:].isdigit() and value:
            moment = _parse_local(value)
            if moment is None:
                starts = None
                break
            starts.append((int(key[8:]), moment))
    error = ""
    if not starts:
        error = "No new times were given."
    else:
        try:
            with transaction.atomic():
                services.course_shift_apply(
                    course=course,
                    starts=starts,
                    override_reason=request.POST.get("override_reason", "")[:300],
                    by=request.user,
                )
        except services.SchedulingError as exc:
            error = _error_text(exc)
    if _wants_json(request):
        return JsonResponse({"ok": not error, "error": error}, status=409 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Later sessions moved.")
    return redirect("sessions:course_detail", course_id=course.public_id)


# --- Calendar feeds


@roles.role_required(roles.CLINICAL)
def feed_settings(request):
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.calendar_feed_revoke(practitioner=request.user)
            messages.success(request, "Feed switched off; the old address no longer works.")
        else:
            services.calendar_feed_reset(practitioner=request.user)
            messages.success(request, "New feed address made; the old one no longer works.")
        return redirect("sessions:feed_settings")
    feed = CalendarFeed.objects.filter(practitioner=request.user).first()
    url = request.build_absolute_uri(reverse("sessions:feed", args=[feed.token])) if feed else ""
    return render(request, "sessions/feed_settings.html", {"feed": feed, "feed_url": url})


@login_not_required
def feed(request, feed_token):
    """A practitioner's appointments as iCalendar: initials and protocol only."""
    feed = selectors.feed_for_token(feed_token)
    rows = selectors.feed_appointments(feed.practitioner, now=timezone.now())
    body = ical.build_feed(rows, name=f"Mesoclinic · {selectors.display_name(feed.practitioner)}")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["ETag"] = hashlib.sha256(body).hexdigest()[:32]
    return response
