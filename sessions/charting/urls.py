from django.urls import path

from sessions.charting import views as chart_views

# Included from mesoclinic/urls.py at "charts/", namespace "charting".
app_name = "charting"

urlpatterns = [
    path("<uuid:appointment_id>/", chart_views.chart, name="chart"),
    path("<uuid:appointment_id>/amend/", chart_views.chart_amend, name="chart_amend"),
    path("documents/<uuid:document_id>.pdf", chart_views.document_file, name="document"),
    path("lots/", chart_views.lot_lookup, name="lot_lookup"),
    path("courses/<uuid:course_id>/photos/", chart_views.course_photos, name="course_photos"),
]
