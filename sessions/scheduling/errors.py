"""The errors scheduling raises: a ValidationError whose message a person can act on."""

from django.core.exceptions import ValidationError


class SchedulingError(ValidationError):
    """A booking, move or status change was refused; the message says why."""


class SlotTaken(SchedulingError):
    """Another appointment holds the practitioner or the room at that time."""


class OverrideNeeded(SchedulingError):
    """The time is beyond the course's maximum interval: allowed only with a reason."""
