from django.urls import path

from mesoclinic.records import views

app_name = "records"

urlpatterns = [
    path("<uuid:patient_id>/fhir.json", views.fhir_export, name="fhir_export"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<uuid:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
