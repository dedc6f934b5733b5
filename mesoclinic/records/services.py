"""Writes for data rights: API tokens, subject-access exports, erasure requests."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from mesoclinic.core import audit, outbox, roles
from mesoclinic.core.models import OutboundMessage
from mesoclinic.records import retention, sar
from mesoclinic.records.models import ApiToken, ErasureRequest, SubjectAccessExport
from patients.models import ClinicalPhoto, Patient, Screening, SignedConsent
from sessions.charting.models import SessionDocument
from sessions.scheduling.models import Appointment

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


# --- subject-access exports ------------------------------------------------------------


def sar_request(*, patient, by, request=None) -> SubjectAccessExport:
    """Record the request and build the ZIP in a worker once the request is saved."""
    from mesoclinic.records import tasks  # tasks imports this module: a genuine cycle

    with transaction.atomic():
        export = SubjectAccessExport.objects.create(patient=patient, requested_by=by)
        audit.record(
            request=request,
            actor=by,
            action=audit.Action.EXPORT,
            patient=patient,
            obj=export,
            summary="Subject-access export requested",
        )
        transaction.on_commit(lambda: tasks.build_subject_access_export.delay(export.pk))
    return export


def sar_build(*, export_id: int) -> bool:
    """Build and store the ZIP, once. True if this call built it."""
    export = SubjectAccessExport.objects.select_related("patient").get(pk=export_id)
    if export.status != SubjectAccessExport.Status.PENDING:
        return False
    try:
        content, count, missing = sar.build_zip(export.patient)
    except Exception as exc:
        SubjectAccessExport.objects.filter(pk=export.pk, status="pending").update(
            status=SubjectAccessExport.Status.FAILED, error=str(exc)[:500]
        )
        raise
    name = default_storage.save(
        SubjectAccessExport.file.field.generate_filename(export, "export.zip"),
        ContentFile(content),
    )
    with transaction.atomic():
        stored = SubjectAccessExport.objects.filter(pk=export.pk, status="pending").update(
            status=SubjectAccessExport.Status.READY,
            file=name,
            size_bytes=len(content),
            sha256=sar.sha256(content),
            files_included=count,
            completed_at=timezone.now(),
            error="; ".join(missing)[:500],
        )
        if stored:
            audit.record(
                actor_label="system",
                action=audit.Action.EXPORT,
                patient=export.patient,
                obj=export,
                summary=f"Subject-access export built: {count} files, {len(content)} bytes",
            )
    if not stored:  # another worker finished first
        default_storage.delete(name)
    return bool(stored)


def sar_send_link(*, export: SubjectAccessExport, by, request=None) -> str:
    """Email the patient a signed link to download the ZIP; returns the address."""
    patient = export.patient
    if export.status != SubjectAccessExport.Status.READY:
        raise RecordsError("This export is not ready to send.")
    if not patient.email:
        raise RecordsError(
            "The patient has no email address: download the export and hand it over instead."
        )
    with transaction.atomic():
        locked = SubjectAccessExport.objects.select_for_update().get(pk=export.pk)
        if locked.link_sent_at is not None:
            raise RecordsError(f"The link was already sent to {locked.link_sent_to}.")
        outbox.message_schedule(
            kind="subject_access_link",
            subject=locked,
            due_at=timezone.now(),
            recipient=patient.email,
            patient=patient,
            respect_quiet_hours=False,
        )
        SubjectAccessExport.objects.filter(pk=export.pk).update(
            link_sent_at=timezone.now(), link_sent_to=patient.email
        )
        audit.record(
            request=request,
            actor=by,
            action=audit.Action.EMAIL,
            patient=patient,
            obj=export,
            summary=f"Subject-access download link sent to {patient.email}",
        )
    return patient.email


def sar_downloaded(*, export: SubjectAccessExport, by=None, request=None) -> None:
    """Audit a download of the ZIP: by staff (`by`), or by the patient from their signed
    link (no `by`)."""
    who = "by staff" if by is not None else "by the patient from their link"
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.DOWNLOAD,
        patient=export.patient,
        obj=export,
        summary=f"Subject-access export downloaded {who}",
    )


def fhir_exported(*, patient, resources: int, by, request=None) -> None:
    """Audit a FHIR R4 export of the patient's record (how many resources it held)."""
    audit.record(
        request=request,
        actor=by,
        action=audit.Action.EXPORT,
        patient=patient,
        obj=patient,
        summary=f"FHIR R4 export: {resources} resources",
    )


