from django.apps import AppConfig


class ClinicSessionsConfig(AppConfig):
    # "sessions" would collide with django.contrib.sessions.
    name = "sessions"
    label = "clinic_sessions"
    verbose_name = "Treatment sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sessions import messages  # noqa: F401  (registers the outbox builders)
