"""The practitioner's iCalendar feed: when and where, the patient's initials and the protocol.

Nothing clinical beyond that goes into a phone's calendar.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from icalendar import Calendar, Event

from sessions.scheduling.models import Appointment

STATUS = {
    Appointment.Status.BOOKED: "TENTATIVE",
    Appointment.Status.CONFIRMED: "CONFIRMED",
    Appointment.Status.CHECKED_IN: "CONFIRMED",
    Appointment.Status.IN_TREATMENT: "CONFIRMED",
    Appointment.Status.COMPLETED: "CONFIRMED",
    Appointment.Status.NO_SHOW: "CANCELLED",
    Appointment.Status.CANCELLED: "CANCELLED",
}


def event_summary(appointment: Appointment) -> str:
    what = appointment.protocol.name if appointment.protocol_id else "Consultation"
    return f"{appointment.patient.initials} · {what}"


def build_feed(appointments: Iterable[Appointment], *, name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Mesoclinic//Calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    cal.add("x-published-ttl", "PT15M")
    for a in appointments:
        event = Event()
        event.add("uid", f"{a.public_id}@mesoclinic")
        event.add("summary", event_summary(a))
        event.add("dtstart", a.starts_at)
        event.add("dtend", a.ends_at)
        event.add("dtstamp", a.updated_at)
        place = a.location.name + (f", {a.room.name}" if a.room_id else "")
        event.add("location", place)
        event.add("status", STATUS[a.status])
        event.add("description", f"{settings.CLINIC_NAME}. Details are in Mesoclinic.")
        cal.add_component(event)
    return cal.to_ical()
