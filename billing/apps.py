from django.apps import AppConfig

from mesoclinic.core import timeline


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # ready(): these modules need the models loaded. messages registers the outbox
        # builders for quote_expiring and instalment_due;
        # hooks charges sessions and fees when scheduling completes or cancels one.
        from billing import hooks, messages, panels  # noqa: F401
        from billing.timeline import timeline_entries_for

        hooks.register()
        panels.register()
        timeline.SOURCES.append(timeline_entries_for)
