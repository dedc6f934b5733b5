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

    class CancelledByParty(models.TextChoices):
        PATIENT = "patient", "The patient"
        CLINIC = "clinic", "The clinic"

    # Still to come and not yet begun: may move, be cancelled, be confirmed from a link.
    UPCOMING_STATUSES = (Status.BOOKED, Status.CONFIRMED)
    # The patient is here for it: the chart may be opened and written.
    CHARTABLE_STATUSES = (Status.CHECKED_IN, Status.IN_TREATMENT)

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
    # A late cancellation is the patient's, close to the start (scheduling.rules).
    cancelled_late = models.BooleanField(default=False)
    cancelled_by_party = models.CharField(
        "who cancelled", max_length=7, choices=CancelledByParty.choices, blank=True
    )
    late_fee_waived_reason = models.CharField(
        "why the late-cancellation fee was waived", max_length=200, blank=True
    )
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
    def is_upcoming(self) -> bool:
        return self.status in self.UPCOMING_STATUSES

    @property
    def is_chartable(self) -> bool:
        """A treatment session whose patient is here: its chart may be written."""
        return self.status in self.CHARTABLE_STATUSES and self.is_treatment

    @property
    def is_treatment(self) -> bool:
        return self.kind != self.Kind.CONSULTATION
