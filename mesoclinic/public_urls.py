"""Pages patients reach from signed links in emails: no login, one action each."""

from django.urls import path

from mesoclinic.records import views as records_views
from patients import views as patient_views
from sessions.comms import views as session_views

app_name = "public"

urlpatterns = [
    path("unsubscribe/<str:token>/", patient_views.unsubscribe, name="unsubscribe"),
    path("confirm/<str:token>/", session_views.appointment_confirm, name="appointment_confirm"),
    path("cancel/<str:token>/", session_views.appointment_cancel, name="appointment_cancel"),
    path(
        "reschedule/<str:token>/",
        session_views.appointment_reschedule,
        name="appointment_reschedule",
    ),
    path("aftercare/<str:token>/", session_views.aftercare_pdf, name="aftercare_pdf"),
    path("consent/<str:token>/", session_views.consent_pdf, name="consent_pdf"),
    path(
        "my-data/<str:token>/",
        records_views.sar_patient_download,
        name="subject_access_download",
    ),
]
