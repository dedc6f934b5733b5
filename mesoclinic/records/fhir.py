"""FHIR R4 (4.0.1) resources from Mesoclinic's rows: pure functions, one per resource.

No Django here (an import-linter contract checks it): each function takes rows already
loaded by `mesoclinic.records.selectors` (attributes and `get_*_display()` only, no
queries) and a `Context`, and returns the resource as a plain dict ready for JSON.

Codes: SNOMED CT for body sites where a concept is known (`BODY_SITE_SNOMED`), LOINC for
the consent category; everything without a standard code (protocols, techniques, kit
kinds, screening questions) uses the clinic's own code systems under
`Context.code_system_base`, one stable URL per list. No SNOMED CT concept for
"PRP injection" or "mesotherapy" was confirmed, so procedures carry the protocol's local
code and its name as text rather than a guessed code.

Ids: the rows' random public ids where they have one, else `<kind>-<primary key>`; ids
are only meaningful inside one export or behind the API's access checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"

# Treatment zones (protocols.areas) with a SNOMED CT body structure concept.
BODY_SITE_SNOMED: dict[str, tuple[str, str]] = {
    "scalp_frontal": ("41695006", "Scalp structure"),
    "scalp_midscalp": ("41695006", "Scalp structure"),
    "scalp_crown": ("41695006", "Scalp structure"),
    "scalp_temporal_left": ("41695006", "Scalp structure"),
    "scalp_temporal_right": ("41695006", "Scalp structure"),
    "scalp_occipital": ("41695006", "Scalp structure"),
    "face_forehead": ("52795006", "Forehead structure"),
    "face_cheek_left": ("60819002", "Cheek structure"),
    "face_cheek_right": ("60819002", "Cheek structure"),
    "face_nose": ("45206002", "Nasal structure"),
    "face_chin": ("30291003", "Chin structure"),
    "face_jawline": ("661005", "Jaw region structure"),
    "neck": ("45048000", "Neck structure"),
    "hands": ("85562004", "Hand structure"),
    "abdomen": ("113345001", "Abdominal structure"),
    "thighs": ("68367000", "Thigh structure"),
    "buttocks": ("46862004", "Buttock structure"),
    "upper_arms": ("40983000", "Upper arm structure"),
}

APPOINTMENT_STATUS = {
    "booked": "booked",
    "confirmed": "booked",
    "checked_in": "checked-in",
    "in_treatment": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
CAREPLAN_STATUS = {"active": "active", "completed": "completed", "cancelled": "revoked"}
GENDER = {"female": "female", "male": "male", "intersex": "other", "not_stated": "unknown"}


@dataclass(frozen=True)
class Context:
    """Where the export comes from: the FHIR base URL (for fullUrl), the base of the
    clinic's own code systems, the currency, and the export time."""

    base_url: str
    code_system_base: str
    currency: str
    now: datetime
    clinic_name: str = ""

    def system(self, name: str) -> str:
        return f"{self.code_system_base.rstrip('/')}/{name}"


def instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def ref(resource_type: str, resource_id: str, display: str = "") -> dict:
    reference = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        reference["display"] = display
    return reference


