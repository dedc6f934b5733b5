from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mesoclinic import views
from mesoclinic.core import views as core_views
from mesoclinic.core.accounts import views as account_views
from mesoclinic.core.forms import ClinicPasswordResetForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("audit/", core_views.audit_log, name="audit_log"),
    path("audit/export.csv", core_views.audit_export, name="audit_export"),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path(
        "accounts/password_change/",
        account_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("mesoclinic.core.accounts.urls")),
    path("staff/", include("mesoclinic.core.accounts.staff_urls")),
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
    path("records/", include("mesoclinic.records.urls")),
    path("fhir/", include("mesoclinic.records.fhir_urls")),
    path("p/", include("mesoclinic.public_urls")),
    path("messages/", include("mesoclinic.core.outbox_urls")),
    # Staff sign in through our login (password, then the second factor), never the admin's.
    path("admin/login/", account_views.admin_login),
    path("admin/", admin.site.urls),
]
