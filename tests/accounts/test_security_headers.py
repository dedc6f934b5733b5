"""Issue 15: the Content Security Policy is enforced and strict, with the other
security headers; templates carry no inline script, handler or style attribute."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    result = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            result[words[0]] = words[1:]
    return result


@pytest.mark.parametrize("name", ["login", "home", "sessions:calendar", "patients:list"])
def test_every_page_has_an_enforced_strict_policy(frontdesk_client, name):
    response = frontdesk_client.get(reverse(name))
    assert "Content-Security-Policy-Report-Only" not in response
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for words in policy.values():
        assert "'unsafe-inline'" not in words and "'unsafe-eval'" not in words
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_calendar_nonce_is_in_the_policy_and_the_page(frontdesk_client):
    response = frontdesk_client.get(reverse("sessions:calendar"))
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<meta name="csp-nonce" content="{nonce}">' in response.content.decode()
    other = frontdesk_client.get(reverse("sessions:calendar"))
    assert nonce not in other["Content-Security-Policy"]


WEB_TEMPLATES = [
    p
    for p in (Path(settings.BASE_DIR) / "templates").rglob("*.html")
    if not {"email", "pdf"} & set(p.relative_to(settings.BASE_DIR / "templates").parts)
]


@pytest.mark.parametrize("path", WEB_TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_inline_code_or_styles(path):
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text), "event-handler attribute"
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert "<style" not in text, "<style> element"
    assert "hx-on" not in text, "hx-on needs eval"
