from django.urls import path

from protocols import views

app_name = "protocols"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("new/", views.create, name="create"),
    path("<int:protocol_id>/", views.detail, name="detail"),
    path("<int:protocol_id>/edit/", views.edit, name="edit"),
    path("<int:protocol_id>/clone/", views.clone, name="clone"),
    path("<int:protocol_id>/active/", views.set_active, name="set_active"),
    path("<int:protocol_id>/consent/", views.consent_edit, name="consent_edit"),
    path("<int:protocol_id>/preview/", views.preview, name="preview"),
]
