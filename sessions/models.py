"""The sessions app's models, defined in its sub-packages and gathered here for Django.

Tables, app label (clinic_sessions) and migrations are the app's; code imports models
from the sub-package that owns them (`sessions.scheduling.models`,
`sessions.charting.models`), never from here.
"""

from sessions.charting.models import (  # noqa: F401
    AdverseEvent,
    ChartAmendment,
    ChartArea,
    ChartProduct,
    ChartSpin,
    SessionChart,
    SessionDocument,
)
from sessions.online.models import (  # noqa: F401
    BookingPolicy,
    Hold,
    OnlineBooking,
    OnlinePatientReview,
    OnlineSettings,
    RemoteConsent,
)
from sessions.scheduling.models import (  # noqa: F401
    # Named by migration 0001 as sessions.models.*, so they stay importable from here.
    Absence,
    Appointment,
    CalendarFeed,
    Closure,
    Location,
    Room,
    TreatmentPlan,
    TsTzRange,
    WorkingHours,
    _feed_token,
)
