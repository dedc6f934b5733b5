"""Writes to the protocol catalogue: save, clone, retire, and consent versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from protocols import consent_text
from protocols.catalogue import CONSENT_TEMPLATE as DEFAULT_CONSENT
from protocols.models import (
    CareInstruction,
    CentrifugeSpin,
    CocktailIngredient,
    ConsentVersion,
    Protocol,
    ProtocolContraindication,
)
from protocols.rules import course_rule_errors


class ProtocolError(ValidationError):
    """A change to the catalogue that cannot be made, with a message for the manager."""


@dataclass
class CareItem:
    text: str
    duration_value: int | None = None
    duration_unit: str = ""


@dataclass
class ProtocolParts:
    """Everything attached to a protocol, as plain values from the edit forms."""

    spins: list[tuple[int, int]] = field(default_factory=list)
    ingredients: list[tuple[str, str]] = field(default_factory=list)
    contraindications: dict[str, str] = field(default_factory=dict)
    pre_care: list[CareItem] = field(default_factory=list)
    aftercare: list[CareItem] = field(default_factory=list)


PROTOCOL_FIELDS = (
    "name",
    "indication",
    "technique",
    "treatment_areas",
    "session_minutes",
    "sessions_in_course",
    "min_interval_days",
    "target_interval_days",
    "max_interval_days",
    "maintenance_interval_months",
    "blood_volume_ml",
    "tubes",
    "activation",
    "description",
    "evidence_note",
    "risks",
    "what_is_normal",
    "warning_signs",
)


def validate_rules(protocol: Protocol, parts: ProtocolParts | None = None) -> None:
    """Refuse impossible course rules and incomplete active protocols, field by field."""
    errors: dict[str, list[str]] = {}

    def add(name, message):
        errors.setdefault(name, []).append(message)

    for name, messages in course_rule_errors(
        sessions=protocol.sessions_in_course,
        min_days=protocol.min_interval_days,
        target_days=protocol.target_interval_days,
        max_days=protocol.max_interval_days,
    ).items():
        for message in messages:
            add(name, message)
    if protocol.is_prp and protocol.technique and parts is not None and not parts.spins:
        add("__all__", "A PRP protocol needs at least one centrifuge spin.")
    if (
        protocol.technique == Protocol.Technique.MESO_COCKTAIL
        and parts is not None
        and not parts.ingredients
    ):
        add("__all__", "A mesotherapy protocol needs its cocktail ingredients.")
    if protocol.is_active and parts is not None and not parts.aftercare:
        add("__all__", "An active protocol needs aftercare instructions for patients.")
    duplicate = Protocol.objects.filter(name__iexact=(protocol.name or "").strip())
    if protocol.pk:
        duplicate = duplicate.exclude(pk=protocol.pk)
    if protocol.name and duplicate.exists():
        add("name", "Another protocol already has this name.")
    if errors:
        raise ProtocolError(errors)


def _replace_parts(protocol: Protocol, parts: ProtocolParts) -> None:
    protocol.spins.all().delete()
    protocol.ingredients.all().delete()
    protocol.contraindications.all().delete()
    protocol.care_instructions.all().delete()
    CentrifugeSpin.objects.bulk_create(
        CentrifugeSpin(protocol=protocol, order=i, g_force=g, minutes=m)
        for i, (g, m) in enumerate(parts.spins, start=1)
    )
    CocktailIngredient.objects.bulk_create(
        CocktailIngredient(protocol=protocol, name=n, amount=a) for n, a in parts.ingredients
    )
    ProtocolContraindication.objects.bulk_create(
        ProtocolContraindication(protocol=protocol, code=code, severity=severity)
        for code, severity in parts.contraindications.items()
    )
    CareInstruction.objects.bulk_create(
        CareInstruction(
            protocol=protocol,
            phase=phase,
            order=i,
            text=item.text,
            duration_value=item.duration_value,
            duration_unit=item.duration_unit if item.duration_value else "",
        )
        for phase, items in (
            (CareInstruction.Phase.PRE, parts.pre_care),
            (CareInstruction.Phase.AFTER, parts.aftercare),
        )
        for i, item in enumerate(items)
    )


@transaction.atomic
def protocol_save(
    *, protocol: Protocol | None, data: dict[str, Any], parts: ProtocolParts
) -> Protocol:
    """Create or update a protocol and everything attached to it, or change nothing."""
    protocol = protocol or Protocol()
    for name in PROTOCOL_FIELDS:
        if name in data:
            setattr(protocol, name, data[name])
    protocol.name = (protocol.name or "").strip()
    if protocol.technique == Protocol.Technique.MESO_COCKTAIL:
        protocol.blood_volume_ml = protocol.tubes = None
        protocol.activation = Protocol.Activation.NONE
        parts.spins = []
    validate_rules(protocol, parts)
    protocol.full_clean()
    try:
        with transaction.atomic():
            protocol.save()
    except IntegrityError as exc:  # a concurrent save took the name
        raise ProtocolError({"name": ["Another protocol already has this name."]}) from exc
    _replace_parts(protocol, parts)
    if not protocol.consent_versions.exists():
        consent_version_create(protocol=protocol, text=DEFAULT_CONSENT, by=None)
    return protocol


def parts_of(protocol: Protocol) -> ProtocolParts:
    care = list(protocol.care_instructions.all())
    return ProtocolParts(
        spins=[(s.g_force, s.minutes) for s in protocol.spins.all()],
        ingredients=[(i.name, i.amount) for i in protocol.ingredients.all()],
        contraindications={c.code: c.severity for c in protocol.contraindications.all()},
        pre_care=[
            CareItem(c.text, c.duration_value, c.duration_unit) for c in care if c.phase == "pre"
        ],
        aftercare=[
            CareItem(c.text, c.duration_value, c.duration_unit) for c in care if c.phase == "after"
        ],
    )


def _free_copy_name(name: str) -> str:
    base = f"{name} (copy)"
    candidate, n = base, 2
    while Protocol.objects.filter(name__iexact=candidate).exists():
        candidate = f"{name} (copy {n})"
        n += 1
    return candidate


@transaction.atomic
def protocol_clone(*, protocol: Protocol, by) -> Protocol:
    """A new active protocol with the same rules, texts and current consent text."""
    for attempt in range(3):
        clone = Protocol(is_active=True)
        for name in PROTOCOL_FIELDS:
            setattr(clone, name, getattr(protocol, name))
        clone.name = _free_copy_name(protocol.name)
        clone.full_clean(validate_constraints=False)
        try:
            with transaction.atomic():
                clone.save()
            break
        except IntegrityError:  # a concurrent clone took the same "(copy)" name
            if attempt == 2:
                raise ProtocolError("Copying failed because of a clash; try again.") from None
    _replace_parts(clone, parts_of(protocol))
    current = current_consent(protocol)
    consent_version_create(protocol=clone, text=current.text if current else DEFAULT_CONSENT, by=by)
    return clone


@transaction.atomic
def protocol_set_active(*, protocol: Protocol, active: bool) -> Protocol:
    if active and not protocol.care_instructions.filter(phase=CareInstruction.Phase.AFTER).exists():
        raise ProtocolError("Add aftercare instructions before bringing this protocol back.")
    protocol.is_active = active
    protocol.retired_at = None if active else timezone.now()
    protocol.save(update_fields=["is_active", "retired_at", "updated_at"])
    return protocol


def current_consent(protocol: Protocol) -> ConsentVersion | None:
    return protocol.consent_versions.order_by("-number").first()


@transaction.atomic
def consent_version_create(*, protocol: Protocol, text: str, by) -> ConsentVersion:
    """Editing a consent text always makes a new version; old ones never change."""
    text = text.replace("\r\n", "\n").strip()
    if len(text) < 50:
        raise ProtocolError(
            {
                "text": [
                    "A consent text must say what the patient agrees to (50 characters at least)."
                ]
            }
        )
    unknown = consent_text.unknown_placeholders(text)
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in consent_text.PLACEHOLDERS)
        raise ProtocolError(
            {
                "text": [
                    f"Unknown placeholder {', '.join('{' + u + '}' for u in unknown)}. "
                    f"You can use: {allowed}."
                ]
            }
        )
    # Lock the protocol row so two managers saving at once get consecutive numbers.
    Protocol.objects.select_for_update().get(pk=protocol.pk)
    latest = protocol.consent_versions.order_by("-number").first()
    if latest is not None and latest.text == text:
        raise ProtocolError({"text": ["The text is unchanged, so no new version was made."]})
    number = (protocol.consent_versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ConsentVersion.objects.create(
        protocol=protocol,
        number=number,
        text=text,
        text_sha256=consent_text.sha256(text),
        created_by=by,
    )


def consent_version_lock(*, version: ConsentVersion) -> ConsentVersion:
    """Called when a patient signs this version: from now on it can never change."""
    if version.locked_at is None:
        ConsentVersion.objects.filter(pk=version.pk, locked_at__isnull=True).update(
            locked_at=timezone.now()
        )
        version.refresh_from_db(fields=["locked_at"])
    return version
