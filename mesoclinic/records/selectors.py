"""Reads for data-rights work: everything Mesoclinic holds about one patient, loaded in a
fixed number of queries, and that record as a FHIR Bundle."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from django.utils import timezone

from billing.models import Invoice, Quote
from mesoclinic.core import roles
from mesoclinic.core.models import OutboundMessage
from mesoclinic.records import fhir
from patients.models import ClinicalPhoto, Patient, Screening, SignedConsent
from protocols.areas import ZONE_BY_CODE
from protocols.screening import QUESTIONS
from sessions.charting.models import SessionChart, SessionDocument
from sessions.scheduling.models import Appointment, Location, TreatmentPlan


@dataclass
class PatientRecord:
    patient: Patient
    appointments: list[Appointment] = field(default_factory=list)
    courses: list[TreatmentPlan] = field(default_factory=list)
    screenings: list[Screening] = field(default_factory=list)
    consents: list[SignedConsent] = field(default_factory=list)
    documents: list[SessionDocument] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)

    def practitioners(self) -> list:
        users = {}
        for a in self.appointments:
            users[a.practitioner_id] = a.practitioner
            chart = getattr(a, "chart", None)
            if chart is not None and chart.signed_by_id:
                users[chart.signed_by_id] = chart.signed_by
        for c in self.courses:
            users[c.practitioner_id] = c.practitioner
        for s in self.screenings:
            users[s.recorded_by_id] = s.recorded_by
        return [users[k] for k in sorted(users)]

    def locations(self) -> list:
        found = {a.location_id: a.location for a in self.appointments}
        found.update({c.location_id: c.location for c in self.courses})
        return [found[k] for k in sorted(found)]


def patient_record(patient: Patient) -> PatientRecord:
    """Eleven queries whatever the size of the record."""
    charts = SessionChart.objects.select_related(
        "signed_by", "signed_by__staff_account"
    ).prefetch_related("products", "areas", "adverse_events")
    appointments = list(
        Appointment.objects.filter(patient=patient)
        .select_related(
            "protocol", "location", "course", "practitioner", "practitioner__staff_account"
        )
        .prefetch_related(Prefetch("chart", queryset=charts))
        .order_by("starts_at", "id")
    )
    courses = list(
        TreatmentPlan.objects.filter(patient=patient)
        .select_related("protocol", "location", "practitioner", "practitioner__staff_account")
        .order_by("created_at", "id")
    )
    screenings = list(
        Screening.objects.filter(patient=patient)
        .select_related("recorded_by", "recorded_by__staff_account")
        .order_by("taken_on", "id")
    )
    consents = list(
        SignedConsent.objects.filter(patient=patient)
        .select_related("protocol", "withdrawal")
        .defer("text")  # the consent's full text is in its PDF
        .order_by("signed_at", "id")
    )
    documents = list(
        SessionDocument.objects.filter(appointment__patient=patient).order_by("generated_at", "id")
    )
    invoices = list(
        Invoice.objects.filter(patient=patient)
        .prefetch_related("lines")
        .order_by("created_at", "id")
    )
    # The patient and the appointments are read once; the other rows point at those.
    for row in (*appointments, *courses, *screenings, *consents, *invoices):
        row.patient = patient
    by_id = {a.pk: a for a in appointments}
    for document in documents:
        document.appointment = by_id[document.appointment_id]
    return PatientRecord(
        patient=patient,
        appointments=appointments,
        courses=courses,
        screenings=screenings,
        consents=consents,
        documents=documents,
        invoices=invoices,
    )


def fhir_context(*, base_url: str | None = None) -> fhir.Context:
    site = settings.SITE_URL.rstrip("/")
    return fhir.Context(
        base_url=base_url or f"{site}/fhir",
        code_system_base=settings.FHIR_CODE_SYSTEM_BASE,
        currency=settings.CLINIC_CURRENCY,
        now=timezone.now(),
        clinic_name=settings.CLINIC_NAME,
    )


def _withdrawal(consent):
    try:
        return consent.withdrawal
    except SignedConsent.withdrawal.RelatedObjectDoesNotExist:
        return None


def _chart(appointment):
    try:
        return appointment.chart
    except Appointment.chart.RelatedObjectDoesNotExist:
        return None


def record_resources(
    record: PatientRecord, ctx: fhir.Context, *, file_urls: dict[str, str] | None = None
) -> list[dict]:
    """Every resource of the patient's record, referenced resources first.

    `file_urls` maps a DocumentReference id to where its PDF is (the path inside a
    subject-access ZIP); without it the attachment carries no URL.
    """
    file_urls = file_urls or {}
    zone_labels = {code: zone.label for code, zone in ZONE_BY_CODE.items()}
    patient = record.patient
    resources = [fhir.patient(patient, ctx)]
    resources += [fhir.practitioner(u, ctx) for u in record.practitioners()]
    resources += [fhir.location(loc, ctx) for loc in record.locations()]
    by_course: dict[int, list] = {}
    for a in record.appointments:
        if a.course_id:
            by_course.setdefault(a.course_id, []).append(a)
    resources += [fhir.careplan(c, by_course.get(c.pk, []), ctx) for c in record.courses]
    resources += [fhir.appointment(a, ctx) for a in record.appointments]
    for a in record.appointments:
        chart = _chart(a)
        if a.status != Appointment.Status.COMPLETED or chart is None:
            continue
        resources += [fhir.device(p, patient, ctx) for p in chart.products.all()]
        resources.append(fhir.procedure(a, chart, zone_labels, ctx))
    resources += [fhir.questionnaire_response(s, QUESTIONS, ctx) for s in record.screenings]
    for c in record.consents:
        doc_id = fhir.document_id("consent", c) if c.pdf else None
        if doc_id:
            resources.append(
                fhir.document_reference(
                    resource_id=doc_id,
                    patient_row=patient,
                    title=f"Signed consent: {c.protocol.name}",
                    kind_code="consent",
                    kind_label="Signed consent",
                    created=c.signed_at,
                    url=file_urls.get(doc_id, ""),
                    sha256=c.pdf_sha256,
                    ctx=ctx,
                )
            )
        resources.append(fhir.consent(c, _withdrawal(c), doc_id, ctx))
    charts_by_appointment = {a.pk: _chart(a) for a in record.appointments}
    for d in record.documents:
        doc_id = fhir.document_id(d.kind, d)
        chart = charts_by_appointment.get(d.appointment_id)
        related = [fhir.ref("Appointment", fhir.appointment_id(d.appointment))]
        resources.append(
            fhir.document_reference(
                resource_id=doc_id,
                patient_row=patient,
                title=f"{d.get_kind_display()} {d.appointment.starts_at:%Y-%m-%d}",
                kind_code=d.kind,
                kind_label=d.get_kind_display(),
                created=d.generated_at,
                url=file_urls.get(doc_id, ""),
                context_refs=related
                if chart is None or d.appointment.status != "completed"
                else [*related, fhir.ref("Procedure", fhir.procedure_id(chart))],
                ctx=ctx,
            )
        )
    resources += [fhir.invoice(i, ctx) for i in record.invoices]
    return resources


def patient_bundle(patient: Patient, *, file_urls: dict[str, str] | None = None) -> dict:
    ctx = fhir_context()
    return fhir.bundle(record_resources(patient_record(patient), ctx, file_urls=file_urls), ctx)


def practitioner_on_record(user, record) -> bool:
    """practitioner_may_export, from a patient record already read (sessions.patient_record)."""
    return any(a.practitioner_id == user.pk for a in record.appointments) or any(
        c.practitioner_id == user.pk for c in record.courses
    )


def practitioner_may_export(user, patient: Patient) -> bool:
    """A practitioner's own patients: those they have a booking or a course with (one query)."""
    return Patient.objects.filter(
        Q(pk=patient.pk)
        & (
            Q(pk__in=Appointment.objects.filter(practitioner=user).values("patient"))
            | Q(pk__in=TreatmentPlan.objects.filter(practitioner=user).values("patient"))
        )
    ).exists()


