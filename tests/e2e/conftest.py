"""Headless Chromium through Playwright, against pytest-django's live server.

Uses Debian's /usr/bin/chromium (never `playwright install`). Playwright's sync API
runs an event loop in this thread, so Django's async-safety guard is relaxed for
the ORM calls the tests make to set up data.

Every journey fails on a Content Security Policy violation: the page fixture listens
for the browser's `securitypolicyviolation` events and its "Refused to ..." console
errors, and fails the test at teardown with what was blocked.
"""

import os
import shutil

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
TABLET = {"width": 1024, "height": 768}
# The key journeys also run at a current iPad's width and on a desktop screen:
# @pytest.mark.parametrize("page", VIEWPORTS, indirect=True, ids=VIEWPORT_IDS).
IPAD = {"width": 1180, "height": 820}
DESKTOP = {"width": 1440, "height": 900}
VIEWPORTS = [IPAD, DESKTOP]
VIEWPORT_IDS = ["ipad-1180", "desktop-1440"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Runs before the page's own scripts (injected by the browser, not subject to the CSP).
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  console.error('CSP violation: ' + event.effectiveDirective + ' blocked '
    + (event.blockedURI || 'inline code') + ' at ' + event.sourceFile + ':' + event.lineNumber);
});
"""


def is_csp_violation(message) -> bool:
    text = message.text
    return message.type == "error" and (
        text.startswith("CSP violation") or "Content Security Policy" in text
    )


@pytest.fixture
def csp_violations():
    """What the page fixture saw blocked; a test may inspect it, the fixture fails on it."""
    return []


def _open_context(browser, base_url, violations, viewport=TABLET):
    context = browser.new_context(viewport=viewport, base_url=base_url, has_touch=True)
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_LISTENER)

    def on_console(message):
        if is_csp_violation(message):
            where = message.page.url if message.page else ""
            violations.append(f"{where}: {message.text}")

    context.on("console", on_console)
    return context


@pytest.fixture
def new_page(browser, live_server, csp_violations):
    """Another person's browser (a second context), held to the same CSP check."""
    contexts = []

    def make():
        context = _open_context(browser, live_server.url, csp_violations)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(request, browser, live_server, csp_violations):
    """A tablet (1024x768) unless the test is parametrised with another viewport."""
    context = _open_context(
        browser, live_server.url, csp_violations, viewport=getattr(request, "param", TABLET)
    )
    page = context.new_page()
    yield page
    context.close()
    if csp_violations:
        pytest.fail("Content Security Policy violations:\n" + "\n".join(csp_violations))


def login(page, username: str, password: str = "pw-for-tests-1") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)
