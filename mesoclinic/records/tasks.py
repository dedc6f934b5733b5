"""Celery tasks of the records app: thin, idempotent, by id."""

from celery import shared_task

from mesoclinic.records import services


@shared_task(acks_late=True)
def build_subject_access_export(export_id: int) -> bool:
    return services.sar_build(export_id=export_id)


@shared_task(acks_late=True)
def apply_retention() -> dict:
    """Daily (beat): erase or anonymise what has passed its retention time."""
    return services.retention_apply()
