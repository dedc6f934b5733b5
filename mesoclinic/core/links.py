"""Signed, expiring links for patients, who have no login.

A token names one action on one object (confirm appointment 42, unsubscribe patient
7) and is signed with the secret key and a per-action salt, so it cannot be altered
or reused for another action. Views that accept a token answer a tampered or
expired one with a plain page that reveals nothing about the object.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.shortcuts import render
from django.urls import reverse

SALT = "mesoclinic.patient-link."


class LinkError(Exception):
    """The link cannot be used; `expired` tells the page which words to use."""

    def __init__(self, *, expired: bool):
        self.expired = expired
        super().__init__("expired" if expired else "invalid")


def make_token(action: str, object_id: int) -> str:
    return signing.dumps({"id": object_id}, salt=SALT + action, compress=True)


def read_token(token: str, action: str, *, max_age: timedelta | None = None) -> int:
    max_age = max_age or timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=SALT + action, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkError(expired=True) from exc
    except signing.BadSignature as exc:
        raise LinkError(expired=False) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        raise LinkError(expired=False)
    return payload["id"]


def absolute_url(url_name: str, *, action: str, object_id: int) -> str:
    """The full address to put in an email."""
    path = reverse(url_name, kwargs={"token": make_token(action, object_id)})
    return settings.SITE_URL.rstrip("/") + path


def link_error_page(request, error: LinkError):
    return render(
        request,
        "links/invalid.html",
        {"expired": error.expired},
        status=410 if error.expired else 400,
    )
