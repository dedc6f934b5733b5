"""Forms for places, hours, booking and courses: they parse and validate input only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from protocols.models import Protocol
from sessions.scheduling import selectors
from sessions.scheduling.models import Absence, Appointment, Closure, Location, Room, WorkingHours

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
SESSION_TIME_ATTRS = {"type": "datetime-local", "class": "form-control", "step": 300}
WEEKDAY_CHOICES = WorkingHours.Weekday.choices
# The calendar sends clinic-local times without an offset; an offset is accepted too.
ISO_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]


# A typed year far outside the diary is a typo, and scheduling arithmetic around it
# (the next day, a week of availability) would leave Python's date range.
BOOKABLE_YEARS = [
    MinValueValidator(date(1900, 1, 1), "Choose a date between 1900 and 2199."),
    MaxValueValidator(date(2199, 12, 31), "Choose a date between 1900 and 2199."),
]


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return selectors.display_name(obj)


def practitioner_field(**kwargs) -> PractitionerChoiceField:
    return PractitionerChoiceField(queryset=selectors.practitioners(), **kwargs)


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "address", "phone", "is_active"]
        labels = {"is_active": "Open for bookings"}


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name", "is_active"]
        labels = {"is_active": "In use"}

    def __init__(self, *args, location: Location, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.location = location


class WorkingHoursForm(forms.ModelForm):
    practitioner = practitioner_field()

    class Meta:
        model = WorkingHours
        fields = ["practitioner", "location", "weekday", "start", "end"]
        widgets = {"start": TIME, "end": TIME}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = selectors.active_locations()

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        practitioner, weekday = data.get("practitioner"), data.get("weekday")
        if start and end and end <= start:
            self.add_error("end", "The end must be after the start.")
        elif start and end and practitioner is not None and weekday is not None:
            overlapping = WorkingHours.objects.filter(
                practitioner=practitioner, weekday=weekday, start__lt=end, end__gt=start
            ).exclude(pk=self.instance.pk)
            if overlapping.exists():
                other = overlapping.select_related("location").first()
                self.add_error(
                    None,
                    f"These hours overlap {other} at {other.location}. A practitioner "
                    f"cannot be in two places at once.",
                )
        return data


class AbsenceForm(forms.ModelForm):
    practitioner = practitioner_field()

    class Meta:
        model = Absence
        fields = ["practitioner", "kind", "starts_at", "ends_at", "note"]
        widgets = {"starts_at": DATETIME, "ends_at": DATETIME}
        labels = {"starts_at": "From", "ends_at": "Until"}

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The end must be after the start.")
        return data


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["name", "location", "starts_on", "ends_on"]
        widgets = {"starts_on": DATE, "ends_on": DATE}
        labels = {"starts_on": "First day", "ends_on": "Last day"}
        help_texts = {"location": "Leave empty when every location is closed."}

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The last day cannot be before the first.")
        return data


def _aware(day, clock) -> datetime:
    return datetime.combine(day, clock, tzinfo=timezone.get_default_timezone())


class BookingForm(forms.Form):
    KIND_CHOICES = [("consultation", "Consultation"), ("maintenance", "Maintenance session")]

    patient = forms.UUIDField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="consultation")
    protocol = forms.ModelChoiceField(
        queryset=Protocol.objects.bookable(),
        required=False,
        help_text="Needed for a maintenance session.",
    )
    practitioner = practitioner_field()
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    day = forms.DateField(widget=DATE, label="Date", validators=BOOKABLE_YEARS)
    start = forms.TimeField(widget=TIME, label="Time")
    minutes = forms.IntegerField(
        min_value=5,
        max_value=480,
        required=False,
        help_text="Empty: the protocol's session length (30 minutes for a consultation).",
    )
    notes = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = selectors.active_locations()
        self.fields["room"].queryset = Room.objects.filter(
            is_active=True, location__is_active=True
        ).select_related("location")

    def clean(self):
        data = super().clean()
        if data.get("kind") == "maintenance" and not data.get("protocol"):
            self.add_error("protocol", "Choose the protocol for a maintenance session.")
        if data.get("day") and data.get("start"):
            data["starts_at"] = _aware(data["day"], data["start"])
            if data.get("minutes"):
                data["ends_at"] = data["starts_at"] + timedelta(minutes=data["minutes"])
        return data


class MoveForm(forms.Form):
    day = forms.DateField(widget=DATE, label="New date", validators=BOOKABLE_YEARS)
    start = forms.TimeField(widget=TIME, label="New time")
    minutes = forms.IntegerField(min_value=5, max_value=480, label="Length (minutes)")
    practitioner = practitioner_field()
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    override_reason = forms.CharField(
        max_length=300,
        required=False,
        label="Reason for an override",
        help_text="Only needed beyond the course's maximum interval.",
    )

    def __init__(self, *args, location: Location, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = Room.objects.filter(location=location, is_active=True)

    def clean(self):
        data = super().clean()
        if data.get("day") and data.get("start") and data.get("minutes"):
            data["starts_at"] = _aware(data["day"], data["start"])
            data["ends_at"] = data["starts_at"] + timedelta(minutes=data["minutes"])
        return data


class CalendarMoveForm(forms.Form):
    """What the calendar sends after a drag or a resize (ISO times with offsets)."""

    start = forms.DateTimeField(input_formats=ISO_FORMATS)
    end = forms.DateTimeField(input_formats=ISO_FORMATS)
    override_reason = forms.CharField(max_length=300, required=False)


class CourseStopForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Reason for stopping the course")


class CancelForm(forms.Form):
    party = forms.ChoiceField(
        label="Who cancelled?",
        choices=[
            (Appointment.CancelledByParty.PATIENT, "The patient cancelled"),
            (
                Appointment.CancelledByParty.CLINIC,
                "The clinic cancelled (practitioner ill, equipment, closure)",
            ),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Say who cancelled: the patient or the clinic."},
    )
    reason = forms.CharField(max_length=300, label="Reason for cancelling")
    waive_fee = forms.BooleanField(required=False, label="Waive the late-cancellation fee")
    fee_waived_reason = forms.CharField(
        max_length=200, required=False, label="Reason for waiving the fee"
    )

    def clean(self):
        data = super().clean()
        if data.get("waive_fee") and not (data.get("fee_waived_reason") or "").strip():
            self.add_error("fee_waived_reason", "Give a reason for waiving the fee.")
        if not data.get("waive_fee"):
            data["fee_waived_reason"] = ""
        return data


class StatusForm(forms.Form):
    ACTIONS = ["confirm", "check_in", "start", "complete", "no_show", "cancel"]
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    reason = forms.CharField(max_length=300, required=False)
    override_reason = forms.CharField(max_length=200, required=False)


class CoursePlanForm(forms.Form):
    protocol = forms.ModelChoiceField(queryset=Protocol.objects.bookable())
    practitioner = practitioner_field()
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    earliest = forms.DateField(widget=DATE, label="First session from", validators=BOOKABLE_YEARS)
    preferred_weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Patient prefers these days",
    )
    preferred_from = forms.TimeField(widget=TIME, required=False, label="Not before")
    preferred_to = forms.TimeField(widget=TIME, required=False, label="Finished by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = selectors.active_locations()
        self.fields["room"].queryset = Room.objects.filter(
            is_active=True, location__is_active=True
        ).select_related("location")

    def clean(self):
        data = super().clean()
        room, location = data.get("room"), data.get("location")
        if room is not None and location is not None and room.location_id != location.pk:
            self.add_error("room", f"{room.name} is not at {location}.")
        start, end = data.get("preferred_from"), data.get("preferred_to")
        if start and end and end <= start:
            self.add_error("preferred_to", "Must be after 'not before'.")
        return data


class SessionTimesForm(forms.Form):
    """The reviewed proposal: one start per session, plus an override reason if needed."""

    override_reason = forms.CharField(max_length=300, required=False, label="Reason for override")
    screening_acknowledged = forms.BooleanField(
        required=False,
        label="I understand: screening must be cleared before treatment. Book the course anyway.",
    )

    def __init__(self, *args, sequences: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.sequences = sequences
        for n in sequences:
            self.fields[f"session_{n}"] = forms.DateTimeField(
                widget=forms.DateTimeInput(
                    attrs={**SESSION_TIME_ATTRS, "aria-label": f"Session {n}"},
                    format="%Y-%m-%dT%H:%M",
                ),
                input_formats=["%Y-%m-%dT%H:%M"],
                label=f"Session {n}",
            )

    def clean(self):
        cleaned = super().clean()
        for n in self.sequences:
            start = cleaned.get(f"session_{n}")
            if start is not None and not 1900 <= start.year <= 2199:
                self.add_error(f"session_{n}", "Choose a date between 1900 and 2199.")
        return cleaned

    def starts(self) -> list[tuple[int, datetime]]:
        # Django has already read each time in the clinic's time zone.
        return [(n, self.cleaned_data[f"session_{n}"]) for n in self.sequences]


class FindSlotForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), to_field_name="public_id")
    protocol = forms.ModelChoiceField(
        queryset=Protocol.objects.bookable(), required=False, help_text="Empty: a consultation."
    )
    practitioner = practitioner_field(required=False, empty_label="Anyone")
    first_day = forms.DateField(widget=DATE, label="From", validators=BOOKABLE_YEARS)
    last_day = forms.DateField(widget=DATE, label="Until", validators=BOOKABLE_YEARS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = selectors.active_locations()

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last:
            if last < first:
                self.add_error("last_day", "Must be on or after the first day.")
            elif (last - first).days > 92:
                self.add_error("last_day", "Search at most three months at a time.")
        return data
