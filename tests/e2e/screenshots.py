"""`make screenshots`: PNGs of the pages a clinic judges first, at an iPad's 1180×820.

Not a test (the file name keeps it out of the suite): run by `make screenshots`
(`python -m mesoclinic.launcher screenshots`), which starts the database as `make test`
does. It loads the demo data into the test database, signs in as the role that uses
each page and writes var/screenshots/<name>.png (the viewport, plus <name>-full.png for
the whole page).
"""

import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.e2e import pagewalk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1180, "height": 820}
OUT = Path(os.environ.get("SCREENSHOTS_DIR", Path(settings.BASE_DIR) / "var" / "screenshots"))


def _pages():
    """(file name, username, URL) from the demo data."""
    from billing.models import Quote
    from patients.models import Patient
    from sessions.scheduling.models import Appointment, Location

    amelia = Patient.objects.get(first_name="Amelia", last_name="Hughes")
    charted = (
        Appointment.objects.filter(status__in=Appointment.CHARTABLE_STATUSES)
        .order_by("starts_at")
        .first()
        or Appointment.objects.filter(protocol__isnull=False).order_by("-starts_at").first()
    )
    quote = Quote.objects.order_by("-created_at").first()
    harley = Location.objects.get(name="Harley Street").public_id
    pages = [
        ("home", "practitioner", "/"),
        ("calendar", "frontdesk", f"/schedule/calendar/?location={harley}"),
        ("calendar-week", "practitioner", f"/schedule/calendar/?location={harley}&view=week"),
        ("today", "practitioner", "/schedule/today/"),
        ("patient", "frontdesk", f"/patients/{amelia.public_id}/"),
        ("chart", "practitioner", f"/charts/{charted.public_id}/"),
        ("quote-builder", "frontdesk", f"/billing/quotes/new/{amelia.public_id}/"),
    ]
    if quote is not None:
        pages.append(("quote", "frontdesk", f"/billing/quotes/{quote.public_id}/"))
    return pages


def test_screenshots(browser, live_server, settings, catalogue, csp_violations):
    from django.contrib.auth.models import User

    settings.DEMO_DATA_ALLOWED = True
    call_command("load_demo", stdout=io.StringIO())
    OUT.mkdir(parents=True, exist_ok=True)
    contexts = {}
    for name, username, url in _pages():
        if username not in contexts:
            user = User.objects.get(username=username)
            contexts[username] = pagewalk.open_context(
                browser, live_server.url, user, viewport=VIEWPORT, csp_violations=csp_violations
            ).new_page()
        page = contexts[username]
        response = page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}.png"))
        page.screenshot(path=str(OUT / f"{name}-full.png"), full_page=True)
        print(OUT / f"{name}.png")
    assert not csp_violations, csp_violations
