"""Every page of every role, with real objects: the URL list of the permission walk
(tests/core/test_permissions.py) opened in Chromium, for the accessibility and validity
walk (test_pages_accessible.py) and `make screenshots`.

axe-core and html-validate are npm packages pinned in package.json / package-lock.json
(devDependencies, installed by `npm ci` in the Makefile's vendor recipe). axe is
evaluated into the page from node_modules through the DevTools protocol, which the
Content Security Policy does not govern, so nothing is served for the test's sake.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.core.test_permissions import ROLE_COLUMNS, all_patterns, parse_matrix, url_for

ROOT = Path(settings.BASE_DIR)
NODE_MODULES = ROOT / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
HTML_VALIDATE = NODE_MODULES / "html-validate" / "bin" / "html-validate.mjs"
HTML_VALIDATE_CONFIG = ROOT / ".htmlvalidate.json"
# WCAG 2.0/2.1 level A and AA rules; a critical or serious hit fails the walk.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"critical", "serious"}
# Pages behind the URL list that only a query string reaches.
EXTRA_PAGES = {
    "sessions:calendar": ["?view=week", "?view=agenda", "?by=rooms"],
    "patients:list": ["?q=a"],
}


# An htmx attribute without the data- prefix, inside a tag.
NON_STANDARD_ATTRIBUTE = re.compile(r"<[a-z][^>]*?\s(hx-[a-z-]+)=")


@dataclass(frozen=True)
class WalkedPage:
    role: str
    name: str
    url: str


def node() -> str:
    found = shutil.which("node")
    assert found, "node is needed (npm installs the front-end libraries)"
    return found


def sample_chart(kwargs) -> None:
    """A checked-in session of today with a saved chart draft, so the chart page renders
    its server-side rows (spins, products, areas with volumes, adverse events); the
    walk's appointment and chart pages then show it."""
    from django.utils import timezone

    from sessions.charting import services as charting
    from sessions.charting.rules import Area, Event, Product, Spin
    from sessions.scheduling.models import Appointment

    booked = Appointment.objects.get(public_id=kwargs["appointment_id"])
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    appointment = Appointment.objects.create(
        patient=booked.patient,
        protocol=booked.protocol,
        course=booked.course,
        sequence=2,
        kind=booked.kind,
        practitioner=booked.practitioner,
        location=booked.location,
        room=booked.room,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=Appointment.Status.CHECKED_IN,
    )
    by = appointment.practitioner
    chart = charting.chart_open(appointment=appointment, by=by)
    data = charting.chart_input_of(chart)
    data.blood_volume_ml = Decimal("20")
    data.prp_yield_ml = Decimal("4")
    data.spins = [Spin(300, 10), Spin(1500, 5)]
    data.products = [Product("kit", "RegenLab", "KIT-1", datetime.date(2099, 1, 1), "A-PRP")]
    data.areas = [Area("face_cheek_left", Decimal("1.5")), Area("face_forehead", None)]
    data.adverse_events = [Event("bruising", "mild", "during", "Cold compress")]
    charting.chart_save(chart=chart, data=data, by=by)
    kwargs["appointment_id"] = appointment.public_id


# Not pages: the FHIR JSON API (tests/records/test_fhir_api.py) and the patient's ZIP
# download (tests/records/test_subject_access.py).
NOT_PAGES = ("fhir:", "public:subject_access_download")


def pages_for(column: str | None, kwargs) -> list[WalkedPage]:
    """The GET pages `column` (a role column of docs/permissions.md, None for anonymous)
    may open, from the permission matrix."""
    matrix = parse_matrix()
    found = []
    for name, pattern in all_patterns():
        if name.startswith(NOT_PAGES):
            continue
        row = matrix[name]
        public = row["Anonymous"] == "public"
        if column is None:
            if not public:
                continue
        elif public or row[column] != "yes":
            continue
        url = public_url(name) if public else url_for(name, pattern, kwargs)
        found.append(WalkedPage(column or "anonymous", name, url))
        for suffix in EXTRA_PAGES.get(name, []):
            found.append(WalkedPage(column or "anonymous", name + suffix, url + suffix))
    if column is None:
        for name in ("login", "password_reset"):
            found.append(WalkedPage("anonymous", name, reverse(name)))
    return found


def public_url(name: str) -> str | None:
    """A valid signed link for each public page (the sample appointment or consent)."""
    from patients import links as patient_links
    from patients.models import Patient, SignedConsent
    from sessions.comms import links
    from sessions.scheduling.models import Appointment

    appointment = Appointment.objects.filter(status="booked").order_by("starts_at").last()
    actions = {
        "public:appointment_confirm": links.CONFIRM,
        "public:appointment_cancel": links.CANCEL,
        "public:appointment_reschedule": links.RESCHEDULE,
    }
    from mesoclinic.core import links as core_links

    if name in actions:
        token = core_links.make_token(actions[name], appointment.pk)
    elif name == "public:unsubscribe":
        token = patient_links.make_token(Patient.objects.first().pk)
    elif name == "public:consent_pdf":
        token = core_links.make_token(links.CONSENT_PDF, SignedConsent.objects.first().pk)
    elif name == "public:aftercare_pdf":
        token = core_links.make_token(links.AFTERCARE_PDF, appointment.pk)
    elif name == "sessions:feed":
        from sessions.scheduling.models import CalendarFeed

        return reverse(name, kwargs={"feed_token": CalendarFeed.objects.first().token})
    elif name == "healthz":
        return reverse(name)
    else:
        raise AssertionError(f"add a signed link for the public page {name}")
    return reverse(name, kwargs={"token": token})


def open_context(browser, base_url: str, user, *, viewport: dict, csp_violations: list):
    """A browser context signed in as `user` (a session made by Django's test client),
    held to the same Content Security Policy check as every journey."""
    from tests.e2e.conftest import _open_context

    context = _open_context(browser, base_url, csp_violations, viewport=viewport)
    context.set_default_timeout(15_000)
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": base_url, "httpOnly": True}]
        )
    return context


AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
}"""


def axe_violations(page) -> list[dict]:
    """axe-core's critical and serious WCAG 2.1 A/AA violations on the page as shown."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text())
    found = page.evaluate(AXE_RUN, AXE_TAGS)
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def html_errors(files: list[Path]) -> dict[str, list[str]]:
    """html-validate's errors per saved page (the config is .htmlvalidate.json)."""
    if not files:
        return {}
    report = files[0].with_name("html-validate.json")
    completed = subprocess.run(
        [
            node(),
            str(HTML_VALIDATE),
            "--config",
            str(HTML_VALIDATE_CONFIG),
            "--formatter",
            f"json={report}",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert report.exists(), f"html-validate failed to run: {completed.stderr}"
    errors: dict[str, list[str]] = {}
    # html-validate does not know which attributes exist; htmx's unprefixed ones do not.
    for path in files:
        text = path.read_text()
        for match in NON_STANDARD_ATTRIBUTE.finditer(text):
            line_no = text.count("\n", 0, match.start(1)) + 1
            errors.setdefault(path.name, []).append(
                f"{line_no} attribute-name: {match.group(1)} is not an HTML attribute"
                f" (write data-{match.group(1)})"
            )
    for result in json.loads(report.read_text()):
        for message in result["messages"]:
            if message["severity"] != 2:
                continue
            errors.setdefault(Path(result["filePath"]).name, []).append(
                f"{message['line']}:{message['column']} {message['ruleId']}: {message['message']}"
            )
    return errors


def role_user(users_by_role, column: str | None):
    return None if column is None else users_by_role[ROLE_COLUMNS[column]]
