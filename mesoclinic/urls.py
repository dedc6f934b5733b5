from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mesoclinic import views
from mesoclinic.core import views as core_views
from mesoclinic.core.forms import ClinicPasswordResetForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("audit/", core_views.audit_log, name="audit_log"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=ClinicPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("patients/", include("patients.urls")),
    path("protocols/", include("protocols.urls")),
    path("schedule/", include("sessions.scheduling.urls")),
    path("charts/", include("sessions.charting.urls")),
    path("billing/", include("billing.urls")),
    path("p/", include("mesoclinic.public_urls")),
    path("messages/", include("mesoclinic.core.outbox_urls")),
    path("admin/", admin.site.urls),
]
