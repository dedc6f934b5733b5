from django.urls import path

from patients import consent_views, views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<uuid:patient_id>/", views.patient_detail, name="detail"),
    path("<uuid:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:patient_id>/archive/", views.patient_archive, name="archive"),
    path("<uuid:patient_id>/screening/", views.screening_latest, name="screening"),
    path("<uuid:patient_id>/screening/new/", views.screening_create, name="screening_create"),
    path("<uuid:patient_id>/photos/", views.photos, name="photos"),
    path("<uuid:patient_id>/photos/<uuid:photo_id>.jpg", views.photo_file, name="photo_file"),
    path("<uuid:patient_id>/consents/", consent_views.consent_list, name="consents"),
    path(
        "<uuid:patient_id>/consents/sign/<int:protocol_id>/",
        consent_views.consent_sign,
        name="consent_sign",
    ),
    path(
        "<uuid:patient_id>/consents/<uuid:consent_id>/",
        consent_views.consent_detail,
        name="consent_detail",
    ),
    path(
        "<uuid:patient_id>/consents/<uuid:consent_id>.pdf",
        consent_views.consent_pdf,
        name="consent_pdf",
    ),
    path(
        "<uuid:patient_id>/consents/<uuid:consent_id>/withdraw/",
        consent_views.consent_withdraw,
        name="consent_withdraw",
    ),
]
