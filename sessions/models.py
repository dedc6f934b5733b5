"""Places, people's hours, courses (treatment plans) and appointments.

Double booking is impossible by construction: PostgreSQL exclusion constraints
(btree_gist) refuse two live appointments that overlap for the same practitioner
or the same room. Services catch the violation and turn it into a form error.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    ArrayField,
    DateTimeRangeField,
    RangeBoundary,
    RangeOperators,
)
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone

from protocols.rules import SPIN_G_MAX, SPIN_G_MIN, SPIN_MINUTES_MAX, SPIN_MINUTES_MIN

# Statuses whose appointment no longer holds its time slot.
RELEASED_STATUSES = ("cancelled",)
# Statuses that no longer count as "a session of this course" for numbering.
VOID_STATUSES = ("cancelled", "no_show")


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Location(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, unique=True)
    address = models.CharField(max_length=250, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "name"],
                name="room_name_unique_per_location",
                violation_error_message="This location already has a room with that name.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location.name})"


class WorkingHours(models.Model):
    """One weekly block when a practitioner works at a location (clinic time)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["practitioner_id", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="working_hours_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday_range"
            ),
        ]
        indexes = [models.Index(fields=["location", "weekday"], name="hours_location_day")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class Absence(models.Model):
    """A practitioner is away (leave, training, sick) between two instants."""

    class Kind(models.TextChoices):
        LEAVE = "leave", "Leave"
        TRAINING = "training", "Training"
        SICK = "sick", "Sick"
        OTHER = "other", "Other"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LEAVE)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="absence_ends_after_start",
                violation_error_message="The end must be after the start.",
            )
        ]
        indexes = [models.Index(fields=["practitioner", "ends_at"], name="absence_pract_end")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d}"


class Closure(models.Model):
    """The clinic is closed on these days (inclusive): one location, or all when empty."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="closures"
    )
    name = models.CharField(max_length=120, help_text="e.g. Christmas Day")
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="closure_ends_on_or_after_start",
                violation_error_message="The last day cannot be before the first.",
            )
        ]

    def __str__(self) -> str:
        return self.name


def _feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A practitioner's private iCalendar subscription. Revoking replaces the token."""

    practitioner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=_feed_token)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.practitioner}"


class TreatmentPlan(models.Model):
    """A course: a patient's series of sessions of one protocol with one practitioner.

    Spacing rules are copied from the protocol when the course is created, so later
    edits to the catalogue do not change a course already under way.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="courses"
    )
    protocol = models.ForeignKey(
        "protocols.Protocol", on_delete=models.PROTECT, related_name="courses"
    )
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="courses"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="courses")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="courses"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    sessions_planned = models.PositiveSmallIntegerField()
    min_interval_days = models.PositiveSmallIntegerField()
    target_interval_days = models.PositiveSmallIntegerField()
    max_interval_days = models.PositiveSmallIntegerField()
    maintenance_interval_months = models.PositiveSmallIntegerField(null=True, blank=True)
    # The patient's preferences: weekdays 0 (Monday)–6, and a time-of-day window.
    preferred_weekdays = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    preferred_time_from = models.TimeField(null=True, blank=True)
    preferred_time_to = models.TimeField(null=True, blank=True)
    notes = models.TextField(max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_interval_days__lte=F("target_interval_days"))
                & Q(target_interval_days__lte=F("max_interval_days")),
                name="course_interval_ordered",
            ),
            models.CheckConstraint(
                condition=Q(sessions_planned__gte=1), name="course_sessions_pos"
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="course_patient_status")]

    def __str__(self) -> str:
        return f"{self.protocol} for {self.patient}"


class Appointment(models.Model):
    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        COURSE_SESSION = "course_session", "Course session"
        MAINTENANCE = "maintenance", "Maintenance session"

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        IN_TREATMENT = "in_treatment", "In treatment"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    protocol = models.ForeignKey(
        "protocols.Protocol",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    course = models.ForeignKey(
        TreatmentPlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    sequence = models.PositiveSmallIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.BOOKED)
    override_reason = models.CharField(
        "reason for booking beyond the maximum interval", max_length=300, blank=True
    )
    notes = models.CharField(max_length=500, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_late = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="appointment_ends_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=Q(kind="consultation") | Q(protocol__isnull=False),
                name="appointment_treatment_has_protocol",
            ),
            models.CheckConstraint(
                condition=~Q(kind="course_session")
                | (Q(course__isnull=False) & Q(sequence__isnull=False)),
                name="appointment_course_session_numbered",
            ),
            models.UniqueConstraint(
                fields=["course", "sequence"],
                condition=~Q(status__in=VOID_STATUSES) & Q(course__isnull=False),
                name="appointment_one_live_per_course_sequence",
            ),
            ExclusionConstraint(
                name="appointment_no_practitioner_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("practitioner", RangeOperators.EQUAL),
                ],
                condition=~Q(status__in=RELEASED_STATUSES),
                violation_error_message="The practitioner already has an appointment then.",
            ),
            ExclusionConstraint(
                name="appointment_no_room_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("room", RangeOperators.EQUAL),
                ],
                condition=~Q(status__in=RELEASED_STATUSES) & Q(room__isnull=False),
                violation_error_message="The room is already in use then.",
            ),
        ]
        indexes = [
            models.Index(fields=["location", "starts_at"], name="appt_location_start"),
            models.Index(fields=["patient", "starts_at"], name="appt_patient_start"),
            models.Index(fields=["practitioner", "starts_at"], name="appt_practitioner_start"),
            models.Index(fields=["room", "starts_at"], name="appt_room_start"),
            models.Index(fields=["course", "sequence"], name="appt_course_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def is_live(self) -> bool:
        """Still holds its slot and may still happen."""
        return self.status in (
            self.Status.BOOKED,
            self.Status.CONFIRMED,
            self.Status.CHECKED_IN,
            self.Status.IN_TREATMENT,
        )

    @property
    def is_treatment(self) -> bool:
        return self.kind != self.Kind.CONSULTATION


# --- Charting
#
# The session chart: what was done in one treatment session. Owned by the charting
# work (sessions/charting*.py); everything below is appended here only.
#
# A signed chart is locked: database triggers (migration "chart_lock") refuse any
# change to a signed chart or its lines, and refuse changing or deleting an
# amendment. Later corrections are ChartAmendment rows, appended with who, when,
# what and why; the original stays as it was signed.


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
    # SHA-256 of the chart's content as signed (sessions.charting.chart_snapshot).
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
