"""Real objects for the records app's URL keywords (for the permission walk)."""

from django.core.files.base import ContentFile
from django.utils import timezone

from mesoclinic.records import services
from mesoclinic.records.models import SubjectAccessExport
from sessions.scheduling.models import Location, TreatmentPlan
from tests.conftest import make_user


def sample_kwargs(patient, catalogue, practitioner) -> dict:
    # The walk's practitioner treats the sample patient, so "their own patient" pages open.
    TreatmentPlan.objects.create(
        patient=patient,
        protocol=catalogue["PRP face rejuvenation"],
        practitioner=practitioner,
        location=Location.objects.get_or_create(name="Records sample clinic")[0],
        sessions_planned=3,
        min_interval_days=14,
        target_interval_days=28,
        max_interval_days=42,
    )
    token, _raw = services.api_token_create(
        name="Sample integration", scope="clinic", by=make_user("token-maker", "manager")
    )
    export = SubjectAccessExport(
        patient=patient, requested_by=practitioner, status="ready", completed_at=timezone.now()
    )
    export.file.save("export.zip", ContentFile(b"PK\x05\x06" + b"\x00" * 18), save=False)
    export.save()
    return {
        "export_id": export.public_id,
        "token_id": token.public_id,
        "resource_type": "Patient",
        "resource_id": str(patient.public_id),
        "rest": "Observation",
    }