def _clean(value):
    """Drop empty values: FHIR forbids empty strings, lists and objects."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        cleaned = [_clean(v) for v in value]
        return [v for v in cleaned if v not in (None, "", [], {})]
    return value


def _money(amount: Decimal, currency: str) -> dict:
    return {"value": float(amount), "currency": currency}


# --- ids --------------------------------------------------------------------------


def patient_id(patient) -> str:
    return str(patient.public_id)


def practitioner_id(user) -> str:
    return str(user.staff_account.public_id)


def location_id(location) -> str:
    return str(location.public_id)


def appointment_id(appointment) -> str:
    return str(appointment.public_id)


def careplan_id(course) -> str:
    return str(course.public_id)


def procedure_id(chart) -> str:
    return str(chart.public_id)


def device_id(product) -> str:
    return f"device-{product.pk}"


def screening_id(screening) -> str:
    return f"screening-{screening.pk}"


def consent_id(consent) -> str:
    return str(consent.public_id)


def document_id(kind: str, document) -> str:
    return f"{kind}-{document.public_id}"


def invoice_id(invoice) -> str:
    return str(invoice.public_id)


# --- resources --------------------------------------------------------------------


def patient(row, ctx: Context) -> dict:
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone, "use": "mobile"})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    address = {
        "line": [x for x in (row.address_line1, row.address_line2) if x],
        "city": row.city,
        "postalCode": row.postcode,
    }
    names = [{"use": "official", "family": row.last_name, "given": [row.first_name]}]
    if row.preferred_name:
        names.append({"use": "usual", "family": row.last_name, "given": [row.preferred_name]})
    return _clean(
        {
            "resourceType": "Patient",
            "id": patient_id(row),
            "active": row.archived_at is None,
            "name": names,
            "telecom": telecom,
            "gender": GENDER.get(row.sex, "unknown"),
            "birthDate": day(row.date_of_birth),
            "address": [address] if any(address.values()) else [],
        }
    )


def practitioner(user, ctx: Context) -> dict:
    name = {"family": user.last_name, "given": [user.first_name] if user.first_name else []}
    if not user.last_name:
        name = {"text": user.get_full_name() or user.get_username()}
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": practitioner_id(user),
            "active": user.is_active,
            "name": [name],
        }
    )


def location(row, ctx: Context) -> dict:
    return _clean(
        {
            "resourceType": "Location",
            "id": location_id(row),
            "status": "active" if row.is_active else "inactive",
            "name": row.name,
            "telecom": [{"system": "phone", "value": row.phone}] if row.phone else [],
            "address": {"text": row.address} if row.address else None,
        }
    )


def _protocol_code(ctx: Context, protocol) -> dict:
    return {
        "coding": [
            {"system": ctx.system("protocol"), "code": str(protocol.pk), "display": protocol.name}
        ],
        "text": protocol.name,
    }


def appointment(row, ctx: Context) -> dict:
    participants = [
        {
            "actor": ref("Patient", patient_id(row.patient), row.patient.full_name),
            "status": "accepted",
        },
        {
            "actor": ref(
                "Practitioner", practitioner_id(row.practitioner), row.practitioner.get_full_name()
            ),
            "status": "accepted",
        },
        {
            "actor": ref("Location", location_id(row.location), row.location.name),
            "status": "accepted",
        },
    ]
    supporting = []
    if row.course_id:
        supporting.append(ref("CarePlan", careplan_id(row.course)))
    description = row.get_kind_display()
    if row.protocol_id:
        description = f"{row.protocol.name}: {description.lower()}"
        if row.sequence:
            description += f" {row.sequence}"
    return _clean(
        {
            "resourceType": "Appointment",
            "id": appointment_id(row),
            "status": APPOINTMENT_STATUS[row.status],
            "cancelationReason": {"text": row.cancel_reason} if row.cancel_reason else None,
            "serviceType": [
                {
                    "coding": [
                        {
                            "system": ctx.system("appointment-kind"),
                            "code": row.kind,
                            "display": row.get_kind_display(),
                        }
                    ]
                }
            ],
            "description": description,
            "start": instant(row.starts_at),
            "end": instant(row.ends_at),
            "created": instant(row.created_at),
            "comment": row.notes,
            "supportingInformation": supporting,
            "participant": participants,
        }
    )


def careplan(course, appointments, ctx: Context) -> dict:
    """A course: the protocol, its spacing (as a Timing: N sessions every target days,
    with the allowed window in words) and a reference to each of its appointments."""
    protocol = course.protocol
    spacing = (
        f"{course.sessions_planned} sessions, {course.target_interval_days} days apart "
        f"(at least {course.min_interval_days}, at most {course.max_interval_days})"
    )
    if course.maintenance_interval_months:
        spacing += f"; maintenance every {course.maintenance_interval_months} months"
    activities = [
        {
            "detail": {
                "kind": "Appointment",
                "code": _protocol_code(ctx, protocol),
                "status": "completed"
                if course.status == "completed"
                else ("cancelled" if course.status == "cancelled" else "in-progress"),
                "scheduledTiming": {
                    "repeat": {
                        "count": course.sessions_planned,
                        "frequency": 1,
                        "period": course.target_interval_days,
                        "periodUnit": "d",
                    }
                },
                "location": ref("Location", location_id(course.location), course.location.name),
                "performer": [ref("Practitioner", practitioner_id(course.practitioner))],
                "description": spacing,
            }
        }
    ]
    activities += [{"reference": ref("Appointment", appointment_id(a))} for a in appointments]
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": careplan_id(course),
            "status": CAREPLAN_STATUS[course.status],
            "intent": "plan",
            "title": f"{protocol.name} course",
            "description": spacing,
            "subject": ref("Patient", patient_id(course.patient)),
            "created": instant(course.created_at),
            "author": ref("Practitioner", practitioner_id(course.practitioner)),
            "activity": activities,
            "note": [{"text": course.notes}] if course.notes else [],
        }
    )


def body_site(zone_code: str, zone_label: str, ctx: Context) -> dict:
    codings = []
    if zone_code in BODY_SITE_SNOMED:
        code, display = BODY_SITE_SNOMED[zone_code]
        codings.append({"system": SNOMED, "code": code, "display": display})
    codings.append(
        {"system": ctx.system("treatment-zone"), "code": zone_code, "display": zone_label}
    )
    return {"coding": codings, "text": zone_label}


def device(product, patient_row, ctx: Context) -> dict:
    """A kit, tube or product used in a session: its lot and expiry (for recalls)."""
    name = " ".join(x for x in (product.brand, product.name) if x)
    return _clean(
        {
            "resourceType": "Device",
            "id": device_id(product),
            "status": "inactive",
            "manufacturer": product.brand,
            "lotNumber": product.lot_number,
            "expirationDate": day(product.expiry_date),
            "deviceName": [{"name": name, "type": "user-friendly-name"}],
            "type": {
                "coding": [
                    {
                        "system": ctx.system("chart-product-kind"),
                        "code": product.kind,
                        "display": product.get_kind_display(),
                    }
                ]
            },
            "patient": ref("Patient", patient_id(patient_row)),
        }
    )


def procedure(appointment_row, chart, zone_labels: dict[str, str], ctx: Context) -> dict:
    """A completed session: what was done, where on the body, with which lots."""
    notes = [
        x
        for x in (
            f"Technique: {chart.get_technique_display()}" if chart.technique else "",
            f"PRP yield {chart.prp_yield_ml} ml" if chart.prp_yield_ml else "",
            f"Immediate reactions: {chart.immediate_reactions}"
            if chart.immediate_reactions
            else "",
            chart.notes,
        )
        if x
    ]
    complications = [
        {"text": f"{e.get_type_display()} ({e.get_severity_display().lower()}): {e.action_taken}"}
        for e in chart.adverse_events.all()
    ]
    return _clean(
        {
            "resourceType": "Procedure",
            "id": procedure_id(chart),
            "status": "completed",
            "basedOn": [ref("CarePlan", careplan_id(appointment_row.course))]
            if appointment_row.course_id
            else [],
            "code": _protocol_code(ctx, appointment_row.protocol),
            "subject": ref("Patient", patient_id(appointment_row.patient)),
            "performedPeriod": {
                "start": instant(appointment_row.started_at or appointment_row.starts_at),
                "end": instant(appointment_row.completed_at or appointment_row.ends_at),
            },
            "recorder": ref("Practitioner", practitioner_id(chart.signed_by))
            if chart.signed_by_id
            else None,
            "performer": [
                {"actor": ref("Practitioner", practitioner_id(appointment_row.practitioner))}
            ],
            "location": ref("Location", location_id(appointment_row.location)),
            "bodySite": [
                body_site(a.zone, zone_labels.get(a.zone, a.zone), ctx) for a in chart.areas.all()
            ],
            "complication": complications,
            "focalDevice": [
                {
                    "action": {"text": "used"},
                    "manipulated": ref("Device", device_id(p), f"lot {p.lot_number}"),
                }
                for p in chart.products.all()
            ],
            "note": [{"text": n} for n in notes],
        }
    )


def questionnaire_response(screening, questions, ctx: Context) -> dict:
    """A screening: each contraindication question with the patient's yes/no."""
    items = [
        {
            "linkId": q.code,
            "text": q.label,
            "answer": [{"valueBoolean": bool(getattr(screening, q.code, False))}],
        }
        for q in questions
    ]
    items.append(
        {
            "linkId": "none_apply",
            "text": "None of these apply",
            "answer": [{"valueBoolean": bool(screening.none_apply)}],
        }
    )
    for field, text in (
        ("current_medications", "Current medications"),
        ("other_information", "Other information"),
    ):
        value = getattr(screening, field, "")
        if value:
            items.append({"linkId": field, "text": text, "answer": [{"valueString": value}]})
    return _clean(
        {
            "resourceType": "QuestionnaireResponse",
            "id": screening_id(screening),
            "questionnaire": ctx.system("Questionnaire/contraindication-screening"),
            "status": "completed",
            "subject": ref("Patient", patient_id(screening.patient)),
            "authored": instant(screening.recorded_at),
            "author": ref("Practitioner", practitioner_id(screening.recorded_by)),
            "source": ref("Patient", patient_id(screening.patient))
            if screening.answered_by in ("", "patient")
            else None,
            "item": items,
        }
    )