def patient_messages(patient: Patient):
    return OutboundMessage.objects.filter(patient_id=patient.pk).order_by("due_at", "id")


def patient_photos(patient: Patient):
    return ClinicalPhoto.objects.filter(patient=patient).order_by("taken_on", "id")


def patient_quotes(patient: Patient):
    return Quote.objects.filter(patient=patient).order_by("created_at", "id")


def own_patients_q(user) -> Q:
    return Q(appointments__practitioner=user) | Q(courses__practitioner=user)


def data_rights_overview(patient: Patient) -> dict:
    """What the manager's panel lists: this patient's exports and erasure requests."""
    from mesoclinic.records.models import ErasureRequest, SubjectAccessExport

    return {
        "exports": list(
            SubjectAccessExport.objects.filter(patient=patient).select_related("requested_by")[:5]
        ),
        "erasure": ErasureRequest.objects.filter(patient=patient)
        .select_related("requested_by")
        .first(),
    }


# --- the FHIR API's reads, within a token's scope ------------------------------------


def _api_patients(token):
    rows = Patient.objects.all()
    if token.scope == token.Scope.PRACTITIONER:
        rows = rows.filter(
            Q(pk__in=Appointment.objects.filter(practitioner=token.practitioner).values("patient"))
            | Q(
                pk__in=TreatmentPlan.objects.filter(practitioner=token.practitioner).values(
                    "patient"
                )
            )
        )
    return rows.order_by("last_name", "first_name", "id")


