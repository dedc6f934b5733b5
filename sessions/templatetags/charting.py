"""Template helpers for charts: the zone diagrams inline (so zones are clickable)."""

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


@register.filter
def split_words(value: str) -> list[str]:
    return value.split()


@register.filter
def field_named(form, name: str):
    return form[name]


@register.filter
def add_class_safe(bound_field):
    """Render a form field with Bootstrap's class for its widget kind."""
    widget = bound_field.field.widget
    kind = getattr(widget, "input_type", "")
    css = "form-select" if kind == "select" else "form-control"
    if kind == "checkbox":
        css = "form-check-input"
    return bound_field.as_widget(attrs={"class": css})
