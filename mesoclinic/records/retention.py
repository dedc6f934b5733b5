"""What an erasure request may erase now and what the law makes the clinic keep, until
when: pure functions over plain values (no Django, no clock; pass `today`).

GDPR Art. 17(3)(b)/(c) lets a clinic keep what a legal duty requires: the clinical
record for `clinical_years` after the last clinical entry (UK: 8 years after the last
treatment; Germany § 630f BGB: 10), invoices for `billing_years` after the end of the
calendar year of the last invoice (tax law: UK 6, Germany 10). Everything with no such
duty goes now. Identity (name, date of birth) stays only as long as a retained record
needs it, then is anonymised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# A photo within this many days of a completed session documents that treatment
# (before, after, progress) and is part of the clinical record; any other is not.
PHOTO_CLINICAL_WINDOW_DAYS = 90

ERASE = "erase"
RETAIN = "retain"

# Item keys, in the order the plan lists them.
CONTACT = "contact"
MARKETING = "marketing"
MESSAGES = "messages"
FUTURE_BOOKINGS = "future_bookings"
OTHER_PHOTOS = "other_photos"
CLINICAL = "clinical"
BILLING = "billing"
IDENTITY = "identity"
AUDIT = "audit"


@dataclass(frozen=True)
class Facts:
    today: date
    clinical_years: int
    billing_years: int
    # The last completed session, screening, signed consent or withdrawal (None: none).
    last_clinical: date | None
    # The last issued invoice or credit note (None: none).
    last_invoice: date | None
    # Days of completed sessions, to tell clinical photos from others.
    treatment_days: tuple[date, ...] = ()
    photo_days: tuple[date, ...] = ()
    future_bookings: int = 0
    messages: int = 0


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    action: str  # ERASE or RETAIN
    until: date | None  # RETAIN: the last day it is kept (None: as long as the log exists)
    reason: str

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "action": self.action,
            "until": self.until.isoformat() if self.until else None,
            "reason": self.reason,
        }


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a year without one
        return day.replace(year=day.year + years, day=28)


def clinical_until(facts: Facts) -> date | None:
    if facts.last_clinical is None:
        return None
    return add_years(facts.last_clinical, facts.clinical_years)


def billing_until(facts: Facts) -> date | None:
    if facts.last_invoice is None:
        return None
    return date(facts.last_invoice.year + facts.billing_years, 12, 31)


def photo_is_clinical(photo_day: date, treatment_days: tuple[date, ...]) -> bool:
    return any(abs((photo_day - t).days) <= PHOTO_CLINICAL_WINDOW_DAYS for t in treatment_days)


def _kept(until: date | None, today: date) -> bool:
    return until is not None and until >= today


def plan(facts: Facts) -> list[Item]:
    """Item by item: erased now, or retained and until when."""
    today = facts.today
    clinical = clinical_until(facts)
    billing = billing_until(facts)
    other_photos = sum(
        1 for d in facts.photo_days if not photo_is_clinical(d, facts.treatment_days)
    )
    items = [
        Item(
            CONTACT,
            "Contact details: phone, email, postal address",
            ERASE,
            None,
            "No legal duty to keep them.",
        ),
        Item(
            MARKETING,
            "Marketing consent and message preferences",
            ERASE,
            None,
            "Withdrawn with the request.",
        ),
        Item(
            MESSAGES,
            f"Messages: {facts.messages} sent or waiting (addresses and subjects; "
            "waiting ones cancelled)",
            ERASE,
            None,
            "No legal duty to keep them.",
        ),
        Item(
            FUTURE_BOOKINGS,
            f"Future bookings: {facts.future_bookings} (cancelled, no fee)",
            ERASE,
            None,
            "The patient asked to leave the clinic.",
        ),
        Item(
            OTHER_PHOTOS,
            f"Photos not part of the clinical record: {other_photos}",
            ERASE,
            None,
            f"Not within {PHOTO_CLINICAL_WINDOW_DAYS} days of any treatment.",
        ),
    ]
    if _kept(clinical, today):
        items.append(
            Item(
                CLINICAL,
                "Clinical record: screenings, consents, session charts, clinical photos, "
                "aftercare sheets, allergies and notes",
                RETAIN,
                clinical,
                f"Medical records are kept {facts.clinical_years} years after the last treatment "
                f"({facts.last_clinical:%d %b %Y}).",
            )
        )
    else:
        items.append(
            Item(
                CLINICAL,
                "Clinical record: screenings, consents, session charts, clinical photos, "
                "aftercare sheets, allergies and notes",
                ERASE,
                None,
                "No clinical record is held."
                if clinical is None
                else f"Its retention period ended on {clinical:%d %b %Y}.",
            )
        )
    if _kept(billing, today):
        items.append(
            Item(
                BILLING,
                "Invoices, credit notes and payments",
                RETAIN,
                billing,
                f"Tax law: kept {facts.billing_years} years after the end of the year of the last "
                f"invoice ({facts.last_invoice:%d %b %Y}).",
            )
        )
    else:
        items.append(
            Item(
                BILLING,
                "Invoices, credit notes and payments",
                ERASE,
                None,
                "No invoices are held."
                if billing is None
                else f"Their retention period ended on {billing:%d %b %Y}.",
            )
        )
    identity_until = max((u for u in (clinical, billing) if _kept(u, today)), default=None)
    if identity_until is not None:
        items.append(
            Item(
                IDENTITY,
                "Name and date of birth",
                RETAIN,
                identity_until,
                "The retained records above must stay attributable; anonymised after that.",
            )
        )
    else:
        items.append(
            Item(
                IDENTITY,
                "Name and date of birth",
                ERASE,
                None,
                "Anonymised: no retained record needs them.",
            )
        )
    items.append(
        Item(
            AUDIT,
            "Audit log entries (who saw or changed the record)",
            RETAIN,
            None,
            "Security record, append-only; refers to the patient by number only once the "
            "identity is anonymised.",
        )
    )
    return items


def due(items: list[Item], today: date) -> set[str]:
    """Keys of items to erase on `today`: erase-now items and retained items whose
    period ended before it (the audit log is never due)."""
    return {i.key for i in items if i.action == ERASE or (i.until is not None and i.until < today)}


def retention_ended(facts: Facts) -> bool:
    """Neither record is kept any longer (used to anonymise patients who never asked)."""
    return not _kept(clinical_until(facts), facts.today) and not _kept(
        billing_until(facts), facts.today
    )
