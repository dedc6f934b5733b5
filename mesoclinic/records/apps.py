from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Data rights: FHIR export and API, subject-access exports, erasure and retention.

    Sits above every domain app (it reads them all) and below the project wiring.
    """

    name = "mesoclinic.records"
    label = "records"
    verbose_name = "Patient data rights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # ready(): the panel's selectors and the outbox builders need the models loaded.
        from mesoclinic.records import messages  # noqa: F401  (registers the outbox builder)
        from mesoclinic.records.panels import register

        register()
