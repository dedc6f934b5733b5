from django.apps import AppConfig

from mesoclinic.core import timeline


class ClinicSessionsConfig(AppConfig):
    # "sessions" would collide with django.contrib.sessions.
    name = "sessions"
    label = "clinic_sessions"
    verbose_name = "Treatment sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # ready(): these modules need the models loaded.
        from sessions import messages  # noqa: F401  (registers the outbox builders)
        from sessions.timeline import timeline_entries_for

        timeline.SOURCES.append(timeline_entries_for)
