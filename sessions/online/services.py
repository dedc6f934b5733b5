"""Every write of online booking. Keyword-only, each in a transaction.

The flow: `booking_hold` keeps the chosen times (holds under the database's exclusion
constraints and triggers), `booking_details` records who the patient is and the
policy they accepted and emails a signed link, `booking_verify` books every session
through scheduling's services (all or none) and records the screening they gave.
Expired holds are released by `holds_expire` (a periodic task) and are never counted
by anything that reads them meanwhile.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from mesoclinic.core import audit, outbox
from mesoclinic.core.signatures import SignatureRejected, parse_signature
from patients import services as patient_services
from patients.models import Patient, Screening
from patients.selectors import possible_duplicates
from protocols.models import Protocol
from protocols.services import current_consent
from sessions.online import rules, selectors
from sessions.online.models import (
    BookingPolicy,
    Hold,
    OnlineBooking,
    OnlinePatientReview,
    OnlineSettings,
    RemoteConsent,
)
from sessions.scheduling import rules as scheduling
from sessions.scheduling import services as scheduling_services
from sessions.scheduling.models import Appointment, Location, TreatmentPlan

VERIFY_KIND = "online_verify"
BOOKED_KIND = "online_booked"
ACTOR = "online booking"


class OnlineError(ValidationError):
    """A request from the public site that cannot be carried out, said in plain words."""


class TimeTaken(OnlineError):
    """Someone else holds or booked one of the chosen times meanwhile."""


# --- Settings (manager)


@transaction.atomic
def settings_update(
    *, data: Mapping, protocols: Sequence[Protocol], locations: Sequence[Location], by: User
) -> OnlineSettings:
    current = OnlineSettings.objects.select_for_update().order_by("pk").first() or OnlineSettings()
    for field in (
        "enabled",
        "consultation_bookable",
        "consultation_minutes",
        "horizon_days",
        "min_notice_hours",
        "hold_minutes",
        "course_deposit",
        "deposit_instructions",
        "max_active_per_email",
    ):
        if field in data:
            setattr(current, field, data[field])
    current.full_clean()
    current.save()
    current.protocols.set(protocols)
    current.locations.set(locations)
    audit.record(
        actor=by, action=audit.Action.CHANGE, obj=current, summary="Online booking settings"
    )
    return current


@transaction.atomic
def policy_publish(*, text: str, by: User) -> BookingPolicy:
    """A new version of the policy patients accept; earlier bookings keep theirs."""
    text = text.replace("\r\n", "\n").strip()
    if len(text) < 40:
        raise OnlineError({"text": ["Say what the cancellation, late-fee and deposit terms are."]})
    latest = BookingPolicy.objects.select_for_update().order_by("-number").first()
    if latest is not None and latest.text == text:
        return latest
    policy = BookingPolicy.objects.create(
        number=(latest.number + 1) if latest else 1, text=text, created_by=by
    )
    audit.record(
        actor=by, action=audit.Action.CREATE, obj=policy, summary=f"Policy v{policy.number}"
    )
    return policy


# --- Holds


def _check_offer(
    *,
    settings: OnlineSettings,
    kind: str,
    protocol: Protocol | None,
    location: Location,
) -> None:
    if location not in selectors.bookable_locations(settings):
        raise OnlineError("That location does not take online bookings.")
    if kind == OnlineBooking.Kind.CONSULTATION:
        if not settings.consultation_bookable:
            raise OnlineError("Consultations cannot be booked online.")
    elif protocol is None or protocol not in selectors.bookable_protocols(settings):
        raise OnlineError("That treatment cannot be booked online.")


def _minutes(settings: OnlineSettings, kind: str, protocol: Protocol | None) -> int:
    if kind == OnlineBooking.Kind.CONSULTATION:
        return settings.consultation_minutes
    return protocol.session_minutes


def _release_expired_overlapping(*, practitioner: User, spans, now: datetime) -> None:
    """Expired holds still in the table would stop a new hold by the exclusion
    constraint: release the ones in the way (the periodic task does the rest)."""
    overlap = Q()
    for start, end in spans:
        overlap |= Q(starts_at__lt=end, ends_at__gt=start)
    expired = Hold.objects.filter(
        overlap, practitioner=practitioner, released_at__isnull=True, expires_at__lte=now
    )
    booking_ids = list(expired.values_list("booking_id", flat=True).distinct())
    expired.update(released_at=now)
    OnlineBooking.objects.filter(pk__in=booking_ids, status=OnlineBooking.Status.HELD).update(
        status=OnlineBooking.Status.EXPIRED
    )


def booking_hold(
    *,
    kind: str,
    protocol: Protocol | None,
    location: Location,
    practitioner: User,
    starts: Sequence[datetime],
    screening_answers: Mapping[str, bool] | None = None,
    screening_none_apply: bool = False,
    screening_medications: str = "",
    now: datetime | None = None,
) -> OnlineBooking:
    """Hold every chosen time for the settings' minutes, or none (TimeTaken says which)."""
    now = now or timezone.now()
    settings = selectors.current_settings()
    _check_offer(settings=settings, kind=kind, protocol=protocol, location=location)
    course = kind == OnlineBooking.Kind.COURSE
    expected = protocol.sessions_in_course if course else 1
    if len(starts) != expected:
        raise OnlineError(f"Choose {expected} time{'s' if expected > 1 else ''}.")
    starts = sorted(starts)
    bounds = selectors.bounds(settings, now=now)
    zone = selectors.zone()
    if starts[0] < bounds.not_before:
        raise OnlineError("That time is too soon to book online. Choose a later one.")
    if starts[0].astimezone(zone).date() > bounds.last_day:
        raise OnlineError("That time is beyond how far ahead we take bookings online.")
    if course:
        problems = rules.spacing_problems(starts, spacing=selectors.spacing_of(protocol), zone=zone)
        if problems:
            raise OnlineError(" ".join(problems))
    duration = timedelta(minutes=_minutes(settings, kind, protocol))
    spans = [(s, s + duration) for s in starts]
    if rules.overlaps(spans):
        raise OnlineError("Two of the chosen times overlap.")
    with transaction.atomic():
        for n, (start, end) in enumerate(spans, start=1):
            day = start.astimezone(zone).date()
            avail = selectors.availability(
                practitioner=practitioner, location=location, first_day=day, last_day=day, now=now
            )
            problems = scheduling.slot_problems(start, end, avail)
            if problems:
                label = f"Session {n}" if course else "That time"
                raise TimeTaken(
                    f"{label} ({timezone.localtime(start):%a %d %b %H:%M}) is no "
                    f"longer free: {' '.join(problems)}"
                )
        _release_expired_overlapping(practitioner=practitioner, spans=spans, now=now)
        expires = now + timedelta(minutes=settings.hold_minutes)
        booking = OnlineBooking.objects.create(
            kind=kind,
            protocol=protocol if course else None,
            location=location,
            practitioner=practitioner,
            screening_answers=dict(screening_answers or {}),
            screening_none_apply=screening_none_apply,
            screening_medications=screening_medications[:1000],
            expires_at=expires,
            deposit_due=rules.deposit_for(is_course=course, course_deposit=settings.course_deposit),
        )
        for n, (start, end) in enumerate(spans, start=1):
            try:
                with transaction.atomic():
                    Hold.objects.create(
                        booking=booking,
                        sequence=n,
                        practitioner=practitioner,
                        location=location,
                        starts_at=start,
                        ends_at=end,
                        expires_at=expires,
                    )
            except IntegrityError as exc:
                label = f"Session {n}" if course else "That time"
                raise TimeTaken(
                    f"{label} ({timezone.localtime(start):%a %d %b %H:%M}) was taken by someone "
                    "else a moment ago. Please choose another time."
                ) from exc
    return booking


