"""Writes for data rights: API tokens, subject-access exports, erasure requests."""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from mesoclinic.core import audit, roles
from mesoclinic.records.models import ApiToken

TOKEN_PREFIX = "mcf_"


class RecordsError(ValidationError):
    """A data-rights action that cannot be done, with words a person can act on."""


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, name: str, scope: str, practitioner=None, by, request=None
) -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored."""
    name = name.strip()
    if not name:
        raise RecordsError("Give the token a name: the integration that will use it.")
    if scope == ApiToken.Scope.PRACTITIONER:
        if practitioner is None or not roles.has_role(practitioner, {roles.PRACTITIONER}):
            raise RecordsError("Choose the practitioner whose patients this token may read.")
    elif scope == ApiToken.Scope.CLINIC:
        practitioner = None
    else:
        raise RecordsError("Choose what the token may read.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            scope=scope,
            practitioner=practitioner,
            token_hash=hash_token(raw),
            prefix=raw[:10],
            created_by=by,
        )
        audit.record(
            request=request,
            actor=by,
            action=audit.Action.CREATE,
            obj=token,
            summary=f"FHIR API token '{name}' created ({token.get_scope_display()})",
        )
    return token, raw


def api_token_revoke(*, token: ApiToken, by, request=None) -> bool:
    """Revoke; False if it already was (nothing changes)."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=by
        )
        if changed:
            audit.record(
                request=request,
                actor=by,
                action=audit.Action.REVOKE,
                obj=token,
                summary=f"FHIR API token '{token.name}' revoked",
            )
    return bool(changed)


def api_token_use(*, raw: str, limit_per_minute: int) -> tuple[ApiToken | None, bool]:
    """The active token for `raw` and whether this request is within its rate limit.

    One atomic UPDATE counts the request in the token's current one-minute window (or
    starts a new window) and stamps `last_used_at`; concurrent requests from several
    processes count correctly. (None, False) when no active token matches.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE records_apitoken SET
                window_count = CASE WHEN window_start > now() - interval '1 minute'
                                    THEN window_count + 1 ELSE 1 END,
                window_start = CASE WHEN window_start > now() - interval '1 minute'
                                    THEN window_start ELSE now() END,
                last_used_at = now()
            WHERE token_hash = %s AND revoked_at IS NULL
            RETURNING id, window_count
            """,
            [hash_token(raw)],
        )
        row = cursor.fetchone()
    if row is None:
        return None, False
    token = ApiToken.objects.select_related("practitioner").get(pk=row[0])
    return token, row[1] <= limit_per_minute
