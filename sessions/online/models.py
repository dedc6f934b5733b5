"""Online booking: the manager's settings, the policy text patients accept, each online
booking request, the holds that keep its times while the patient confirms, new patients
to review, and consents signed on the patient's own phone.

A hold and an appointment can never overlap for the same practitioner or room: holds
exclude each other by PostgreSQL exclusion constraints (as appointments do), and
triggers (migration 0005) refuse an appointment over a live hold and a hold over a live
appointment, both taking the same per-practitioner and per-room advisory lock, so two
transactions racing for one time are serialised by the database.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from sessions.scheduling.models import Location, TsTzRange


class OnlineSettings(models.Model):
    """The manager's choices for the public booking site (one row)."""

    enabled = models.BooleanField("take bookings online", default=False)
    protocols = models.ManyToManyField(
        "protocols.Protocol",
        blank=True,
        related_name="+",
        verbose_name="courses patients may book online",
    )
    locations = models.ManyToManyField(
        Location, blank=True, related_name="+", verbose_name="locations taking online bookings"
    )
    consultation_bookable = models.BooleanField("consultations bookable online", default=True)
    consultation_minutes = models.PositiveSmallIntegerField(
        "consultation length (minutes)",
        default=30,
        validators=[MinValueValidator(10), MaxValueValidator(240)],
    )
    horizon_days = models.PositiveSmallIntegerField(
        "first session at most this many days ahead",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    min_notice_hours = models.PositiveSmallIntegerField(
        "minimum notice (hours)", default=24, validators=[MaxValueValidator(24 * 30)]
    )
    hold_minutes = models.PositiveSmallIntegerField(
        "hold chosen times while the patient confirms (minutes)",
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
    )
    course_deposit = models.DecimalField(
        "deposit for a course booked online (0: none)",
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    deposit_instructions = models.CharField(
        "how to pay the deposit",
        max_length=500,
        blank=True,
        default="Pay at reception or by phone before your first session.",
    )
    max_active_per_email = models.PositiveSmallIntegerField(
        "active online bookings allowed per email address",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "online booking settings"
        verbose_name_plural = "online booking settings"

    def __str__(self) -> str:
        return "Online booking settings"


class BookingPolicy(models.Model):
    """The cancellation, late-fee and deposit policy patients accept. Editing makes a
    new version; a booking keeps the version it accepted."""

    number = models.PositiveIntegerField(unique=True)
    text = models.TextField(max_length=6000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        verbose_name_plural = "booking policies"

    def __str__(self) -> str:
        return f"Booking policy v{self.number}"


class OnlineBooking(models.Model):
    """One patient's online request: held times, then verified and booked (or expired)."""

    class Status(models.TextChoices):
        HELD = "held", "Held, waiting for the email link"
        BOOKED = "booked", "Booked"
        EXPIRED = "expired", "Expired (not confirmed in time)"
        FAILED = "failed", "Could not be booked"

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        COURSE = "course", "Course"

    ACTIVE_STATUSES = (Status.HELD,)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.HELD)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    protocol = models.ForeignKey(
        "protocols.Protocol", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # What the visitor typed (the email lower-cased); kept with the booking as its record.
    email = models.EmailField(max_length=254, blank=True)
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    # The screening answers given before any time was shown: recorded as the patient's
    # screening once the booking is verified.
    screening_answers = models.JSONField(default=dict, blank=True)
    screening_none_apply = models.BooleanField(default=False)
    screening_medications = models.CharField(max_length=1000, blank=True)
    policy = models.ForeignKey(
        BookingPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    policy_accepted_at = models.DateTimeField(null=True, blank=True)
    policy_accepted_ip = models.GenericIPAddressField(null=True, blank=True)
    deposit_due = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    deposit_received_at = models.DateTimeField(null=True, blank=True)
    deposit_received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    details_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="online_bookings",
    )
    matched_existing = models.BooleanField(default=False)
    course = models.OneToOneField(
        "clinic_sessions.TreatmentPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="online_booking",
    )
    appointment = models.OneToOneField(
        "clinic_sessions.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="online_booking",
    )
    failure = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["email", "status"], name="online_booking_email"),
            models.Index(fields=["status", "expires_at"], name="online_booking_expiry"),
        ]

    def __str__(self) -> str:
        return f"Online booking {self.public_id}"

    @property
    def what(self) -> str:
        return str(self.protocol) if self.protocol_id else "Consultation"

    @property
    def deposit_outstanding(self) -> bool:
        return self.deposit_due > 0 and self.deposit_received_at is None


class Hold(models.Model):
    """A time kept for an online booking until it is verified or expires."""

    booking = models.ForeignKey(OnlineBooking, on_delete=models.CASCADE, related_name="holds")
    sequence = models.PositiveSmallIntegerField(default=1)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(
        "clinic_sessions.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["booking_id", "sequence"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="hold_ends_after_start"
            ),
            ExclusionConstraint(
                name="hold_no_practitioner_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("practitioner", RangeOperators.EQUAL),
                ],
                condition=Q(released_at__isnull=True),
                violation_error_message="Someone else is booking that time.",
            ),
            ExclusionConstraint(
                name="hold_no_room_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("room", RangeOperators.EQUAL),
                ],
                condition=Q(released_at__isnull=True) & Q(room__isnull=False),
                violation_error_message="Someone else is booking that time.",
            ),
        ]
        indexes = [
            models.Index(fields=["practitioner", "starts_at"], name="hold_practitioner_start"),
            models.Index(fields=["released_at", "expires_at"], name="hold_live_expiry"),
        ]

    def __str__(self) -> str:
        return f"Hold {self.starts_at:%Y-%m-%d %H:%M}"


class OnlinePatientReview(models.Model):
    """A patient created by an online booking, for the front desk to review."""

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, related_name="online_review"
    )
    booking = models.ForeignKey(OnlineBooking, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_into = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Online registration of {self.patient}"


class RemoteConsent(models.Model):
    """A patient read and signed a consent on their own phone; the practitioner confirms
    identity and countersigns at check-in, which records the SignedConsent."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="remote_consents"
    )
    protocol = models.ForeignKey("protocols.Protocol", on_delete=models.PROTECT, related_name="+")
    consent_version = models.ForeignKey(
        "protocols.ConsentVersion", on_delete=models.PROTECT, related_name="+"
    )
    text_sha256 = models.CharField(max_length=64)
    signature_png = models.BinaryField()
    signature_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    signed_consent = models.OneToOneField(
        "patients.SignedConsent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remote_signature",
    )

    class Meta:
        ordering = ["-signed_at"]
        indexes = [models.Index(fields=["patient", "protocol"], name="remote_consent_patient")]

    def __str__(self) -> str:
        return f"Remote consent of {self.patient} to {self.protocol}"

    @property
    def countersigned(self) -> bool:
        return self.signed_consent_id is not None
