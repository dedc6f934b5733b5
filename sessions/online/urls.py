"""The public booking site, included at /book/ by mesoclinic.public_urls' sibling list."""

from django.urls import path

from sessions.online import views

app_name = "book"

urlpatterns = [
    path("", views.start, name="start"),
    path("screening/", views.screening, name="screening"),
    path("times/", views.times, name="times"),
    path("plan/", views.plan, name="plan"),
    path("plan/<int:sequence>/", views.plan_session, name="plan_session"),
    path("details/", views.details, name="details"),
    path("sent/", views.sent, name="sent"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("consent/<str:token>/", views.consent, name="consent"),
    path("screening-update/<str:token>/", views.screening_update, name="screening_update"),
]
