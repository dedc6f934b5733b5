"""The sessions app's Celery tasks, for Celery's autodiscovery (it imports `<app>.tasks`).

Each sub-package keeps its own tasks; importing them here registers them in every
worker. Importing the comms tasks also loads the outbox builders (sessions.comms.messages
via sessions.apps) — Django's app loading does that before any task runs.
"""

from sessions.charting.tasks import session_document_pdf
from sessions.comms.tasks import schedule_course_messages
from sessions.online.tasks import expire_holds

__all__ = ["expire_holds", "schedule_course_messages", "session_document_pdf"]
