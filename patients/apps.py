from django.apps import AppConfig

from mesoclinic.core import patient_refs


class PatientsConfig(AppConfig):
    name = "patients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from patients.selectors import PatientDirectory  # ready(): needs the models loaded

        patient_refs.register(PatientDirectory())