def consent(row, withdrawal, document_ref: str | None, ctx: Context) -> dict:
    """A signed consent; withdrawn ones are inactive with the withdrawal date."""
    provision = {
        "type": "permit",
        "period": {
            "start": instant(row.signed_at),
            "end": instant(withdrawal.withdrawn_at) if withdrawal else None,
        },
        "code": [_protocol_code(ctx, row.protocol)],
    }
    return _clean(
        {
            "resourceType": "Consent",
            "id": consent_id(row),
            "status": "inactive" if withdrawal else "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "treatment",
                        "display": "Treatment",
                    }
                ]
            },
            "category": [
                {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}
            ],
            "patient": ref("Patient", patient_id(row.patient)),
            "dateTime": instant(row.signed_at),
            "performer": [ref("Patient", patient_id(row.patient))],
            "policy": [{"uri": ctx.system(f"consent-version/{row.consent_version_id}")}],
            "sourceReference": ref("DocumentReference", document_ref) if document_ref else None,
            "provision": provision,
        }
    )


def document_reference(
    *,
    resource_id: str,
    patient_row,
    title: str,
    kind_code: str,
    kind_label: str,
    created: datetime,
    url: str = "",
    sha256: str = "",
    context_refs: list[dict] | None = None,
    ctx: Context,
) -> dict:
    """A stored PDF (signed consent, aftercare sheet, session chart)."""
    description = f"SHA-256 {sha256}" if sha256 else ""
    return _clean(
        {
            "resourceType": "DocumentReference",
            "id": resource_id,
            "status": "current",
            "type": {
                "coding": [
                    {
                        "system": ctx.system("document-kind"),
                        "code": kind_code,
                        "display": kind_label,
                    }
                ]
            },
            "subject": ref("Patient", patient_id(patient_row)),
            "date": instant(created),
            "description": description,
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "title": title,
                        "url": url,
                        "creation": instant(created),
                    }
                }
            ],
            "context": {"related": context_refs or []},
        }
    )


