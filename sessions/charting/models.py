"""The session chart: what was done in one treatment session, and its documents.

A signed chart is locked: database triggers (migration "chart_lock") refuse any
change to a signed chart or its lines, and refuse changing or deleting an
amendment. Later corrections are ChartAmendment rows, appended with who, when,
what and why; the original stays as it was signed.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from protocols.rules import SPIN_G_MAX, SPIN_G_MIN, SPIN_MINUTES_MAX, SPIN_MINUTES_MIN
from sessions.scheduling.models import Appointment


class SessionChart(models.Model):
    class Technique(models.TextChoices):
        POINT_BY_POINT = "point_by_point", "Point-by-point (serial puncture)"
        NAPPAGE = "nappage", "Nappage"
        PAPULES = "papules", "Papules"
        LINEAR_THREADING = "linear_threading", "Linear threading"
        MICRONEEDLING = "microneedling", "Topical over microneedling"
        FRACTIONAL_LASER = "fractional_laser", "Topical after fractional laser"

    class Activation(models.TextChoices):
        NONE = "none", "None"
        CALCIUM_CHLORIDE = "calcium_chloride", "Calcium chloride 10% (1:10)"
        CALCIUM_GLUCONATE = "calcium_gluconate", "Calcium gluconate 10% (1:10)"
        NUCLEOTIDE = "nucleotide", "Nucleotide activator"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="chart")
    # Pre-treatment checks, ticked by the practitioner before starting.
    check_screening_current = models.BooleanField("screening is current", default=False)
    check_consent_signed = models.BooleanField("consent is signed", default=False)
    check_before_photos = models.BooleanField("before photos taken", default=False)
    # PRP preparation.
    blood_volume_ml = models.DecimalField(
        "blood drawn (mL)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    tubes = models.PositiveSmallIntegerField(null=True, blank=True)
    prp_yield_ml = models.DecimalField(
        "PRP yield (mL)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    activation = models.CharField(
        max_length=30, choices=Activation.choices, default=Activation.NONE
    )
    anaesthetic_cream = models.CharField(max_length=120, blank=True)
    anaesthetic_minutes = models.PositiveSmallIntegerField(
        "anaesthetic on for (minutes)", null=True, blank=True
    )
    # Treatment.
    technique = models.CharField(max_length=30, choices=Technique.choices, blank=True)
    needle_gauge = models.PositiveSmallIntegerField("needle gauge (G)", null=True, blank=True)
    microneedling_depth_mm = models.DecimalField(
        "microneedling depth (mm)", max_digits=3, decimal_places=1, null=True, blank=True
    )
    combined_procedures = models.CharField(max_length=300, blank=True)
    immediate_reactions = models.TextField(max_length=2000, blank=True)
    notes = models.TextField(max_length=4000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the chart's content as signed (sessions.charting.services.chart_snapshot).
    signed_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="chart_signed_by_and_at_together",
            ),
            models.CheckConstraint(
                condition=Q(prp_yield_ml__isnull=True)
                | Q(blood_volume_ml__isnull=True)
                | Q(prp_yield_ml__lte=F("blood_volume_ml")),
                name="chart_yield_within_blood",
                violation_error_message="The PRP yield cannot be more than the blood drawn.",
            ),
        ]

    def __str__(self) -> str:
        return f"Chart of {self.appointment}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class ChartProduct(models.Model):
    """A kit, tube, activator or product used, with its lot: the recall trail."""

    class Kind(models.TextChoices):
        KIT = "kit", "PRP kit"
        TUBE = "tube", "Tube"
        ACTIVATOR = "activator", "Activator"
        PRODUCT = "product", "Mesotherapy product"
        ANAESTHETIC = "anaesthetic", "Anaesthetic cream"
        NEEDLE = "needle", "Needles / cartridge"

    chart = models.ForeignKey(SessionChart, on_delete=models.CASCADE, related_name="products")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    brand = models.CharField(max_length=120)
    name = models.CharField(max_length=120, blank=True)
    lot_number = models.CharField(max_length=60)
    expiry_date = models.DateField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["lot_number"], name="chart_product_lot")]

    def __str__(self) -> str:
        return f"{self.brand} {self.name} lot {self.lot_number}".replace("  ", " ")


class ChartSpin(models.Model):
    chart = models.ForeignKey(SessionChart, on_delete=models.CASCADE, related_name="spins")
    order = models.PositiveSmallIntegerField()
    g_force = models.PositiveIntegerField("force (g)")
    minutes = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["order"]
        constraints = [
            models.CheckConstraint(
                condition=Q(g_force__gte=SPIN_G_MIN, g_force__lte=SPIN_G_MAX),
                name="chart_spin_g_range",
            ),
            models.CheckConstraint(
                condition=Q(minutes__gte=SPIN_MINUTES_MIN, minutes__lte=SPIN_MINUTES_MAX),
                name="chart_spin_minutes_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.g_force} g × {self.minutes} min"


class ChartArea(models.Model):
    """One treated zone (a structured code from protocols.areas) and the volume injected."""

    chart = models.ForeignKey(SessionChart, on_delete=models.CASCADE, related_name="areas")
    zone = models.CharField(max_length=40)
    volume_ml = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    # Optional injection points in this zone, tapped on the diagram:
    # [{"x": "12.5", "y": "40.0", "product": "<lot number>", "volume_ml": "0.10"}, ...]
    # (x, y in % of the drawing; checked by charting.rules; locked with the chart).
    points = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["chart", "zone"], name="chart_area_zone_once"),
            models.CheckConstraint(
                condition=Q(volume_ml__isnull=True) | Q(volume_ml__gt=0),
                name="chart_area_volume_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.zone


class AdverseEvent(models.Model):
    class Type(models.TextChoices):
        BRUISING = "bruising", "Bruising"
        BLEEDING = "bleeding", "Bleeding"
        PAIN = "pain", "Pain beyond expected"
        SWELLING = "swelling", "Marked swelling"
        VASOVAGAL = "vasovagal", "Fainting / vasovagal"
        ALLERGIC = "allergic", "Allergic reaction"
        INFECTION = "infection", "Infection"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    class Onset(models.TextChoices):
        BLOOD_DRAW = "blood_draw", "At the blood draw"
        DURING = "during", "During treatment"
        AFTER = "after", "Right after treatment"
        LATER = "later", "Later (reported by the patient)"

    chart = models.ForeignKey(SessionChart, on_delete=models.CASCADE, related_name="adverse_events")
    type = models.CharField(max_length=12, choices=Type.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    onset = models.CharField(max_length=12, choices=Onset.choices)
    action_taken = models.CharField(max_length=500)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.severity})"


class ChartAmendment(models.Model):
    """A correction to a signed chart: appended, never edited. The original stays."""

    chart = models.ForeignKey(SessionChart, on_delete=models.PROTECT, related_name="amendments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    what = models.TextField("what changes", max_length=4000)
    why = models.CharField("why", max_length=500)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(what="") & ~Q(why=""), name="chart_amendment_what_and_why"
            )
        ]

    def __str__(self) -> str:
        return f"Amendment by {self.author} at {self.at:%Y-%m-%d %H:%M}"


class SessionDocument(models.Model):
    """A generated document of a session (aftercare sheet, printable chart), in private storage.

    Regenerating replaces the file; one row per appointment and kind.
    """

    class Kind(models.TextChoices):
        AFTERCARE = "aftercare", "Aftercare sheet"
        CHART = "chart", "Session chart"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(max_length=200)
    sha256 = models.CharField(max_length=64)
    generated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-generated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind"], name="session_document_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.appointment}"
