"""The sessions app's panels on the patient page and the home page (core.panels),
registered in sessions.apps.ready()."""

from django.utils import timezone

from mesoclinic.core import panels, roles
from patients.selectors import signed_consents
from sessions.charting import selectors as charting_selectors
from sessions.comms import selectors as comms_selectors
from sessions.online import selectors as online_selectors
from sessions.scheduling import selectors


def patient_requests(request, *, patient) -> dict | None:
    """Requests to move an appointment the patient sent from their links (if any)."""
    rows = comms_selectors.reschedule_requests(patient)
    if not rows:
        return None
    appointments = comms_selectors.appointments_by_id(r.subject_id for r in rows)
    return {"patient": patient, "rows": [(r, appointments.get(r.subject_id)) for r in rows]}


def patient_courses(request, *, patient) -> dict:
    return {
        "patient": patient,
        "courses": selectors.patient_courses(patient),
        "upcoming": selectors.patient_upcoming(patient),
        "request": request,
    }


def patient_session_documents(request, *, patient) -> dict:
    return {
        "patient": patient,
        "clinical": True,
        "documents": charting_selectors.session_documents(patient),
        "sessions": charting_selectors.charted_sessions(patient),
        "consents": signed_consents(patient),
        "courses": list(patient.courses.select_related("protocol")),
    }


def patient_online(request, *, patient) -> dict | None:
    """Online booking on the patient page: a registration to review, deposits due,
    consents signed on the patient's phone (countersigned at the visit)."""
    review = getattr(patient, "online_review", None)
    bookings = [b for b in patient.online_bookings.all() if b.status == "booked"]
    remote = online_selectors.remote_consents_of(patient)
    if review is None and not bookings and not remote:
        return None
    return {
        "patient": patient,
        "review": review,
        "bookings": bookings,
        "remote": remote,
        "clinical": roles.has_role(request.user, roles.CLINICAL),
        "front_office": roles.has_role(request.user, roles.FRONT_OFFICE),
    }


def todays_sessions(request) -> dict:
    """A practitioner sees their own day; front desk and managers the whole clinic's."""
    user = request.user
    mine = roles.has_role(user, {roles.PRACTITIONER}) and not roles.has_role(
        user, roles.FRONT_OFFICE
    )
    day = timezone.localdate()
    rows = selectors.day_list(day=day, practitioner=user if mine else None)
    return {"rows": rows, "mine": mine, "day": day}


def register() -> None:
    panels.PATIENT_PAGE.extend(
        [
            panels.Panel("sessions/_patient_requests.html", patient_requests),
            panels.Panel("online/_patient_panel.html", patient_online),
            panels.Panel("sessions/_patient_courses.html", patient_courses),
            panels.Panel(
                "sessions/_chart_patient_panel.html",
                patient_session_documents,
                roles=roles.CLINICAL,
            ),
        ]
    )
    panels.HOME_PAGE.append(panels.Panel("sessions/_home_today.html", todays_sessions))
