from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure: roles, the audit log, email and PDF rendering."""

    name = "mesoclinic"
    label = "core"
    verbose_name = "Clinic"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from mesoclinic.roles import sync_groups

        post_migrate.connect(sync_groups, dispatch_uid="mesoclinic.sync_groups")