def holds_expire(*, now: datetime | None = None) -> int:
    """Release every expired hold and mark its booking expired. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        released = Hold.objects.filter(released_at__isnull=True, expires_at__lte=now).update(
            released_at=now
        )
        OnlineBooking.objects.filter(status=OnlineBooking.Status.HELD, expires_at__lte=now).update(
            status=OnlineBooking.Status.EXPIRED
        )
    return released


def booking_abandon(*, booking: OnlineBooking, now: datetime | None = None) -> None:
    """The patient went back to choose other times: free these at once."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = OnlineBooking.objects.select_for_update().get(pk=booking.pk)
        if locked.status != OnlineBooking.Status.HELD:
            return
        locked.holds.filter(released_at__isnull=True).update(released_at=now)
        locked.status = OnlineBooking.Status.EXPIRED
        locked.save(update_fields=["status"])


# --- Details and verification


def _lock_held(booking: OnlineBooking, now: datetime) -> OnlineBooking:
    locked = OnlineBooking.objects.select_for_update().get(pk=booking.pk)
    if locked.status == OnlineBooking.Status.HELD and locked.expires_at <= now:
        locked.holds.filter(released_at__isnull=True).update(released_at=now)
        locked.status = OnlineBooking.Status.EXPIRED
        locked.save(update_fields=["status"])
    return locked


