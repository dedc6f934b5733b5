"""Comms' Celery tasks: thin, idempotent wrappers around sessions.comms.services."""

from celery import shared_task

from sessions.comms import services


# The name it had before the sessions app was split (the beat schedule names it).
@shared_task(name="sessions.tasks.schedule_course_messages", acks_late=True, ignore_result=True)
def schedule_course_messages() -> int:
    """Beat (hourly): "next session due" and "maintenance due" messages whose day is near."""
    return services.course_messages_schedule()
