"""The sessions app's panels on the patient page and the home page (core.panels),
registered in sessions.apps.ready()."""

from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import outbox, panels, roles
from patients.selectors import signed_consents
from sessions.charting import selectors as charting_selectors
from sessions.comms import selectors as comms_selectors
from sessions.online import selectors as online_selectors
from sessions.patient_record import patient_record
from sessions.scheduling import rules, selectors


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


def _when(appointment) -> str:
    return f"{timezone.localtime(appointment.starts_at):%a %d %b %Y %H:%M}"


def patient_summary(request, *, patient) -> list[panels.Fact]:
    """The next appointment, and a consent that stands in the way of a booked
    treatment, for the page's header (from the record and consents the page reads)."""
    record = _record(request, patient)
    upcoming = selectors.upcoming_of(record.appointments)
    facts = []
    if upcoming:
        nxt = upcoming[0]
        who = nxt.practitioner.get_full_name() or nxt.practitioner.username
        what = nxt.protocol.name if nxt.protocol else "Consultation"
        if nxt.sequence:
            what += f" (session {nxt.sequence})"
        facts.append(
            panels.Fact(
                panels.NEXT,
                _when(nxt),
                detail=f"{what} · {who} · {nxt.get_status_display()}",
                url=reverse("sessions:appointment_detail", args=[nxt.public_id]),
            )
        )
    else:
        facts.append(
            panels.Fact(
                panels.NEXT,
                "Nothing booked",
                detail="Book an appointment",
                url=reverse("sessions:appointment_create") + f"?patient={patient.public_id}",
            )
        )
    # Consent: the state of the newest signed consent to each protocol.
    newest = {}
    for consent in signed_consents(patient):  # newest first, withdrawals read with them
        if consent.protocol_id not in newest:
            newest[consent.protocol_id] = (
                rules.CONSENT_WITHDRAWN
                if consent.is_withdrawn
                else rules.CONSENT_OUTDATED
                if consent.superseded
                else rules.CONSENT_IN_FORCE
            )
    clinical = roles.has_role(request.user, roles.CLINICAL)
    consents_url = reverse("patients:consents", args=[patient.public_id]) if clinical else ""
    gaps = rules.consent_gaps(
        booked=[(a.protocol_id, a.is_treatment) for a in upcoming], newest=newest
    )
    for gap in gaps:
        appointment = upcoming[gap.index]
        name = appointment.protocol.name
        text, detail, tone = {
            rules.CONSENT_MISSING: (
                f"No consent to {name} on file",
                f"To sign before the session on {_when(appointment)}.",
                "warning",
            ),
            rules.CONSENT_OUTDATED: (
                f"Consent to {name} is to an old version",
                f"The consent text has changed: the patient signs the current version "
                f"before the session on {_when(appointment)}.",
                "warning",
            ),
            rules.CONSENT_WITHDRAWN: (
                f"Consent to {name} withdrawn",
                "No further session until the patient signs a new consent.",
                "danger",
            ),
        }[gap.why]
        facts.append(panels.Fact(panels.BLOCKER, text, detail=detail, url=consents_url, tone=tone))
    return facts


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
    panels.PATIENT_SUMMARY.append(panels.SummarySource(patient_summary))
    panels.HOME_PAGE.append(panels.Panel("sessions/_home_today.html", todays_sessions))
