"""The protocol catalogue: the single source of truth for courses, spacing,
preparation, contraindications, care instructions and consent texts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from protocols.areas import ZONE_CHOICES
from protocols.rules import (
    SPIN_G_MAX,
    SPIN_G_MIN,
    SPIN_MINUTES_MAX,
    SPIN_MINUTES_MIN,
    course_rule_errors,
)
from protocols.screening import QUESTIONS


class ProtocolQuerySet(models.QuerySet):
    def bookable(self):
        """Protocols a session can be booked for: retired ones stay readable, not bookable."""
        return self.filter(is_active=True)


class Protocol(models.Model):
    class Indication(models.TextChoices):
        FACE = "face_rejuvenation", "Face rejuvenation"
        HAIR_LOSS = "hair_loss", "Scalp / hair loss"
        ACNE_SCARS = "acne_scars", "Acne scars"
        OTHER_SCARS = "other_scars", "Other scars"
        STRETCH_MARKS = "stretch_marks", "Stretch marks"
        NECK = "neck", "Neck"
        DECOLLETE = "decollete", "Décolleté"
        HANDS = "hands", "Hands"

    class Technique(models.TextChoices):
        PRP_INJECTION = "prp_injection", "PRP injection"
        PRP_MICRONEEDLING = "prp_microneedling", "PRP with microneedling"
        PRP_FRACTIONAL_LASER = "prp_fractional_laser", "PRP with fractional laser (same session)"
        MESO_COCKTAIL = "meso_cocktail", "Mesotherapy cocktail"

    class Activation(models.TextChoices):
        NONE = "none", "None"
        CALCIUM_CHLORIDE = "calcium_chloride", "Calcium chloride 10% (1:10)"
        CALCIUM_GLUCONATE = "calcium_gluconate", "Calcium gluconate 10% (1:10)"
        NUCLEOTIDE = "nucleotide", "Nucleotide activator"

    name = models.CharField(max_length=120)
    indication = models.CharField(max_length=30, choices=Indication.choices)
    technique = models.CharField(max_length=30, choices=Technique.choices)
    treatment_areas = ArrayField(
        models.CharField(max_length=40, choices=ZONE_CHOICES), default=list, blank=True
    )
    session_minutes = models.PositiveSmallIntegerField("session length (minutes)", default=60)

    sessions_in_course = models.PositiveSmallIntegerField("sessions in the initial course")
    min_interval_days = models.PositiveSmallIntegerField("minimum days between sessions")
    target_interval_days = models.PositiveSmallIntegerField("target days between sessions")
    max_interval_days = models.PositiveSmallIntegerField("maximum days between sessions")
    maintenance_interval_months = models.PositiveSmallIntegerField(
        "maintenance every (months)", null=True, blank=True, help_text="Empty: no maintenance."
    )

    # PRP preparation defaults (empty for a mesotherapy cocktail).
    blood_volume_ml = models.DecimalField(
        "blood drawn (mL)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    tubes = models.PositiveSmallIntegerField("tubes", null=True, blank=True)
    activation = models.CharField(
        max_length=30, choices=Activation.choices, default=Activation.NONE
    )

    description = models.TextField("for patients: what it is", max_length=4000)
    evidence_note = models.TextField("for patients: what the evidence says", max_length=3000)
    risks = models.TextField("risks to name in the consent", max_length=3000)
    what_is_normal = models.TextField(
        "after the session, what is normal", max_length=2000, blank=True
    )
    warning_signs = models.TextField("call the clinic at once if", max_length=2000, blank=True)

    is_active = models.BooleanField(default=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProtocolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="protocol_name_unique_ci",
                violation_error_message="Another protocol already has this name.",
            ),
            models.CheckConstraint(
                condition=Q(sessions_in_course__gte=1), name="course_has_sessions"
            ),
            models.CheckConstraint(
                condition=Q(min_interval_days__gte=1), name="min_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(min_interval_days__lte=F("target_interval_days"))
                & Q(target_interval_days__lte=F("max_interval_days")),
                name="interval_min_target_max_ordered",
                violation_error_message="Days between sessions must be minimum ≤ target ≤ maximum.",
            ),
            models.CheckConstraint(condition=Q(session_minutes__gte=5), name="session_length_sane"),
            models.CheckConstraint(
                condition=Q(maintenance_interval_months__isnull=True)
                | Q(maintenance_interval_months__gte=1),
                name="maintenance_months_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = course_rule_errors(
            sessions=self.sessions_in_course,
            min_days=self.min_interval_days,
            target_days=self.target_interval_days,
            max_days=self.max_interval_days,
        )
        if errors:
            raise ValidationError(errors)

    @property
    def is_prp(self) -> bool:
        return self.technique != self.Technique.MESO_COCKTAIL

    @property
    def spacing_summary(self) -> str:
        return (
            f"{self.sessions_in_course} sessions, every {self.target_interval_days} days "
            f"({self.min_interval_days}–{self.max_interval_days})"
        )


class CentrifugeSpin(models.Model):
    """One spin of the PRP preparation: relative centrifugal force and time.

    RPM alone means nothing without the rotor radius, so the chart stores g.
    """

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="spins")
    order = models.PositiveSmallIntegerField(default=1)
    g_force = models.PositiveIntegerField("force (g)")
    minutes = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["order"]
        constraints = [
            models.CheckConstraint(
                condition=Q(g_force__gte=SPIN_G_MIN, g_force__lte=SPIN_G_MAX), name="spin_g_range"
            ),
            models.CheckConstraint(
                condition=Q(minutes__gte=SPIN_MINUTES_MIN, minutes__lte=SPIN_MINUTES_MAX),
                name="spin_minutes_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.g_force} g × {self.minutes} min"


class CocktailIngredient(models.Model):
    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="ingredients")
    name = models.CharField(max_length=120)
    amount = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} {self.amount}".strip()


class ProtocolContraindication(models.Model):
    """One screening answer that matters for this protocol, and how much."""

    class Severity(models.TextChoices):
        ABSOLUTE = "absolute", "Absolute: blocks treatment"
        RELATIVE = "relative", "Relative: practitioner decides and records why"

    protocol = models.ForeignKey(
        Protocol, on_delete=models.CASCADE, related_name="contraindications"
    )
    code = models.CharField(max_length=40, choices=[(q.code, q.label) for q in QUESTIONS])
    severity = models.CharField(max_length=10, choices=Severity.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["severity", "code"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="one_rule_per_question")
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} ({self.severity})"


class CareInstruction(models.Model):
    """A pre-care or aftercare item with how long it applies: "no make-up — 24 hours"."""

    class Phase(models.TextChoices):
        PRE = "pre", "Before the session"
        AFTER = "after", "After the session"

    class Unit(models.TextChoices):
        HOURS = "hours", "hours"
        DAYS = "days", "days"

    protocol = models.ForeignKey(
        Protocol, on_delete=models.CASCADE, related_name="care_instructions"
    )
    phase = models.CharField(max_length=5, choices=Phase.choices)
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300)
    duration_value = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_unit = models.CharField(max_length=5, choices=Unit.choices, blank=True)

    class Meta:
        ordering = ["phase", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(duration_value__isnull=True) & Q(duration_unit=""))
                | (Q(duration_value__gte=1) & ~Q(duration_unit="")),
                name="care_duration_complete",
            )
        ]

    def __str__(self) -> str:
        return f"{self.text} — {self.duration_label}" if self.duration_value else self.text

    @property
    def duration_label(self) -> str:
        if not self.duration_value:
            return ""
        unit = self.duration_unit if self.duration_value != 1 else self.duration_unit.rstrip("s")
        return f"{self.duration_value} {unit}"

    @property
    def duration_hours(self) -> int | None:
        if not self.duration_value:
            return None
        return self.duration_value * (24 if self.duration_unit == self.Unit.DAYS else 1)


class ConsentVersion(models.Model):
    """One version of a protocol's consent text. Editing makes a new version.

    Once a patient has signed a version it is locked (`locked_at`); a database
    trigger then refuses any change to its text or hash, and refuses deleting it.
    """

    protocol = models.ForeignKey(
        Protocol, on_delete=models.PROTECT, related_name="consent_versions"
    )
    number = models.PositiveIntegerField()
    text = models.TextField(max_length=20000)
    text_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["protocol", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "number"], name="consent_version_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.protocol} consent v{self.number}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None
