"""Writes about patients: registering, editing, archiving, screening."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.signatures import SignatureRejected, parse_signature
from patients.models import (
    ClinicalPhoto,
    ConsentWithdrawal,
    Patient,
    Screening,
    ScreeningAcknowledgement,
    SignedConsent,
)
from patients.photos import PhotoRejected, clean_photo
from patients.selectors import possible_duplicates
from patients.tasks import signed_consent_pdf
from protocols import screening as screening_rules
from protocols.models import ConsentVersion
from protocols.selectors import rendered_consent
from protocols.services import consent_version_lock, current_consent


class PatientError(ValidationError):
    """A request about a patient that cannot be carried out, with a message for the user."""


class PossibleDuplicate(PatientError):
    def __init__(self, matches: list[Patient]):
        self.matches = matches
        super().__init__(
            "This looks like a patient who is already registered. Check the list below, "
            "or confirm that this is a different person."
        )


PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "preferred_channel",
    "consents_to_transactional",
    "consents_to_marketing",
    "fitzpatrick_type",
    "allergies",
    "notes",
)


@transaction.atomic
def patient_register(
    *, data: dict[str, Any], by, request=None, confirmed_not_duplicate: bool = False
) -> Patient:
    if not confirmed_not_duplicate:
        matches = possible_duplicates(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            phone=data.get("phone", ""),
            email=data.get("email", ""),
        )
        if matches:
            raise PossibleDuplicate(matches)
    patient = Patient(created_by=by, **{k: v for k, v in data.items() if k in PATIENT_FIELDS})
    patient.full_clean()
    patient.save()
    audit.record(
        request=request, actor=by, action=audit.Action.CREATE, patient=patient, obj=patient
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, data: dict[str, Any], by, request=None) -> Patient:
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    changed = [k for k in PATIENT_FIELDS if k in data and getattr(patient, k) != data[k]]
    for field in changed:
        setattr(patient, field, data[field])
    if changed:
        patient.full_clean()
        patient.save()
        audit.record(
            request=request,
            actor=by,
            action=audit.Action.CHANGE,
            patient=patient,
            obj=patient,
            summary="Changed " + ", ".join(changed),
        )
    return patient


@transaction.atomic
def patient_archive(*, patient: Patient, by, request=None) -> Patient:
    if patient.archived_at is not None:
        raise PatientError("This patient is already archived.")
    patient.archived_at = timezone.now()
    patient.save(update_fields=["archived_at", "updated_at"])
    audit.record(
        request=request, actor=by, action=audit.Action.ARCHIVE, patient=patient, obj=patient
    )
    return patient


@transaction.atomic
def patient_restore(*, patient: Patient, by, request=None) -> Patient:
    if patient.archived_at is None:
        raise PatientError("This patient is not archived.")
    patient.archived_at = None
    patient.save(update_fields=["archived_at", "updated_at"])
    audit.record(
        request=request, actor=by, action=audit.Action.RESTORE, patient=patient, obj=patient
    )
    return patient


@transaction.atomic
def screening_record(
    *,
    patient: Patient,
    taken_on,
    answers: Mapping[str, bool | None],
    answered_by: str,
    by,
    none_apply: bool = False,
    answered_by_name: str = "",
    request=None,
    source: str = "staff",
    **text: str,
) -> Screening:
    """Record a screening: every question answered yes or no (None: not answered), or
    `none_apply` confirmed; `answered_by` says who gave the answers. A questionnaire
    with a question left open is refused, never read as "no". `source` "online": the
    patient answered online themselves (`by` is None), to be confirmed at the visit."""
    if taken_on > timezone.localdate():
        raise PatientError("A screening cannot be dated in the future.")
    if patient.is_archived:
        raise PatientError("This patient is archived; restore them before recording a screening.")
    problems = screening_rules.answer_problems(
        answers,
        none_apply=none_apply,
        answered_by=answered_by,
        answered_by_name=answered_by_name,
    )
    if problems:
        raise PatientError(
            {field if field != "__all__" else NON_FIELD_ERRORS: m for field, m in problems.items()}
        )
    item = Screening(
        patient=patient,
        taken_on=taken_on,
        recorded_by=by,
        source=source,
        answered_by=answered_by,
        answered_by_name=answered_by_name.strip() if answered_by != "patient" else "",
        none_apply=none_apply,
        **screening_rules.recorded_answers(answers, none_apply=none_apply),
        **text,
    )
    item.full_clean()
    item.save()
    positives = ", ".join(q.code for q in item.positive_answers()) or "none"
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CREATE,
        patient=patient,
        obj=item,
        summary=f"Screening recorded (answered by {item.answered_by_text}"
        f"{', self-reported online' if source == 'online' else ''}); reported: {positives}",
    )
    return item


@transaction.atomic
def screening_acknowledge(
    *, screening: Screening, code: str, reason: str, by, request=None
) -> ScreeningAcknowledgement:
    if code not in screening_rules.QUESTION_BY_CODE:
        raise PatientError("Unknown contraindication.")
    if not getattr(screening, code):
        raise PatientError("The patient did not report this, so there is nothing to acknowledge.")
    reason = reason.strip()
    if len(reason) < 5:
        raise PatientError("Write down why treatment can go ahead (at least a few words).")
    if screening.acknowledgements.filter(code=code).exists():
        raise PatientError("This has already been acknowledged.")
    ack = ScreeningAcknowledgement.objects.create(
        screening=screening, code=code, reason=reason, acknowledged_by=by
    )
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.ACKNOWLEDGE,
        patient=screening.patient,
        obj=ack,
        summary=f"Acknowledged {code}",
    )
    return ack


@transaction.atomic
def patient_unsubscribe(*, patient: Patient, request=None) -> Patient:
    """The patient turned marketing messages off from an email link."""
    if patient.consents_to_marketing:
        patient.consents_to_marketing = False
        patient.save(update_fields=["consents_to_marketing", "updated_at"])
        audit.record(
            request=request,
            action=audit.Action.CHANGE,
            patient=patient,
            obj=patient,
            summary="Unsubscribed from marketing by email link",
        )
    return patient


@transaction.atomic
def photo_add(
    *, patient: Patient, data: bytes, kind: str, area: str, taken_on, note: str, by, request=None
):
    if taken_on > timezone.localdate():
        raise PatientError("A photo cannot be dated in the future.")
    try:
        clean = clean_photo(data)
    except PhotoRejected as exc:
        raise PatientError(str(exc)) from exc
    photo = ClinicalPhoto(
        patient=patient,
        kind=kind,
        area=area.strip(),
        taken_on=taken_on,
        note=note.strip(),
        width=clean.width,
        height=clean.height,
        size_bytes=len(clean.content),
        sha256=clean.sha256,
        uploaded_by=by,
    )
    photo.image.save("photo.jpg", ContentFile(clean.content), save=False)
    photo.full_clean()
    photo.save()
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CREATE,
        patient=patient,
        obj=photo,
        summary=f"{kind} photo of {area}",
    )
    return photo


# --- Signed consents


def consent_document_text(*, version, patient: Patient) -> str:
    """What the patient reads and signs: the rendered consent and the evidence note."""
    text = rendered_consent(version=version, patient_name=patient.full_name).strip()
    note = (version.protocol.evidence_note or "").strip()
    if note:
        text += f"\n\nWhat the evidence says\n{note}"
    return text


@transaction.atomic
def consent_sign(
    *,
    patient: Patient,
    protocol,
    version_id: int,
    patient_signature: str,
    practitioner_signature: str,
    by,
    request=None,
    patient_signed_remotely_at=None,
    expected_text_sha256: str = "",
):
    """Record a patient's signature and the practitioner's countersignature, or nothing.

    `version_id` is the version the patient was shown: if the manager published a
    new version meanwhile, signing is refused rather than binding the patient to a
    text they did not read. Signing locks the consent version for good.

    A signature the patient gave on their own phone (online booking) is countersigned
    with `patient_signed_remotely_at` and the SHA-256 of the text they read: if the
    text would now read differently, signing is refused.
    """
    if patient.is_archived:
        raise PatientError("This patient is archived; restore them before signing a consent.")
    current = current_consent(protocol)
    if current is None:
        raise PatientError("This protocol has no consent text yet.")
    if current.pk != version_id:
        raise PatientError(
            "The consent text changed while it was open. "
            "Please read the new version and sign again."
        )
    errors = {}
    signatures = {}
    for field, data_uri in (
        ("patient_signature", patient_signature),
        ("practitioner_signature", practitioner_signature),
    ):
        try:
            signatures[field] = parse_signature(data_uri)
        except SignatureRejected as exc:
            errors[field] = [str(exc)]
    if errors:
        raise PatientError(errors)
    version = ConsentVersion.objects.select_for_update().get(pk=current.pk)
    text = consent_document_text(version=version, patient=patient)
    text_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if expected_text_sha256 and expected_text_sha256 != text_sha256:
        raise PatientError(
            "The consent text the patient signed on their phone is not the one in force "
            "now. Ask them to read and sign the current text."
        )
    signed = SignedConsent.objects.create(
        patient=patient,
        protocol=protocol,
        consent_version=version,
        text=text,
        text_sha256=text_sha256,
        patient_signed_remotely_at=patient_signed_remotely_at,
        patient_signature_png=signatures["patient_signature"].png,
        patient_signature_sha256=signatures["patient_signature"].sha256,
        practitioner=by,
        practitioner_signature_png=signatures["practitioner_signature"].png,
        practitioner_signature_sha256=signatures["practitioner_signature"].sha256,
    )
    consent_version_lock(version=version)
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.SIGN,
        patient=patient,
        obj=signed,
        summary=f"Consent to {protocol.name} v{version.number} signed"
        + (" (patient signed remotely, countersigned)" if patient_signed_remotely_at else ""),
    )
    transaction.on_commit(lambda: consent_pdf_enqueue(signed.pk))
    return signed


def consent_pdf_enqueue(signed_consent_id: int) -> None:
    signed_consent_pdf.delay(signed_consent_id)


@transaction.atomic
def consent_withdraw(*, patient: Patient, protocol, reason: str, by, request=None) -> int:
    """Withdraw every live consent of this patient to this protocol. Returns how many."""
    reason = (reason or "").strip()
    if not reason:
        raise PatientError({"reason": ["Record what the patient said (a short reason)."]})
    live = list(
        SignedConsent.objects.select_for_update(of=("self",))
        .filter(patient=patient, protocol=protocol, withdrawal__isnull=True)
        .order_by("pk")
    )
    if not live:
        raise PatientError("There is no signed consent to withdraw for this protocol.")
    for signed in live:
        ConsentWithdrawal.objects.create(signed_consent=signed, recorded_by=by, reason=reason)
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CHANGE,
        patient=patient,
        obj=live[-1],
        summary=f"Consent to {protocol.name} withdrawn: {reason}",
    )
    return len(live)