# --- erasure and retention --------------------------------------------------------------

ANONYMOUS_BIRTH_DATE = date(1900, 1, 1)


def erasure_request(*, patient, by, note: str = "", request=None, today=None) -> ErasureRequest:
    """Erase now what no duty keeps, cancel future bookings and waiting messages, and
    record what is retained until when. Nothing clinical is deleted early."""
    from mesoclinic.records import selectors  # selectors reads models this module writes

    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if ErasureRequest.objects.filter(patient=locked).exists():
            raise RecordsError("An erasure request for this patient is already recorded.")
        facts = selectors.retention_facts(locked, today=today)
        items = retention.plan(facts)
        _cancel_future_bookings(locked, by=by)
        erasure = ErasureRequest.objects.create(
            patient=locked,
            requested_by=by,
            note=note.strip()[:500],
            plan=[i.as_dict() for i in items],
            status=ErasureRequest.Status.RETAINED,
        )
        _erase(erasure, retention.due(items, facts.today), items)
        audit.record(
            request=request,
            actor=by,
            action=audit.Action.ERASURE,
            patient=locked,
            obj=erasure,
            summary=_erasure_summary(items),
        )
    return erasure


def _erasure_summary(items) -> str:
    erased = [i.key for i in items if i.action == retention.ERASE]
    kept = [f"{i.key} until {i.until:%Y-%m-%d}" for i in items if i.until]
    return f"Erasure: erased {', '.join(erased)}; retained {', '.join(kept) or 'nothing'}"


def _cancel_future_bookings(patient, *, by) -> None:
    from sessions.scheduling import services as scheduling

    upcoming = Appointment.objects.filter(
        patient=patient, status__in=Appointment.UPCOMING_STATUSES, starts_at__gt=timezone.now()
    )
    for appointment in upcoming:
        scheduling.appointment_cancel(
            appointment=appointment,
            reason="Erasure request",
            by=by,
            party="clinic",  # the clinic carries out the request: never a late fee
            late=False,
        )


def _erase(erasure: ErasureRequest, keys: set[str], items) -> None:
    """Carry out the due items not yet done; update the request's status."""
    patient = erasure.patient
    todo = keys - set(erasure.erased)
    if retention.CONTACT in todo:
        Patient.objects.filter(pk=patient.pk).update(
            phone="", email="", address_line1="", address_line2="", city="", postcode=""
        )
    if retention.MARKETING in todo:
        Patient.objects.filter(pk=patient.pk).update(
            consents_to_marketing=False, consents_to_transactional=False
        )
    if retention.MESSAGES in todo:
        mine = OutboundMessage.objects.filter(patient_id=patient.pk)
        mine.filter(state=OutboundMessage.State.PENDING).update(
            state=OutboundMessage.State.CANCELLED
        )
        mine.update(recipient="", email_subject="", last_error="")
    if retention.OTHER_PHOTOS in todo or retention.CLINICAL in todo:
        treatment_days = tuple(
            timezone.localdate(t)
            for t in Appointment.objects.filter(
                patient=patient, status=Appointment.Status.COMPLETED
            ).values_list("starts_at", flat=True)
        )
        for photo in ClinicalPhoto.objects.filter(patient=patient):
            clinical = retention.photo_is_clinical(photo.taken_on, treatment_days)
            if retention.CLINICAL in todo or not clinical:
                _delete_file(photo.image.name)
                photo.delete()
    if retention.CLINICAL in todo:
        _purge_clinical(patient)
    if retention.IDENTITY in todo:
        fresh = Patient.objects.get(pk=patient.pk)
        fresh.first_name = "Erased"
        fresh.last_name = f"patient {patient.pk}"
        fresh.preferred_name = ""
        fresh.date_of_birth = ANONYMOUS_BIRTH_DATE
        fresh.notes = ""
        fresh.allergies = ""
        fresh.archived_at = fresh.archived_at or timezone.now()
        fresh.save()
    else:
        Patient.objects.filter(pk=patient.pk, archived_at__isnull=True).update(
            archived_at=timezone.now()
        )
    erased = sorted(set(erasure.erased) | todo)
    retained = [i for i in items if i.key not in erased and i.until is not None]
    done = retention.IDENTITY in erased
    ErasureRequest.objects.filter(pk=erasure.pk).update(
        erased=erased,
        retained_until=max((i.until for i in retained), default=None),
        status=ErasureRequest.Status.COMPLETE if done else ErasureRequest.Status.RETAINED,
        completed_at=timezone.now() if done else None,
    )
    erasure.refresh_from_db()


