"""Writing the audit log. Views call `record` with the request; services may pass actor and ip."""

from collections.abc import Iterable

from django.db import models

from mesoclinic.core.models import AuditEvent

Action = AuditEvent.Action


def client_ip(request) -> str | None:
    # Behind a proxy, axes' ipware configuration (PROXY_COUNT) is the source of truth.
    # Imported here: axes.helpers loads axes' models, and this module loads with the apps.
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or None


def _who(request, actor, actor_label: str):
    if request is not None and actor is None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    if not actor_label:
        actor_label = actor.get_username() if actor is not None else "patient link"
    return actor, actor_label


def record(
    *,
    request=None,
    actor=None,
    action: str,
    patient=None,
    obj: models.Model | None = None,
    summary: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """`actor_label` names who acted when there is no user: the username typed on a
    failed sign-in, or "system" for a scheduled backup."""
    actor, actor_label = _who(request, actor, actor_label)
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor_label[:150],
        patient_id=patient.pk if patient is not None else None,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:255],
        ip_address=client_ip(request) if request is not None else None,
    )


def record_many(
    *,
    request=None,
    actor=None,
    action: str,
    rows: Iterable[tuple[object | None, models.Model | None, str]],
    actor_label: str = "",
) -> int:
    """`record` for several (patient, obj, summary) by one actor, in one INSERT."""
    actor, actor_label = _who(request, actor, actor_label)
    ip = client_ip(request) if request is not None else None
    events = [
        AuditEvent(
            actor=actor,
            actor_label=actor_label[:150],
            patient_id=patient.pk if patient is not None else None,
            action=action,
            object_type=obj._meta.label if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            summary=summary[:255],
            ip_address=ip,
        )
        for patient, obj, summary in rows
    ]
    AuditEvent.objects.bulk_create(events)
    return len(events)


def record_for_patients(
    *, request=None, action: str, patient_ids, summary: str, actor_label: str
) -> int:
    """One row per patient (a search that showed several), in one INSERT."""
    ip = client_ip(request) if request is not None else None
    rows = [
        AuditEvent(
            actor=None,
            actor_label=actor_label[:150],
            patient_id=pid,
            action=action,
            summary=summary[:255],
            ip_address=ip,
        )
        for pid in sorted(set(patient_ids))
    ]
    AuditEvent.objects.bulk_create(rows)
    return len(rows)
