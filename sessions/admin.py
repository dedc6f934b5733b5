"""The admin of every sessions model, registered by the sub-package that owns it."""

from sessions.charting import admin as charting_admin  # noqa: F401
from sessions.online import admin as online_admin  # noqa: F401
from sessions.scheduling import admin as scheduling_admin  # noqa: F401