def _delete_file(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def _purge_clinical(patient) -> None:
    """The clinical record's time is over: its files go and its free text about the
    person; the structured rows stay as anonymous history once the identity goes."""
    for document in SessionDocument.objects.filter(appointment__patient=patient):
        _delete_file(document.file.name)
        document.delete()
    for consent in SignedConsent.objects.filter(patient=patient).exclude(pdf=""):
        _delete_file(consent.pdf.name)
    Screening.objects.filter(patient=patient).update(
        current_medications="", other_information="", answered_by_name=""
    )
    Patient.objects.filter(pk=patient.pk).update(notes="", allergies="")


def retention_apply(*, today=None) -> dict[str, int]:
    """The daily job: finish erasure requests whose retention has ended, anonymise
    patients whose every retention period has ended, delete expired export files.
    Idempotent: a second run the same day changes nothing."""
    from mesoclinic.records import selectors

    today = today or timezone.localdate()
    counts = {"requests_advanced": 0, "patients_anonymised": 0, "exports_expired": 0}
    for erasure in ErasureRequest.objects.filter(
        status=ErasureRequest.Status.RETAINED
    ).select_related("patient"):
        with transaction.atomic():
            facts = selectors.retention_facts(erasure.patient, today=today)
            items = retention.plan(facts)
            keys = retention.due(items, today) - set(erasure.erased)
            # Only what the request left retained: bookings and contact went at once.
            if keys:
                _erase(erasure, keys, items)
                counts["requests_advanced"] += 1
                audit.record(
                    actor_label="retention job",
                    action=audit.Action.RETENTION,
                    patient=erasure.patient,
                    obj=erasure,
                    summary=f"Retention ended: erased {', '.join(sorted(keys))}",
                )
    counts["patients_anonymised"] = _anonymise_lapsed(today)
    cutoff = timezone.now() - timedelta(days=settings.SUBJECT_ACCESS_LINK_DAYS)
    for export in SubjectAccessExport.objects.filter(
        status=SubjectAccessExport.Status.READY, completed_at__lt=cutoff
    ):
        with transaction.atomic():
            if SubjectAccessExport.objects.filter(pk=export.pk, status="ready").update(
                status=SubjectAccessExport.Status.EXPIRED, file=""
            ):
                _delete_file(export.file.name)
                counts["exports_expired"] += 1
    return counts


def _anonymise_lapsed(today) -> int:
    """Patients with no erasure request whose records have all passed their time: no
    activity (registration, booking, invoice) within the shorter retention period."""
    from django.db.models import Max
    from django.db.models.functions import Greatest

    from mesoclinic.records import selectors

    shorter = min(settings.CLINIC_RETENTION_YEARS, settings.BILLING_RETENTION_YEARS)
    cutoff = retention.add_years(today, -shorter)
    candidates = (
        Patient.objects.filter(erasure_requests__isnull=True, created_at__date__lt=cutoff)
        .annotate(
            last=Greatest(Max("appointments__starts_at"), Max("invoices__issued_at"), "created_at")
        )
        .filter(last__date__lt=cutoff)
    )
    done = 0
    for patient in candidates:
        with transaction.atomic():
            locked = Patient.objects.select_for_update().get(pk=patient.pk)
            facts = selectors.retention_facts(locked, today=today)
            if (
                not retention.retention_ended(facts)
                or ErasureRequest.objects.filter(patient=locked).exists()
            ):
                continue
            if facts.future_bookings:
                continue
            items = retention.plan(facts)
            erasure = ErasureRequest.objects.create(
                patient=locked,
                note="Retention periods ended (daily retention job)",
                plan=[i.as_dict() for i in items],
                status=ErasureRequest.Status.RETAINED,
            )
            _erase(erasure, retention.due(items, today), items)
            audit.record(
                actor_label="retention job",
                action=audit.Action.RETENTION,
                patient=locked,
                obj=erasure,
                summary="Retention periods ended: patient anonymised",
            )
            done += 1
    return done
