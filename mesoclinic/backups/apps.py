from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """Encrypted backups and verified restores (manage.py backup / restore)."""

    name = "mesoclinic.backups"
    label = "backups"
    verbose_name = "Backups"
