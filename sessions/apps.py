from django.apps import AppConfig

from mesoclinic.core import timeline


class ClinicSessionsConfig(AppConfig):
    """One app (label clinic_sessions) in sub-packages: scheduling, charting, comms, online.

    Scheduling imports neither of the others; charting and comms plug into an
    appointment's life through scheduling's hooks, registered here.
    """

    # "sessions" would collide with django.contrib.sessions.
    name = "sessions"
    label = "clinic_sessions"
    verbose_name = "Treatment sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # ready(): these modules need the models loaded.
        from sessions.charting import hooks as charting_hooks
        from sessions.comms import hooks as comms_hooks
        from sessions.comms import messages  # noqa: F401  (registers the outbox builders)
        from sessions.online import messages as online_messages  # noqa: F401  (builders)
        from sessions.online.selectors import held_time
        from sessions.panels import register as register_panels
        from sessions.scheduling.selectors import HELD_TIME
        from sessions.timeline import timeline_entries_for

        comms_hooks.register()
        HELD_TIME.append(held_time)
        charting_hooks.register()
        register_panels()
        timeline.SOURCES.append(timeline_entries_for)
