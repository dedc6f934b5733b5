"""Read queries about protocols, and what a protocol means for one patient."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from protocols import areas, consent_text, screening
from protocols.models import CareInstruction, ConsentVersion, Protocol


def catalogue(*, include_retired: bool = True, indication: str = "") -> QuerySet[Protocol]:
    protocols = Protocol.objects.annotate(
        contraindication_count=Count("contraindications", distinct=True)
    ).order_by("-is_active", "name")
    if not include_retired:
        protocols = protocols.bookable()
    if indication:
        protocols = protocols.filter(indication=indication)
    return protocols


def protocol_detail(protocol_id: int) -> Protocol:
    return get_object_or_404(
        Protocol.objects.prefetch_related(
            "spins",
            "ingredients",
            "contraindications",
            "care_instructions",
            Prefetch(
                "consent_versions", queryset=ConsentVersion.objects.select_related("created_by")
            ),
        ),
        pk=protocol_id,
    )


def rules_for(protocol: Protocol) -> tuple[screening.Rule, ...]:
    """The protocol's contraindications as rules for the pure screening evaluation."""
    return tuple(
        screening.Rule(c.code, screening.Severity(c.severity), c.note)
        for c in protocol.contraindications.all()
    )


def bookable_with_contraindications() -> QuerySet[Protocol]:
    """Every bookable protocol with its contraindications (one prefetch), by name."""
    return Protocol.objects.bookable().prefetch_related("contraindications").order_by("name")


def care_items(protocol: Protocol, phase: str) -> list[CareInstruction]:
    return [c for c in protocol.care_instructions.all() if c.phase == phase]


def consent_values(*, protocol: Protocol, patient_name: str | None) -> dict[str, str]:
    return {
        "patient_name": patient_name or "[patient's name]",
        "protocol_name": protocol.name,
        "areas": ", ".join(areas.labels(protocol.treatment_areas)).lower() or "the areas agreed",
        "risks": protocol.risks,
        "sessions": str(protocol.sessions_in_course),
        "clinic_name": settings.CLINIC_NAME,
    }


def rendered_consent(*, version: ConsentVersion, patient_name: str | None) -> str:
    """The consent text for a patient (by name), or with a placeholder for a preview."""
    return consent_text.render(
        version.text, consent_values(protocol=version.protocol, patient_name=patient_name)
    )
