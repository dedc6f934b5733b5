import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A read-only FHIR API credential for one integration. Only a SHA-256 of the token is
    stored; the token itself is shown once, when a manager creates it.

    Scope: `clinic` reads every patient; `practitioner` only the patients and bookings
    of one practitioner. Rate limiting counts requests in a one-minute window on this
    row (one atomic UPDATE per request; PostgreSQL is the store every process shares,
    also on the embedded default that has no Redis).
    """

    class Scope(models.TextChoices):
        CLINIC = "clinic", "Whole clinic (every patient)"
        PRACTITIONER = "practitioner", "One practitioner's patients"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, help_text="Which integration uses it.")
    scope = models.CharField(max_length=12, choices=Scope.choices)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, to tell tokens apart in lists and logs.
    prefix = models.CharField(max_length=12, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    window_start = models.DateTimeField(null=True, blank=True, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope="clinic", practitioner__isnull=True)
                | models.Q(scope="practitioner", practitioner__isnull=False),
                name="api_token_practitioner_matches_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
