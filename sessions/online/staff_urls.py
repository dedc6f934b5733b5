"""Staff pages of online booking, at /schedule/online/."""

from django.urls import path

from sessions.online import staff_views

app_name = "online"

urlpatterns = [
    path("settings/", staff_views.settings_edit, name="settings"),
    path("review/", staff_views.review_list, name="review"),
    path("review/<uuid:patient_id>/done/", staff_views.review_done, name="review_done"),
    path("review/<uuid:patient_id>/merge/", staff_views.review_merge, name="review_merge"),
    path(
        "bookings/<uuid:online_booking_id>/deposit/",
        staff_views.deposit_received,
        name="deposit_received",
    ),
    path(
        "consents/<uuid:remote_consent_id>/countersign/",
        staff_views.countersign,
        name="countersign",
    ),
]
