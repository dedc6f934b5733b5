from celery import shared_task

from mesoclinic.backups import services


@shared_task(acks_late=True)
def nightly_backup() -> str:
    """Beat runs this once a night when BACKUP_NIGHTLY is on (the compose stack)."""
    result, _removed = services.backup_run(actor_label="nightly backup")
    return result.path.name
