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


def _export_path(instance: "SubjectAccessExport", filename: str) -> str:
    return f"exports/{instance.patient.public_id}/{instance.public_id}.zip"


class SubjectAccessExport(models.Model):
    """One subject-access export (GDPR Art. 15/20): a ZIP of everything held about the
    patient, built by a Celery task, downloaded by a manager or through a signed,
    expiring link emailed to the patient. The file is deleted when the link has expired
    (the daily retention job); the row stays as the record that the request was met."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired (file deleted)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="subject_access_exports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=_export_path, max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    files_included = models.PositiveIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    link_sent_to = models.EmailField(max_length=254, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Subject-access export for {self.patient} ({self.status})"


class ErasureRequest(models.Model):
    """A patient's request to be erased (GDPR Art. 17), or the daily retention job's
    anonymisation of a patient whose retention periods have all ended (requested_by
    empty). `plan` records, item by item, what was erased at once and what is retained
    until when (mesoclinic.records.retention); the daily job finishes the rest."""

    class Status(models.TextChoices):
        RETAINED = "retained", "Erased where allowed; records retained"
        COMPLETE = "complete", "Erased and anonymised"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="erasure_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(
        "how the request was made",
        max_length=500,
        blank=True,
        help_text="e.g. Letter of 3 March, identity checked at the desk.",
    )
    plan = models.JSONField(default=list)
    erased = models.JSONField(default=list, help_text="Keys of the items erased so far.")
    retained_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="one_erasure_request_per_patient")
        ]

    def __str__(self) -> str:
        return f"Erasure of patient {self.patient_id} ({self.status})"
