"""The read-only FHIR R4 API for integrations, at /fhir/ (an R4 base).

Every request but /fhir/metadata needs `Authorization: Bearer <token>` (an ApiToken a
manager created). Tokens see what their scope allows; anything else, like an id that
does not exist, is a 404 OperationOutcome, so ids cannot be probed. Requests are
rate limited per token and audited (`api_read`, with the patient when there is one).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from mesoclinic.core import audit
from mesoclinic.records import fhir, selectors, services
from mesoclinic.records.models import ApiToken

FHIR_JSON = "application/fhir+json; charset=utf-8"
DEFAULT_COUNT = 50
MAX_COUNT = 200
RESOURCE_TYPES = ("Patient", "Appointment", "Practitioner", "Location")


class SearchError(Exception):
    pass


def _respond(body: dict, status: int = 200, **headers) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=FHIR_JSON
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _outcome(status: int, code: str, text: str, **headers) -> HttpResponse:
    return _respond(fhir.operation_outcome(code, text), status, **headers)


def fhir_endpoint(view):
    """No staff login: the API authenticates by token, answers only GET, and speaks
    FHIR (OperationOutcome) in every error."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return _outcome(405, "not-supported", "This FHIR API is read-only.", Allow="GET")
        return view(request, *args, **kwargs)

    wrapped = csrf_exempt(login_not_required(wrapped))
    return wrapped


def token_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return _outcome(
                401,
                "login",
                "Send an API token: Authorization: Bearer <token>.",
                WWW_Authenticate='Bearer realm="fhir"',
            )
        token, allowed = services.api_token_use(
            raw=raw.strip(), limit_per_minute=settings.FHIR_API_RATE_PER_MINUTE
        )
        if token is None:
            return _outcome(
                401,
                "login",
                "This API token is not valid or was revoked.",
                WWW_Authenticate='Bearer realm="fhir", error="invalid_token"',
            )
        if not allowed:
            return _outcome(
                429,
                "throttled",
                f"More than {settings.FHIR_API_RATE_PER_MINUTE} requests in a minute; "
                "wait and try again.",
                Retry_After="60",
            )
        request.api_token = token
        return view(request, *args, **kwargs)

    return wrapped


def _audit(request, summary: str, patient=None) -> None:
    token: ApiToken = request.api_token
    audit.record(
        request=request,
        actor_label=f"API token {token.name} ({token.prefix}…)"[:150],
        action=audit.Action.API_READ,
        patient=patient,
        summary=f"{summary} [{request.get_full_path()}]"[:255],
    )


def _ctx(request) -> fhir.Context:
    return selectors.fhir_context(base_url=request.build_absolute_uri("/fhir").rstrip("/"))


@fhir_endpoint
def metadata(request):
    base = request.build_absolute_uri("/fhir").rstrip("/")
    search = {
        "Patient": [("_id", "token"), ("name", "string"), ("birthdate", "date")],
        "Appointment": [
            ("_id", "token"),
            ("date", "date"),
            ("patient", "reference"),
            ("practitioner", "reference"),
            ("status", "token"),
        ],
        "Practitioner": [("_id", "token"), ("name", "string")],
        "Location": [("_id", "token"), ("name", "string")],
    }
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": fhir.instant(timezone.now()),
        "publisher": settings.CLINIC_NAME,
        "kind": "instance",
        "software": {"name": "Mesoclinic"},
        "implementation": {"description": f"{settings.CLINIC_NAME} FHIR API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer API tokens created by a clinic manager; read-only; "
                    f"{settings.FHIR_API_RATE_PER_MINUTE} requests a minute per token.",
                },
                "resource": [
                    {
                        "type": resource_type,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [{"name": n, "type": t} for n, t in params],
                    }
                    for resource_type, params in search.items()
                ],
            }
        ],
    }
    return _respond(statement)


def _count(request) -> tuple[int, int]:
    try:
        count = int(request.GET.get("_count", DEFAULT_COUNT))
        page = int(request.GET.get("page", 1))
    except ValueError as exc:
        raise SearchError("_count and page must be whole numbers.") from exc
    if not 1 <= count <= MAX_COUNT or page < 1:
        raise SearchError(f"_count must be between 1 and {MAX_COUNT}; page at least 1.")
    return count, page


def _searchset(request, resource_type: str, rows, to_resource) -> dict:
    count, page = _count(request)
    total = rows.count()
    chosen = list(rows[(page - 1) * count : page * count])
    ctx = _ctx(request)
    result = fhir.bundle([to_resource(r, ctx) for r in chosen], ctx, bundle_type="searchset")
    result["total"] = total
    base = f"{ctx.base_url}/{resource_type}"
    params = {k: v for k, v in request.GET.lists() if k != "page"}

    def link(n):
        return f"{base}?{urlencode({**params, 'page': [str(n)]}, doseq=True)}"

    result["link"] = [{"relation": "self", "url": link(page)}]
    if page * count < total:
        result["link"].append({"relation": "next", "url": link(page + 1)})
    return result


