"""The sessions app's panels on the patient page and the home page (core.panels),
registered in sessions.apps.ready()."""

from django.utils import timezone

from mesoclinic.core import outbox, panels, roles
from patients.selectors import signed_consents
from sessions.charting import selectors as charting_selectors
from sessions.comms import selectors as comms_selectors
from sessions.online import selectors as online_selectors
from sessions.patient_record import patient_record
from sessions.scheduling import selectors


def _record(request, patient):
    """The patient's appointments and courses, read once for the page (the timeline
    reads the same record)."""
    return patient_record(patient, clinical=roles.has_role(request.user, roles.CLINICAL))


def patient_requests(request, *, patient) -> dict | None:
    """Requests to move an appointment the patient sent from their links (if any)."""
    rows = outbox.patient_messages(patient).by_kind.get(comms_selectors.RESCHEDULE_KIND, [])
    if not rows:
        return None
    record = _record(request, patient)
    return {"patient": patient, "rows": [(r, record.appointment(r.subject_id)) for r in rows]}


def patient_courses(request, *, patient) -> dict:
    record = _record(request, patient)
    return {
        "patient": patient,
        "courses": selectors.course_views(record.courses, record.by_course),
        "upcoming": selectors.upcoming_of(record.appointments),
        "request": request,
    }


def patient_session_documents(request, *, patient) -> dict:
    record = _record(request, patient)
    newest_first = record.appointments  # by start, newest first
    return {
        "patient": patient,
        "clinical": True,
        "documents": [d for a in newest_first for d in a.session_documents],
        "sessions": charting_selectors.chartable_of(newest_first),
        "consents": signed_consents(patient),
        "courses": record.courses,
    }


def patient_online(request, *, patient) -> dict | None:
    """Online booking on the patient page: a registration to review, deposits due,
    consents signed on the patient's phone (countersigned at the visit)."""
    # Only a patient with an appointment booked online can have any of it: the record is
    # read once for the page already, so every other patient's page pays nothing more.
    if not any(a.booked_online for a in _record(request, patient).appointments):
        return None
    has_review, has_bookings, has_remote = online_selectors.online_traces(patient)
    if not (has_review or has_bookings or has_remote):
        return None
    return {
        "patient": patient,
        "review": online_selectors.patient_review(patient) if has_review else None,
        "bookings": online_selectors.patient_bookings(patient) if has_bookings else [],
        "remote": online_selectors.remote_consents_of(patient) if has_remote else [],
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