def booking_details(
    *,
    booking: OnlineBooking,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    email: str,
    phone: str,
    policy: BookingPolicy | None,
    ip: str | None,
    request=None,
    now: datetime | None = None,
) -> OnlineBooking:
    """Record who is booking and the policy they accepted, and email them the link."""
    now = now or timezone.now()
    email = rules.normal_email(email)
    settings = selectors.current_settings()
    with transaction.atomic():
        _lock_held(booking, now)
    with transaction.atomic():
        booking = _lock_held(booking, now)
        if booking.status != OnlineBooking.Status.HELD:
            raise OnlineError("The times you chose are no longer held. Please choose again.")
        current = selectors.current_policy()
        if current is None or policy is None or policy.pk != current.pk:
            raise OnlineError(
                "The booking policy changed while the page was open. Please read it again."
            )
        if selectors.active_bookings_for_email(email, now=now) >= settings.max_active_per_email:
            raise OnlineError(
                {
                    "email": [
                        "This email address already has as many online bookings as we take "
                        "at once. Please call us to book more."
                    ]
                }
            )
        booking.first_name = first_name.strip()[:80]
        booking.last_name = last_name.strip()[:80]
        booking.date_of_birth = date_of_birth
        booking.email = email
        booking.phone = phone
        booking.policy = current
        booking.policy_accepted_at = now
        booking.policy_accepted_ip = ip
        booking.details_at = now
        booking.save()
        outbox.message_schedule(
            kind=VERIFY_KIND,
            subject=booking,
            due_at=now,
            recipient=email,
            respect_quiet_hours=False,
            offset_key=f"{now:%Y%m%d%H%M%S}",
        )
        audit.record(
            request=request,
            action=audit.Action.CREATE,
            obj=booking,
            summary=f"Online booking held ({booking.what}); verification emailed",
            actor_label=ACTOR,
        )
    return booking


def _patient_for(booking: OnlineBooking, *, request) -> tuple[Patient, bool]:
    """The one patient this email and date of birth belong to, or a new one to review."""
    matches = selectors.matching_patients(email=booking.email, date_of_birth=booking.date_of_birth)
    if len(matches) == 1:
        return matches[0], True
    patient = Patient(
        first_name=booking.first_name,
        last_name=booking.last_name,
        date_of_birth=booking.date_of_birth,
        email=booking.email,
        phone=booking.phone,
        notes="Registered online.",
    )
    patient.full_clean()
    patient.save()
    OnlinePatientReview.objects.create(patient=patient, booking=booking)
    audit.record(
        request=request,
        action=audit.Action.CREATE,
        patient=patient,
        obj=patient,
        summary="Registered online (to review)",
        actor_label=ACTOR,
    )
    return patient, False


