"""Signed links of online booking (mesoclinic.core.links), one salt per action.

The verification link lives only as long as the hold; the consent and screening links
after booking as long as any patient link. None carries personal data: a token names
one booking by its id, signed.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from mesoclinic.core import links

VERIFY = "online-verify"
CONSENT = "online-consent"
SCREENING = "online-screening"


def verify_url(booking) -> str:
    return links.absolute_url("book:verify", action=VERIFY, object_id=booking.pk)


def verify_max_age(hold_minutes: int) -> timedelta:
    return timedelta(minutes=hold_minutes)


def consent_url(booking) -> str:
    return links.absolute_url("book:consent", action=CONSENT, object_id=booking.pk)


def screening_url(booking) -> str:
    return links.absolute_url("book:screening_update", action=SCREENING, object_id=booking.pk)


def after_booking_max_age() -> timedelta:
    return timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS)
