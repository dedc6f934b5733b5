"""Pages patients reach from signed links in emails: no login, one action each."""

from django.urls import path

from patients import views as patient_views

app_name = "public"

urlpatterns = [
    path("unsubscribe/<str:token>/", patient_views.unsubscribe, name="unsubscribe"),
]
