from django.urls import path

from mesoclinic.records import views

app_name = "records"

urlpatterns = [
    path("<uuid:patient_id>/fhir.json", views.fhir_export, name="fhir_export"),
    path("<uuid:patient_id>/", views.data_rights, name="data_rights"),
    path("<uuid:patient_id>/subject-access/", views.sar_request, name="sar_request"),
    path("exports/<uuid:export_id>/download/", views.sar_download, name="sar_download"),
    path("exports/<uuid:export_id>/send-link/", views.sar_send_link, name="sar_send_link"),
    path("<uuid:patient_id>/erasure/", views.erasure, name="erasure"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<uuid:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
