from django.urls import path

from mesoclinic.accounts import views

app_name = "staff"
urlpatterns = [
    path("", views.staff_list, name="list"),
    path("locked/", views.staff_locked, name="locked"),
    path("new/", views.staff_create, name="create"),
    path("<uuid:account_id>/", views.staff_detail, name="detail"),
    path("<uuid:account_id>/active/", views.staff_set_active, name="set_active"),
    path("<uuid:account_id>/password-link/", views.staff_password_link, name="password_link"),
    path(
        "<uuid:account_id>/temporary-password/",
        views.staff_temporary_password,
        name="temporary_password",
    ),
    path("<uuid:account_id>/unlock/", views.staff_unlock, name="unlock"),
    path(
        "<uuid:account_id>/two-factor-reset/", views.staff_two_factor_reset, name="two_factor_reset"
    ),
]