def booking_verify(
    *, booking: OnlineBooking, request=None, now: datetime | None = None
) -> OnlineBooking:
    """The patient opened the emailed link: book every session, or nothing.

    Returns the booking, booked; a second use of the link finds it booked and
    changes nothing. Expired holds, or a time lost meanwhile, refuse in words.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Its own transaction: an expired hold is released even though this refuses.
        _lock_held(booking, now)
    with transaction.atomic():
        booking = _lock_held(booking, now)
        if booking.status == OnlineBooking.Status.BOOKED:
            return booking
        if booking.status != OnlineBooking.Status.HELD or booking.details_at is None:
            raise OnlineError(
                "This booking was not confirmed in time, so the times were released. "
                "Please book again."
            )
        holds = selectors.booking_holds(booking)
        starts = [h.starts_at for h in holds]
        patient, matched = _patient_for(booking, request=request)
        # The holds step aside for the appointments they become (same transaction).
        booking.holds.update(released_at=now)
        try:
            with transaction.atomic():
                if booking.kind == OnlineBooking.Kind.COURSE:
                    if booking.screening_answers or booking.screening_none_apply:
                        patient_services.screening_record(
                            patient=patient,
                            taken_on=timezone.localdate(booking.created_at),
                            answers=booking.screening_answers,
                            none_apply=booking.screening_none_apply,
                            answered_by="patient",
                            by=None,
                            source="online",
                            request=request,
                            current_medications=booking.screening_medications,
                        )
                    course = scheduling_services.course_book(
                        patient=patient,
                        protocol=booking.protocol,
                        practitioner=booking.practitioner,
                        location=booking.location,
                        room=None,
                        starts=starts,
                        by=None,
                        notes="Booked online.",
                        booked_online=True,
                    )
                    booking.course = course
                else:
                    booking.appointment = scheduling_services.appointment_book(
                        patient=patient,
                        practitioner=booking.practitioner,
                        location=booking.location,
                        starts_at=starts[0],
                        ends_at=holds[0].ends_at,
                        kind=Appointment.Kind.CONSULTATION,
                        by=None,
                        notes="Booked online.",
                        booked_online=True,
                    )
        except ValidationError as exc:
            raise OnlineError(
                "We could not book these times after all: "
                + " ".join(exc.messages)
                + " Nothing was booked; please choose again."
            ) from exc
        booking.patient = patient
        booking.matched_existing = matched
        booking.status = OnlineBooking.Status.BOOKED
        booking.verified_at = now
        booking.save()
        outbox.message_schedule(
            kind=BOOKED_KIND,
            subject=booking,
            due_at=now,
            recipient=booking.email,
            patient=patient,
            respect_quiet_hours=False,
        )
        accepted = timezone.localtime(booking.policy_accepted_at)
        audit.record(
            request=request,
            action=audit.Action.CREATE,
            patient=patient,
            obj=booking,
            summary=f"Booked online: {booking.what}, {len(starts)} session(s); policy "
            f"v{booking.policy.number} accepted {accepted:%d %b %Y %H:%M} "
            f"from {booking.policy_accepted_ip or 'unknown address'}",
            actor_label=ACTOR,
        )
    return booking


# --- Patient links after booking


def screening_update(
    *,
    booking: OnlineBooking,
    answers: Mapping[str, bool | None],
    none_apply: bool,
    medications: str = "",
    request=None,
) -> Screening:
    """The patient updated their screening from their link (self-reported online)."""
    return patient_services.screening_record(
        patient=booking.patient,
        taken_on=timezone.localdate(),
        answers=answers,
        none_apply=none_apply,
        answered_by="patient",
        by=None,
        source="online",
        request=request,
        current_medications=medications[:2000],
    )


@transaction.atomic
def remote_consent_sign(
    *,
    booking: OnlineBooking,
    version_id: int,
    signature: str,
    agreed: bool,
    ip: str | None,
    request=None,
) -> RemoteConsent:
    """The patient read the protocol's current consent on their phone and signed it."""
    patient, protocol = booking.patient, booking.protocol
    if patient is None or protocol is None:
        raise OnlineError("There is no consent to sign for this booking.")
    current = current_consent(protocol)
    if current is None:
        raise OnlineError("The clinic has no consent text for this yet; we will ask at the visit.")
    if current.pk != version_id:
        raise OnlineError(
            "The consent text changed while it was open. Please read the new version and sign."
        )
    if not agreed:
        raise OnlineError({"agreed": ["Tick the box to say you have read and agree."]})
    try:
        parsed = parse_signature(signature)
    except SignatureRejected as exc:
        raise OnlineError({"signature": [str(exc)]}) from exc
    text = patient_services.consent_document_text(version=current, patient=patient)
    remote = RemoteConsent.objects.create(
        patient=patient,
        protocol=protocol,
        consent_version=current,
        text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        signature_png=parsed.png,
        signature_sha256=parsed.sha256,
        signed_ip=ip,
    )
    audit.record(
        request=request,
        action=audit.Action.SIGN,
        patient=patient,
        obj=remote,
        summary=f"Consent to {protocol.name} v{current.number} signed remotely (own phone)",
        actor_label=ACTOR,
    )
    return remote