def _uuid_param(value: str, resource_type: str) -> str:
    value = value.removeprefix(f"{resource_type}/")
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise SearchError(f"{resource_type} must be a {resource_type}/<id> reference.") from exc


DATE_PREFIXES = ("eq", "ge", "gt", "le", "lt")


def _date_filters(values: list[str]) -> list[tuple[str, datetime]]:
    """FHIR date search: `2026-03-01` (that day), `ge2026-03-01`, `lt2026-03-01T10:00:00Z`."""
    filters = []
    for value in values:
        prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
        text = value[2:] if value[:2] in DATE_PREFIXES else value
        try:
            moment = parse_datetime(text) if "T" in text else None
            day = parse_date(text) if moment is None and len(text) == 10 else None
        except ValueError:
            moment = day = None
        if moment is None and day is None:
            raise SearchError(f"Not a date: {value!r}. Use e.g. ge2026-03-01.")
        if moment is not None:
            if timezone.is_naive(moment):
                raise SearchError("A date-time must carry a time zone, e.g. 2026-03-01T10:00Z.")
            start, end = moment, moment
        else:
            start = timezone.make_aware(datetime.combine(day, time.min))
            end = start + timedelta(days=1)
        if prefix == "eq":
            if end == start:
                filters.append(("starts_at", start))
            else:
                filters += [("starts_at__gte", start), ("starts_at__lt", end)]
        elif prefix == "ge":
            filters.append(("starts_at__gte", start))
        elif prefix == "gt":
            filters.append(("starts_at__gte", end) if end != start else ("starts_at__gt", start))
        elif prefix == "lt":
            filters.append(("starts_at__lt", start))
        else:  # le
            filters.append(("starts_at__lt", end) if end != start else ("starts_at__lte", start))
    return filters


def _read(request, resource_type: str, resource_id: str):
    token = request.api_token
    row = selectors.api_get(token, resource_type, resource_id)
    if row is None:
        return _outcome(404, "not-found", f"{resource_type}/{resource_id} is not known.")
    ctx = _ctx(request)
    resource = {
        "Patient": fhir.patient,
        "Appointment": fhir.appointment,
        "Practitioner": fhir.practitioner,
        "Location": fhir.location,
    }[resource_type](row, ctx)
    patient = row if resource_type == "Patient" else getattr(row, "patient", None)
    _audit(request, f"Read {resource_type}", patient=patient)
    return _respond(resource)


@fhir_endpoint
@token_required
def read(request, resource_type: str, resource_id: str):
    if resource_type not in RESOURCE_TYPES:
        return _outcome(404, "not-supported", f"{resource_type} is not offered by this API.")
    return _read(request, resource_type, resource_id)


@fhir_endpoint
@token_required
def search(request, resource_type: str):
    if resource_type not in RESOURCE_TYPES:
        return _outcome(404, "not-supported", f"{resource_type} is not offered by this API.")
    token = request.api_token
    try:
        rows, patient = selectors.api_search(
            token,
            resource_type,
            ids=[_uuid_param(v, resource_type) for v in request.GET.getlist("_id")],
            name=request.GET.get("name", "").strip(),
            birthdate=_birthdate(request.GET.get("birthdate")),
            dates=_date_filters(request.GET.getlist("date")),
            patient=_uuid_param(request.GET["patient"], "Patient")
            if "patient" in request.GET
            else None,
            practitioner=_uuid_param(request.GET["practitioner"], "Practitioner")
            if "practitioner" in request.GET
            else None,
            status=request.GET.get("status", "").strip(),
        )
        converter = {
            "Patient": fhir.patient,
            "Appointment": fhir.appointment,
            "Practitioner": fhir.practitioner,
            "Location": fhir.location,
        }[resource_type]
        body = _searchset(request, resource_type, rows, converter)
    except SearchError as exc:
        return _outcome(400, "invalid", str(exc))
    _audit(request, f"Searched {resource_type}: {body['total']} found", patient=patient)
    return _respond(body)


def _birthdate(value):
    if not value:
        return None
    try:
        day = parse_date(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise SearchError("birthdate must be a date, e.g. 1980-04-01.")
    return day


@fhir_endpoint
def unknown(request, rest: str = ""):
    return _outcome(404, "not-found", "No such FHIR endpoint here. See /fhir/metadata.")
