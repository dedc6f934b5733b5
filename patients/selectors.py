"""Read queries about patients that views share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.postgres.search import TrigramDistance
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import nested, patient_refs, phones, timeline
from mesoclinic.core.roles import CLINICAL
from mesoclinic.core.timeline import TimelineEntry  # noqa: F401 - re-exported for callers
from patients.models import Patient, Screening, ScreeningAcknowledgement, SignedConsent
from patients.timeline import timeline_entries_for
from protocols import screening
from protocols import selectors as protocol_selectors
from protocols.models import ConsentVersion, Protocol
from protocols.services import current_consent

SEARCH_LIMIT = 25
# Trigram distance below which a name counts as a match (1 - similarity).
NAME_MATCH_MAX_DISTANCE = 0.8

_DATE_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y")


def parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


def patient_search(
    *, query: str, include_archived: bool = False
) -> list[Patient] | QuerySet[Patient]:
    """Find patients by name (typo-tolerant), phone, email or date of birth.

    Names are ranked by trigram distance, walked nearest-first in a GiST trigram
    index, so a misspelt name still finds the patient without reading every row (the
    walk still grows with the table: about 4-8 ms at 60,000 patients, 14-24 ms at
    250,000; docs/decisions.md L12).
    """
    patients = Patient.objects.all()
    if not include_archived:
        patients = patients.filter(archived_at__isnull=True)
    # PostgreSQL text cannot hold NUL; a pasted one must not break the search.
    query = " ".join(query.replace("\x00", "").split())[:100]
    if not query:
        return patients.order_by("-created_at")[:SEARCH_LIMIT]

    day = parse_date(query)
    if day is not None:
        return patients.filter(date_of_birth=day).order_by("last_name", "first_name")[:SEARCH_LIMIT]
    if "@" in query:
        return (
            patients.annotate(email_lower=Lower("email"))
            .filter(email_lower__startswith=query.lower())
            .order_by("last_name")[:SEARCH_LIMIT]
        )
    if phones.looks_like_phone(query):
        try:
            e164 = phones.normalize_phone(query, default_region=settings.CLINIC_COUNTRY)
        except phones.InvalidPhoneNumber:
            e164 = ""
        digits = re.sub(r"\D", "", query)
        condition = Q(phone__contains=digits[-9:])
        if e164:
            condition |= Q(phone=e164)
        return patients.filter(condition).order_by("last_name")[:SEARCH_LIMIT]

    # Order by distance alone so PostgreSQL walks the GiST index nearest-first (KNN)
    # and stops after the limit; weak matches are dropped after the fetch.
    nearest = patients.annotate(distance=TrigramDistance("search_name", query.lower())).order_by(
        "distance"
    )[:SEARCH_LIMIT]
    return [p for p in nearest if p.distance < NAME_MATCH_MAX_DISTANCE]


def possible_duplicates(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phone: str = "",
    email: str = "",
    exclude_pk: int | None = None,
) -> list[Patient]:
    """Patients who look like this one: same name and birth date, or same phone or email."""
    condition = Q(pk__in=[])
    if date_of_birth and first_name and last_name:
        condition |= Q(
            search_name__startswith=f"{first_name.strip()} {last_name.strip()}".lower(),
            date_of_birth=date_of_birth,
        )
    if phone:
        condition |= Q(phone=phone)
    if email:
        condition |= Q(email__iexact=email.strip())
    matches = Patient.objects.filter(condition)
    if exclude_pk is not None:
        matches = matches.exclude(pk=exclude_pk)
    return list(matches.order_by("last_name")[:10])


def patient_for_staff(public_id) -> Patient:
    """The one way views load a patient: by public id, 404 for anything unknown."""
    return get_object_or_404(Patient, public_id=public_id)


def latest_screening(patient: Patient) -> Screening | None:
    return (
        patient.screenings.select_related("recorded_by")
        .prefetch_related(
            Prefetch(
                "acknowledgements",
                queryset=ScreeningAcknowledgement.objects.select_related("acknowledged_by"),
            )
        )
        .order_by("-taken_on", "-recorded_at")
        .first()
    )


def screening_evaluation(
    *,
    latest: Screening | None,
    rules: tuple[screening.Rule, ...] | None = None,
    today: date | None = None,
) -> screening.Evaluation:
    """Evaluate a patient's latest screening (None if they have none) against a
    contraindication list; without rules, the default PRP list from protocols/data.
    """
    return screening.evaluate(
        answers=latest.answers() if latest else None,
        rules=rules if rules is not None else screening.load_rules(),
        taken_on=latest.taken_on if latest else None,
        today=today or timezone.localdate(),
        valid_days=settings.SCREENING_VALID_DAYS,
        acknowledged_codes={a.code for a in latest.acknowledgements.all()} if latest else (),
    )


def screening_for_protocol(
    *, latest: Screening | None, protocol: Protocol, today: date | None = None
) -> screening.Evaluation:
    """Can this patient have this protocol today? blocked / needs acknowledgement / clear."""
    return screening_evaluation(
        latest=latest, rules=protocol_selectors.rules_for(protocol), today=today
    )


def screening_by_protocol(
    *, latest: Screening | None, today: date | None = None
) -> list[tuple[Protocol, screening.Evaluation]]:
    """The answer for every bookable protocol, for the patient's screening page."""
    return [
        (protocol, screening_for_protocol(latest=latest, protocol=protocol, today=today))
        for protocol in protocol_selectors.bookable_with_contraindications()
    ]


