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


# --- The patient page's summary header ----------------------------------------------
#
# "Who is this, what's next, what's owed, is anything blocking treatment": each app
# answers its part from what its panels already read (the same once-per-page selectors),
# so the header adds no query. The patients view adds the screening itself.

NEXT = "next"  # the next appointment
OWED = "owed"  # what the patient owes
BLOCKER = "blocker"  # something that stops or holds up treatment


@dataclass(frozen=True)
class Fact:
    slot: str  # NEXT, OWED or BLOCKER
    text: str
    detail: str = ""
    url: str = ""
    # "", "warning" or "danger": how the header colours it.
    tone: str = ""


@dataclass(frozen=True)
class SummarySource:
    # (request, patient=...) -> list[Fact]
    facts: Callable[..., list[Fact]]
    # Who sees these facts; for anyone else nothing is read.
    roles: frozenset[str] = roles.STAFF


PATIENT_SUMMARY: list[SummarySource] = []


@dataclass(frozen=True)
class Summary:
    next: list[Fact]
    owed: list[Fact]
    blockers: list[Fact]


def summary(sources: list[SummarySource], request, *, extra=(), **subject) -> Summary:
    """The facts of every source the user may see, sorted into the header's slots."""
    facts = list(extra)
    for source in sources:
        if roles.has_role(request.user, source.roles):
            facts.extend(source.facts(request, **subject))
    return Summary(
        next=[f for f in facts if f.slot == NEXT],
        owed=[f for f in facts if f.slot == OWED],
        blockers=[f for f in facts if f.slot == BLOCKER],
    )
