"""Template helpers for charts: the zone diagrams inline (so zones are clickable), and
a patient's session documents for the patient page."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django import template
from django.contrib.staticfiles import finders
from django.utils.safestring import mark_safe

register = template.Library()
DIAGRAMS = ("face", "scalp", "body")


@lru_cache(maxsize=8)
def _diagram_svg(region: str) -> str:
    found = finders.find(f"img/diagrams/{region}.svg")
    return Path(found).read_text(encoding="utf-8") if found else ""


@register.simple_tag
def zone_diagram(region: str):
    """The SVG of one region, inline: each zone is a shape with a data-zone code."""
    if region not in DIAGRAMS:
        return ""
    return mark_safe(_diagram_svg(region))  # our own static file


@register.inclusion_tag("sessions/_chart_patient_panel.html", takes_context=True)
def patient_session_documents(context, patient):
    from mesoclinic.core import roles
    from patients.selectors import signed_consents
    from sessions.charting.selectors import charted_sessions, session_documents

    user = context.get("user")
    clinical = roles.has_role(user, roles.CLINICAL)
    return {
        "patient": patient,
        "clinical": clinical,
        "documents": session_documents(patient) if clinical else [],
        "sessions": charted_sessions(patient) if clinical else [],
        "consents": signed_consents(patient) if clinical else [],
        "courses": list(patient.courses.select_related("protocol")) if clinical else [],
    }


@register.filter
def split_words(value: str) -> list[str]:
    return value.split()


@register.filter
def field_named(form, name: str):
    return form[name]


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key) if mapping else key


@register.filter
def add_class_safe(bound_field):
    """Render a form field with Bootstrap's class for its widget kind."""
    widget = bound_field.field.widget
    kind = getattr(widget, "input_type", "")
    css = "form-select" if kind == "select" else "form-control"
    if kind == "checkbox":
        css = "form-check-input"
    return bound_field.as_widget(attrs={"class": css})