@transaction.atomic
def remote_consent_countersign(
    *,
    remote: RemoteConsent,
    practitioner_signature: str,
    identity_confirmed: bool,
    by: User,
    request=None,
):
    """At the visit: the practitioner confirms who the patient is and countersigns, which
    records the signed consent (immutable, hashed, with its PDF) as at the tablet."""
    remote = RemoteConsent.objects.select_for_update().get(pk=remote.pk)
    if remote.countersigned:
        raise OnlineError("This consent has already been countersigned.")
    if not identity_confirmed:
        raise OnlineError({"identity_confirmed": ["Confirm that you checked who the patient is."]})
    signed = patient_services.consent_sign(
        patient=remote.patient,
        protocol=remote.protocol,
        version_id=remote.consent_version_id,
        patient_signature=parse_png(remote.signature_png),
        practitioner_signature=practitioner_signature,
        by=by,
        request=request,
        patient_signed_remotely_at=remote.signed_at,
        expected_text_sha256=remote.text_sha256,
    )
    remote.signed_consent = signed
    remote.save(update_fields=["signed_consent"])
    return signed


def parse_png(png: bytes) -> str:
    """The stored signature as the data URI the consent service reads."""
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")


# --- Staff: review, merge, deposits


@transaction.atomic
def review_done(*, review: OnlinePatientReview, by: User, request=None) -> OnlinePatientReview:
    review = OnlinePatientReview.objects.select_for_update().get(pk=review.pk)
    if review.reviewed_at is None:
        review.reviewed_at = timezone.now()
        review.reviewed_by = by
        review.save(update_fields=["reviewed_at", "reviewed_by"])
        audit.record(
            request=request,
            actor=by,
            action=audit.Action.CHANGE,
            patient=review.patient,
            obj=review.patient,
            summary="Online registration reviewed: a new patient",
        )
    return review


# Rows an online registration can own, moved to the kept patient on a merge.
MERGEABLE = (
    (Appointment, "patient"),
    (TreatmentPlan, "patient"),
    (Screening, "patient"),
    (RemoteConsent, "patient"),
    (OnlineBooking, "patient"),
)


def suggested_duplicates(review: OnlinePatientReview) -> list[Patient]:
    p = review.patient
    return [
        m
        for m in possible_duplicates(
            first_name=p.first_name,
            last_name=p.last_name,
            date_of_birth=p.date_of_birth,
            phone=p.phone,
            email=p.email,
        )
        if m.pk != p.pk
    ]


@transaction.atomic
def patient_merge(*, review: OnlinePatientReview, into: Patient, by: User, request=None) -> Patient:
    """Move what the online registration made to the existing patient, and archive the
    duplicate. Refused when it holds anything else (it was already used at the desk)."""
    review = OnlinePatientReview.objects.select_for_update().get(pk=review.pk)
    duplicate = review.patient
    if review.merged_into_id is not None:
        raise OnlineError("This registration was already merged.")
    if into.pk == duplicate.pk or into.is_archived:
        raise OnlineError("Choose another, active patient to merge into.")
    handled = {(model, field) for model, field in MERGEABLE}
    for relation in Patient._meta.related_objects:
        key = (relation.related_model, relation.field.name)
        if key in handled or relation.related_model is OnlinePatientReview:
            continue
        accessor = relation.related_model._default_manager.filter(
            **{relation.field.name: duplicate}
        )
        if accessor.exists():
            raise OnlineError(
                "This patient already has other records "
                f"({relation.related_model._meta.verbose_name_plural}); merge them at the desk."
            )
    for model, field in MERGEABLE:
        model._default_manager.filter(**{field: duplicate}).update(**{field: into})
    review.merged_into = into
    review.reviewed_at = timezone.now()
    review.reviewed_by = by
    review.save(update_fields=["merged_into", "reviewed_at", "reviewed_by"])
    patient_services.patient_archive(patient=duplicate, by=by, request=request)
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CHANGE,
        patient=into,
        obj=into,
        summary=f"Merged the online registration {duplicate.public_id} into this patient",
    )
    return into


@transaction.atomic
def deposit_received(*, booking: OnlineBooking, by: User, request=None) -> OnlineBooking:
    booking = OnlineBooking.objects.select_for_update().get(pk=booking.pk)
    if not booking.deposit_outstanding:
        raise OnlineError("No deposit is due on this booking.")
    booking.deposit_received_at = timezone.now()
    booking.deposit_received_by = by
    booking.save(update_fields=["deposit_received_at", "deposit_received_by"])
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CHANGE,
        patient=booking.patient,
        obj=booking,
        summary=f"Online booking deposit of {booking.deposit_due} received",
    )
    return booking
