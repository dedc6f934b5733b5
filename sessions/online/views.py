"""The public booking site under /book/: no login, mobile first, one step per page.

What the visitor chose so far lives in their session (never in the URL); times are held
in the database only once the whole course is chosen. Every POST is rate-limited per
address and, where an email is known, per email; a limit reached gets a 429 page in
words. No page says whether someone is already a patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from mesoclinic.core import links as signed_links
from mesoclinic.core.audit import client_ip
from patients.services import consent_document_text
from protocols.models import Protocol
from protocols.services import current_consent
from sessions.online import forms, links, rules, selectors, services
from sessions.online.models import OnlineBooking
from sessions.scheduling.models import Location

KEY = "online_booking"
DAYS_SHOWN = 7


def _state(request) -> dict:
    return dict(request.session.get(KEY) or {})


def _save(request, state: dict) -> None:
    request.session[KEY] = state


def _limited(request, *, email: str = "") -> bool:
    """Count this POST against the address's and the email's limits."""
    if request.method != "POST":
        return False
    if is_ratelimited(
        request,
        group="online-ip",
        key=lambda group, req: client_ip(req) or "unknown",
        rate=settings.ONLINE_BOOKING_RATE_IP,
        increment=True,
    ):
        return True
    return bool(email) and is_ratelimited(
        request,
        group="online-email",
        key=lambda group, req: rules.normal_email(email),
        rate=settings.ONLINE_BOOKING_RATE_EMAIL,
        increment=True,
    )


def _too_many(request):
    return render(request, "online/limited.html", status=429)


def _page(request, template: str, step: int = 0, **context):
    return render(request, template, {"step": step, **context})


def public(view):
    """No login; never cached; GET and POST only."""
    return login_not_required(never_cache(require_http_methods(["GET", "POST"])(view)))


def _choice(state):
    """(settings, location, protocol or None) of the session, or None when gone."""
    config = selectors.current_settings()
    location = Location.objects.filter(public_id=state.get("location")).first()
    if location is None or location not in selectors.bookable_locations(config):
        return None
    protocol = None
    if state.get("kind") == OnlineBooking.Kind.COURSE:
        protocol = Protocol.objects.filter(pk=int(state.get("protocol") or 0)).first()
        if protocol is None or protocol not in selectors.bookable_protocols(config):
            return None
    return config, location, protocol


def _start_again(request):
    request.session.pop(KEY, None)
    return redirect("book:start")


def chosen(*, course_only: bool = False, screened: bool = False):
    """The view works on what the visitor chose so far, handed to it as the keyword
    arguments `state`, `config`, `location` and `protocol` (None for a consultation).

    When that choice is gone or no longer bookable, or `course_only` and a consultation
    was chosen, the visitor starts again; with `screened`, a course whose screening is
    not done yet goes back to the screening step."""

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            state = _state(request)
            choice = _choice(state)
            if choice is None or (course_only and state.get("kind") != OnlineBooking.Kind.COURSE):
                return _start_again(request)
            config, location, protocol = choice
            if screened and protocol is not None and not state.get("screened"):
                return redirect("book:screening")
            return view(
                request,
                *args,
                state=state,
                config=config,
                location=location,
                protocol=protocol,
                **kwargs,
            )

        return guarded

    return decorate


@public
def start(request):
    config = selectors.current_settings()
    locations = selectors.bookable_locations(config)
    protocols = selectors.bookable_protocols(config)
    if not locations or not (protocols or config.consultation_bookable):
        return _page(request, "online/closed.html")
    form = forms.TreatmentForm(
        request.POST or None,
        locations=locations,
        protocols=protocols,
        consultation=config.consultation_bookable,
    )
    if request.method == "POST":
        if _limited(request):
            return _too_many(request)
        if form.is_valid():
            treatment = form.cleaned_data["treatment"]
            course = treatment != "consultation"
            _release(request)
            _save(
                request,
                {
                    "location": str(form.cleaned_data["location"].public_id),
                    "kind": OnlineBooking.Kind.COURSE if course else "consultation",
                    "protocol": treatment if course else "",
                },
            )
            return redirect("book:screening" if course else "book:times")
    return _page(request, "online/start.html", 1, form=form, locations=locations)


@public
@chosen(course_only=True)
def screening(request, *, state, config, location, protocol):
    form = forms.ScreeningForm(request.POST or None)
    if request.method == "POST":
        if _limited(request):
            return _too_many(request)
        if form.is_valid():
            answers = form.cleaned_data["answers"]
            none_apply = form.cleaned_data["none_apply"]
            evaluation = selectors.screening_evaluation(
                protocol=protocol,
                answers=answers,
                none_apply=none_apply,
                today=timezone.localdate(),
            )
            route = rules.screening_route(evaluation.status)
            if route == rules.Route.REFUSED:
                # Nothing is kept: no answers, no hold, no booking.
                request.session.pop(KEY, None)
                return _page(request, "online/refused.html", 2, protocol=protocol)
            if route == rules.Route.CONSULTATION:
                _save(request, {"location": state["location"], "kind": "consultation"})
                return _page(
                    request,
                    "online/consultation_instead.html",
                    2,
                    protocol=protocol,
                    consultation=config.consultation_bookable,
                )
            state.update(
                answers={k: bool(v) for k, v in answers.items() if v is not None},
                none_apply=none_apply,
                medications=form.cleaned_data["medications"],
                screened=True,
            )
            _save(request, state)
            return redirect("book:times")
    return _page(request, "online/screening.html", 2, form=form, protocol=protocol)


def _minutes(config, protocol) -> int:
    return protocol.session_minutes if protocol else config.consultation_minutes


@public
@chosen(screened=True)
def times(request, *, state, config, location, protocol):
    now = timezone.now()
    bounds = selectors.bounds(config, now=now)
    people = selectors.practitioners_for(location, None)
    wanted = request.POST.get("practitioner") or request.GET.get("practitioner") or "any"
    practitioner = next((p for p in people if str(p.pk) == wanted), None)
    try:
        week = max(0, min(int(request.GET.get("week", "0")), config.horizon_days // 7 + 1))
    except ValueError:
        week = 0
    first_day = bounds.first_day + timedelta(days=DAYS_SHOWN * week)
    last_day = first_day + timedelta(days=DAYS_SHOWN - 1)
    problem = ""
    if request.method == "POST":
        if _limited(request):
            return _too_many(request)
        picked = _parse_pick(request.POST.get("slot", ""), people)
        if picked is None:
            problem = "Choose one of the times shown."
        else:
            person, start = picked
            state.update(practitioner=person.pk, starts=[start.isoformat()])
            if protocol is None:
                _save(request, state)
                return _hold(request, state, config, location, None)
            proposal = selectors.propose_course(
                protocol=protocol,
                practitioner=person,
                location=location,
                first_start=start,
                bounds=bounds,
                now=now,
            )
            state["starts"] = [s.starts_at.isoformat() for s in proposal.sessions if s.fits]
            state["problems"] = proposal.problems
            _save(request, state)
            return redirect("book:plan")
    free = selectors.free_first_starts(
        location=location,
        practitioner=practitioner,
        first_day=first_day,
        last_day=last_day,
        minutes=_minutes(config, protocol),
        bounds=bounds,
        now=now,
    )
    days: dict = {}
    for item in free:
        days.setdefault(item.local.date(), []).append(item)
    return _page(
        request,
        "online/times.html",
        3,
        protocol=protocol,
        location=location,
        people=people,
        practitioner=practitioner,
        days=sorted(days.items()),
        week=week,
        more=last_day < bounds.last_day,
        problem=problem or request.session.pop("online_problem", ""),
    )


def _parse_pick(value: str, people) -> tuple | None:
    who, _, when = value.partition("|")
    person = next((p for p in people if str(p.pk) == who), None)
    try:
        start = datetime.fromisoformat(when)
    except ValueError:
        return None
    if person is None or start.tzinfo is None:
        return None
    return person, start


def _starts(state) -> list[datetime]:
    try:
        return [datetime.fromisoformat(s) for s in state.get("starts", [])]
    except (TypeError, ValueError):
        return []


def _practitioner(state, location):
    return next(
        (
            p
            for p in selectors.practitioners_for(location, None)
            if p.pk == state.get("practitioner")
        ),
        None,
    )


@public
@chosen(course_only=True)
def plan(request, *, state, config, location, protocol):
    practitioner = _practitioner(state, location)
    starts = _starts(state)
    if practitioner is None or not starts:
        return redirect("book:times")
    complete = len(starts) == protocol.sessions_in_course and not state.get("problems")
    if request.method == "POST":
        if _limited(request):
            return _too_many(request)
        if complete:
            return _hold(request, state, config, location, protocol)
    spacing = selectors.spacing_of(protocol)
    sessions = [
        {"sequence": n, "local": timezone.localtime(s), "minutes": protocol.session_minutes}
        for n, s in enumerate(starts, start=1)
    ]
    return _page(
        request,
        "online/plan.html",
        4,
        protocol=protocol,
        location=location,
        practitioner=practitioner,
        sessions=sessions,
        problems=state.get("problems", []),
        complete=complete,
        spacing=spacing,
        missing=range(len(starts) + 1, protocol.sessions_in_course + 1),
    )


@public
@chosen(course_only=True)
def plan_session(request, sequence: int, *, state, config, location, protocol):
    practitioner = _practitioner(state, location)
    starts = _starts(state)
    if practitioner is None or not 1 <= sequence <= len(starts):
        return redirect("book:plan")
    now = timezone.now()
    window, options = selectors.session_alternatives(
        protocol=protocol,
        practitioner=practitioner,
        location=location,
        starts=starts,
        sequence=sequence,
        bounds=selectors.bounds(config, now=now),
        now=now,
    )
    problem = ""
    if request.method == "POST":
        if _limited(request):
            return _too_many(request)
        wanted = request.POST.get("slot", "")
        chosen = next((o for o in options if o.isoformat() == wanted), None)
        if chosen is None:
            problem = (
                "Choose one of the times shown: only times inside this session's window "
                "are offered."
            )
        else:
            starts[sequence - 1] = chosen
            state["starts"] = [s.isoformat() for s in starts]
            _save(request, state)
            return redirect("book:plan")
    days: dict = {}
    for option in options:
        local = timezone.localtime(option)
        days.setdefault(local.date(), []).append((option.isoformat(), local))
    return _page(
        request,
        "online/plan_session.html",
        4,
        protocol=protocol,
        sequence=sequence,
        current=timezone.localtime(starts[sequence - 1]),
        window=window,
        days=sorted(days.items()),
        problem=problem,
    )


def _release(request) -> None:
    """The visitor started again or chose other times: free what they held at once."""
    booking_id = _state(request).get("booking")
    booking = selectors.booking_by_id(booking_id) if booking_id else None
    if booking is not None:
        services.booking_abandon(booking=booking)


def _hold(request, state, config, location, protocol):
    practitioner = _practitioner(state, location)
    _release(request)
    try:
        booking = services.booking_hold(
            kind=OnlineBooking.Kind.COURSE if protocol else OnlineBooking.Kind.CONSULTATION,
            protocol=protocol,
            location=location,
            practitioner=practitioner,
            starts=_starts(state),
            screening_answers=state.get("answers"),
            screening_none_apply=bool(state.get("none_apply")),
            screening_medications=state.get("medications", ""),
        )
    except services.OnlineError as exc:
        request.session["online_problem"] = " ".join(exc.messages)
        state.pop("booking", None)
        _save(request, state)
        return redirect("book:times")
    state["booking"] = booking.pk
    _save(request, state)
    return redirect("book:details")


def _held_booking(request) -> OnlineBooking | None:
    booking_id = _state(request).get("booking")
    booking = selectors.booking_by_id(booking_id) if booking_id else None
    if booking is None or booking.status != OnlineBooking.Status.HELD:
        return None
    if booking.expires_at <= timezone.now():
        return None
    return booking


@public
def details(request):
    booking = _held_booking(request)
    if booking is None:
        request.session["online_problem"] = (
            "The times you chose were held for a short while only and have been released. "
            "Please choose again."
        )
        return redirect("book:times") if _choice(_state(request)) else _start_again(request)
    policy = selectors.current_policy()
    form = forms.DetailsForm(request.POST or None)
    if request.method == "POST":
        if _limited(request, email=request.POST.get("email", "")):
            return _too_many(request)
        if form.is_bot:
            # Looks like success, does nothing.
            return redirect("book:sent")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.booking_details(
                    booking=booking,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    date_of_birth=data["date_of_birth"],
                    email=data["email"],
                    phone=data["phone"],
                    policy=policy,
                    ip=client_ip(request),
                    request=request,
                )
            except services.OnlineError as exc:
                for field, errors in getattr(exc, "error_dict", {"__all__": exc.messages}).items():
                    form.add_error(None if field == "__all__" else field, errors)
            else:
                return redirect("book:sent")
    return _page(
        request,
        "online/details.html",
        5,
        form=form,
        booking=booking,
        holds=[timezone.localtime(h.starts_at) for h in selectors.booking_holds(booking)],
        policy=policy,
        expires_local=timezone.localtime(booking.expires_at),
        deposit_instructions=selectors.current_settings().deposit_instructions,
    )


@public
def sent(request):
    booking = _held_booking(request)
    return _page(
        request,
        "online/sent.html",
        6,
        expires_local=timezone.localtime(booking.expires_at) if booking else None,
    )


def _booking_from(request, token: str, action: str, max_age: timedelta):
    try:
        booking_id = signed_links.read_token(token, action, max_age=max_age)
    except signed_links.LinkError as error:
        return None, signed_links.link_error_page(request, error)
    booking = selectors.booking_by_id(booking_id)
    if booking is None:
        return None, signed_links.link_error_page(request, signed_links.LinkError(expired=False))
    return booking, None


@public
def verify(request, token: str):
    config = selectors.current_settings()
    booking, error = _booking_from(
        request, token, links.VERIFY, links.verify_max_age(config.hold_minutes)
    )
    if error:
        return error
    problem = ""
    if request.method == "POST" and booking.status == OnlineBooking.Status.HELD:
        if _limited(request, email=booking.email):
            return _too_many(request)
        try:
            booking = services.booking_verify(booking=booking, request=request)
        except services.OnlineError as exc:
            problem = " ".join(exc.messages)
            booking.refresh_from_db()
        else:
            request.session.pop(KEY, None)
            return redirect("book:verify", token=token)
    if booking.status == OnlineBooking.Status.HELD and booking.expires_at <= timezone.now():
        problem = problem or (
            "This booking was not confirmed in time, so the times were released. Please book again."
        )
    return _page(
        request,
        "online/verify.html",
        6,
        booking=booking,
        holds=[timezone.localtime(h.starts_at) for h in selectors.booking_holds(booking)],
        problem=problem,
        consent_url=links.consent_url(booking) if booking.course_id else "",
        screening_url=links.screening_url(booking) if booking.course_id else "",
        deposit_instructions=config.deposit_instructions,
    )


@public
def consent(request, token: str):
    booking, error = _booking_from(request, token, links.CONSENT, links.after_booking_max_age())
    if error:
        return error
    if booking.status != OnlineBooking.Status.BOOKED or booking.protocol is None:
        return signed_links.link_error_page(request, signed_links.LinkError(expired=False))
    patient, protocol = booking.patient, booking.protocol
    version = current_consent(protocol)
    signed = selectors.remote_consent_pending(patient=patient, protocol=protocol)
    already = signed is not None and version is not None and signed.consent_version_id == version.pk
    form = forms.ConsentSignForm(
        request.POST or None, initial={"version_id": version.pk if version else 0}
    )
    if request.method == "POST" and version is not None and not already:
        if _limited(request, email=booking.email):
            return _too_many(request)
        if form.is_valid():
            try:
                services.remote_consent_sign(
                    booking=booking,
                    version_id=form.cleaned_data["version_id"],
                    signature=form.cleaned_data["signature"],
                    agreed=form.cleaned_data["agreed"],
                    ip=client_ip(request),
                    request=request,
                )
            except services.OnlineError as exc:
                for field, errors in getattr(exc, "error_dict", {"__all__": exc.messages}).items():
                    form.add_error(None if field == "__all__" else field, errors)
            else:
                return redirect("book:consent", token=token)
    text = ""
    if version is not None:
        text = consent_document_text(version=version, patient=patient)
    return _page(
        request,
        "online/consent.html",
        0,
        booking=booking,
        protocol=protocol,
        version=version,
        text=text,
        form=form,
        signed=signed if already else None,
    )


@public
def screening_update(request, token: str):
    booking, error = _booking_from(request, token, links.SCREENING, links.after_booking_max_age())
    if error:
        return error
    if booking.status != OnlineBooking.Status.BOOKED or booking.patient is None:
        return signed_links.link_error_page(request, signed_links.LinkError(expired=False))
    form = forms.ScreeningForm(request.POST or None)
    done = False
    if request.method == "POST":
        if _limited(request, email=booking.email):
            return _too_many(request)
        if form.is_valid():
            services.screening_update(
                booking=booking,
                answers=form.cleaned_data["answers"],
                none_apply=form.cleaned_data["none_apply"],
                medications=form.cleaned_data["medications"],
                request=request,
            )
            done = True
    return _page(request, "online/screening_update.html", 0, form=form, booking=booking, done=done)
