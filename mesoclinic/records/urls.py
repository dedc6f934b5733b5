from django.urls import path

from mesoclinic.records import views

app_name = "records"

urlpatterns = [
    path("<uuid:patient_id>/fhir.json", views.fhir_export, name="fhir_export"),
]
