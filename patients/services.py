"""Writes about patients: registering, editing, archiving, screening."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mesoclinic import audit
from patients import screening as screening_rules
from patients.models import Patient, Screening, ScreeningAcknowledgement
from patients.selectors import possible_duplicates


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
    *, patient: Patient, taken_on, answers: dict[str, bool], by, request=None, **text: str
) -> Screening:
    if taken_on > timezone.localdate():
        raise PatientError("A screening cannot be dated in the future.")
    if patient.is_archived:
        raise PatientError("This patient is archived; restore them before recording a screening.")
    unknown = set(answers) - set(screening_rules.QUESTION_BY_CODE)
    if unknown:
        raise PatientError(f"Unknown screening questions: {', '.join(sorted(unknown))}.")
    item = Screening(patient=patient, taken_on=taken_on, recorded_by=by, **answers, **text)
    item.full_clean()
    item.save()
    positives = ", ".join(q.code for q in item.positive_answers()) or "none"
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.CREATE,
        patient=patient,
        obj=item,
        summary=f"Screening recorded; reported: {positives}",
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
    from django.core.files.base import ContentFile

    from patients.models import ClinicalPhoto
    from patients.photos import PhotoRejected, clean_photo

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