def screening_as_seen_by(
    evaluation: screening.Evaluation, *, roles: frozenset[str]
) -> screening.Evaluation:
    """What a viewer may read of a screening evaluation: the one place that decides it.

    Clinical roles read the reasons (which answers block or need a decision); everyone
    else reads the status alone ("blocked / needs review / clear") and what happens
    next. Every page, message and error that shows an evaluation goes through here.
    """
    return evaluation if roles & CLINICAL else screening.status_only(evaluation)


def patient_timeline(
    patient: Patient,
    *,
    roles: frozenset[str],
    screenings: list[Screening] | None = None,
    limit: int | None = timeline.PAGE_LIMIT,
) -> timeline.Timeline:
    """The patient's story across apps, newest first, as the viewer's roles may read it.

    Each app contributes its own entries (`timeline_entries_for`, registered in
    mesoclinic.core.timeline.SOURCES) with a constant number of queries; the newest `limit`
    are kept (None: all), and `truncated` says whether there were more.
    """
    groups = [
        timeline_entries_for(
            patient,
            roles=roles,
            limit=limit,
            screenings=screenings,
            consents=signed_consents(patient),
        ),
        *(source(patient, roles=roles, limit=limit) for source in timeline.sources()),
    ]
    return timeline.merge(groups, limit=limit)


@dataclass(frozen=True)
class PhotoComparison:
    area: str
    first: object
    latest: object
    all_photos: list


def photo_comparisons(patient: Patient) -> list[PhotoComparison]:
    """Per treated area: the first photo beside the latest, and every photo in between."""
    by_area: dict[str, list] = {}
    for photo in patient.photos.order_by("taken_on", "uploaded_at"):
        by_area.setdefault(photo.area.lower(), []).append(photo)
    return [
        PhotoComparison(area=photos[0].area, first=photos[0], latest=photos[-1], all_photos=photos)
        for photos in by_area.values()
    ]


# --- Signed consents


def current_signed_consent(*, patient: Patient, protocol):
    """The patient's live consent to the protocol's current consent version, or None.

    Live: signed for the version that is current now, and not withdrawn. A new
    consent version or a withdrawal means the patient has to sign again.
    """
    current = current_consent(protocol)
    if current is None:
        return None
    return (
        SignedConsent.objects.filter(
            patient=patient, consent_version=current, withdrawal__isnull=True
        )
        .select_related("consent_version", "practitioner")
        .order_by("-signed_at")
        .first()
    )


def consent_withdrawal(*, patient: Patient, protocol):
    """The withdrawal that stands against treating with this protocol, or None.

    It stands while the patient's newest consent to the protocol is a withdrawn one;
    signing a new consent lifts it.
    """
    newest = (
        SignedConsent.objects.filter(patient=patient, protocol=protocol)
        .select_related("withdrawal")
        .only("pk", "withdrawal")
        .order_by("-signed_at", "-pk")
        .first()
    )
    if newest is None or not newest.is_withdrawn:
        return None
    return newest.withdrawal


def signed_consents_without_pdf(*, signed_before: datetime) -> list[int]:
    """Ids of consents signed before then whose PDF is still missing (its task was lost)."""
    return list(
        SignedConsent.objects.filter(pdf="", signed_at__lt=signed_before).values_list(
            "pk", flat=True
        )
    )


def signed_consents(patient: Patient) -> list:
    """Every consent the patient signed, newest first, with withdrawals and versions;
    each tells whether its protocol has a newer consent version (`superseded`: the
    patient must sign again before treatment).

    Read once per patient page: its timeline and the consents panel share the list.
    """
    newer_version = ConsentVersion.objects.filter(
        protocol=OuterRef("protocol"), number__gt=OuterRef("consent_version__number")
    )
    return nested.once(
        patient,
        "patients.signed_consents",
        lambda: list(
            SignedConsent.objects.filter(patient=patient)
            .select_related("protocol", "consent_version", "practitioner", "withdrawal")
            .defer("patient_signature_png", "practitioner_signature_png", "text")
            .annotate(superseded=Exists(newer_version))
            .order_by("-signed_at", "-id")
        ),
    )


ACK_FIELDS = ("id", "screening", "code", "reason", "acknowledged_by", "acknowledged_at")


def patient_screenings(patient: Patient) -> list[Screening]:
    """The patient's screenings, newest first, each with its acknowledgements: one query."""
    rows = list(
        patient.screenings.select_related("recorded_by").annotate(
            ack_rows=nested.rows(
                ScreeningAcknowledgement.objects.filter(screening=OuterRef("pk")),
                ACK_FIELDS,
                order_by=("acknowledged_at", "id"),
            )
        )
    )
    for item in rows:
        acks = nested.instances(ScreeningAcknowledgement, item.ack_rows, ACK_FIELDS)
        for ack in acks:
            ack.screening = item
        nested.attach(item, "acknowledgements", acks)
    return rows


def signed_consent_for_staff(*, patient_id, consent_id):
    """The one way views load a signed consent: both ids must match, or 404."""
    return get_object_or_404(
        SignedConsent.objects.select_related("patient", "protocol", "consent_version"),
        public_id=consent_id,
        patient__public_id=patient_id,
    )


class PatientDirectory:
    """How the shared library reads the patient ids it stores (core.patient_refs)."""

    def refs(self, ids) -> dict[int, patient_refs.PatientRef]:
        rows = Patient.objects.filter(pk__in=list(ids)).only(
            "id", "public_id", "first_name", "last_name", "preferred_name"
        )
        return {
            p.pk: patient_refs.PatientRef(
                p.pk, p.full_name, reverse("patients:detail", args=[p.public_id])
            )
            for p in rows
        }

    def ids_matching(self, text: str) -> QuerySet:
        return Patient.objects.filter(search_name__icontains=text.lower()).values("id")
