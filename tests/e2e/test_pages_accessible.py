"""Every page of every role passes axe-core (no critical or serious WCAG 2.1 A/AA
violation) and html-validate (no error), at a tablet width.

The pages are the permission walk's URL list (tests/core/test_permissions.py) with its
real sample objects, plus a saved chart draft so the chart renders its server-side
rows; the calendar's week, agenda and rooms views and a patient search are added. Each page is
opened in Chromium as the role would (signed in), axe runs on the page as shown (after
the page's own scripts and requests), and the HTML the server sent is saved and checked
by html-validate with the project's .htmlvalidate.json.
"""

import pytest

from tests.core.test_permissions import sample_kwargs  # noqa: F401 (fixture)
from tests.e2e import pagewalk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1024, "height": 768}


@pytest.mark.parametrize("column", [*pagewalk.ROLE_COLUMNS, None], ids=str)
def test_every_page_is_accessible_and_valid(
    browser,
    live_server,
    users_by_role,
    sample_kwargs,  # noqa: F811 (the permission walk's fixture, imported above)
    csp_violations,
    tmp_path,
    column,
):
    pagewalk.sample_chart(sample_kwargs)
    pages = pagewalk.pages_for(column, sample_kwargs)
    context = pagewalk.open_context(
        browser,
        live_server.url,
        pagewalk.role_user(users_by_role, column),
        viewport=VIEWPORT,
        csp_violations=csp_violations,
    )
    page = context.new_page()
    axe_failures, saved, walked = [], {}, 0
    for walked_page in pages:
        # What the server sends, as the signed-in browser asks for it (shared cookies).
        response = context.request.get(walked_page.url, max_redirects=0)
        if response.status != 200 or not response.headers.get("content-type", "").startswith(
            "text/html"
        ):
            continue  # redirects, POST-only URLs, PDFs, calendar files, CSV
        walked += 1
        html_file = tmp_path / f"{len(saved):03d}.html"
        html_file.write_bytes(response.body())
        saved[html_file.name] = walked_page
        page.goto(walked_page.url)
        page.wait_for_load_state("networkidle")
        for violation in pagewalk.axe_violations(page):
            axe_failures.append(
                f"{walked_page.name} {walked_page.url}: [{violation['impact']}] "
                f"{violation['id']} ({violation['help']})\n    " + "\n    ".join(violation["nodes"])
            )
    context.close()
    html_errors = pagewalk.html_errors([tmp_path / name for name in saved])
    html_failures = [
        f"{saved[name].name} {saved[name].url}:\n    " + "\n    ".join(errors)
        for name, errors in html_errors.items()
    ]
    html_count = sum(len(errors) for errors in html_errors.values())
    # The figures (for docs and notes): shown with `pytest -s`.
    print(
        f"\n{column or 'anonymous'}: {walked} pages, {len(axe_failures)} axe violations,"
        f" {html_count} html-validate errors"
    )
    assert walked >= (5 if column is None else 20), f"only {walked} pages walked"
    report = []
    if axe_failures:
        report.append(f"axe-core ({len(axe_failures)}):\n" + "\n".join(axe_failures))
    if html_failures:
        report.append(f"html-validate ({html_count}):\n" + "\n".join(html_failures))
    assert not report, f"on {walked} pages:\n" + "\n".join(report)
    assert not csp_violations, "\n".join(csp_violations)
