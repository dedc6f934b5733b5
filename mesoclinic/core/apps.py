from django.apps import AppConfig
from django.db.models.signals import post_migrate

from mesoclinic.core.roles import sync_groups


class CoreConfig(AppConfig):
    """The shared library: roles, the audit log, the outbox, email, PDFs, money, links.

    It imports no app of ours. Apps plug into it through registries filled in their own
    `ready()`: outbox builders, timeline sources, patient-page panels, patient references.
    """

    name = "mesoclinic.core"
    label = "core"
    verbose_name = "Clinic"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(sync_groups, dispatch_uid="mesoclinic.sync_groups")
