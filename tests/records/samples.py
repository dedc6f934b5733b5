"""Real objects for the records app's URL keywords (for the permission walk)."""

from sessions.scheduling.models import Location, TreatmentPlan


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
    return {}
