from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Staff accounts: sign-in with a second factor, staff upkeep by managers, idle lock."""

    name = "mesoclinic.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mesoclinic.accounts import receivers

        receivers.connect()
