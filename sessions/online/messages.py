"""The emails of online booking, built by the outbox worker (registered in sessions.apps)."""

from __future__ import annotations

from django.utils import timezone

from mesoclinic.core import emails, outbox
from sessions.online import links, selectors
from sessions.online.models import OnlineBooking
from sessions.online.services import BOOKED_KIND, VERIFY_KIND


@outbox.builder(VERIFY_KIND)
def online_verify(message):
    booking = selectors.booking_by_id(message.subject_id)
    if booking is None or booking.status != OnlineBooking.Status.HELD:
        return None
    if booking.expires_at <= timezone.now():
        return None
    return emails.build(
        "online_verify",
        to=[booking.email],
        context={
            "booking": booking,
            "holds": [timezone.localtime(h.starts_at) for h in selectors.booking_holds(booking)],
            "verify_url": links.verify_url(booking),
            "expires_local": timezone.localtime(booking.expires_at),
        },
    )


@outbox.builder(BOOKED_KIND)
def online_booked(message):
    booking = selectors.booking_by_id(message.subject_id)
    if booking is None or booking.status != OnlineBooking.Status.BOOKED or booking.patient is None:
        return None
    settings = selectors.current_settings()
    course = booking.kind == OnlineBooking.Kind.COURSE
    return emails.build(
        "online_booked",
        to=[booking.email],
        context={
            "booking": booking,
            "patient": booking.patient,
            "deposit_instructions": settings.deposit_instructions,
            "consent_url": links.consent_url(booking) if course else "",
            "screening_url": links.screening_url(booking) if course else "",
        },
    )
