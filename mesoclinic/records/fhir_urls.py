"""The FHIR R4 base at /fhir/ (mesoclinic.records.api)."""

from django.urls import path, re_path

from mesoclinic.records import api

app_name = "fhir"

urlpatterns = [
    path("metadata", api.metadata, name="metadata"),
    path("<str:resource_type>/<str:resource_id>", api.read, name="read"),
    path("<str:resource_type>", api.search, name="search"),
    re_path(r"^(?P<rest>.*)$", api.unknown, name="unknown"),
]
