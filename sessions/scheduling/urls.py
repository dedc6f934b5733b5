from django.urls import path

from sessions.scheduling import views

app_name = "sessions"

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/events", views.calendar_events, name="calendar_events"),
    path("today/", views.today, name="today"),
    path("find/", views.find_slot, name="find_slot"),
    path("appointments/new/", views.appointment_create, name="appointment_create"),
    path(
        "appointments/<uuid:appointment_id>/", views.appointment_detail, name="appointment_detail"
    ),
    path(
        "appointments/<uuid:appointment_id>/move", views.appointment_move, name="appointment_move"
    ),
    path(
        "appointments/<uuid:appointment_id>/status",
        views.appointment_status,
        name="appointment_status",
    ),
    path("courses/new/<uuid:patient_id>/", views.course_plan, name="course_plan"),
    path("courses/<uuid:course_id>/", views.course_detail, name="course_detail"),
    path("courses/<uuid:course_id>/continue/", views.course_continue, name="course_continue"),
    path("courses/<uuid:course_id>/cancel", views.course_cancel, name="course_cancel"),
    path("courses/<uuid:course_id>/shift", views.course_shift, name="course_shift"),
    path("setup/", views.setup, name="setup"),
    path("setup/locations/new/", views.location_create, name="location_create"),
    path("setup/locations/<uuid:location_id>/", views.location_edit, name="location_edit"),
    path("setup/locations/<uuid:location_id>/rooms/new/", views.room_create, name="room_create"),
    path("setup/rooms/<uuid:room_id>/", views.room_edit, name="room_edit"),
    path("setup/hours/new/", views.hours_create, name="hours_create"),
    path("setup/hours/<uuid:hours_id>/", views.hours_edit, name="hours_edit"),
    path("setup/hours/<uuid:hours_id>/delete", views.hours_delete, name="hours_delete"),
    path("setup/absences/new/", views.absence_create, name="absence_create"),
    path("setup/absences/<uuid:absence_id>/delete", views.absence_delete, name="absence_delete"),
    path("setup/closures/new/", views.closure_create, name="closure_create"),
    path("setup/closures/<uuid:closure_id>/delete", views.closure_delete, name="closure_delete"),
    path("feed/", views.feed_settings, name="feed_settings"),
    path("feed/<str:feed_token>.ics", views.feed, name="feed"),
]
