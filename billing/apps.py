from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the outbox builders for quote_expiring and instalment_due.
        from billing import messages  # noqa: F401
