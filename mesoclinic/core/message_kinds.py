"""The kinds of patient message, their defaults, and the manager's settings for them."""

from __future__ import annotations

from dataclasses import dataclass

from mesoclinic.core.models import MessageSetting


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    # Hours relative to the subject's reference time (negative: before it).
    default_offsets_hours: tuple[int, ...] = (0,)
    marketing: bool = False
    respects_quiet_hours: bool = True
    help: str = ""
    # Sent to the clinic's own address, not to a patient (staff still see it listed).
    to_clinic: bool = False
    # Shown on the manager's settings page; a kind that is not is always on, at once.
    configurable: bool = True


KINDS: tuple[Kind, ...] = (
    Kind(
        "booking_confirmation",
        "Booking confirmation",
        (0,),
        respects_quiet_hours=False,
        help="Sent when an appointment is booked, with a calendar file.",
    ),
    Kind(
        "appointment_moved",
        "Appointment moved",
        (0,),
        respects_quiet_hours=False,
        help="Sent at once when an appointment the patient was already told about moves, "
        "with the new time and an updated calendar file (offsets are not used).",
    ),
    Kind(
        "precare",
        "Pre-care instructions",
        (0, -8 * 24),
        help="At booking and before the session (hours before; default 8 days).",
    ),
    Kind(
        "appointment_reminder",
        "Appointment reminder",
        (-48, -3),
        help="Hours before the appointment; one message per offset.",
    ),
    Kind(
        "aftercare",
        "Aftercare sheet",
        (0,),
        respects_quiet_hours=False,
        help="Right after a session is completed, with the aftercare PDF.",
    ),
    Kind("aftercare_followup", "Aftercare check-in", (3 * 24,), help="Hours after the session."),
    Kind(
        "next_session_due",
        "Next session due",
        (0,),
        help="When the next session of a course is not booked and its window opens.",
    ),
    Kind(
        "maintenance_due",
        "Maintenance due",
        (0,),
        marketing=True,
        help="When maintenance is due after a course ends (marketing: needs consent).",
    ),
    Kind("quote_expiring", "Quote expiring", (-48,), help="Hours before a quote expires."),
    Kind("instalment_due", "Instalment due", (-72,), help="Hours before an instalment is due."),
    Kind(
        "recall_notice",
        "Product recall notice",
        (0,),
        respects_quiet_hours=False,
        help="Sent by staff from the lot lookup when a manufacturer recalls a lot.",
    ),
    Kind(
        "subject_access_link",
        "Subject-access download link",
        (0,),
        respects_quiet_hours=False,
        help="Sent by a manager from the patient page: a signed, expiring link to the "
        "patient's data export.",
        configurable=False,
    ),
    Kind(
        "reschedule_request",
        "Reschedule request (to the clinic)",
        (0,),
        respects_quiet_hours=False,
        help="A patient asked from their link to move an appointment; goes to the clinic.",
        to_clinic=True,
        configurable=False,
    ),
    Kind(
        "online_verify",
        "Online booking: confirm your email",
        (0,),
        respects_quiet_hours=False,
        help="The signed link a patient booking online opens to confirm the held times.",
        configurable=False,
    ),
    Kind(
        "online_booked",
        "Online booking: consent and screening links",
        (0,),
        respects_quiet_hours=False,
        help="After an online booking: the deposit due, and links to read and sign the "
        "consent and update the screening before the visit.",
        configurable=False,
    ),
)
KIND_BY_CODE = {k.code: k for k in KINDS}


@dataclass(frozen=True)
class EffectiveSetting:
    kind: Kind
    enabled: bool
    offsets_hours: tuple[int, ...]
    respects_quiet_hours: bool


def _effective(kind: Kind, row: MessageSetting | None) -> EffectiveSetting:
    if row is None:
        return EffectiveSetting(kind, True, kind.default_offsets_hours, kind.respects_quiet_hours)
    offsets = tuple(int(h) for h in row.offsets_hours) or kind.default_offsets_hours
    return EffectiveSetting(kind, row.enabled, offsets, row.respects_quiet_hours)


def setting_for(code: str) -> EffectiveSetting:
    """The manager's setting for a kind, or the kind's defaults when none is saved."""
    kind = KIND_BY_CODE[code]
    if not kind.configurable:
        return _effective(kind, None)
    return _effective(kind, MessageSetting.objects.filter(kind=code).first())


def all_settings() -> list[EffectiveSetting]:
    """The settings of every kind the manager may configure (the settings page's rows)."""
    rows = {row.kind: row for row in MessageSetting.objects.all()}
    return [_effective(kind, rows.get(kind.code)) for kind in KINDS if kind.configurable]
