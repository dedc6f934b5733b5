"""Data rights: one patient's FHIR export, the subject-access ZIP, the audit chain check.

Dataset: one patient with 3 courses, 12 completed sessions (kit lots, areas, an adverse
event), 2 screenings, 3 consents (one withdrawn), 6 stored aftercare PDFs plus the 3
consent PDFs, 3 invoices, a photo and a message (tests/records/helpers.build_record);
and at least AUDIT_ROWS sealed audit rows.
"""

from __future__ import annotations

import statistics
import time

NAME = "records"
AUDIT_ROWS = 200_000
SAMPLES = 50
SAR_RUNS = 3
PATIENT_EMAIL = "bench-record@example.com"


def generate(ctx: dict) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from mesoclinic.core import roles
    from patients.models import Patient
    from protocols.catalogue import real_models, seed
    from protocols.models import Protocol
    from tests.factories import PatientFactory
    from tests.records.helpers import build_record

    roles.sync_groups()
    seed(real_models())
    manager, _ = User.objects.get_or_create(username="bench-records-manager")
    manager.groups.add(Group.objects.get(name=roles.MANAGER))
    doctor, _ = User.objects.get_or_create(
        username="bench-records-doctor", defaults={"first_name": "Dana", "last_name": "Doctor"}
    )
    doctor.groups.add(Group.objects.get(name=roles.PRACTITIONER))
    ctx["records_manager"] = manager
    patient = Patient.objects.filter(email=PATIENT_EMAIL).first()
    if patient is None:
        with transaction.atomic():
            patient = PatientFactory(email=PATIENT_EMAIL, last_name="Recordbench")
            build_record(patient, {p.name: p for p in Protocol.objects.all()}, doctor)
    ctx["records_patient"] = patient
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_auditevent")
        missing = AUDIT_ROWS - cursor.fetchone()[0]
    if missing > 0:
        # One transaction: the chain trigger seals every row at commit.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO core_auditevent (at, actor_label, patient_id, action, object_type,
                                             object_id, summary, ip_address)
                SELECT now() - (n || ' seconds')::interval, 'bench', %s, 'view',
                       'patients.Patient', %s, 'Viewed the patient page (bench row ' || n || ')',
                       '192.0.2.1'
                FROM generate_series(1, %s) AS n
                """,
                [patient.pk, str(patient.pk), missing],
            )


def measure(ctx: dict) -> dict[str, float]:
    from django.test import override_settings

    from mesoclinic.core.accounts.rules import parse_roles

    # The bench signs in with force_login: the second factor is not what is measured.
    with override_settings(TWO_FACTOR_REQUIRED_ROLES=parse_roles("")):
        return _measure(ctx)


def _measure(ctx: dict) -> dict[str, float]:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from mesoclinic.core import audit_chain
    from mesoclinic.records import services
    from mesoclinic.records.models import SubjectAccessExport

    percentile = ctx["percentile"]
    patient = ctx["records_patient"]
    client = Client()
    client.force_login(ctx["records_manager"])
    url = reverse("records:fhir_export", args=[patient.public_id])
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(url)
    sar_times = []
    for _ in range(SAR_RUNS):
        export = SubjectAccessExport.objects.create(
            patient=patient, requested_by=ctx["records_manager"]
        )
        started = time.perf_counter()
        assert services.sar_build(export_id=export.pk)
        sar_times.append(time.perf_counter() - started)
        export.refresh_from_db()
        export.file.delete(save=False)
    result = audit_chain.verify()
    assert result.ok, result.reason
    return {
        "fhir_export_patient_p50_ms": round(percentile(times, 50), 1),
        "fhir_export_patient_p95_ms": round(percentile(times, 95), 1),
        "fhir_export_patient_queries": len(queries),
        "sar_export_zip_s": round(statistics.median(sar_times), 2),
        "audit_verify_rows": result.rows,
        "audit_verify_rows_per_s": round(result.rows / result.seconds),
    }
