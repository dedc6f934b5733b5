"""The patients app's part of the patient timeline: registration, screenings, consents.

Front desk sees that a screening was recorded and that a consent was signed or
withdrawn (they book by it), not the answers, the withdrawal reason or the consent
itself: those are clinical (docs/permissions.md, "Why these choices").
"""

from __future__ import annotations

from django.urls import reverse

from mesoclinic.core.roles import CLINICAL
from mesoclinic.core.timeline import TimelineEntry
from patients.models import Patient, Screening, SignedConsent


def _last_event(consent: SignedConsent):
    withdrawn = consent.withdrawal.withdrawn_at if consent.is_withdrawn else None
    return max(consent.signed_at, withdrawn or consent.signed_at)


def _take(rows, limit: int | None):
    return rows if limit is None else rows[: limit + 1]


def timeline_entries_for(
    patient: Patient,
    *,
    roles: frozenset[str],
    limit: int | None = None,
    screenings: list[Screening] | None = None,
    consents: list[SignedConsent] | None = None,
) -> list[TimelineEntry]:
    """Registration, screenings and consents (each given, or one query)."""
    clinical = bool(roles & CLINICAL)
    entries = [TimelineEntry(patient.created_at, "registered", "Registered", icon="person-plus")]

    if screenings is None:
        screenings = list(_take(patient.screenings.order_by("-recorded_at"), limit))
    for item in _take(sorted(screenings, key=lambda s: s.recorded_at, reverse=True), limit):
        detail = ""
        if clinical:
            positives = item.positive_answers()
            detail = (
                ", ".join(q.label for q in positives)
                if positives
                else "No contraindications reported"
            )
            if item.answered_by:
                detail += f" (answered by {item.answered_by_text})"
        entries.append(
            TimelineEntry(
                item.recorded_at,
                "screening",
                f"Screening ({item.taken_on:%d %b %Y})",
                detail,
                "clipboard2-pulse",
                reverse("patients:screening", args=[patient.public_id]) if clinical else "",
            )
        )

    if consents is None:
        consents = list(
            SignedConsent.objects.filter(patient=patient)
            .select_related("protocol", "consent_version", "practitioner", "withdrawal")
            .defer("text", "patient_signature_png", "practitioner_signature_png")
        )
    consents = sorted(consents, key=lambda c: (_last_event(c), c.pk), reverse=True)
    for consent in _take(consents, limit):
        url = (
            reverse("patients:consent_detail", args=[patient.public_id, consent.public_id])
            if clinical
            else ""
        )
        signer = consent.practitioner.get_full_name() or consent.practitioner.get_username()
        entries.append(
            TimelineEntry(
                consent.signed_at,
                "consent_signed",
                f"Consent signed: {consent.protocol.name}",
                f"Version {consent.consent_version.number}, countersigned by {signer}",
                "pen",
                url,
                "success",
            )
        )
        if consent.is_withdrawn:
            withdrawal = consent.withdrawal
            entries.append(
                TimelineEntry(
                    withdrawal.withdrawn_at,
                    "consent_withdrawn",
                    f"Consent withdrawn: {consent.protocol.name}",
                    f"Reason: {withdrawal.reason}"
                    if clinical
                    else "The patient must sign again before treatment.",
                    "x-octagon",
                    url,
                    "warning",
                )
            )
    return entries
