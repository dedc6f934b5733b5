"""Panels other apps' pages include: a patient's courses, today's sessions on the home page."""

from django import template
from django.utils import timezone

from mesoclinic.core import roles
from sessions.scheduling import selectors

register = template.Library()


@register.inclusion_tag("sessions/_patient_courses.html", takes_context=True)
def patient_courses_panel(context, patient):
    return {
        "patient": patient,
        "courses": selectors.patient_courses(patient),
        "upcoming": selectors.patient_upcoming(patient),
        "request": context.get("request"),
    }


@register.inclusion_tag("sessions/_home_today.html", takes_context=True)
def todays_sessions_panel(context):
    request = context["request"]
    user = request.user
    mine = roles.has_role(user, {roles.PRACTITIONER}) and not roles.has_role(
        user, roles.FRONT_OFFICE
    )
    day = timezone.localdate()
    rows = selectors.day_list(day=day, practitioner=user if mine else None)
    return {"rows": rows, "mine": mine, "day": day}