def _api_appointments(token):
    rows = Appointment.objects.select_related(
        "patient", "protocol", "location", "course", "practitioner", "practitioner__staff_account"
    )
    if token.scope == token.Scope.PRACTITIONER:
        rows = rows.filter(practitioner=token.practitioner)
    return rows.order_by("starts_at", "id")


def _api_practitioners(token):
    return (
        get_user_model()
        .objects.filter(groups__name=roles.PRACTITIONER)
        .select_related("staff_account")
        .order_by("last_name", "first_name", "id")
    )


def _api_locations(token):
    return Location.objects.order_by("name", "id")


_API_ROWS = {
    "Patient": (_api_patients, "public_id"),
    "Appointment": (_api_appointments, "public_id"),
    "Practitioner": (_api_practitioners, "staff_account__public_id"),
    "Location": (_api_locations, "public_id"),
}


def api_get(token, resource_type: str, resource_id: str):
    """One row the token may see, or None (unknown and out-of-scope look the same)."""
    try:
        key = uuid.UUID(resource_id)
    except ValueError:
        return None
    rows, id_field = _API_ROWS[resource_type]
    return rows(token).filter(**{id_field: key}).first()


def api_search(
    token,
    resource_type: str,
    *,
    ids,
    name: str,
    birthdate,
    dates,
    patient,
    practitioner,
    status: str,
):
    """(rows, the patient when the search names exactly one) within the token's scope."""
    rows_of, id_field = _API_ROWS[resource_type]
    rows = rows_of(token)
    one_patient = None
    if ids:
        rows = rows.filter(**{f"{id_field}__in": ids})
    if name and resource_type == "Patient":
        rows = rows.filter(search_name__icontains=" ".join(name.lower().split()))
    elif name and resource_type == "Practitioner":
        rows = rows.filter(Q(first_name__icontains=name) | Q(last_name__icontains=name))
    elif name and resource_type == "Location":
        rows = rows.filter(name__icontains=name)
    if birthdate and resource_type == "Patient":
        rows = rows.filter(date_of_birth=birthdate)
    if resource_type == "Appointment":
        for lookup, value in dates:
            rows = rows.filter(**{lookup: value})
        if patient:
            rows = rows.filter(patient__public_id=patient)
            one_patient = _api_patients(token).filter(public_id=patient).first()
        if practitioner:
            rows = rows.filter(practitioner__staff_account__public_id=practitioner)
        if status:
            wanted = [k for k, v in fhir.APPOINTMENT_STATUS.items() if v == status]
            rows = rows.filter(status__in=wanted)
    return rows, one_patient


# --- retention --------------------------------------------------------------------------


def retention_facts(patient: Patient, *, today=None):
    from billing.models import Invoice as InvoiceModel
    from mesoclinic.records import retention
    from patients.models import ConsentWithdrawal

    now = timezone.now()
    today = today or timezone.localdate(now)
    completed = list(
        Appointment.objects.filter(
            patient=patient, status=Appointment.Status.COMPLETED
        ).values_list("starts_at", flat=True)
    )
    treatment_days = tuple(sorted(timezone.localdate(t) for t in completed))
    clinical_days = list(treatment_days)
    clinical_days += list(
        Screening.objects.filter(patient=patient).values_list("taken_on", flat=True)
    )
    clinical_days += [
        timezone.localdate(t)
        for t in SignedConsent.objects.filter(patient=patient).values_list("signed_at", flat=True)
    ]
    clinical_days += [
        timezone.localdate(t)
        for t in ConsentWithdrawal.objects.filter(signed_consent__patient=patient).values_list(
            "withdrawn_at", flat=True
        )
    ]
    invoices = [
        timezone.localdate(t)
        for t in InvoiceModel.objects.filter(patient=patient, issued_at__isnull=False).values_list(
            "issued_at", flat=True
        )
    ]
    return retention.Facts(
        today=today,
        clinical_years=settings.CLINIC_RETENTION_YEARS,
        billing_years=settings.BILLING_RETENTION_YEARS,
        last_clinical=max(clinical_days, default=None),
        last_invoice=max(invoices, default=None),
        treatment_days=treatment_days,
        photo_days=tuple(
            ClinicalPhoto.objects.filter(patient=patient).values_list("taken_on", flat=True)
        ),
        future_bookings=Appointment.objects.filter(
            patient=patient, status__in=Appointment.UPCOMING_STATUSES, starts_at__gt=now
        ).count(),
        messages=OutboundMessage.objects.filter(patient_id=patient.pk).count(),
    )
