import uuid

from django.conf import settings
from django.db import models


class StaffAccount(models.Model):
    """What Mesoclinic keeps about a staff user beyond django.contrib.auth's User.

    One row per user, created with the user (receivers.create_staff_account), so
    every account has a public id for the managers' staff pages.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="staff_account",
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Set with a temporary password: the next sign-in must choose a new one first.
    must_change_password = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "staff account"

    def __str__(self) -> str:
        return self.user.get_username()