def invoice(row, ctx: Context) -> dict:
    status = "issued" if row.status == "issued" else "draft"
    currency = ctx.currency
    return _clean(
        {
            "resourceType": "Invoice",
            "id": invoice_id(row),
            "identifier": [{"system": ctx.system("invoice-number"), "value": row.number}]
            if row.number
            else [],
            "status": status,
            "type": {
                "coding": [
                    {
                        "system": ctx.system("invoice-kind"),
                        "code": row.kind,
                        "display": row.get_kind_display(),
                    }
                ]
            },
            "subject": ref("Patient", patient_id(row.patient)),
            "date": instant(row.issued_at or row.created_at),
            "lineItem": [
                {
                    "sequence": i,
                    "chargeItemCodeableConcept": {"text": line.description},
                    "priceComponent": [
                        {
                            "type": "base",
                            "factor": float(line.quantity),
                            "amount": _money(line.amount, currency),
                        }
                    ],
                }
                for i, line in enumerate(row.lines.all(), start=1)
            ],
            "totalNet": _money(row.subtotal, currency),
            "totalGross": _money(row.total, currency),
            "note": [{"text": row.reason}] if row.reason else [],
        }
    )


def operation_outcome(code: str, text: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


def bundle(resources: list[dict], ctx: Context, *, bundle_type: str = "collection") -> dict:
    """The resources as one Bundle; each entry's fullUrl is `<base>/<type>/<id>`, so the
    relative references inside resolve within the Bundle."""
    base = ctx.base_url.rstrip("/")
    entries = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
    ]
    result = {
        "resourceType": "Bundle",
        "type": bundle_type,
        "timestamp": instant(ctx.now),
        "entry": entries,
    }
    if bundle_type == "searchset":
        result["total"] = len(entries)
        for entry in entries:
            entry["search"] = {"mode": "match"}
    return result
