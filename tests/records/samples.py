"""Real objects for the records app's URL keywords (for the permission walk)."""

from mesoclinic.records import services
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
    return {
        "token_id": token.public_id,
        "resource_type": "Patient",
        "resource_id": str(patient.public_id),
        "rest": "Observation",
    }
