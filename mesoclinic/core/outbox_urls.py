from django.urls import path

from mesoclinic.core import messages_views as views

app_name = "outbox"

urlpatterns = [
    path("", views.outbox_list, name="list"),
    path("<int:message_id>/resend/", views.outbox_resend, name="resend"),
    path("settings/", views.message_settings, name="settings"),
]
