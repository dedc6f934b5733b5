"""The patient page's panel of requests patients sent from their email links."""

from django import template

from sessions.comms import selectors as comms_selectors

register = template.Library()


@register.inclusion_tag("sessions/_patient_requests.html")
def patient_requests_panel(patient):
    """Requests to move an appointment: only shown when there is one to see."""
    requests = comms_selectors.reschedule_requests(patient)
    appointments = comms_selectors.appointments_by_id(r.subject_id for r in requests)
    return {
        "patient": patient,
        "rows": [(r, appointments.get(r.subject_id)) for r in requests],
    }
