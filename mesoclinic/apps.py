from django.apps import AppConfig


class WiringConfig(AppConfig):
    """Project wiring: settings, URLs, the Celery app, the launcher and demo loading.

    An app without models, installed only so `manage.py load_demo` is found. It may
    import every app; nothing imports it.
    """

    name = "mesoclinic"
    label = "mesoclinic"
    verbose_name = "Mesoclinic (project wiring)"
