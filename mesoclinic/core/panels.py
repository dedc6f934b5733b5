"""Panels an app adds to a page it does not own: the patient page, the home page.

An app appends a `Panel` to a page's list in its `AppConfig.ready()`. The page's view
renders them in order (`render`), so their queries run in the view, once, for the
roles that may see them; templates only show what they are given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from mesoclinic.core import roles


@dataclass(frozen=True)
class Panel:
    template: str
    # (request, **subject) -> the template's context, or None to show nothing.
    context: Callable[..., dict | None]
    # Who sees it; for anyone else nothing is read.
    roles: frozenset[str] = roles.STAFF


# The patient page (subject: patient=...), in the order the page shows them.
PATIENT_PAGE: list[Panel] = []
# The home page (no subject).
HOME_PAGE: list[Panel] = []


def render(panels: list[Panel], request, **subject) -> list[SafeString]:
    """Each panel the user may see, rendered to HTML."""
    html = []
    for panel in panels:
        if not roles.has_role(request.user, panel.roles):
            continue
        context = panel.context(request, **subject)
        if context is not None:
            html.append(render_to_string(panel.template, context, request=request))
    return html
